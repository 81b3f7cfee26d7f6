"""The video library the explorer browses: listing, safe paths and uploads (pure functions, no Streamlit).

Every name the page hands in is resolved with `safe_path`, which refuses anything that would reach outside
the library: `..` parts, absolute paths, and symlinks whose target lies outside.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from longlens.core.errors import InputError, UnsafePathError
from longlens.core.io import atomic_open
from longlens.core.paths import VIDEO_EXTS

RESULT_EXTS = (".jsonl", ".json")
DEFAULT_MAX_UPLOAD_MB = 2048  # the explorer's upload limit (2 GB; `longlens ui --max-upload-mb`)
DEFAULT_MAX_UPLOAD = DEFAULT_MAX_UPLOAD_MB * 2**20  # the same in bytes
_CHUNK = 1 << 20


@dataclass(frozen=True)
class LibraryFile:
    name: str  # path relative to the library, "/"-separated
    path: Path  # resolved absolute path (inside the library)
    size: int  # bytes


def safe_path(library: str | os.PathLike, name: str) -> Path:
    """Resolve `name` (relative to `library`) to a real path inside it, or raise UnsafePathError.

    Refused: empty names, absolute paths (POSIX or Windows style), any `..` part, and names whose
    resolved target (after following symlinks) lies outside the resolved library.
    """
    if not name or not str(name).strip():
        raise UnsafePathError("empty file name")
    name = str(name)
    posix, win = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or win.is_absolute() or win.drive or name.startswith(("/", "\\", "~")):
        raise UnsafePathError(f"{name!r} is an absolute path; give a name inside the library")
    if ".." in posix.parts or ".." in win.parts:
        raise UnsafePathError(f"{name!r} contains '..'; names must stay inside the library")
    root = Path(library).resolve()
    target = (root / name).resolve()
    if target != root and root not in target.parents:
        raise UnsafePathError(f"{name!r} points outside the library (a symlink to {target})")
    return target


def list_files(library: str | os.PathLike, exts: tuple[str, ...] = VIDEO_EXTS) -> list[LibraryFile]:
    """Files under `library` with one of `exts`, sorted by name; hidden files and folders are skipped, and
    so are symlinks leading outside the library. A missing library lists as empty."""
    root = Path(library)
    if not root.is_dir():
        return []
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in filenames:
            if fn.startswith(".") or not fn.lower().endswith(exts):
                continue
            name = Path(dirpath, fn).relative_to(root).as_posix()
            try:
                path = safe_path(root, name)
            except UnsafePathError:
                continue
            if path.is_file():
                out.append(LibraryFile(name, path, path.stat().st_size))
    return sorted(out, key=lambda f: f.name)


def clean_upload_name(name: str, exts: tuple[str, ...] = VIDEO_EXTS) -> str:
    """The file name an upload is saved under: its last path part, with odd characters replaced.
    Raises InputError for hidden names and for extensions outside `exts`."""
    base = re.split(r"[\\/]", str(name))[-1].strip()
    base = re.sub(r"[^\w.\- ()]+", "_", base)
    if not base or base.startswith(".") or base in ("..",):
        raise UnsafePathError(f"bad upload name {name!r}")
    if not base.lower().endswith(exts):
        raise InputError(f"{base!r} is not one of the accepted types ({', '.join(exts)})")
    return base


def _free_name(folder: Path, base: str) -> Path:
    stem, ext = os.path.splitext(base)
    path, n = folder / base, 1
    while path.exists():
        path, n = folder / f"{stem} ({n}){ext}", n + 1
    return path


def save_upload(
    library: str | os.PathLike,
    name: str,
    data: BinaryIO | bytes,
    *,
    max_bytes: int = DEFAULT_MAX_UPLOAD,
    exts: tuple[str, ...] = VIDEO_EXTS,
) -> Path:
    """Save an uploaded file into the library (atomically) and return its path.

    `data` is bytes or a binary stream. Larger than `max_bytes` → InputError and nothing is written.
    An existing file is never overwritten: the new one gets a free name "stem (n).ext".
    """
    base = clean_upload_name(name, exts)
    size = len(data) if isinstance(data, (bytes, bytearray)) else getattr(data, "size", None)
    if size is not None and size > max_bytes:
        raise InputError(f"{base!r} is {size / 1e6:.1f} MB; the upload limit is {max_bytes / 1e6:.1f} MB")
    root = Path(library)
    root.mkdir(parents=True, exist_ok=True)
    path = _free_name(root, base)
    safe_path(root, path.name)
    written = 0
    with atomic_open(path, "wb") as f:
        if isinstance(data, (bytes, bytearray)):
            f.write(data)
            written = len(data)
        else:
            while chunk := data.read(_CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise InputError(f"{base!r} is over the upload limit of {max_bytes / 1e6:.1f} MB")
                f.write(chunk)
    return path
