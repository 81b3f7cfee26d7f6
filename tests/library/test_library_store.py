"""The library index store on synthetic vectors: exact below the size threshold, IVF-PQ past it (one trained
codebook, candidates re-scored exactly), shards merged top-k, ids removed from the shards, readers of the previous
generation undisturbed by a commit."""
from __future__ import annotations

import numpy as np
from library_helpers import shard_ids

from longlens.library import shard as shard_mod
from longlens.library import store
from longlens.library.store import LibraryIndex
from longlens.retrieval.faiss_index import normalize


def _add(lib, rng, names, n=400, dim=48):
    vecs = {}
    for name in names:
        v = normalize(rng.standard_normal((n, dim)))
        lib.add_video(name, {}, {"clip": (np.arange(n, dtype=float), v, None)})
        vecs[name] = v
    return vecs


def test_compressed_sharded_space_finds_removes_and_keeps_readers(tmp_path, rng, monkeypatch):
    monkeypatch.setattr(store, "choose_kind", lambda n: "flat" if n < 3000 else "ivfpq")
    real_params = store.index_params  # 4-bit codes: a codebook 4000 vectors can train (and quickly)
    monkeypatch.setattr(store, "index_params", lambda kind, n, dim, **kw: real_params(kind, n, dim, nbits=4, **kw))
    monkeypatch.setattr(shard_mod, "SHARD_SIZE", 1000)
    lib = LibraryIndex(tmp_path / "idx", tmp_path)
    vecs = _add(lib, rng, [f"v{i}.mp4" for i in range(4)])
    lib.commit()
    assert lib.spaces["clip"]["kind"] == "flat"
    vecs |= _add(lib, rng, [f"v{i}.mp4" for i in range(4, 10)])  # 4000 vectors: past the threshold
    lib.commit()
    space = lib.spaces["clip"]
    assert space["kind"] == "ivfpq" and space["template"] and {"nlist", "m", "nprobe"} <= set(space["params"])
    assert len(lib.shards["clip"]) == 4 and shard_ids(lib) == set(lib.table["ids"].tolist())
    reader = LibraryIndex.open(tmp_path / "idx")
    for name in ("v1.mp4", "v8.mp4"):
        j = int(rng.integers(0, 400))
        best = reader.search("clip", vecs[name][j], 3)[0]
        assert (best[0], best[1]) == (name, float(j)) and best[2] > 0.999  # exact cosine after re-scoring

    gone = set(lib.ids_of("v8.mp4").tolist())
    lib.remove_video("v8.mp4")
    lib.commit()
    fresh = LibraryIndex.open(tmp_path / "idx")
    assert not shard_ids(fresh) & gone and len(fresh.table["ids"]) == 3600
    assert all(h[0] != "v8.mp4" for h in fresh.search("clip", vecs["v8.mp4"][5], 10))
    assert reader.search("clip", vecs["v8.mp4"][5], 1)[0][0] == "v8.mp4"  # the older generation still reads whole
