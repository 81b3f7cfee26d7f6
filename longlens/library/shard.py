"""One shard of a library index: a FAISS index over at most SHARD_SIZE vectors of one channel, with explicit
64-bit ids, kept in its own core.io entry folder (never rewritten: a change is a new folder).

Files: index.faiss (IndexIDMap2 over a flat index, or an IndexIVFPQ holding the ids itself) and, for a compressed
shard, vectors.f16 ([n, D] float16 rows) + rows.npy (the id of each row): its candidates are re-scored exactly
from these rows, read through a memory map. Opening a shard checks file sizes against the manifest and reads the
FAISS index into memory; `verify` checks every byte against the manifest's SHA-256.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from longlens.core.errors import CacheError
from longlens.core.io import MANIFEST, read_entry, read_manifest, write_entry
from longlens.retrieval.faiss_index import _faiss, _gpus, make_base, normalize, set_nprobe

log = logging.getLogger(__name__)
FORMAT = "longlens-library-shard-1"
SHARD_SIZE = 1_000_000  # vectors per shard: a shard's rewrite (a removal) stays a bounded piece of work


@dataclass
class Shard:
    """A loaded (or freshly built) shard. `index` answers the coarse search; `vectors` / `rows` (compressed kinds)
    give the exact re-scoring."""

    channel: str
    kind: str
    dim: int
    params: dict
    index: object
    rows: np.ndarray | None = None  # [n] ids of the rows of `vectors`, ascending
    vectors: np.ndarray | None = None  # [n, D] float16 (memory-mapped when read from disk)
    folder: Path | None = None
    writable: bool = True  # False: opened for searching (a writer opens its own copy to remove ids)
    _searcher: object = field(default=None, repr=False)

    @property
    def count(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        """The ids the shard holds (ascending)."""
        if self.rows is not None:
            return self.rows[self._alive(self.rows)]
        faiss = _faiss()
        return np.sort(faiss.vector_to_array(self.index.id_map).astype(np.int64))

    def _alive(self, ids: np.ndarray) -> np.ndarray:
        inv = self.index.invlists
        held = np.concatenate([_list_ids(inv, i) for i in range(inv.nlist)]) if inv.nlist else np.zeros(0, np.int64)
        return np.isin(ids, held)

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores [Q, k'], ids [Q, k']) best first, exact cosines (compressed kinds: re-scored candidates)."""
        if self.count == 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        if self.kind == "flat":
            return self._search_index().search(q, min(k, self.count))
        _, ids = self.coarse(q, k * int(self.params.get("refine", 10)))
        scores = np.stack([self.exact(qi, row) for qi, row in zip(q, ids)])
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        scores, ids = np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)
        return scores, np.where(np.isfinite(scores), ids, -1)

    def coarse(self, q: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """A compressed shard's n best candidates by their codes: (squared L2 distances [Q, n], ids [Q, n])."""
        return self._search_index().search(q, min(n, self.count))

    def exact(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact cosines of one query [D] with the stored rows of `ids` [n] (-inf for -1 padding)."""
        out = np.full(len(ids), -np.inf, dtype=np.float32)
        ok = ids >= 0
        out[ok] = self.vectors[np.searchsorted(self.rows, ids[ok])].astype(np.float32) @ query
        return out

    def _search_index(self):
        if self._searcher is None:
            self._searcher = self.index
            if self.kind == "flat" and _gpus() > 0:  # same exact scores on the GPU
                try:
                    self._searcher = _faiss().index_cpu_to_all_gpus(self.index)
                except (RuntimeError, AttributeError) as e:
                    log.warning("library shard stays on CPU (GPU clone failed: %s)", e)
        return self._searcher

    def remove(self, ids: np.ndarray) -> int:
        """Remove `ids` (those it holds) from the index -> how many it removed."""
        self._searcher = None
        return int(self.index.remove_ids(_faiss().IDSelectorBatch(np.asarray(ids, dtype=np.int64))))

    def vectors_of(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids [n], float32 vectors [n, D]) of what the shard holds (to move them into another shard)."""
        if self.rows is not None:
            keep = self._alive(self.rows)
            return self.rows[keep], np.asarray(self.vectors[keep], dtype=np.float32)
        ids = _faiss().vector_to_array(self.index.id_map).astype(np.int64)
        base = _faiss().downcast_index(self.index.index)
        vecs = _faiss().rev_swig_ptr(base.get_xb(), base.ntotal * self.dim).reshape(-1, self.dim).copy()
        order = np.argsort(ids)
        return ids[order], vecs[order]

    # ------------------------------------------------------------------ persistence
    def save(self, folder: Path) -> Path:
        faiss = _faiss()
        files = {"index.faiss": faiss.serialize_index(self.index).tobytes()}
        if self.rows is not None:
            files["rows.npy"] = _npy(self.rows)
            files["vectors.f16"] = np.ascontiguousarray(self.vectors, dtype=np.float16).tobytes()
        meta = {"format": FORMAT, "channel": self.channel, "kind": self.kind, "dim": self.dim, "params": self.params,
                "count": self.count}
        self.folder = write_entry(folder, files, meta)
        return self.folder

    @classmethod
    def open(cls, folder: Path, *, verify: bool = False, writable: bool = False) -> Shard:
        """The shard in `folder`: CacheError naming the file that is missing, truncated or unreadable (every
        byte checked against the manifest's SHA-256 with verify=True; else sizes only, and FAISS reads it).
        writable=True: a copy of its own for a writer that removes ids from it.

        The FAISS index (the PQ codes and ids of a compressed shard: 56 B per vector at 384-d) is read into
        memory; FAISS's memory-mapped IVF lists made one query's coarse search 9x slower (5.2 ms against 0.6 ms
        per 10^6-vector shard, warm). The float16 rows for re-scoring stay memory-mapped: a query reads ~100."""
        faiss = _faiss()
        if verify:
            manifest, _ = read_entry(folder, expect={"format": FORMAT})
        else:
            manifest = read_manifest(folder)
            if manifest.get("format") != FORMAT:
                raise CacheError(f"{folder / MANIFEST}: format is {manifest.get('format')!r}, expected {FORMAT!r}")
            for name, meta in manifest["files"].items():
                p = folder / name
                size = p.stat().st_size if p.is_file() else None
                if size != meta["size"]:
                    said = f"truncated or altered ({size} bytes, the manifest says {meta['size']})"
                    raise CacheError(f"{p}: {'missing' if size is None else said}")
        path = folder / "index.faiss"
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as e:
            raise CacheError(f"{path}: FAISS cannot read it ({str(e).splitlines()[0]})") from None
        if index.d != manifest["dim"] or index.ntotal != manifest["count"]:
            raise CacheError(f"{path}: holds {index.ntotal} vectors of dim {index.d}, the manifest says "
                             f"{manifest['count']} of dim {manifest['dim']}")
        shard = cls(manifest["channel"], manifest["kind"], manifest["dim"], manifest["params"], index, folder=folder,
                    writable=writable)
        if shard.kind != "flat":
            set_nprobe(index, shard.params.get("nprobe", 16))
        if "rows.npy" in manifest["files"]:
            shard.rows = np.load(folder / "rows.npy", mmap_mode="r")
            shard.vectors = np.memmap(folder / "vectors.f16", dtype=np.float16, mode="r",
                                      shape=(len(shard.rows), shard.dim))
        return shard


def build(channel: str, kind: str, dim: int, params: dict, ids: np.ndarray, vectors: np.ndarray,
          template: bytes | None = None) -> Shard:
    """A shard of `kind` over (ids [n] ascending, vectors [n, D]); compressed kinds start from `template` (the
    channel's trained, empty index: every shard of a channel shares one codebook)."""
    faiss = _faiss()
    vectors = normalize(vectors) if len(vectors) else np.zeros((0, dim), np.float32)
    ids = np.asarray(ids, dtype=np.int64)
    if kind == "flat":
        index = faiss.IndexIDMap2(make_base("flat", dim, params))
        index.add_with_ids(vectors, ids)
        return Shard(channel, kind, dim, params, index)
    index = faiss.deserialize_index(np.frombuffer(template, dtype=np.uint8))
    set_nprobe(index, params.get("nprobe", 16))
    index.add_with_ids(vectors, ids)
    return Shard(channel, kind, dim, params, index, rows=ids, vectors=vectors.astype(np.float16))


def train_template(kind: str, dim: int, params: dict, sample: np.ndarray) -> bytes:
    """The channel's trained, empty index of a compressed `kind`, serialised."""
    return _faiss().serialize_index(make_base(kind, dim, params, normalize(sample))).tobytes()


def _list_ids(invlists, i: int) -> np.ndarray:
    n = invlists.list_size(i)
    if n == 0:
        return np.zeros(0, np.int64)
    faiss = _faiss()
    return faiss.rev_swig_ptr(invlists.get_ids(i), n).astype(np.int64).copy()


def _npy(a: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(a))
    return buf.getvalue()


def folder_size(folder: Path) -> int:
    return sum(os.path.getsize(p) for p in Path(folder).iterdir() if p.is_file())
