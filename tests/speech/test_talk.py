"""Synthetic talks: needles at their times, filler between them, quiet spans silent."""
from __future__ import annotations

import numpy as np
import pytest
from speech_helpers import needs_espeak

from longlens.core.errors import InputError
from longlens.speech.synth import RATE, make_talk

pytestmark = needs_espeak


def test_needles_filler_and_quiet(rng, seed):
    at = round(float(rng.uniform(10.0, 15.0)), 2)
    quiet = (20.0, 30.0)
    print(f"seed {seed}: needle at {at}")
    talk = make_talk(40.0, needles=[(at, "The vault code is four seven two.")], rng=rng, quiet=[quiet])
    assert talk.duration == pytest.approx(40.0)
    needles = [x for x in talk.lines if x.needle]
    assert [(x.start, x.text) for x in needles] == [(at, "The vault code is four seven two.")]
    assert len(talk.lines) >= 4  # filler before and after the needle
    for a, b in zip(talk.lines, talk.lines[1:]):
        assert a.end < b.start
    for x in talk.lines:
        assert x.end <= quiet[0] or x.start >= quiet[1]
        assert np.abs(talk.samples[int(x.start * RATE) : int(x.start * RATE) + 200]).max() > 1e-3  # heard at once
    assert np.abs(talk.samples[int(quiet[0] * RATE) : int(quiet[1] * RATE)]).max() == 0.0
    assert "four seven two" in talk.script


def test_overlapping_needles_are_refused():
    with pytest.raises(InputError, match="overlaps"):
        make_talk(10.0, needles=[(1.0, "The vault code is four seven two."), (1.5, "Hello.")], filler=False)
    with pytest.raises(InputError, match="runs past"):
        make_talk(3.0, needles=[(2.0, "The vault code is four seven two.")], filler=False)
    with pytest.raises(InputError, match="needs an rng"):
        make_talk(3.0)
