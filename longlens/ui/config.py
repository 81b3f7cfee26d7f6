"""What the explorer is started with: its library, cache folder, progress display and upload limit.

Made at the edge (launch.py, app.py: command-line values, else core.env) and passed down; nothing below reads
the environment.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from longlens.core import env as core_env
from longlens.ui.library import DEFAULT_MAX_UPLOAD_MB


@dataclass(frozen=True)
class ExplorerConfig:
    """library: the folder of videos browsed; cache: the index cache root (browser copies go to cache/webm);
    progress: draw terminal progress bars while indexing (None: when stderr is a terminal); max_upload_mb."""

    library: Path
    cache: Path
    progress: bool | None = None
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB

    @classmethod
    def from_env(cls, *, library: str | os.PathLike | None = None, cache: str | os.PathLike | None = None,
                 max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB, env: Mapping[str, str] | None = None) -> ExplorerConfig:
        """The values given, the rest from LONGLENS_LIBRARY / LONGLENS_CACHE / LONGLENS_PROGRESS (core.env)."""
        paths = core_env.paths(env)
        return cls(Path(library) if library else paths.library, Path(cache) if cache else paths.cache,
                   core_env.progress(env), int(max_upload_mb))

    @property
    def webm(self) -> Path:
        """Where browser-playable copies are kept: beside the index cache."""
        return self.cache / "webm"
