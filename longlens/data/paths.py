"""Where longlens keeps things on disk (overridable by environment variables)."""
from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """Root of longlens's own files: $LONGLENS_HOME, else ~/.cache/longlens."""
    return Path(os.environ.get("LONGLENS_HOME") or Path.home() / ".cache" / "longlens")


def cache_dir() -> Path:
    """Embedding / OCR / index cache: $LONGLENS_CACHE, else <home>/cache."""
    return Path(os.environ.get("LONGLENS_CACHE") or home() / "cache")


def library_dir() -> Path:
    """The video library the UI browses and the demo writes to: $LONGLENS_LIBRARY, else <home>/library."""
    return Path(os.environ.get("LONGLENS_LIBRARY") or home() / "library")
