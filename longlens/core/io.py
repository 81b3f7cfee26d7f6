"""The one way anything reaches disk: atomic writes (temp file, fsync, rename), and entries of several files
whose manifest (sizes + SHA-256, written last) says they are complete."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from longlens.core.errors import CacheError


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside `path` (same suffix) for writers that need a file name (PyAV, FAISS);
    on clean exit it is fsynced and renamed over `path`, on an exception removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes it 0600; this is a user-visible file like any other
    try:
        yield Path(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside `path`; on clean exit fsync it and rename it over `path`.

    Readers see either the old file or the complete new one, never a half-written file.
    On an exception the temporary file is removed and `path` is untouched.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open supports modes 'w' and 'wb', not {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            yield f


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w") as f:
        f.write(text)


def atomic_write_json(path: str | os.PathLike, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def append_line(f: IO[str], line: str) -> None:
    """Append one line to an open text file and make it durable (flush + fsync)."""
    f.write(line.rstrip("\n") + "\n")
    f.flush()
    os.fsync(f.fileno())


# ---------------------------------------------------------------------------------------------- content keys
HASH_CHUNK, HASH_CHUNKS = 64 * 1024, 16


def content_hash(path: str | os.PathLike, *, full: bool = False) -> str:
    """Hash of a file's bytes: its size + 16 chunks of 64 KiB spread evenly over it (or every byte with
    full=True). Sampled hashing reads ~1 MiB however long the video; it misses edits that touch no sampled
    chunk and keep the size (use full=True where files are edited in place). Every cache keyed by a video's
    content (frames and embeddings, transcripts, browser copies) uses this one function."""
    h = hashlib.sha256()
    size = os.path.getsize(path)
    h.update(f"size:{size};full:{full};".encode())
    with open(path, "rb") as f:
        if full or size <= HASH_CHUNK * HASH_CHUNKS:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        else:
            for k in range(HASH_CHUNKS):
                f.seek((size - HASH_CHUNK) * k // (HASH_CHUNKS - 1))
                h.update(f.read(HASH_CHUNK))
    return h.hexdigest()[:32]


# ---------------------------------------------------------------------------------------------- manifests
MANIFEST = "manifest.json"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_entry(folder: str | os.PathLike, files: dict[str, bytes], meta: dict) -> Path:
    """Write `files` (name -> bytes) into `folder`, each atomically, then manifest.json last.

    The manifest holds `meta` (JSON-able; e.g. format, schema, key fields) and every file's size and SHA-256,
    so a reader never takes a half-written or altered entry for a complete one (see `read_entry`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        atomic_write_bytes(folder / name, data)
    manifest = {**meta, "files": {n: {"size": len(d), "sha256": _sha256(d)} for n, d in files.items()}}
    atomic_write_json(folder / MANIFEST, manifest)
    return folder


def read_manifest(folder: str | os.PathLike) -> dict:
    """The manifest of an entry; CacheError naming it when absent or unreadable."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise CacheError(f"{path}: no manifest (the entry was never completely written)") from None
    except (OSError, ValueError) as e:
        raise CacheError(f"{path}: unreadable manifest ({e})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise CacheError(f"{path}: not a longlens manifest")
    return manifest


def read_entry(folder: str | os.PathLike, *, expect: dict | None = None) -> tuple[dict, dict[str, bytes]]:
    """(manifest, name -> bytes) of an entry written by `write_entry`, every file checked against its size and
    SHA-256. `expect`: manifest fields that must match (e.g. {"format": ..., "schema": ...}).
    Raises CacheError naming the file that is missing, truncated, altered or of another kind."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    for k, v in (expect or {}).items():
        if manifest.get(k) != v:
            raise CacheError(f"{folder / MANIFEST}: {k} is {manifest.get(k)!r}, expected {v!r}")
    blobs = {}
    for name, meta in manifest["files"].items():
        p = folder / name
        try:
            data = p.read_bytes()
        except OSError as e:
            raise CacheError(f"{p}: cannot read ({e.strerror or e})") from None
        if len(data) != meta["size"]:
            raise CacheError(f"{p}: truncated or altered ({len(data)} bytes, the manifest says {meta['size']})")
        if _sha256(data) != meta["sha256"]:
            raise CacheError(f"{p}: contents do not match the manifest's hash (corrupt, or from another write)")
        blobs[name] = data
    return manifest, blobs
