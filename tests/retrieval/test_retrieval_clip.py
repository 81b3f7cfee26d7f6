"""CLIP channel plumbing with a real open_clip architecture at random weights, and the honest 'no weights' path."""
from __future__ import annotations

import json
import logging
import time

import numpy as np
import pytest

from longlens.core.errors import InputError
from longlens.retrieval import ModelUnavailableError, RetrievalConfig, Retriever
from longlens.retrieval.clip import ClipEmbedder


@pytest.fixture(scope="module")
def random_clip():
    emb = ClipEmbedder(RetrievalConfig(clip_pretrained="random", clip_regions=2))
    emb.load()
    return emb


def test_frames_crops_text_and_image_queries_share_one_space(random_clip, rng):
    frames = [rng.integers(0, 256, (90, 160, 3), dtype=np.uint8) for _ in range(3)]
    whole, regions = random_clip.embed_frames(frames)
    assert whole.shape == (3, 512) and regions.shape == (3, 4, 512)
    np.testing.assert_allclose(np.linalg.norm(whole, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(regions, axis=-1), 1.0, atol=1e-5)
    one, _ = random_clip.embed_frames(frames[1:2])
    np.testing.assert_allclose(one[0], whole[1], atol=1e-4)  # batching does not change a frame's vector
    t = random_clip.embed_text("a red bicycle")
    i = random_clip.embed_image(frames[0])
    assert t.shape == i.shape == (512,)
    assert abs(float(np.linalg.norm(t)) - 1) < 1e-5
    np.testing.assert_allclose(i, whole[0], atol=1e-4)  # a picture query embeds like the same frame
    assert not np.allclose(random_clip.embed_text("a red bicycle"), random_clip.embed_text("a blue car"))


def test_local_checkpoint_with_config_loads_and_bare_file_is_refused(tmp_path, random_clip, rng):
    import open_clip
    import torch

    folder = tmp_path / "ckpt"
    folder.mkdir()
    torch.save(random_clip._model.state_dict(), folder / "open_clip_pytorch_model.bin")
    pre = random_clip._model.visual.preprocess_cfg
    (folder / "open_clip_config.json").write_text(json.dumps({
        "model_cfg": open_clip.get_model_config("ViT-B-32"),
        "preprocess_cfg": {"mean": list(pre["mean"]), "std": list(pre["std"]), "interpolation": pre.get("interpolation", "bicubic"),
                           "resize_mode": pre.get("resize_mode", "shortest")}}))
    local = ClipEmbedder(RetrievalConfig(clip_checkpoint=str(folder), clip_regions=0))
    frame = rng.integers(0, 256, (120, 200, 3), dtype=np.uint8)
    np.testing.assert_allclose(local.embed_frames([frame])[0], random_clip.embed_frames([frame])[0], atol=1e-4)
    np.testing.assert_allclose(local.embed_text("a dog"), random_clip.embed_text("a dog"), atol=1e-4)

    bare = tmp_path / "bare" / "weights.pt"
    bare.parent.mkdir()
    bare.write_bytes((folder / "open_clip_pytorch_model.bin").read_bytes())
    with pytest.raises(InputError, match="preprocessing"):
        RetrievalConfig(clip_checkpoint=str(bare))
    no_weights = tmp_path / "cfg_only"
    no_weights.mkdir()
    (no_weights / "open_clip_config.json").write_text((folder / "open_clip_config.json").read_text())
    with pytest.raises(ModelUnavailableError, match="no weights"):
        ClipEmbedder(RetrievalConfig(clip_checkpoint=str(no_weights))).load()


def test_missing_weights_fail_fast_and_are_said_once(caplog):
    emb = ClipEmbedder(RetrievalConfig())  # ViT-B-32 / laion2b_s34b_b79k: not cached here, hub offline
    t0 = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match="laion2b_s34b_b79k"):
        emb.load()
    assert time.perf_counter() - t0 < 30, "must fail fast, not after network timeouts"
    r = Retriever(RetrievalConfig())
    with caplog.at_level(logging.WARNING):
        assert r.clip() is None and r.clip() is None
        off = r.clip_off_reason()
    lines = [rec for rec in caplog.records if "CLIP" in rec.getMessage()]
    assert len(lines) == 1 and "continuing with the other channels" in lines[0].getMessage()
    assert off == "CLIP weights ViT-B-32/laion2b_s34b_b79k are not available on this machine", "one short line to show"
    assert Retriever(RetrievalConfig(channels=("ocr",))).clip_off_reason() is None, "not asked for: not off"
    with pytest.raises(InputError):
        ClipEmbedder(RetrievalConfig(clip_pretrained="no-such-tag")).load()


def test_clip_index_is_cached_and_never_reembedded(tmp_path, seed):
    from longlens.data.synth import SynthSpec, make_video

    path = tmp_path / "tiny.mp4"
    make_video(path, SynthSpec(duration=6, fps=1.0, size=(160, 96), seed=seed % 1000), show_progress=False)
    cfg = RetrievalConfig(channels=("clip",), clip_pretrained="random", clip_regions=2, cache_dir=tmp_path / "cache")
    idx = Retriever(cfg).index(path, progress=False)
    assert idx.channels == ("clip",) and idx.embeddings["clip"].shape == (6, 512) and idx.regions.shape == (6, 4, 512)
    again = Retriever(cfg)
    calls = []
    again.clip().embed_frames = lambda *a, **k: calls.append(1)  # any re-embedding would be seen
    idx2 = again.index(path, progress=False)
    assert calls == [] and idx2.stats["computed"] == [] and "clip" in idx2.stats["cached"]
    np.testing.assert_allclose(idx2.embeddings["clip"], idx.embeddings["clip"], atol=1e-3)
    curve = again.curve(idx2, "a ball")
    assert set(curve.channels) == {"clip"} and curve.fused.shape == (6,)
    img = again.curve(idx2, image=np.full((64, 64, 3), 128, np.uint8))
    assert img.channels["clip"].shape == (6,)


def test_trimmed_text_tower_gives_the_full_towers_features(random_clip, rng):
    """Query embedding skips the padding after end-of-text; the features must not change."""
    import torch

    from longlens.retrieval.clip import _encode_text_trimmed, _trimmable

    model = random_clip._model
    assert _trimmable(model)
    words = ["vault", "code", "a", "red", "truck", "leaves", "at", "gate", "31", "checkout", "lane"]
    texts = [" ".join(rng.choice(words, int(rng.integers(1, 12)))) for _ in range(5)]
    tok = random_clip._tokenizer(texts)
    with torch.inference_mode():
        full, trimmed = model.encode_text(tok), _encode_text_trimmed(model, tok)
    assert int(tok.argmax(dim=-1).max()) < 20, "queries this short are trimmed to well under 77 tokens"
    torch.testing.assert_close(trimmed, full, rtol=1e-4, atol=1e-5)
