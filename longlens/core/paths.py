"""Where longlens keeps things on disk. Library code takes these as values (fields of config objects);
only the edges (the CLI, the explorer's launcher) read them from the environment, with `Paths.from_env`."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# What counts as a video in a library folder (the explorer's list and uploads, `longlens index DIR`)
VIDEO_EXTS = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".mpg", ".mpeg", ".ts")

# The home used when a caller names none: the one value tests point elsewhere (tests/conftest.py).
DEFAULT_HOME: Path | None = None


def default_home() -> Path:
    """~/.cache/longlens (or DEFAULT_HOME when set)."""
    return DEFAULT_HOME if DEFAULT_HOME is not None else Path.home() / ".cache" / "longlens"


@dataclass(frozen=True)
class Paths:
    """home: longlens's own files; cache: embeddings, OCR, transcripts, indexes, browser copies (home/cache);
    library: the folder of videos the explorer browses and the demo writes to (home/library)."""

    home: Path
    cache: Path
    library: Path

    @classmethod
    def under(cls, home: str | os.PathLike | None = None, *, cache=None, library=None) -> Paths:
        h = Path(home).expanduser() if home else default_home()
        return cls(h, Path(cache).expanduser() if cache else h / "cache",
                   Path(library).expanduser() if library else h / "library")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Paths:
        """From LONGLENS_HOME, LONGLENS_CACHE and LONGLENS_LIBRARY of `env` (core.env.paths passes the environment)."""
        return cls.under(env.get("LONGLENS_HOME") or None, cache=env.get("LONGLENS_CACHE") or None,
                         library=env.get("LONGLENS_LIBRARY") or None)


def default_cache() -> Path:
    return Paths.under().cache


def default_library() -> Path:
    return Paths.under().library
