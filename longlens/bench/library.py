"""`longlens bench library`: the library index at scale, and indexing a real (generated) library.

Synthetic rows: clustered unit vectors (a mixture of 256 clusters in a 24-d latent space, projected to `dim`
and lightly noised, so neighbours are meaningful and recall numbers mean something) at 10^5, 10^6, 10^7
vectors, dims 384 (MiniLM) and 512 (CLIP). Each index kind is built the library's way (library.shard: shards
of shard.SHARD_SIZE vectors, one trained codebook per space, written to disk and opened as the library opens
them: codes in memory, float16 rows memory-mapped), then queried one query at a time: build time, index RAM
(index.faiss: what stays resident), on-disk size (with the
float16 rows an IVF-PQ shard re-scores from), p50 / p95 latency at k = 10, recall@10 against exact search
(computed chunk by chunk). Queries are fresh draws of the same mixture. Data are generated chunk by chunk and
regenerated, never held whole: 10^7 x 512 float32 would be 20 GB.

Pipeline rows: a library of generated 20-s videos (OCR channel: the real RapidOCR + MiniLM; no CLIP weights
here) indexed from a cold cache with --engine local and --engine ray (2 workers each), then one more video
added incrementally, against the full cold index and against a rebuild of the library index from warm caches.
"""
from __future__ import annotations

import gc
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

K = 10
LATENT, CLUSTERS = 24, 256
CHUNK = 1_000_000


def _generator(dim: int, seed: int):
    rng = np.random.default_rng([seed, 0])
    centers = rng.standard_normal((CLUSTERS, LATENT)).astype(np.float32) * 1.5
    proj = rng.standard_normal((LATENT, dim)).astype(np.float32) / np.sqrt(LATENT)
    return centers, proj


def _draw(centers, proj, n: int, rng) -> np.ndarray:
    z = centers[rng.integers(0, CLUSTERS, n)] + rng.standard_normal((n, LATENT), dtype=np.float32)
    x = z @ proj + 0.15 * rng.standard_normal((n, proj.shape[1]), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def chunks(n: int, dim: int, seed: int = 0):
    """(ids, vectors) of the synthetic set, CHUNK at a time (the same numbers on every call)."""
    centers, proj = _generator(dim, seed)
    for c, a in enumerate(range(0, n, CHUNK)):
        m = min(CHUNK, n - a)
        yield np.arange(a, a + m, dtype=np.int64), _draw(centers, proj, m, np.random.default_rng([seed, 1, c]))


def queries(nq: int, dim: int, seed: int = 0) -> np.ndarray:
    centers, proj = _generator(dim, seed)
    return _draw(centers, proj, nq, np.random.default_rng([seed, 2]))


def exact_topk(n: int, dim: int, q: np.ndarray, k: int = K) -> np.ndarray:
    """True top-k ids [Q, k] by inner product, chunk by chunk."""
    best_s = np.full((len(q), 0), -np.inf, np.float32)
    best_i = np.zeros((len(q), 0), np.int64)
    for ids, x in chunks(n, dim):
        s = q @ x.T
        top = np.argpartition(-s, k - 1, axis=1)[:, :k]
        best_s = np.concatenate([best_s, np.take_along_axis(s, top, 1)], axis=1)
        best_i = np.concatenate([best_i, ids[top]], axis=1)
        keep = np.argsort(-best_s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(best_s, keep, 1), np.take_along_axis(best_i, keep, 1)
    return best_i


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _folder_mb(folder: Path, only: str | None = None) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and (only is None or p.name == only)) / 2**20


def bench_kind(kind: str, n: int, dim: int, q: np.ndarray, truth: np.ndarray, work: Path) -> dict:
    """Build `kind` over the synthetic set the library's way, reopen it as the library does, query it."""
    from longlens.library import shard as shard_mod
    from longlens.library.store import merged_search
    from longlens.retrieval.faiss_index import index_params, make_base

    params = index_params(kind, n, dim)
    folder = work / f"{kind}-{n}-{dim}"
    t0 = time.perf_counter()
    template = None
    if kind == "ivfpq":  # one codebook for the space, trained on a sample of the first chunk
        _, first = next(chunks(min(n, CHUNK), dim))
        sample = first[np.random.default_rng(1).choice(len(first), min(len(first), 39 * params["nlist"], 200_000),
                                                      replace=False)]
        template = shard_mod.train_template(kind, dim, params, sample)
        del first
    names = []
    for c, (ids, x) in enumerate(chunks(n, dim)):
        if kind == "hnsw":  # the raw FAISS index: a comparison point, not a library kind
            import faiss

            index = faiss.IndexIDMap2(make_base("hnsw", dim, params))
            index.add_with_ids(x, ids)
            s = shard_mod.Shard("bench", "flat", dim, params, index)  # searched exactly as FAISS answers
        else:
            s = shard_mod.build("bench", kind, dim, params, ids, x, template)
        s.save(folder / f"shard-{c:04d}")
        names.append(folder / f"shard-{c:04d}")
        del s, x
        gc.collect()
    build_s = time.perf_counter() - t0
    shards = [shard_mod.Shard.open(p) for p in names]
    rss0 = _rss_mb()
    lat, got = [], []
    for i, qi in enumerate(q):
        t = time.perf_counter()
        sc, ii = merged_search(shards, qi, K)  # as LibraryIndex.search
        top = ii[np.argsort(-sc, kind="stable")[:K]]
        if i >= 5:  # warm-up queries aside
            lat.append((time.perf_counter() - t) * 1e3)
        got.append(top)
    recall = float(np.mean([len(set(g.tolist()) & set(t.tolist())) / K for g, t in zip(got, truth)]))
    row = {"kind": kind, "vectors": n, "dim": dim, "shards": len(shards), "build_s": round(build_s, 1),
           "index_ram_mb": round(_folder_mb(folder, "index.faiss"), 1), "disk_mb": round(_folder_mb(folder), 1),
           "p50_ms": round(statistics.median(lat), 2), "p95_ms": round(float(np.percentile(lat, 95)), 2),
           "recall@10": round(recall, 4), "max_rss_mb": round(max(rss0, _rss_mb()), 0),
           "params": {k: v for k, v in params.items() if k in ("nlist", "nprobe", "m", "nbits", "refine", "hnsw_m",
                                                                "ef_search")}}
    del shards
    shutil.rmtree(folder, ignore_errors=True)
    return row


def synthetic(sizes, dims, nq: int = 200) -> list[dict]:
    rows = []
    work = Path(tempfile.mkdtemp(prefix="longlens-bench-library-"))
    try:
        for dim in dims:
            for n in sizes:
                q = queries(nq, dim)
                truth = exact_topk(n, dim, q)
                kinds = ["flat", "ivfpq"] if n <= 1_000_000 else ["ivfpq"]  # flat at 10^7: 15-20 GB of floats
                if n <= 100_000:
                    kinds.append("hnsw")
                for kind in kinds:
                    rows.append(bench_kind(kind, n, dim, q, truth, work))
                    print(rows[-1], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def pipeline(n_videos: int) -> tuple[list[dict], list[str]]:
    """Index a generated library: local vs ray engine, then incremental add vs full and cached rebuild."""
    from longlens.data.synth import FACTS, Caption, SynthSpec, make_video
    from longlens.library import index_library
    from longlens.retrieval import RetrievalConfig

    work = Path(tempfile.mkdtemp(prefix="longlens-bench-libvideos-"))
    rng = np.random.default_rng(14)
    try:
        root = work / "library"
        root.mkdir()

        def clip(i: int) -> Path:
            start = float(rng.integers(2, 12))
            spec = SynthSpec(duration=20, fps=1.0, size=(480, 270), seed=i,
                             captions=[Caption(start, start + 7.0, FACTS[i % len(FACTS)])])
            path = root / f"video-{i:03d}.mp4"
            make_video(path, spec, show_progress=False)
            return path

        for i in range(n_videos):
            clip(i)

        def run(engine: str, cache: str, **kw) -> tuple[float, list[dict]]:
            cfg = RetrievalConfig(cache_dir=work / cache, channels=("ocr",), progress=False)
            t = time.perf_counter()
            rows = list(index_library([root], engine=engine, workers=2, config=cfg, **kw))
            return time.perf_counter() - t, rows

        local_s, rows = run("local", "cache-local", index=work / "index-local")
        bad = [r for r in rows if r["status"] == "error"]
        try:
            import ray

            ray_s, _ = run("ray", "cache-ray", index=work / "index-ray")
            ray.shutdown()
        except ImportError:
            ray_s = None
        clip(n_videos)  # one more video
        add_s, rows = run("local", "cache-local", index=work / "index-local")
        added = {r["status"] for r in rows if r["video"].endswith(f"video-{n_videos:03d}.mp4")}
        rebuild_s, _ = run("local", "cache-local", index=work / "index-local", rebuild=True)
        out = [{"videos": n_videos, "engine": "local", "index_s": round(local_s, 1), "errors": len(bad)},
               {"videos": n_videos, "engine": "ray", "index_s": round(ray_s, 1) if ray_s else None,
                "ray_over_local": round(ray_s / local_s, 2) if ray_s else None},
               {"videos": n_videos + 1, "step": "add one video", "status": ",".join(sorted(added)),
                "index_s": round(add_s, 2),
                "add_over_full": round(add_s / local_s, 3)},
               {"videos": n_videos + 1, "step": "rebuild the library index (warm caches)",
                "index_s": round(rebuild_s, 2),
                "add_over_rebuild": round(add_s / rebuild_s, 3)}]
        notes = [f"pipeline: {n_videos} generated 20-s videos at 1 fps, OCR channel, 2 workers, cold caches"]
        return out, notes
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(*, quick: bool = False) -> dict:
    sizes = [100_000] if quick else [100_000, 1_000_000, 10_000_000]
    dims = [384, 512]
    rows = synthetic(sizes, dims)
    prow, notes = pipeline(4 if quick else 20)
    notes = [f"synthetic: clustered unit vectors ({CLUSTERS} clusters in a {LATENT}-d latent space), 200 fresh "
             "queries one at a time, k=10; flat = exact; ivfpq = IVF (HNSW over the centroids from 1024 lists) + "
             "PQ codes, the refine x k = 100 best candidates of all shards re-scored from float16 rows on disk "
             "(memory-mapped); hnsw = FAISS HNSW32 (raw floats) for comparison; index_ram_mb = the index.faiss "
             "files (what stays resident)", *notes]
    return {"rows": rows + prow, "notes": notes, "meta": {"sizes": sizes, "dims": dims, "k": K}}
