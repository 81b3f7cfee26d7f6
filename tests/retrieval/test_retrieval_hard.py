"""Right on hard footage as on easy (issue 12): every caption is read, no text outlives its caption, grounded
segments end where the evidence ends, pictures on texture are found, and what is not there gives no segment.
Every test here runs on both kinds of the shared `synth` video (conftest.KINDS)."""
from __future__ import annotations

import numpy as np
import pytest

from longlens.data import FixedRate, iter_frames
from longlens.data.synth import make_picture
from longlens.retrieval.text import OcrReader, line_recall, shows

QUERIES = {"fact_a": "what is the vault code", "fact_b": "which checkout lane is closed",
           "distractor": "the locker code"}


def _captions(synth):
    return [(c["text"], c["start"], c["end"]) for c in synth["truth"].captions]


def test_every_caption_shown_two_samples_is_read(indexed, synth):
    r, idx = indexed
    for text, start, end in _captions(synth):
        rows = np.flatnonzero((idx.times >= start) & (idx.times < end))
        assert len(rows) >= 2
        assert any(shows(text, idx.texts[i]) for i in rows), (synth["kind"], text, [idx.texts[i] for i in rows])


def test_no_text_outlives_its_caption(indexed, synth):
    """A frame's text is the text on that frame: a caption is in no frame's text a sample after it left (nor a
    sample before it came)."""
    r, idx = indexed
    for text, start, end in _captions(synth):
        outside = np.flatnonzero((idx.times < start - 1) | (idx.times >= end + 1))
        stale = [(float(idx.times[i]), idx.texts[i]) for i in outside if shows(text, idx.texts[i])]
        assert not stale, (synth["kind"], text, (start, end), stale)


@pytest.mark.parametrize("window", list(QUERIES))
def test_grounded_text_starts_and_ends_with_its_caption(indexed, synth, window):
    """The segment spans the frames that show the caption (±1 sample), not a smoothed curve around them."""
    r, idx = indexed
    start, end = synth[window]
    best = r.ground(idx, QUERIES[window], top=3)[0]
    assert abs(best.start - start) <= 1.0 and abs(best.end - end) <= 1.0, (synth["kind"], best.to_list(), (start, end))


def test_what_is_not_there_gives_no_segment(indexed, synth, seed):
    r, idx = indexed
    for query in ("a purple submarine", "the giraffe enclosure"):
        assert r.ground(idx, query) == [] and r.search(idx, query, k=5) == []
        assert r.not_found(idx, query) == "not found: no on-screen text matches it"
    assert r.not_found(idx, QUERIES["fact_a"]) is None
    for k in range(3):  # pictures never shown: no segment, no frame
        absent = make_picture(seed % 10**6 + 10**6 + k, (160, 120))
        assert r.ground(idx, image=absent) == [] and r.search(idx, image=absent) == []
        assert r.not_found(idx, image=absent) == "not found: no frame shows the picture (no verified match)"


def test_ocr_recall_against_ocr_on_every_frame(indexed, synth):
    """The OCR that skips what did not change finds >= 99% of the distinct lines that OCR of every frame finds
    (every other frame of the video, to keep the test short)."""
    r, idx = indexed
    reader = OcrReader()
    frames = [f for batch in iter_frames(synth["path"], FixedRate(1.0)) for f in batch][::2]
    reference = [reader.read(f.image) for f in frames]
    ours = [idx.raw_texts[int(np.argmin(np.abs(idx.times - f.time)))] for f in frames]
    recall, missed = line_recall(reference, ours)
    assert recall >= 0.99, (synth["kind"], recall, missed)


def test_ocr_on_a_still_dense_texture_reads_each_caption_while_it_is_shown(tmp_path, seed):
    """Issue 12: on a still texture of black and white cells the old trigger (density of text-like edges, which
    the texture saturates) missed captions and carried one long after it left. Every frame's text is the
    captions it shows, no more (boxed captions, which OCR reads on every frame)."""
    from longlens.data.synth import FACTS, Caption, SynthSpec, make_video
    from longlens.retrieval import RetrievalConfig, Retriever

    shown = [(4.0, 12.0, FACTS[0]), (17.0, 21.0, FACTS[2]), (26.0, 33.0, FACTS[3])]
    spec = SynthSpec(duration=40.0, size=(480, 270), seed=seed % 1000, background="noise", motion="still", ball=False,
                     captions=[Caption(a, b, text) for a, b, text in shown])
    make_video(tmp_path / "still.mp4", spec, show_progress=False)
    idx = Retriever(RetrievalConfig(channels=("ocr",), cache_dir=tmp_path / "cache")).index(tmp_path / "still.mp4",
                                                                                           progress=False)
    for a, b, text in shown:
        on = [shows(text, idx.texts[i]) for i in range(len(idx)) if a <= idx.times[i] < b]
        off = [float(t) for t, x in zip(idx.times, idx.texts) if not a <= t < b and shows(text, x)]
        assert all(on) and not off, (text, (a, b), on, off)
