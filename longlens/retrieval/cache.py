"""Content-keyed on-disk cache of per-video embeddings and OCR results.

One entry per (video content, decoder, sampling, part): part "frames" (times, frame numbers, weight-free
descriptors) and one per channel ("clip", "ocr", "image", ...), each keyed by everything that changes its
numbers (see `part_key`): a sampled hash of the file's bytes, decoder backend + version, sampling policy and
decode size, the part's model identity (its channel's `key()`) and SCHEMA_VERSION.

Layout: <cache_dir>/retrieval/<part>-<key>/{arrays.npz, texts.json, manifest.json}, written by core.io's
write_entry (each file atomically, the manifest with every file's size and SHA-256 last). An absent entry is a
miss; an incomplete, altered or foreign one is a miss with a warning naming the file (then recomputed), never
read half-written. Writers of one video hold an exclusive lock file (fcntl.flock) while they compute, so a second
process indexing the same video waits, then reads the first one's entry.

Every function takes the cache root (RetrievalConfig.cache_dir) as its first argument.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from longlens.core.errors import CacheError
from longlens.core.io import MANIFEST, read_entry, write_entry
from longlens.retrieval.config import SCHEMA_VERSION

log = logging.getLogger(__name__)




def _plain(fields: dict) -> dict:
    """`fields` as they read back from JSON (how the manifest stores them)."""
    return json.loads(json.dumps(fields, default=str))


def part_key(fields: dict) -> str:
    """Stable key of a cache entry from its fields (a JSON-able dict, schema version added)."""
    blob = json.dumps({**fields, "schema": SCHEMA_VERSION}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def root(cache_dir: str | os.PathLike) -> Path:
    """The retrieval cache's folder under a cache root."""
    return Path(cache_dir) / "retrieval"


def entry_dir(cache_dir: str | os.PathLike, part: str, fields: dict) -> Path:
    return root(cache_dir) / f"{part}-{part_key(fields)}"


def _meta(part: str, fields: dict) -> dict:
    return {"schema": SCHEMA_VERSION, "part": part, "fields": _plain(fields)}


def write(cache_dir, part: str, fields: dict, arrays: dict[str, np.ndarray], texts: dict | None = None) -> Path:
    """Write one entry: arrays (npz) and texts (JSON), then its manifest (core.io.write_entry)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    files = {"arrays.npz": buf.getvalue(), "texts.json": json.dumps(texts or {}, ensure_ascii=False).encode()}
    return write_entry(entry_dir(cache_dir, part, fields), files, _meta(part, fields))


def has(cache_dir, part: str, fields: dict) -> bool:
    """Whether an entry was completely written (its manifest, written last, exists); `read` still verifies it."""
    return (entry_dir(cache_dir, part, fields) / MANIFEST).is_file()


def read(cache_dir, part: str, fields: dict) -> tuple[dict[str, np.ndarray], dict] | None:
    """The entry's (arrays, texts); None when absent, or (with a warning naming the file) incomplete, corrupt or
    of another schema or key."""
    if not has(cache_dir, part, fields):
        return None
    d = entry_dir(cache_dir, part, fields)
    try:
        _, blobs = read_entry(d, expect=_meta(part, fields))
        if set(blobs) != {"arrays.npz", "texts.json"}:
            raise CacheError(f"{d / MANIFEST}: lists {sorted(blobs)}, expected arrays.npz and texts.json")
    except CacheError as e:
        log.warning("%s: recomputing", e)
        return None
    with np.load(io.BytesIO(blobs["arrays.npz"]), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, json.loads(blobs["texts.json"])


@contextlib.contextmanager
def lock(cache_dir, name: str) -> Iterator[None]:
    """Exclusive inter-process lock named `name` (a file under the cache root), held for the block."""
    path = root(cache_dir) / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX: entries are still written atomically
        yield
        return
    with open(path, "a+") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
