"""A video library as one searchable object: index it once, keep it current, search it in milliseconds.

    for row in index_library(["lectures/"], engine="ray"):   # per-video caches + the library index
        print(row["video"], row["status"])
    search_library("lectures/", "the vault code", k=10)     # -> list[VideoHits], best video first

Names are imported lazily: importing this package loads no FAISS, Ray or model library.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "index_library": "longlens.library.build",
    "check_library": "longlens.library.build",
    "search_library": "longlens.library.search",
    "VideoHits": "longlens.library.search",
    "LibraryIndex": "longlens.library.store",
    "default_folder": "longlens.library.store",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'longlens.library' has no attribute {name!r}")
