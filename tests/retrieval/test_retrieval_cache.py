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
from longlens.retrieval.channels.clip import ClipChannel

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fast(tmp_path):
    """RetrievalConfig(**kwargs) with ORB only (decoding + cache without model costs), on this test's cache."""
    return lambda **kw: RetrievalConfig(**{"channels": ("image",), "cache_dir": tmp_path / "cache", **kw})


@pytest.fixture(scope="module")
def tiny(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    seed = request.config.base_seed % 1000
    a, b = d / "a.mp4", d / "b.mp4"
    make_video(a, SynthSpec(duration=8, fps=2.0, size=(160, 96), seed=seed), show_progress=False)
    make_video(b, SynthSpec(duration=8, fps=2.0, size=(160, 96), seed=seed + 1), show_progress=False)
    return a, b


def _computed(cfg, video) -> list[str]:
    return Retriever(cfg).index(video, progress=False).stats["computed"]


def test_cache_hit_and_invalidation_on_each_key_component(tiny, fast, tmp_path, monkeypatch):
    a, b = tiny
    cfg = fast(fps=1.0)
    assert _computed(cfg, a) == ["frames", "image"]
    assert _computed(cfg, a) == [], "same video, same config: read from the cache"
    copy = tmp_path / "copy.mp4"
    shutil.copy(a, copy)
    assert _computed(cfg, copy) == [], "the key is the content, not the path"
    assert _computed(cfg, b) == ["frames", "image"], "other content"
    assert _computed(fast(fps=2.0), a) == ["frames", "image"], "sampling policy"
    assert _computed(fast(fps=1.0, size=64), a) == ["frames", "image"], "decode size"
    other = "pyav" if resolve_backend("auto") == "decord" else "decord"
    assert _computed(fast(fps=1.0, backend=other), a) == ["frames", "image"], "decoder backend"
    assert _computed(fast(fps=1.0, orb_features=200), a) == ["image"], "model config of one part recomputes that part only"
    assert _computed(fast(fps=1.0, cache_dir=tmp_path / "elsewhere"), a) == ["frames", "image"], \
        "the cache root is the config's, nothing else"
    monkeypatch.setattr(cache, "SCHEMA_VERSION", cache.SCHEMA_VERSION + 1)
    assert _computed(cfg, a) == ["frames", "image"], "schema version"


def test_decoder_version_is_in_the_key(tiny, fast, monkeypatch):
    from longlens.retrieval import retriever as mod

    a, _ = tiny
    cfg = fast(fps=1.0)
    Retriever(cfg).index(a, progress=False)
    real = mod.decoder_version
    monkeypatch.setattr(mod, "decoder_version", lambda backend: real(backend) + "-patched")
    assert _computed(cfg, a) == ["frames", "image"]


def test_clip_key_covers_arch_tag_preprocessing_dtype_and_crops(tmp_path):
    key = lambda cfg: ClipChannel(cfg).key()  # noqa: E731
    base = key(RetrievalConfig())
    assert key(RetrievalConfig()) == base
    others = [
        RetrievalConfig(clip_model="ViT-B-16"),
        RetrievalConfig(clip_pretrained="laion2b_e16"),  # another tag of the same architecture
        RetrievalConfig(clip_pretrained="openai"),  # other preprocessing (quick-GELU, OpenAI weights)
        RetrievalConfig(dtype="bfloat16"),
        RetrievalConfig(clip_regions=3),
    ]
    keys = {key(c) for c in others}
    assert base not in keys and len(keys) == len(others)
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "open_clip_pytorch_model.bin").write_bytes(b"0" * 10)
    conf = {"model_cfg": {"embed_dim": 512}, "preprocess_cfg": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}}
    (folder / "open_clip_config.json").write_text(json.dumps(conf))
    k1 = key(RetrievalConfig(clip_checkpoint=str(folder)))
    conf["preprocess_cfg"]["mean"] = [0.4, 0.4, 0.4]
    (folder / "open_clip_config.json").write_text(json.dumps(conf))
    k2 = key(RetrievalConfig(clip_checkpoint=str(folder)))
    assert k2 != k1, "preprocessing config"
    (folder / "open_clip_pytorch_model.bin").write_bytes(b"1" * 11)
    assert key(RetrievalConfig(clip_checkpoint=str(folder))) != k2, "another weights file"


def test_clip_key_needs_no_model_library(tmp_path):
    """The cache key of the CLIP channel comes from config values and files: computing it imports nothing of
    open_clip (whose import pulls in transformers: seconds a search on a cached video must not pay)."""
    code = ("import sys; from longlens.retrieval import RetrievalConfig; "
            "from longlens.retrieval.channels.clip import ClipChannel; "
            "ClipChannel(RetrievalConfig(cache_dir=sys.argv[1])).key(); "
            "print(sorted(m for m in ('open_clip', 'transformers', 'torch') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"


KILLER = textwrap.dedent("""
    import os, signal, sys
    from longlens.retrieval import RetrievalConfig, Retriever
    from longlens.core import io
    real = io.atomic_write_bytes
    def dying(path, data):
        if sys.argv[3] == "mid-file":  # die halfway through writing the first data file
            with io.atomic_open(path, "wb") as f:
                f.write(data[: len(data) // 2])
                f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
        real(path, data)
    def dying_manifest(path, obj):
        os.kill(os.getpid(), signal.SIGKILL)  # every data file written, manifest not yet
    io.atomic_write_bytes = dying
    if sys.argv[3] == "before-manifest":
        io.atomic_write_json = dying_manifest
    if __name__ == "__main__":
        Retriever(RetrievalConfig(fps=1.0, channels=("image",), cache_dir=sys.argv[2])).index(sys.argv[1], progress=False)
""")


@pytest.mark.parametrize("when", ["mid-file", "before-manifest"])
def test_a_killed_writer_leaves_no_readable_half_cache(tiny, fast, tmp_path, when):
    a, _ = tiny
    cfg = fast(fps=1.0)
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(script), str(a), str(cfg.cache_dir), when], env=env, capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    entries = [e for e in cache.root(cfg.cache_dir).iterdir() if e.name != "locks"]
    assert entries and not any((e / "manifest.json").exists() for e in entries), "killed before any manifest"
    if when == "mid-file":
        assert any(".tmp" in p.name for e in entries for p in e.iterdir()), "a half-written temp file is left"
    idx = Retriever(cfg).index(a, progress=False)
    assert "image" in idx.stats["computed"], "a half-written entry is never read"
    assert len(idx) == 8 and idx.orb is not None
    assert Retriever(cfg).index(a, progress=False).stats["computed"] == []


def test_truncated_cache_file_is_recomputed_not_read(tiny, fast, caplog):
    a, _ = tiny
    cfg = fast(fps=1.0)
    first = Retriever(cfg).index(a, progress=False)
    (entry,) = [e for e in cache.root(cfg.cache_dir).iterdir() if e.name.startswith("image-")]
    data = (entry / "arrays.npz").read_bytes()
    (entry / "arrays.npz").write_bytes(data[: len(data) // 3])
    with caplog.at_level("WARNING"):
        again = Retriever(cfg).index(a, progress=False)
    assert again.stats["computed"] == ["image"]
    assert any(str(entry / "arrays.npz") in rec.getMessage() for rec in caplog.records), "the warning names the file"
    np.testing.assert_array_equal(again.orb.descriptors, first.orb.descriptors)


INDEXER = textwrap.dedent("""
    import json, sys
    from longlens.retrieval import RetrievalConfig, Retriever
    if __name__ == "__main__":
        cfg = RetrievalConfig(fps=2.0, channels=("image",), cache_dir=sys.argv[2])
        idx = Retriever(cfg).index(sys.argv[1], progress=False)
        print(json.dumps({"computed": idx.stats["computed"], "n": len(idx), "desc": int(idx.orb.descriptors.sum())}))
""")


def test_two_processes_indexing_one_video_at_once(tiny, fast, tmp_path):
    a, _ = tiny
    root = fast().cache_dir
    script = tmp_path / "indexer.py"
    script.write_text(INDEXER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, str(script), str(a), str(root)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
        outs.append(json.loads(out.decode().strip().splitlines()[-1]))
    assert sorted(len(o["computed"]) > 0 for o in outs) == [False, True], "one computes, the other reads its entry"
    assert outs[0]["n"] == outs[1]["n"] == 16 and outs[0]["desc"] == outs[1]["desc"]
    entries = [e for e in cache.root(root).iterdir() if e.is_dir() and e.name != "locks"]
    assert len(entries) == 2 and all((e / "manifest.json").exists() for e in entries)
    assert not [p for e in entries for p in e.iterdir() if ".tmp" in p.name], "no temp files left"
