"""A video's VideoIndex read straight from its cache, without probing the file again: the library keeps what
the probe said (size, backend, duration) when the video is merged, and the Retriever's own key fields
(`Retriever._fields`) and assembly (`Retriever._assemble`) turn it into the very index `Retriever.index` builds.
The content hash in the key is computed afresh, so a changed file is a miss (None), never a stale index."""
from __future__ import annotations

from types import SimpleNamespace

from longlens.retrieval import cache
from longlens.retrieval.index import VideoIndex
from longlens.retrieval.retriever import Retriever

PROBE_FIELDS = ("width", "height", "backend", "duration")  # what of a probe the cache key and the index need


def probe_record(info) -> dict:
    """What `cached_index` needs of a probe (data.VideoInfo), JSON-able."""
    return {k: getattr(info, k) for k in PROBE_FIELDS}


def cached_index(r: Retriever, path: str, probed: dict | None) -> VideoIndex | None:
    """The index of `path` from the cache parts `r` would read (every channel part present, or off), else None
    (not cached, a channel part missing, or the file changed): the caller then calls r.index(path)."""
    if not probed or any(k not in probed for k in PROBE_FIELDS):
        return None
    c = r.config
    base, fields = r._fields(path, c.fps, SimpleNamespace(**probed))
    parts = {}
    for p, f in fields.items():
        got = cache.read(c.cache_dir, p, f)
        if got is None:
            return None
        parts[p] = got
    stats = {"cached": sorted(parts), "computed": [], "frames": len(parts["frames"][0]["times"]),
             "decode_size": base["size"], "seconds": {}}
    return r._assemble(path, cache.part_key(base), float(probed["duration"]), c.fps, parts, stats)
