"""FAISS indexes: exact inner product per video, and a corpus index over many videos.

Vectors are L2-normalised float32, so inner product = cosine. GPU FAISS is used when the installed faiss
has GPUs (`faiss.get_num_gpus() > 0`, the `gpu` extra), CPU otherwise; results are the same.
"""
from __future__ import annotations

import io
import logging
import math
import os
from pathlib import Path

import numpy as np

from longlens.core.errors import CacheError, InputError
from longlens.core.io import MANIFEST, read_entry, write_entry
from longlens.core.types import Moment

log = logging.getLogger(__name__)
FORMAT = "longlens-corpus-2"  # 2: the core.io manifest (files as {size, sha256})


def _faiss():
    import faiss

    return faiss


def normalize(x: np.ndarray) -> np.ndarray:
    """Rows L2-normalised, float32 contiguous. [N, D] -> [N, D]."""
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    if x.ndim == 1:
        x = x[None]
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def flat_ip(vectors: np.ndarray):
    """Exact inner-product index over vectors [N, D] (row i = frame i)."""
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index


def scores_all(index, query: np.ndarray) -> np.ndarray:
    """Inner product of one query [D] with every vector of a flat index -> [N], in index order."""
    n = index.ntotal
    out = np.zeros(n, dtype=np.float64)
    if n == 0:
        return out
    d, i = index.search(normalize(query), n)
    out[i[0]] = d[0]
    return out


def _gpus() -> int:
    try:
        return _faiss().get_num_gpus()
    except AttributeError:
        return 0


# ---------------------------------------------------------------------------------------------- index kinds
FLAT_MAX = 100_000  # vectors: below this an exact (flat) index answers in a few ms; above, compressed codes
KINDS = ("flat", "ivf", "ivfpq", "hnsw")  # flat: exact; ivf: IVF-Flat; ivfpq: IVF + product-quantised codes


def choose_kind(n: int) -> str:
    """The index kind for a space of `n` vectors: exact below FLAT_MAX, IVF-PQ (compressed codes) above."""
    return "flat" if n < FLAT_MAX else "ivfpq"


def index_params(kind: str, n: int, dim: int, **given) -> dict:
    """The parameters of an index of `kind` over about `n` vectors of `dim` (recorded in manifests; `given`
    overrides). IVF: nlist ~ sqrt(n) lists (a power of two, >= 39 training points each), nprobe of them searched,
    found through an HNSW graph over the centroids from 1024 lists up (assigning 10^7 vectors to exact centroids
    would dominate the build); PQ: m sub-vectors of 8 dims at nbits bits each (dim / 8 bytes per vector: 48 B for
    384-d, 64 B for 512-d), and `refine` times k candidates re-scored exactly from the stored float16 vectors."""
    if kind not in KINDS:
        raise InputError(f"index kind must be one of {', '.join(KINDS)}, got {kind!r}")
    out: dict = {}
    if kind in ("ivf", "ivfpq"):
        nlist = int(2 ** round(math.log2(max(1.0, math.sqrt(max(n, 1))))))
        out.update(nlist=max(1, min(nlist, 65536, max(1, n // 39))), nprobe=32)
    if kind == "ivfpq":
        m = next(m for m in (dim // 8, dim // 4, dim // 2, dim, 1) if m >= 1 and dim % m == 0)
        out.update(m=m, nbits=8, refine=10)
    if kind == "hnsw":
        out.update(hnsw_m=32, ef_search=128)
    out.update(given)
    if "nprobe" in out and "nlist" in out:
        out["nprobe"] = min(out["nprobe"], out["nlist"])
    return out


def make_base(kind: str, dim: int, params: dict, train: np.ndarray | None = None):
    """A FAISS index of `kind` (KINDS) over `dim`-d normalised vectors, trained on `train` [T, D] when it needs
    training. flat / ivf / hnsw score by inner product; ivfpq by L2, which ranks unit vectors as inner product
    does and quantises better (its candidates are re-scored exactly by the caller)."""
    faiss = _faiss()
    if kind == "flat":
        return faiss.IndexFlatIP(dim)
    if kind == "hnsw":
        base = faiss.IndexHNSWFlat(dim, params.get("hnsw_m", 32), faiss.METRIC_INNER_PRODUCT)
        base.hnsw.efSearch = params.get("ef_search", max(64, params.get("nprobe", 16) * 4))
        return base
    if kind == "ivf":
        base = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, params["nlist"], faiss.METRIC_INNER_PRODUCT)
    elif kind == "ivfpq":
        hnsw = "_HNSW32" if params["nlist"] >= 1024 else ""
        base = faiss.index_factory(dim, f"IVF{params['nlist']}{hnsw},PQ{params['m']}x{params['nbits']}")
    else:
        raise InputError(f"index kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if train is None or not len(train):
        raise InputError(f"a {kind} index needs training vectors")
    base.train(np.ascontiguousarray(train, dtype=np.float32))
    set_nprobe(base, params.get("nprobe", 16))
    return base


def set_nprobe(index, nprobe: int) -> None:
    """Search `nprobe` lists of an IVF index (and let an HNSW quantiser look at least that wide)."""
    faiss = _faiss()
    ivf = faiss.extract_index_ivf(index)
    ivf.nprobe = min(nprobe, ivf.nlist)
    quantizer = faiss.downcast_index(ivf.quantizer)
    if hasattr(quantizer, "hnsw"):
        quantizer.hnsw.efSearch = max(64, 2 * ivf.nprobe)


class CorpusIndex:
    """Frames of many videos in one FAISS index: IndexIDMap2 over IVF-Flat (or HNSW, or Flat) with
    explicit 64-bit ids (assigned 0, 1, 2, ... in insertion order); an id table maps each id to (video,
    time in seconds, frame position in its index).

    Build: `CorpusIndex(dim, kind="ivf")`, `.add(video, times [N], vectors [N, D])` (or `.add_index`), the
    IVF quantiser is trained on the first `train_size` vectors added (vectors are buffered until then, or
    until `.train()`); search: `.search(query [D] or [Q, D], k) -> list[Moment]` (per query when 2-D).
    Persist: `.save(folder)` writes index.faiss, ids.npz and manifest.json (last, with sizes and hashes) as one
    core.io entry; `CorpusIndex.load(folder)` raises CacheError naming the file when one is truncated, corrupt or
    does not match the others (unlike the embedding cache, which recomputes: a corpus index is not rebuilt here).
    """

    def __init__(self, dim: int, *, kind: str = "ivf", nlist: int | None = None, nprobe: int = 16,
                 hnsw_m: int = 32, train_size: int = 20000) -> None:
        if kind not in ("ivf", "hnsw", "flat"):  # scores are cosines: ivfpq's distances are the library's business
            raise InputError(f"corpus index kind must be ivf, hnsw or flat, got {kind!r}")
        if dim <= 0:
            raise InputError(f"dim must be > 0, got {dim}")
        self.dim, self.kind, self.nlist, self.nprobe, self.hnsw_m, self.train_size = dim, kind, nlist, nprobe, hnsw_m, train_size
        self.videos: list[str] = []
        self._video_ids: dict[str, int] = {}
        self.ids = np.zeros(0, dtype=np.int64)  # [M] ids in insertion order
        self.vid = np.zeros(0, dtype=np.int32)  # [M] video number
        self.times = np.zeros(0, dtype=np.float64)  # [M] seconds
        self.pos = np.zeros(0, dtype=np.int64)  # [M] frame position in its video's index
        self._next_id = 0
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []  # (ids, vectors) waiting for training
        self.index = None  # the CPU IndexIDMap2
        self._search_index = None  # GPU clone, when available
        if kind != "ivf":
            self.index = self._make(None)

    # ------------------------------------------------------------------ building
    def _make(self, train: np.ndarray | None):
        given = {"nlist": self.nlist} if self.nlist else {}
        params = index_params(self.kind, len(train) if train is not None else 0, self.dim, nprobe=self.nprobe,
                              hnsw_m=self.hnsw_m, ef_search=max(64, self.nprobe * 4), **given)
        return _faiss().IndexIDMap2(make_base(self.kind, self.dim, params, train))

    def _video(self, video: str) -> int:
        if video not in self._video_ids:
            self._video_ids[video] = len(self.videos)
            self.videos.append(video)
        return self._video_ids[video]

    def add(self, video: str, times, vectors) -> np.ndarray:
        """Add the frames of one video: times [N] (s), vectors [N, D] (normalised here). Returns ids [N]."""
        vectors = normalize(vectors)
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        if vectors.shape[1] != self.dim or len(vectors) != len(times):
            raise InputError(f"expected vectors [N, {self.dim}] with N = len(times) = {len(times)}, got {vectors.shape}")
        n = len(times)
        ids = np.arange(self._next_id, self._next_id + n, dtype=np.int64)
        self._next_id += n
        v = self._video(str(video))
        self.ids = np.concatenate([self.ids, ids])
        self.vid = np.concatenate([self.vid, np.full(n, v, dtype=np.int32)])
        self.times = np.concatenate([self.times, times])
        self.pos = np.concatenate([self.pos, np.arange(n, dtype=np.int64)])
        if self.index is None:
            self._pending.append((ids, vectors))
            if sum(len(p[0]) for p in self._pending) >= self.train_size:
                self.train()
        else:
            self.index.add_with_ids(vectors, ids)
            self._search_index = None
        return ids

    def add_index(self, video_index, channel: str = "clip") -> np.ndarray:
        """Add every frame of a VideoIndex's `channel` embeddings."""
        if channel not in video_index.embeddings:
            raise InputError(f"{video_index.video} has no {channel!r} embeddings (channels: {sorted(video_index.embeddings)})")
        return self.add(video_index.video, video_index.times, video_index.embeddings[channel])

    def train(self) -> None:
        """Train the IVF quantiser on the buffered vectors and add them (no-op when built already)."""
        if self.index is not None:
            return
        if not self._pending:
            raise InputError("cannot train a corpus index without vectors: add some first")
        ids = np.concatenate([p[0] for p in self._pending])
        vecs = np.concatenate([p[1] for p in self._pending])
        self.index = self._make(vecs[: max(self.train_size, 1)])
        self.index.add_with_ids(vecs, ids)
        self._pending.clear()
        self._search_index = None

    @property
    def ntotal(self) -> int:
        return len(self.ids)

    # ------------------------------------------------------------------ search
    def _searcher(self):
        self.train() if self.index is None else None
        if self._search_index is None:
            self._search_index = self.index
            if _gpus() > 0 and self.kind != "hnsw":
                try:
                    faiss = _faiss()
                    self._search_index = faiss.index_cpu_to_all_gpus(self.index)
                except (RuntimeError, AttributeError) as e:
                    log.warning("corpus index stays on CPU (GPU clone failed: %s)", e)
        return self._search_index

    def search(self, query, k: int = 10):
        """Best k frames for a query [D] -> list[Moment] (scores = cosine, best first); [Q, D] -> one list per row."""
        if k <= 0:
            raise InputError(f"k must be > 0, got {k}")
        single = np.asarray(query).ndim == 1
        q = normalize(query)
        if q.shape[1] != self.dim:
            raise InputError(f"query has dimension {q.shape[1]}, the corpus index {self.dim}")
        if self.ntotal == 0:
            return [] if single else [[] for _ in q]
        d, ids = self._searcher().search(q, min(k, self.ntotal))
        out = []
        for drow, irow in zip(d, ids):
            row = []
            for score, i in zip(drow, irow):
                if i < 0:
                    continue
                j = int(i)  # ids are assigned in order: id = row of the id table
                row.append(Moment(self.videos[self.vid[j]], float(self.times[j]), float(score), {"clip": float(score)}, None, int(self.pos[j])))
            out.append(row)
        return out[0] if single else out

    def lookup(self, ids) -> list[tuple[str, float]]:
        """(video, time) of each id."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.ntotal):
            raise InputError(f"ids out of range [0, {self.ntotal})")
        return [(self.videos[self.vid[x]], float(self.times[x])) for x in ids]

    # ------------------------------------------------------------------ persistence
    def save(self, folder: str | os.PathLike) -> Path:
        """index.faiss + ids.npz, then manifest.json (sizes, SHA-256, counts): one core.io entry."""
        faiss = _faiss()
        self.train() if self.index is None and self._pending else None
        index = self.index if self.index is not None else self._make(np.zeros((1, self.dim), np.float32))
        buf = io.BytesIO()
        np.savez(buf, ids=self.ids, vid=self.vid, times=self.times, pos=self.pos,
                 videos=np.array(self.videos, dtype=str), next_id=np.array(self._next_id))
        files = {"index.faiss": faiss.serialize_index(index).tobytes(), "ids.npz": buf.getvalue()}
        meta = {"format": FORMAT, "dim": self.dim, "kind": self.kind, "ntotal": self.ntotal, "nprobe": self.nprobe}
        return write_entry(folder, files, meta)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> CorpusIndex:
        """The index saved in `folder`; CacheError naming the file that is missing, truncated, corrupt or does
        not belong with the others."""
        faiss = _faiss()
        folder = Path(folder)
        manifest, blobs = read_entry(folder, expect={"format": FORMAT})
        if set(blobs) != {"index.faiss", "ids.npz"}:
            raise CacheError(f"{folder / MANIFEST}: lists {sorted(blobs)}, expected index.faiss and ids.npz")
        self = cls(manifest["dim"], kind=manifest["kind"], nprobe=manifest.get("nprobe", 16))
        try:
            self.index = faiss.deserialize_index(np.frombuffer(blobs["index.faiss"], dtype=np.uint8))
        except RuntimeError as e:
            raise CacheError(f"{folder / 'index.faiss'}: FAISS cannot read it ({str(e).splitlines()[0]})") from None
        with np.load(io.BytesIO(blobs["ids.npz"]), allow_pickle=False) as z:
            self.ids, self.vid, self.times, self.pos = z["ids"], z["vid"], z["times"], z["pos"]
            self.videos = [str(v) for v in z["videos"]]
            self._next_id = int(z["next_id"])
        self._video_ids = {v: i for i, v in enumerate(self.videos)}
        if self.index.ntotal != len(self.ids) or self.index.d != self.dim or manifest["ntotal"] != len(self.ids):
            raise CacheError(f"{folder / 'ids.npz'}: an id table of {len(self.ids)} frames (dim {self.dim}) beside "
                             f"index.faiss holding {self.index.ntotal} vectors of dim {self.index.d}: they do not belong together")
        return self
