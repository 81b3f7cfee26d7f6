"""The persistent library index: one FAISS space per channel (CLIP frame vectors; MiniLM vectors of on-screen
lines; MiniLM vectors of spoken sentences), each a list of shards, with a 64-bit id table mapping every vector to
(video, time, text) and a manifest.

Layout of an index folder (default <library>/.longlens/index):
  manifest.json              core.io manifest, written last: generation, spaces (kind + parameters per channel),
                             shards, videos' numbers; it names the two files below
  table-<gen>.npz            ids [M] (ascending), video number, channel, shard, time, text number per id
  library-<gen>.json         videos (name relative to the library, content hash, size, mtime, key, counts), texts
  shards/<channel>-<seq>/    one shard.Shard entry each (index.faiss [+ rows.npy, vectors.f16])
  shards/<channel>-t<seq>/   a compressed space's trained, empty index (its codebook)
  retrieval/locks/writer.lock  the writers' lock (retrieval.cache.lock)

A change never rewrites a file a reader may be reading: new vectors go to new shards, a shard that loses ids
is written as a new folder, and the manifest (atomic, last) switches to the new generation; files of older
generations than the previous one are then deleted. Readers hence always see the last complete version.

Index kind per space is chosen by its size (faiss_index.choose_kind): exact (flat) below FLAT_MAX vectors; past
it the space is re-trained once as IVF-PQ (compressed codes + exact re-scoring of candidates from the stored
float16 rows) and later shards reuse that codebook. Shards hold at most shard.SHARD_SIZE vectors; more than
MAX_SHARDS small ones are merged.
"""
from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from longlens.core.errors import CacheError, InputError
from longlens.core.io import MANIFEST, read_entry, write_entry
from longlens.library import shard as shard_mod
from longlens.library.shard import Shard
from longlens.retrieval.faiss_index import choose_kind, index_params, normalize

log = logging.getLogger(__name__)
FORMAT = "longlens-library-1"
MAX_SHARDS = 16  # per space: beyond this the smallest shards are merged (while they fit in one)
TRAIN_MAX = 200_000  # vectors a compressed space's codebook is trained on at most
SPACES = ("clip", "ocr", "speech")  # the channels whose vectors a library indexes (see library.vectors)

_COLUMNS = {"ids": np.int64, "video": np.int32, "channel": np.int8, "shard": np.int32, "time": np.float64,
            "text": np.int32}


def default_folder(library: str | Path) -> Path:
    """Where a library folder keeps its index."""
    return Path(library) / ".longlens" / "index"


class LibraryIndex:
    """A library index in memory (see the module docstring). Readers: `LibraryIndex.open(folder)`, `search`.
    The one writer (inside `writer(folder)`, which holds the lock): `add_video`, `remove_video`, `commit`."""

    def __init__(self, folder: str | Path, root: str | Path, config: dict | None = None) -> None:
        self.folder, self.root = Path(folder), Path(root)
        self.config = dict(config or {})
        self.generation = 0
        self.videos: dict[str, dict] = {}  # name (relative to root, "/"-separated) -> record
        self.counters = {"id": 0, "video": 0, "shard": 0}
        self.table = {k: np.zeros(0, t) for k, t in _COLUMNS.items()}
        self.texts: list[str] = []
        self.spaces: dict[str, dict] = {}  # channel -> {"dim", "kind", "params", "template": folder | None}
        self.shards: dict[str, list[str]] = {}  # channel -> shard folder names
        self._loaded: dict[str, Shard] = {}
        self._pending: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        self._dirty: set[str] = set()
        self._files: set[str] = set()  # what the manifest read names (kept one generation more)

    # ------------------------------------------------------------------ reading
    @classmethod
    def open(cls, folder: str | Path, *, root: str | Path | None = None) -> LibraryIndex:
        """The index in `folder` (an empty one when none was written there yet; `root` its library folder).
        CacheError naming the file when the table or manifest is damaged."""
        folder = Path(folder)
        if not (folder / MANIFEST).is_file():
            return cls(folder, root if root is not None else folder.parent.parent)
        manifest, blobs = read_entry(folder, expect={"format": FORMAT})
        self = cls(folder, manifest["root"], manifest.get("config"))
        self.generation, self.counters = manifest["generation"], dict(manifest["counters"])
        self.spaces, self.shards = manifest["spaces"], manifest["shards"]
        table, lib = f"table-{self.generation:06d}.npz", f"library-{self.generation:06d}.json"
        if set(blobs) != {table, lib}:
            raise CacheError(f"{folder / MANIFEST}: lists {sorted(blobs)}, expected {table} and {lib}")
        try:
            with np.load(io.BytesIO(blobs[table]), allow_pickle=False) as z:
                self.table = {k: z[k].astype(t) for k, t in _COLUMNS.items()}
            meta = json.loads(blobs[lib])
        except (ValueError, KeyError, OSError) as e:
            raise CacheError(f"{folder / table}: unreadable ({e})") from None
        self.videos, self.texts = meta["videos"], meta["texts"]
        self._files = {table, lib, *self._shard_names()}
        return self

    def _shard_names(self) -> set[str]:
        names = {n for v in self.shards.values() for n in v}
        return names | {s["template"] for s in self.spaces.values() if s.get("template")}

    def shard(self, name: str, *, writable: bool = False, verify: bool = False) -> Shard:
        """The shard folder `name`, opened once (CacheError naming a damaged file); writable: a writer's own copy."""
        s = self._loaded.get(name)
        if s is None or verify or (writable and not s.writable):
            s = Shard.open(self.folder / "shards" / name, verify=verify, writable=writable)
            self._loaded[name] = s
        return s

    def path(self, name: str) -> Path:
        """A video's path from its name in the index."""
        return self.root / name

    def name(self, path: str | Path) -> str:
        """A video's name in the index: its path relative to the library folder ("/"-separated), else absolute."""
        p = Path(path).absolute()
        try:
            return p.relative_to(self.root.absolute()).as_posix()
        except ValueError:
            return p.as_posix()

    def count(self, channel: str | None = None) -> int:
        if channel is None:
            return len(self.table["ids"])
        return int((self.table["channel"] == _channel_no(channel)).sum())

    def search(self, channel: str, query: np.ndarray, k: int) -> list[tuple[str, float, float, str | None]]:
        """The k best vectors of `channel` for a query [D]: (video name, time, cosine, text) best first, merged
        over the shards."""
        if channel not in self.spaces or not self.shards.get(channel):
            return []
        q = normalize(query)
        if q.shape[1] != self.spaces[channel]["dim"]:
            raise InputError(f"query has dimension {q.shape[1]}, the library's {channel} space "
                             f"{self.spaces[channel]['dim']}")
        s, i = merged_search([self.shard(n) for n in self.shards[channel]], q[0], k)
        order = np.lexsort((i, -s))[:k]
        rows = np.searchsorted(self.table["ids"], i[order])
        names = self._names()
        return [(names[int(self.table["video"][r])], float(self.table["time"][r]), float(s[o]),
                 self.texts[self.table["text"][r]] if self.table["text"][r] >= 0 else None)
                for r, o in zip(rows, order)]

    def _names(self) -> dict[int, str]:
        return {v["number"]: n for n, v in self.videos.items()}

    def ids_of(self, name: str, channel: str | None = None) -> np.ndarray:
        """The ids of a video's vectors (of one channel, or all)."""
        if name not in self.videos:
            return np.zeros(0, np.int64)
        m = self.table["video"] == self.videos[name]["number"]
        if channel is not None:
            m &= self.table["channel"] == _channel_no(channel)
        return self.table["ids"][m]

    # ------------------------------------------------------------------ writing (under `writer`)
    def add_video(self, name: str, record: dict, vectors: dict[str, tuple]) -> np.ndarray:
        """Add a video's vectors: channel -> (times [n], vectors [n, D], texts [n] or None). A video already in
        the index is replaced (its old ids removed). Returns the new ids. Searchable after `commit`."""
        if name in self.videos:
            self.remove_video(name)
        number = self.counters["video"]
        self.counters["video"] += 1
        new_ids = []
        counts = {}
        for channel, (times, vecs, texts) in vectors.items():
            vecs = np.asarray(vecs, dtype=np.float32)
            n = len(times)
            counts[channel] = n
            if n == 0:
                continue
            space = self.spaces.setdefault(channel, {"dim": int(vecs.shape[1]), "kind": "flat",
                                                     "params": index_params("flat", 0, int(vecs.shape[1])),
                                                     "template": None})
            if vecs.shape[1] != space["dim"]:
                raise InputError(f"{name}: {channel} vectors of dim {vecs.shape[1]}, the library's {space['dim']} "
                                 "(indexed with another model? rebuild the library index)")
            ids = np.arange(self.counters["id"], self.counters["id"] + n, dtype=np.int64)
            self.counters["id"] += n
            text_no = np.full(n, -1, np.int32)
            for j, t in enumerate(texts or []):
                if t:
                    text_no[j] = len(self.texts)
                    self.texts.append(t)
            self._append(ids=ids, video=np.full(n, number), channel=np.full(n, _channel_no(channel)),
                         shard=np.full(n, -1), time=np.asarray(times, np.float64), text=text_no)
            self._pending.setdefault(channel, []).append((ids, vecs))
            new_ids.append(ids)
        self.videos[name] = {**record, "number": number, "vectors": counts}
        return np.concatenate(new_ids) if new_ids else np.zeros(0, np.int64)

    def _append(self, **cols) -> None:
        for k, t in _COLUMNS.items():
            self.table[k] = np.concatenate([self.table[k], np.asarray(cols[k], dtype=t)])

    def remove_video(self, name: str) -> np.ndarray:
        """Remove a video's vectors (FAISS remove_ids on the shards holding them) -> the ids removed."""
        if name not in self.videos:
            return np.zeros(0, np.int64)
        m = self.table["video"] == self.videos.pop(name)["number"]
        gone = self.table["ids"][m]
        for seq in np.unique(self.table["shard"][m]):
            if seq < 0:
                continue
            folder = self._shard_folder(int(seq))
            s = self.shard(folder, writable=True)
            s.remove(gone)
            self._dirty.add(folder)
        for channel, parts in self._pending.items():
            self._pending[channel] = [(i[~np.isin(i, gone)], v[~np.isin(i, gone)]) for i, v in parts]
        self.table = {k: v[~m] for k, v in self.table.items()}
        return gone

    def _shard_folder(self, seq: int) -> str:
        for names in self.shards.values():
            for n in names:
                if int(n.rsplit("-", 1)[1]) == seq:
                    return n
        raise CacheError(f"{self.folder / MANIFEST}: no shard {seq} (the id table and the manifest disagree)")

    def _new_shard(self, s: Shard) -> str:
        seq = self.counters["shard"]
        self.counters["shard"] += 1
        name = f"{s.channel}-{seq:06d}"
        s.save(self.folder / "shards" / name)
        self._loaded[name] = s
        rows = np.searchsorted(self.table["ids"], s.ids())
        self.table["shard"][rows] = seq
        return name

    def commit(self) -> None:
        """Write what changed (new shards, shards that lost ids, the table) and switch the manifest to the new
        generation; then delete what neither it nor the one before names."""
        for channel in sorted(set(self._pending) | set(self.shards)):
            self._commit_space(channel)
        self.generation += 1
        alive = np.unique(self.table["text"][self.table["text"] >= 0])  # texts of removed ids go
        remap = np.full(len(self.texts) + 1, -1, np.int32)
        remap[alive] = np.arange(len(alive), dtype=np.int32)
        self.texts = [self.texts[i] for i in alive]
        self.table["text"] = np.where(self.table["text"] >= 0, remap[self.table["text"]], -1).astype(np.int32)
        buf = io.BytesIO()
        np.savez(buf, **self.table)
        table, lib = f"table-{self.generation:06d}.npz", f"library-{self.generation:06d}.json"
        files = {table: buf.getvalue(),
                 lib: json.dumps({"videos": self.videos, "texts": self.texts}, ensure_ascii=False).encode()}
        meta = {"format": FORMAT, "generation": self.generation, "root": str(self.root.absolute()),
                "config": self.config, "counters": self.counters, "spaces": self.spaces, "shards": self.shards,
                "count": self.count()}
        write_entry(self.folder, files, meta)
        keep = {table, lib, *self._shard_names()} | self._files
        self._collect(keep)
        self._files = {table, lib, *self._shard_names()}

    def _commit_space(self, channel: str) -> None:
        space = self.spaces[channel]
        pending = [(i, v) for i, v in self._pending.pop(channel, []) if len(i)]
        names = list(self.shards.get(channel, []))
        for name in sorted(self._dirty & set(names)):  # shards that lost ids: a new folder each
            s = self._loaded.pop(name)
            names[names.index(name)] = self._rewrite(s, *s.vectors_of()) if s.count else None
        names = [n for n in names if n]
        self._dirty -= set(self.shards.get(channel, []))
        total = self.count(channel)
        if space["kind"] == "flat" and choose_kind(total) != "flat":
            names = self._upgrade(channel, names, pending, total)
        elif pending:
            ids = np.concatenate([i for i, _ in pending])
            vecs = np.concatenate([v for _, v in pending])
            for a in range(0, len(ids), shard_mod.SHARD_SIZE):
                names.append(self._build(channel, ids[a:a + shard_mod.SHARD_SIZE], vecs[a:a + shard_mod.SHARD_SIZE]))
        while len(names) > MAX_SHARDS:  # merge the two smallest while they fit in one shard
            a, b = sorted(names, key=lambda n: self.shard(n).count)[:2]
            if self.shard(a).count + self.shard(b).count > shard_mod.SHARD_SIZE:
                break
            ia, va = self.shard(a).vectors_of()
            ib, vb = self.shard(b).vectors_of()
            merged = self._build(channel, np.concatenate([ia, ib]), np.concatenate([va, vb]))
            names = [n for n in names if n not in (a, b)] + [merged]
        self.shards[channel] = names

    def _build(self, channel: str, ids: np.ndarray, vecs: np.ndarray) -> str:
        space = self.spaces[channel]
        order = np.argsort(ids)
        template = None
        if space["template"]:
            template = (self.folder / "shards" / space["template"] / "index.faiss").read_bytes()
        return self._new_shard(shard_mod.build(channel, space["kind"], space["dim"], space["params"], ids[order],
                                               vecs[order], template))

    def _rewrite(self, s: Shard, ids: np.ndarray, vecs: np.ndarray) -> str:
        return self._build(s.channel, ids, vecs)

    def _upgrade(self, channel: str, names: list[str], pending: list, total: int) -> list[str]:
        """The space outgrew exact search: train its codebook once and rebuild its shards compressed."""
        space = self.spaces[channel]
        parts = [self.shard(n).vectors_of() for n in names] + pending
        ids = np.concatenate([i for i, _ in parts])
        vecs = np.concatenate([v for _, v in parts])
        kind = choose_kind(total)
        params = index_params(kind, total, space["dim"])
        rng = np.random.default_rng(0)
        sample = vecs[rng.choice(len(vecs), min(len(vecs), TRAIN_MAX), replace=False)]
        t = Shard(channel, kind, space["dim"], params, shard_mod._faiss().deserialize_index(
            np.frombuffer(shard_mod.train_template(kind, space["dim"], params, sample), np.uint8)))
        space.update(kind=kind, params=params)
        seq = self.counters["shard"]
        self.counters["shard"] += 1
        space["template"] = f"{channel}-t{seq:06d}"
        t.save(self.folder / "shards" / space["template"])
        log.info("library index: %s space has %d vectors: now %s %s", channel, total, kind, params)
        out = []
        for a in range(0, len(ids), shard_mod.SHARD_SIZE):
            out.append(self._build(channel, ids[a:a + shard_mod.SHARD_SIZE], vecs[a:a + shard_mod.SHARD_SIZE]))
        return out

    def _collect(self, keep: set[str]) -> None:
        """Delete the files and shard folders neither this generation nor the one before names."""
        for p in self.folder.glob("table-*.npz"):
            if p.name not in keep:
                p.unlink(missing_ok=True)
        for p in self.folder.glob("library-*.json"):
            if p.name not in keep:
                p.unlink(missing_ok=True)
        shards = self.folder / "shards"
        if shards.is_dir():
            for p in shards.iterdir():
                if p.name not in keep:
                    shutil.rmtree(p, ignore_errors=True)


def merged_search(shards: list[Shard], query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (cosines, ids) of one query [D] over `shards`: flat shards exactly; compressed ones by their
    codes first, the best refine * k candidates of all of them together then re-scored exactly (the rows a query
    reads do not grow with the shard count)."""
    q = query[None]
    scores, ids = [], []
    cand_d, cand_i, owner = [], [], []

    def one(s: Shard):  # FAISS releases the GIL: shards are searched side by side, one thread each
        return s.search(q, k) if s.kind == "flat" else s.coarse(q, k * int(s.params.get("refine", 10)))

    live = [(n, s) for n, s in enumerate(shards) if s.count]
    found = _pool().map(one, [s for _, s in live]) if len(live) > 1 else map(one, [s for _, s in live])
    for (n, s), (d, i) in zip(live, found):
        if s.kind == "flat":
            scores.append(d[0])
            ids.append(i[0])
        else:
            cand_d.append(d[0])
            cand_i.append(i[0])
            owner.append(np.full(len(i[0]), n))
    if cand_i:
        d, i, o = np.concatenate(cand_d), np.concatenate(cand_i), np.concatenate(owner)
        refine = max(int(shards[int(o[0])].params.get("refine", 10)), 1) * k
        best = np.argsort(d, kind="stable")[:refine]
        i, o = i[best], o[best]
        exact = np.full(len(i), -np.inf, np.float32)
        for n in np.unique(o):
            exact[o == n] = shards[int(n)].exact(query, i[o == n])
        scores.append(exact)
        ids.append(i)
    if not ids:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    s, i = np.concatenate(scores), np.concatenate(ids)
    keep = (i >= 0) & np.isfinite(s)
    return s[keep], i[keep]


def _pool() -> ThreadPoolExecutor:
    """The threads shards are searched on (one per core; made on first use, made again in a forked child, which
    inherits the executor but not its threads)."""
    return _pool_of(os.getpid())


@functools.cache
def _pool_of(pid: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="longlens-shards")


def _channel_no(channel: str) -> int:
    if channel not in SPACES:
        raise InputError(f"the library indexes the vectors of {', '.join(SPACES)}, not {channel!r}")
    return SPACES.index(channel)


@contextlib.contextmanager
def writer(folder: str | Path) -> Iterator[None]:
    """The one writer of an index folder: an exclusive lock (retrieval.cache.lock), held for the block; a
    second writer waits until the first is done and then sees its last commit."""
    from longlens.retrieval.cache import lock

    folder = Path(folder)
    with lock(folder, "writer"):
        yield
