"""The content-keyed cache: invalidation on each key component, crash safety, two concurrent indexers."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from longlens.data import resolve_backend
from longlens.data.synth import SynthSpec, make_video
from longlens.retrieval import RetrievalConfig, Retriever, cache
from longlens.retrieval.clip import ClipEmbedder

REPO = Path(__file__).resolve().parents[2]
FAST = dict(channels=("image",))  # ORB only: decoding + cache without model costs


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    seed = int(np.random.default_rng().integers(0, 1000))
    a, b = d / "a.mp4", d / "b.mp4"
    make_video(a, SynthSpec(duration=8, fps=2.0, size=(160, 96), seed=seed), show_progress=False)
    make_video(b, SynthSpec(duration=8, fps=2.0, size=(160, 96), seed=seed + 1), show_progress=False)
    return a, b


def _computed(cfg, video) -> list[str]:
    return Retriever(cfg).index(video, progress=False).stats["computed"]


def test_cache_hit_and_invalidation_on_each_key_component(tiny, tmp_path, monkeypatch):
    a, b = tiny
    cfg = RetrievalConfig(fps=1.0, **FAST)
    assert _computed(cfg, a) == ["frames", "image"]
    assert _computed(cfg, a) == [], "same video, same config: read from the cache"
    copy = tmp_path / "copy.mp4"
    shutil.copy(a, copy)
    assert _computed(cfg, copy) == [], "the key is the content, not the path"
    assert _computed(cfg, b) == ["frames", "image"], "other content"
    assert _computed(RetrievalConfig(fps=2.0, **FAST), a) == ["frames", "image"], "sampling policy"
    assert _computed(RetrievalConfig(fps=1.0, size=64, **FAST), a) == ["frames", "image"], "decode size"
    other = "pyav" if resolve_backend("auto") == "decord" else "decord"
    assert _computed(RetrievalConfig(fps=1.0, backend=other, **FAST), a) == ["frames", "image"], "decoder backend"
    assert _computed(RetrievalConfig(fps=1.0, channels=("image",), orb_features=200), a) == ["image"], \
        "model config of one part recomputes that part only"
    monkeypatch.setattr(cache, "SCHEMA_VERSION", cache.SCHEMA_VERSION + 1)
    assert _computed(cfg, a) == ["frames", "image"], "schema version"


def test_decoder_version_is_in_the_key(tiny, monkeypatch):
    from longlens.retrieval import retriever as mod

    a, _ = tiny
    cfg = RetrievalConfig(fps=1.0, **FAST)
    Retriever(cfg).index(a, progress=False)
    real = mod.decoder_version
    monkeypatch.setattr(mod, "decoder_version", lambda backend: real(backend) + "-patched")
    assert _computed(cfg, a) == ["frames", "image"]


def test_clip_key_covers_arch_tag_preprocessing_dtype_and_crops(tmp_path):
    base = ClipEmbedder(RetrievalConfig()).key()
    assert ClipEmbedder(RetrievalConfig()).key() == base
    others = [
        RetrievalConfig(clip_model="ViT-B-16"),
        RetrievalConfig(clip_pretrained="laion2b_e16"),  # another tag of the same architecture
        RetrievalConfig(clip_pretrained="openai"),  # other preprocessing (quick-GELU, OpenAI weights)
        RetrievalConfig(dtype="bfloat16"),
        RetrievalConfig(clip_regions=3),
    ]
    keys = {ClipEmbedder(c).key() for c in others}
    assert base not in keys and len(keys) == len(others)
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "open_clip_pytorch_model.bin").write_bytes(b"0" * 10)
    conf = {"model_cfg": {"embed_dim": 512}, "preprocess_cfg": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}}
    (folder / "open_clip_config.json").write_text(json.dumps(conf))
    k1 = ClipEmbedder(RetrievalConfig(clip_checkpoint=str(folder))).key()
    conf["preprocess_cfg"]["mean"] = [0.4, 0.4, 0.4]
    (folder / "open_clip_config.json").write_text(json.dumps(conf))
    assert ClipEmbedder(RetrievalConfig(clip_checkpoint=str(folder))).key() != k1, "preprocessing config"


KILLER = textwrap.dedent("""
    import os, signal, sys
    from longlens.retrieval import RetrievalConfig, Retriever, cache
    from longlens.core import io
    real = io.atomic_write_bytes
    def dying(path, data):
        if sys.argv[2] == "mid-file":  # die halfway through writing the first data file
            with io.atomic_open(path, "wb") as f:
                f.write(data[: len(data) // 2])
                f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
        real(path, data)
    def dying_manifest(path, obj):
        os.kill(os.getpid(), signal.SIGKILL)  # every data file written, manifest not yet
    cache.atomic_write_bytes = dying
    if sys.argv[2] == "before-manifest":
        cache.atomic_write_json = dying_manifest
    if __name__ == "__main__":
        Retriever(RetrievalConfig(fps=1.0, channels=("image",))).index(sys.argv[1], progress=False)
""")


@pytest.mark.parametrize("when", ["mid-file", "before-manifest"])
def test_a_killed_writer_leaves_no_readable_half_cache(tiny, tmp_path, when):
    a, _ = tiny
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(script), str(a), when], env=env, capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    entries = [e for e in cache.root().iterdir() if e.name != "locks"]
    assert entries and not any((e / "manifest.json").exists() for e in entries), "killed before any manifest"
    if when == "mid-file":
        assert any(".tmp" in p.name for e in entries for p in e.iterdir()), "a half-written temp file is left"
    r = Retriever(RetrievalConfig(fps=1.0, channels=("image",)))
    idx = r.index(a, progress=False)
    assert "image" in idx.stats["computed"], "a half-written entry is never read"
    assert len(idx) == 8 and idx.orb is not None
    assert Retriever(RetrievalConfig(fps=1.0, channels=("image",))).index(a, progress=False).stats["computed"] == []


def test_truncated_cache_file_is_recomputed_not_read(tiny):
    a, _ = tiny
    cfg = RetrievalConfig(fps=1.0, **FAST)
    first = Retriever(cfg).index(a, progress=False)
    (entry,) = [e for e in cache.root().iterdir() if e.name.startswith("image-")]
    data = (entry / "arrays.npz").read_bytes()
    (entry / "arrays.npz").write_bytes(data[: len(data) // 3])
    again = Retriever(cfg).index(a, progress=False)
    assert again.stats["computed"] == ["image"]
    np.testing.assert_array_equal(again.orb.descriptors, first.orb.descriptors)


INDEXER = textwrap.dedent("""
    import json, sys
    from longlens.retrieval import RetrievalConfig, Retriever
    if __name__ == "__main__":
        idx = Retriever(RetrievalConfig(fps=2.0, channels=("image",))).index(sys.argv[1], progress=False)
        print(json.dumps({"computed": idx.stats["computed"], "n": len(idx), "desc": int(idx.orb.descriptors.sum())}))
""")


def test_two_processes_indexing_one_video_at_once(tiny, tmp_path):
    a, _ = tiny
    script = tmp_path / "indexer.py"
    script.write_text(INDEXER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, str(script), str(a)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
        outs.append(json.loads(out.decode().strip().splitlines()[-1]))
    assert sorted(len(o["computed"]) > 0 for o in outs) == [False, True], "one computes, the other reads its entry"
    assert outs[0]["n"] == outs[1]["n"] == 16 and outs[0]["desc"] == outs[1]["desc"]
    entries = [e for e in cache.root().iterdir() if e.is_dir() and e.name != "locks"]
    assert len(entries) == 2 and all((e / "manifest.json").exists() for e in entries)
    assert not [p for e in entries for p in e.iterdir() if ".tmp" in p.name], "no temp files left"
