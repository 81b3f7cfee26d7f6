"""The synthetic video generator: its truth matches what a decoder and an OCR engine see."""
from __future__ import annotations

import difflib
import math
import re

import numpy as np
import pytest
from datalayer_helpers import HOUR_CAPTIONS

from longlens.core.errors import InputError
from longlens.core.progress import report_progress
from longlens.data import AtTimes, probe, read_frames
from longlens.data.synth import (
    DISTRACTORS,
    FACTS,
    Caption,
    Picture,
    SynthSpec,
    demo_spec,
    make_picture,
    make_video,
    render_caption,
)


@pytest.fixture(scope="module")
def demo_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.mp4"
    spec = demo_spec(duration=360.0, seed=5)
    return path, spec, make_video(path, spec, show_progress=False)


def _norm(s: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", s.upper())  # RapidOCR drops the spaces of English captions


def test_captions_are_readable_by_ocr(demo_video):
    """Every caption, cut from the decoded frame in the middle of its window, is read back by RapidOCR."""
    from rapidocr_onnxruntime import RapidOCR

    path, spec, truth = demo_video
    assert len(truth.captions) == len(FACTS) + len(DISTRACTORS)
    mids = [(c["start"] + c["end"]) / 2 for c in truth.captions]
    frames = read_frames(path, AtTimes(tuple(mids)))
    by_second = {math.floor(f.time + 1e-6): f for f in frames}
    h = spec.size[1]
    strips = []  # the caption's banner band of each frame, stacked: one OCR call reads them all
    for c, t in zip(truth.captions, mids):
        image = by_second[math.floor(t + 1e-6)].image
        strips.append(image[-h // 4 :] if c["pos"] == "bottom" else image[: h // 4])
        strips.append(np.full((12, spec.size[0], 3), 255, np.uint8))
    found, _ = RapidOCR()(np.concatenate(strips))
    texts = [_norm(r[1]) for r in found or []]
    exact, ratios = 0, []
    for c in truth.captions:
        want = _norm(c["text"])
        ratios.append(max((difflib.SequenceMatcher(None, want, x).ratio() for x in texts), default=0.0))
        exact += want in texts
    assert min(ratios) >= 0.85, (ratios, texts)  # every caption is read, at most a letter or two off
    assert exact >= 0.8 * len(truth.captions), (exact, texts)


def test_demo_spec_has_facts_distractors_and_pictures_at_known_times(demo_video):
    path, spec, truth = demo_video
    assert [c.text for c in spec.captions] == FACTS and [c.text for c in spec.distractors] == DISTRACTORS
    assert all(c.pos == "bottom" for c in spec.captions) and all(c.pos == "top" for c in spec.distractors)
    for c in spec.captions + spec.distractors + spec.pictures:
        assert 0 <= c.start < c.end <= 360.0
    fact = spec.captions[0]
    assert truth.captions_at(fact.start + 1, kind="caption") == [fact.text]
    assert fact.text not in truth.captions_at(fact.end + 1)
    kinds = {c["text"]: c["kind"] for c in truth.captions}
    assert kinds[DISTRACTORS[0]] == "distractor" and kinds[FACTS[0]] == "caption"
    same = demo_spec(duration=360.0, seed=5)
    other = demo_spec(duration=360.0, seed=6)
    assert [(c.start, c.end) for c in same.captions] == [(c.start, c.end) for c in spec.captions]
    assert [(c.start, c.end) for c in other.captions] != [(c.start, c.end) for c in spec.captions]
    assert probe(path).duration == pytest.approx(360.0)


def test_inserted_picture_appears_only_in_its_window(demo_video):
    from PIL import Image

    path, spec, truth = demo_video
    pic = spec.pictures[0]
    w, h = spec.size
    x0, y0, x1, y1 = (int(round(v * s)) for v, s in zip(pic.box, (w, h, w, h)))
    t_in = pic.start + 2
    t_out = next(t for t in (pic.start - 8, pic.end + 8, 0.0) if 0 <= t <= 359 and not truth.pictures_at(t))
    frames = {math.floor(f.time + 1e-6): f for f in read_frames(path, AtTimes((t_in, t_out)))}
    want = np.asarray(Image.fromarray(pic.image).resize((x1 - x0, y1 - y0))).astype(float)
    err = {t: np.abs(frames[math.floor(t + 1e-6)].image[y0:y1, x0:x1] - want).mean() for t in (t_in, t_out)}
    assert err[t_in] < 12 and err[t_out] > 30, err
    assert truth.pictures_at(t_in) == [0]


def test_make_picture_is_deterministic_and_distinct():
    a, b, c = make_picture(1, (120, 90)), make_picture(1, (120, 90)), make_picture(2, (120, 90))
    assert a.shape == (90, 120, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and np.abs(a.astype(int) - c).mean() > 20
    assert a.std() > 20  # shapes, not a flat fill


def test_hour_long_truth(hour_video):
    path, spec, truth = hour_video
    assert truth.frame_times == pytest.approx(list(range(3600)))
    assert truth.captions_at(HOUR_CAPTIONS[0][0] + 30) == [HOUR_CAPTIONS[0][2]]
    info = probe(path, backend="pyav")
    assert (info.frames, info.duration, info.vfr) == (3600, pytest.approx(3600.0), False)


def test_vfr_truth_has_irregular_intervals(vfr_video):
    _, truth = vfr_video
    d = np.diff(truth.frame_times)
    assert d.min() >= 0.04 - 1e-6 and d.max() <= 0.16 + 1e-6 and d.std() > 0.02
    assert abs(d.mean() - 0.1) < 0.01


def test_long_captions_are_shrunk_or_wrapped_to_fit():
    short = render_caption(Caption(0, 1, "GATE 4"), 320, 180)
    long = render_caption(Caption(0, 1, "THE SECOND SHIFT STARTS AT NINE THIRTY IN THE NORTH WAREHOUSE"), 320, 180)
    assert short.shape[1] < 200 and long.shape[1] <= 320
    assert long.shape[0] > short.shape[0]  # wrapped into more than one line
    assert (short == 0).all(axis=2).mean() > 0.5  # a black box behind white text


def test_webm_and_bad_specs(tmp_path):
    truth = make_video(tmp_path / "clip.webm", SynthSpec(duration=6.0, fps=2.0, size=(64, 48)), show_progress=False)
    info = probe(tmp_path / "clip.webm")
    assert info.codec == "vp9" and info.frames == len(truth.frame_times) == 12
    with pytest.raises(InputError, match="even"):
        SynthSpec(duration=10.0, size=(65, 48))
    with pytest.raises(InputError, match="duration"):
        SynthSpec(duration=0.0)
    with pytest.raises(InputError, match="window"):
        SynthSpec(duration=10.0, captions=[Caption(5.0, 5.0, "X")])
    with pytest.raises(InputError, match="suffix"):
        make_video(tmp_path / "clip.gif", SynthSpec(duration=1.0))
    with pytest.raises(InputError, match="empty"):
        make_video(tmp_path / "x.mp4",
                   SynthSpec(duration=1.0, pictures=[Picture(0, 1, make_picture(0), box=(0.5, 0.5, 0.5, 0.9))]))
    assert not list(tmp_path.glob("x*")) and not list(tmp_path.glob(".x*"))  # nothing half-written left behind


def test_progress_is_the_callers_choice(tmp_path, capsys):
    spec = SynthSpec(duration=4.0, fps=2.0, size=(64, 48))
    heard = []
    with report_progress(lambda done, total, desc: heard.append((done, total))):
        make_video(tmp_path / "quiet.mp4", spec, show_progress=False)
    assert heard[-1] == (8, 8) and capsys.readouterr().err == ""  # heard by a listener, never drawn
    make_video(tmp_path / "shown.mp4", spec, show_progress=True)
    assert "writing shown.mp4" in capsys.readouterr().err  # drawn although stderr is no terminal
