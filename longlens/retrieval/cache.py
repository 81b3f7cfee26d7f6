"""Content-keyed on-disk cache of per-video embeddings and OCR results.

One entry per (video content, decoder, sampling, part): part "frames" (times, frame numbers, weight-free
descriptors), "clip", "ocr", "image", each keyed by everything that changes its numbers (see `part_key`):
a sampled hash of the file's bytes, decoder backend + version, sampling policy and decode size, the part's
model identity (architecture, weights, preprocessing, dtype) and SCHEMA_VERSION.

Layout: <cache_dir>/retrieval/<part>-<key>/{arrays.npz, texts.json, manifest.json}. Every file is written
atomically (longlens.core.io) and manifest.json, which lists every file's size and SHA-256, is written last:
an entry without a manifest, with a file missing or of another size or hash, or from another schema is a
miss (never read half-written). Writers of one video hold an exclusive lock file (fcntl.flock) while they
compute, so a second process indexing the same video waits, then reads the first one's entry.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
from pathlib import Path
from typing import Iterator

import numpy as np

from longlens.core.io import atomic_write_bytes, atomic_write_json
from longlens.core.paths import default_cache as cache_dir
from longlens.retrieval.config import SCHEMA_VERSION

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
N_CHUNKS = 16


def content_hash(path: str | os.PathLike, *, full: bool = False) -> str:
    """Hash of a file's bytes: its size + 16 chunks of 64 KiB spread evenly over it (or every byte with
    full=True). Sampled hashing reads ~1 MiB however long the video; it misses edits that touch no sampled
    chunk and keep the size (use full=True where files are edited in place)."""
    h = hashlib.sha256()
    size = os.path.getsize(path)
    h.update(f"size:{size};full:{full};".encode())
    with open(path, "rb") as f:
        if full or size <= CHUNK * N_CHUNKS:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        else:
            for k in range(N_CHUNKS):
                f.seek((size - CHUNK) * k // (N_CHUNKS - 1))
                h.update(f.read(CHUNK))
    return h.hexdigest()[:32]


def part_key(fields: dict) -> str:
    """Stable key of a cache entry from its fields (a JSON-able dict, schema version added)."""
    blob = json.dumps({**fields, "schema": SCHEMA_VERSION}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def root() -> Path:
    return cache_dir() / "retrieval"


def entry_dir(part: str, fields: dict) -> Path:
    return root() / f"{part}-{part_key(fields)}"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(part: str, fields: dict, arrays: dict[str, np.ndarray], texts: dict | None = None) -> Path:
    """Write one entry: arrays (npz) and texts (JSON), each atomically, then the manifest last."""
    d = entry_dir(part, fields)
    d.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    files = {"arrays.npz": buf.getvalue(), "texts.json": json.dumps(texts or {}, ensure_ascii=False).encode()}
    for name, data in files.items():
        atomic_write_bytes(d / name, data)
    manifest = {
        "schema": SCHEMA_VERSION,
        "part": part,
        "fields": json.loads(json.dumps(fields, default=str)),
        "files": {name: {"size": len(data), "sha256": _sha(data)} for name, data in files.items()},
    }
    atomic_write_json(d / "manifest.json", manifest)
    return d


def has(part: str, fields: dict) -> bool:
    """Whether an entry was completely written (its manifest, written last, exists); `read` still verifies it."""
    return (entry_dir(part, fields) / "manifest.json").is_file()


def read(part: str, fields: dict) -> tuple[dict[str, np.ndarray], dict] | None:
    """The entry's (arrays, texts), or None when absent, incomplete, corrupt or of another schema."""
    d = entry_dir(part, fields)
    try:
        manifest = json.loads((d / "manifest.json").read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        log.warning("cache entry %s has an unreadable manifest (%s): recomputing", d, e)
        return None
    if manifest.get("schema") != SCHEMA_VERSION or manifest.get("fields") != json.loads(json.dumps(fields, default=str)):
        log.warning("cache entry %s belongs to another schema or key: recomputing", d)
        return None
    blobs = {}
    for name, meta in manifest.get("files", {}).items():
        try:
            data = (d / name).read_bytes()
        except OSError:
            data = b""
        if len(data) != meta["size"] or _sha(data) != meta["sha256"]:
            log.warning("cache file %s is missing, truncated or corrupt: recomputing", d / name)
            return None
        blobs[name] = data
    if set(blobs) != {"arrays.npz", "texts.json"}:
        return None
    with np.load(io.BytesIO(blobs["arrays.npz"]), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, json.loads(blobs["texts.json"])


@contextlib.contextmanager
def lock(name: str) -> Iterator[None]:
    """Exclusive inter-process lock named `name` (a file under the cache root), held for the block."""
    path = root() / "locks" / f"{name}.lock"
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
