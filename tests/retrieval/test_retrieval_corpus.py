"""Corpus FAISS index: ids -> (video, time), search, atomic save/load, truncated and mismatched files."""
from __future__ import annotations

import numpy as np
import pytest

from longlens.core.errors import InputError
from longlens.retrieval import CacheError, CorpusIndex
from longlens.retrieval.faiss_index import normalize


def _videos(rng, n_videos=3, n=400, dim=64):
    return [(f"v{i}.mp4", np.sort(rng.uniform(0, 3600, n)), normalize(rng.standard_normal((n, dim)))) for i in range(n_videos)]


@pytest.mark.parametrize("kind", ["ivf", "hnsw", "flat"])
def test_corpus_search_maps_ids_to_video_and_time(kind, rng):
    vids = _videos(rng)
    ci = CorpusIndex(64, kind=kind, nprobe=64, train_size=1000)
    for name, times, vecs in vids:
        ci.add(name, times, vecs)
    assert ci.ntotal == 1200
    for name, times, vecs in vids:
        j = int(rng.integers(0, len(times)))
        best = ci.search(vecs[j] + 0.01 * rng.standard_normal(64).astype(np.float32), k=3)[0]
        assert (best.video, best.time, best.index) == (name, times[j], j)
        assert best.score > 0.9
    rows = ci.search(np.stack([vids[0][2][0], vids[2][2][5]]), k=2)
    assert [r[0].video for r in rows] == ["v0.mp4", "v2.mp4"]
    assert ci.lookup([0, 400, 1199]) == [("v0.mp4", vids[0][1][0]), ("v1.mp4", vids[1][1][0]), ("v2.mp4", vids[2][1][-1])]
    with pytest.raises(InputError):
        ci.search(vids[0][2][0], k=0)
    with pytest.raises(InputError):
        ci.search(np.zeros(32, np.float32), k=1)


def test_corpus_save_load_round_trip_and_damaged_files(tmp_path, rng):
    ci = CorpusIndex(64, kind="ivf", nprobe=8, train_size=500)
    for name, times, vecs in _videos(rng):
        ci.add(name, times, vecs)
    queries = normalize(rng.standard_normal((5, 64)))
    before = [[(m.video, m.time, round(m.score, 5)) for m in row] for row in ci.search(queries, k=5)]
    folder = ci.save(tmp_path / "corpus")
    assert sorted(p.name for p in folder.iterdir()) == ["ids.npz", "index.faiss", "manifest.json"]
    loaded = CorpusIndex.load(folder)
    after = [[(m.video, m.time, round(m.score, 5)) for m in row] for row in loaded.search(queries, k=5)]
    assert after == before
    loaded.add("v9.mp4", [1.0], normalize(rng.standard_normal((1, 64))))  # still growable after loading
    assert loaded.lookup([1200]) == [("v9.mp4", 1.0)]

    data = (folder / "index.faiss").read_bytes()
    (folder / "index.faiss").write_bytes(data[: len(data) // 2])
    with pytest.raises(CacheError, match="index.faiss"):
        CorpusIndex.load(folder)
    (folder / "index.faiss").write_bytes(data)
    other = CorpusIndex(64, kind="flat")
    other.add("x.mp4", [0.0, 1.0], normalize(rng.standard_normal((2, 64))))
    other.save(tmp_path / "other")
    (folder / "ids.npz").write_bytes((tmp_path / "other" / "ids.npz").read_bytes())  # an id table from elsewhere
    with pytest.raises(CacheError, match="ids.npz"):
        CorpusIndex.load(folder)
    with pytest.raises(CacheError, match="manifest"):
        CorpusIndex.load(tmp_path / "nothing-here")
