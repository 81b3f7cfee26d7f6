"""Real OCR + MiniLM + ORB on a synthetic video with captions and pictures at known times (CLIP weights are
absent here: that channel must drop out honestly and the others still find things)."""
from __future__ import annotations

import numpy as np
import pytest
from retrieval_helpers import iou

from longlens.core.errors import InputError


def test_index_holds_ocr_text_per_moment_and_skips_unchanged_frames(indexed, synth):
    r, idx = indexed
    assert idx.channels == ("ocr", "image"), "no CLIP weights here: the channel is dropped, not faked"
    assert len(idx) == 72 and np.all(np.diff(idx.times) > 0)
    a0, a1 = synth["fact_a"]
    inside = [t for t, x in zip(idx.times, idx.texts) if x and "8142" in x]
    assert inside and min(inside) >= a0 - 1 and max(inside) < a1 + 1
    assert any(x and "VAULT" in x.replace(" ", "") for x in idx.texts)
    if synth["kind"] == "easy":  # busy footage changes everywhere: there the detector looks at every frame
        assert idx.stats["ocr_detected_area"] <= len(idx) / 3, "scenery that pans or moves is not looked at again"
        assert idx.stats["ocr_lines_read"] <= len(idx) / 4, "a line that did not change is not read again"


@pytest.mark.parametrize("query, window", [
    ("what is the vault code", "fact_a"),
    ("which checkout lane is closed", "fact_b"),
    ("lane 12", "fact_b"),
    ("the locker code", "distractor"),
])
def test_text_query_grounds_to_its_caption_window(indexed, synth, query, window):
    r, idx = indexed
    segs = r.ground(idx, query, top=3)
    best = (segs[0].start, segs[0].end)
    assert iou(best, synth[window]) >= 0.5, (query, [s.to_list() for s in segs], synth[window])
    moments = r.search(idx, query, k=3)
    assert all(synth[window][0] - 1 <= m.time < synth[window][1] + 1 for m in moments)
    assert moments[0].text and moments[0].index >= 0 and moments[0].video == synth["path"]
    assert set(moments[0].scores) >= {"ocr"} and "clip" not in moments[0].scores
    assert moments[0].kind == "screen", "on-screen text is the evidence"


@pytest.mark.parametrize("which", [0, 1])
def test_image_query_finds_a_picture_filling_a_quarter_of_the_frame_or_less(indexed, synth, which):
    r, idx = indexed
    box = synth["spec"].pictures[which].box
    assert (box[2] - box[0]) * (box[3] - box[1]) <= 0.25
    window = synth["pic1" if which == 0 else "pic2"]
    segs = r.ground(idx, image=synth["pictures"][which], top=3)
    assert iou((segs[0].start, segs[0].end), window) >= 0.5, ([s.to_list() for s in segs], window)
    curve = r.curve(idx, image=synth["pictures"][which])
    hit = curve.channels["image"] > 0
    near = (idx.times[hit] >= window[0] - 1) & (idx.times[hit] < window[1] + 1)
    assert hit.any() and np.all(near), "no false matches"
    if synth["kind"] == "hard":
        assert (box[2] - box[0]) * (box[3] - box[1]) <= 0.126, "1/8 of the frame, over dense texture"


def test_image_query_from_a_file_and_bad_queries(indexed, synth, tmp_path):
    import cv2

    r, idx = indexed
    png = tmp_path / "pic.png"
    cv2.imwrite(str(png), synth["pictures"][1][:, :, ::-1])
    top = r.search(idx, image=str(png), k=1)[0]
    assert synth["pic2"][0] <= top.time < synth["pic2"][1]
    assert top.kind == "picture" and set(top.scores) == {"image"}
    bad = tmp_path / "not-an-image.png"
    bad.write_text("hello")
    for kwargs, msg in [({"query": ""}, "empty"), ({"query": "   "}, "empty"), ({"image": str(bad)}, "not an image"),
                        ({"image": str(tmp_path / "missing.png")}, "no such"), ({}, "no query"),
                        ({"query": "x", "image": str(png)}, "not both")]:
        with pytest.raises(InputError, match=msg):
            r.search(idx, k=3, **kwargs)
    with pytest.raises(InputError, match="k must"):
        r.search(idx, "vault", k=0)


def test_select_methods_and_zoom(indexed, synth):
    r, idx = indexed
    curve = r.curve(idx, "what is the vault code")
    for method in ("tass", "uniform", "topk", "mmr"):
        picked = r.select(idx, curve, 6, method=method, min_gap=10.0)
        times = [m.time for m in picked]
        assert len(picked) == 6 and times == sorted(times), method
    tass_times = [m.time for m in r.select(idx, curve, 4, method="tass", min_gap=10.0)]
    a0, a1 = synth["fact_a"]
    assert any(a0 <= t < a1 for t in tass_times)
    with pytest.raises(InputError, match="unknown selector 'best'; choose from tass, uniform, topk, mmr"):
        r.select(idx, curve, 3, method="best")
    z1 = r.zoom(synth["path"], "what is the vault code", budget=4, rounds=1, seed=3, coarse_fps=0.25, max_frames=12)
    z2 = r.zoom(synth["path"], "what is the vault code", budget=4, rounds=1, seed=3, coarse_fps=0.25, max_frames=12)
    assert [(m.time, round(m.score, 6)) for m in z1] == [(m.time, round(m.score, 6)) for m in z2], "deterministic"
    assert len(z1) == 4 and [m.time for m in z1] == sorted(m.time for m in z1)
    assert any(a0 <= m.time < a1 and m.text and "8142" in m.text and m.kind == "screen" for m in z1)
    assert any(m.index == -1 for m in z1) or all(m.time % 4 == 0 for m in z1)
    best = r.zoom(synth["path"], "what is the vault code", budget=4, rounds=1, seed=3, coarse_fps=0.25, max_frames=12,
                  method="topk")
    assert sum(m.score for m in best) >= sum(m.score for m in z1), "top-k of the same pool"
    assert max(m.time for m in best) - min(m.time for m in best) <= a1 - a0 + 2, "all on the caption: no TASS spread"
    with pytest.raises(InputError, match="unknown selector"):
        r.zoom(synth["path"], "what is the vault code", method="best")


def test_zoom_starts_from_the_index_already_built(tmp_path):
    """With a 1-fps index in hand, zoom decodes only inside promising windows, at 4 fps: no coarser index is
    built first and no indexed frame is decoded again."""
    from longlens.data.synth import Caption, SynthSpec, make_video
    from longlens.retrieval import RetrievalConfig, Retriever, cache

    path = tmp_path / "4fps.mp4"
    make_video(path, SynthSpec(duration=24, fps=4.0, captions=[Caption(9.0, 15.0, "THE VAULT CODE IS 8142")]),
               show_progress=False)
    r = Retriever(RetrievalConfig(channels=("ocr",), cache_dir=tmp_path / "cache"))
    idx = r.index(path, progress=False)
    before = sorted(cache.root(r.config.cache_dir).iterdir())
    z = r.zoom(path, "what is the vault code", budget=12, rounds=1, seed=0, max_frames=24, min_gap=0.25)
    assert sorted(cache.root(r.config.cache_dir).iterdir()) == before and len(idx) == 24
    fine = [m for m in z if m.index == -1]
    assert fine and all(m.time * 4 == round(m.time * 4) and m.time != round(m.time) for m in fine)
    assert all(9.0 <= m.time < 15.0 for m in fine), [m.time for m in fine]


def test_a_text_asked_again_is_not_embedded_again(indexed, monkeypatch, rng):
    r, idx = indexed
    text = r.channel("ocr").embedder
    calls = []
    encode = text.encode
    monkeypatch.setattr(text, "encode", lambda texts: calls.append(list(texts)) or encode(texts))
    query = f"vault code {rng.integers(10**6)}"
    first = r.curve(idx, query)
    again = r.curve(idx, query)
    assert len(calls) == 1, "the second ask reuses the embedding"
    np.testing.assert_array_equal(first.fused, again.fused)
