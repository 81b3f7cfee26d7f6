"""Sampling policies on frame tables (no decoding): which frames each policy picks, cache keys, bad arguments."""
from __future__ import annotations

import os

import numpy as np
import pytest

from longlens.core.errors import InputError
from longlens.core.io import atomic_path
from longlens.data import AtTimes, FixedRate, Uniform, Window, select_frames


def _vfr_times(rng, n=500):
    return np.concatenate([[0.0], np.cumsum(rng.uniform(0.02, 0.3, n - 1))])


def test_each_target_gets_the_frame_on_screen(rng):
    times = _vfr_times(rng)
    duration = times[-1] + 0.1
    idx = select_frames(FixedRate(2.0), times, duration)
    targets = np.arange(0, duration, 0.5)
    on_screen = sorted({int(np.flatnonzero(times <= t + 1e-3)[-1]) for t in targets})
    assert idx.tolist() == on_screen
    assert np.all(np.diff(idx) > 0)  # distinct, ascending
    uni = select_frames(Uniform(40), times, duration)
    assert 30 <= len(uni) <= 40 and uni[0] == np.searchsorted(times, duration / 80 + 1e-3, side="right") - 1
    assert len(select_frames(Uniform(10_000), times, duration)) == len(times)  # never more than exist
    t = float(rng.uniform(5, times[-1] - 5))
    w = select_frames(Window(t, t + 3.0, fps=5.0), times, duration)
    assert times[w[0]] <= t + 1e-3 < times[w[0] + 1] and times[w[-1]] < t + 3.0
    at = select_frames(AtTimes((t, 0.0, t)), times, duration)
    assert at.tolist() == sorted({0, int(np.flatnonzero(times <= t + 1e-3)[-1])})


def test_keys_are_stable_and_distinct():
    keys = [FixedRate(1.0).key(), FixedRate(0.5).key(), Uniform(32).key(), Uniform(33).key(),
            AtTimes((1.0, 2.0)).key(), AtTimes((1.0, 2.5)).key(), Window(0, 10, 1).key(), Window(0, 10, 2).key()]
    assert len(set(keys)) == len(keys)
    assert FixedRate(1.0).key() == FixedRate(1).key() == "fixed:1"
    assert AtTimes((1.0, 2.0)).key() == AtTimes([1, 2]).key()
    assert hash(Window(1.0, 2.0)) == hash(Window(1.0, 2.0))  # frozen: usable as dict keys


@pytest.mark.parametrize("make", [lambda: FixedRate(0), lambda: FixedRate(float("nan")), lambda: Uniform(0),
                                  lambda: Uniform(2.5), lambda: AtTimes(()), lambda: AtTimes((-1.0,)),
                                  lambda: Window(5, 5), lambda: Window(-1, 3), lambda: Window(0, 3, fps=-1)])
def test_bad_policies_are_input_errors(make):
    with pytest.raises(InputError):
        make()


def test_atomic_path_writes_whole_files_or_nothing(tmp_path):
    target = tmp_path / "sub" / "video.mp4"
    with atomic_path(target) as tmp:
        assert tmp.suffix == ".mp4" and tmp.parent == target.parent and not target.exists()
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new" and oct(os.stat(target).st_mode & 0o777) == "0o644"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("writer died")
    assert target.read_bytes() == b"new" and sorted(p.name for p in target.parent.iterdir()) == ["video.mp4"]
