"""What the explorer computes once and reuses across reruns and sessions.

Models, indexes and background copies: `st.cache_resource` (one shared Retriever per `Indexing`, it is
thread-safe; one `BrowserCopies` per folder). Per-video arrays (score curves, thumbnails): `st.cache_data`, keyed
by the file's path, size and mtime so an edited file is looked at afresh. Probe results are kept for the whole
server in one table, so the sidebar can say what is known without probing anything (a video is probed when it
is shown). Errors are returned as values, so a broken video is probed once and its message shown on every rerun.
"""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from longlens.core.errors import LonglensError, ModelUnavailableError
from longlens.data import AtTimes, probe, read_frames

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileKey:
    """A library file as a cache key: resolved path + size + mtime (ns)."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str | os.PathLike) -> FileKey:
        st_ = os.stat(path)
        return cls(os.fspath(path), st_.st_size, st_.st_mtime_ns)


@dataclass(frozen=True)
class Indexing:
    """What picks the shared Retriever and keys what it computes: the cache root, the index rate and channels,
    and whether indexing draws a terminal progress bar (None: when stderr is a terminal)."""

    cache: Path
    fps: float
    channels: tuple[str, ...]
    progress: bool | None = None

    def config(self):
        from longlens.retrieval import RetrievalConfig

        return RetrievalConfig(fps=self.fps, channels=self.channels, cache_dir=self.cache, progress=self.progress)


# ---------------------------------------------------------------- probes


@st.cache_resource(show_spinner=False)
def _probed() -> dict[FileKey, dict]:
    """FileKey -> video_info's answer, for every video this server has probed."""
    return {}


def video_info(key: FileKey) -> dict:
    """{"info": VideoInfo dict} or {"error": message} for one library video (probed on first ask)."""
    known = _probed()
    if key not in known:  # two sessions may both probe a new file once: harmless, and no lock to wait on
        try:
            known[key] = {"info": probe(key.path).to_dict()}
        except LonglensError as e:
            known[key] = {"error": str(e)}
    return known[key]


def known_info(key: FileKey) -> dict | None:
    """video_info's answer if the video was probed already, else None (nothing is probed)."""
    return _probed().get(key)


# ---------------------------------------------------------------- browser copies


@st.cache_resource(show_spinner=False)
def copies(folder: Path):
    """The server's background WebM copies into `folder` (longlens.ui.copies.BrowserCopies)."""
    from longlens.ui.copies import BrowserCopies

    return BrowserCopies(folder)


@st.cache_data(show_spinner=False, max_entries=256)
def thumbnails(key: FileKey, times: tuple[float, ...], size: int = 180) -> list[np.ndarray]:
    """Frames on screen at `times` (s), short side `size` px: [H, W, 3] uint8 each, in time order."""
    frames = read_frames(key.path, AtTimes(tuple(sorted(times))), size=size)
    by_time = {round(f.time, 3): f.image for f in frames}
    # AtTimes maps each target to the frame on screen then; match each requested time to its nearest frame
    out = []
    for t in times:
        nearest = min(by_time, key=lambda ft: abs(ft - t)) if by_time else None
        out.append(by_time[nearest] if nearest is not None else np.zeros((size, size, 3), np.uint8))
    return out


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


# ---------------------------------------------------------------- models and indexes


@st.cache_resource(show_spinner=False)
def retriever(how: Indexing):
    """One shared Retriever per Indexing; it builds its models lazily and is thread-safe."""
    from longlens.retrieval import Retriever

    return Retriever(how.config())


@st.cache_data(show_spinner=False, ttl=60, max_entries=1024)
def is_indexed(key: FileKey, how: Indexing) -> bool:
    """Whether every part the Retriever would build for this video is already in the on-disk cache
    (rechecked after a minute, so indexing done elsewhere, e.g. `longlens index`, shows up)."""
    if "error" in video_info(key):
        return False
    try:
        return retriever(how).is_indexed(key.path, fps=how.fps)
    except (LonglensError, OSError):
        return False


@st.cache_resource(show_spinner=False, max_entries=32)
def video_index(key: FileKey, how: Indexing):
    """The video's VideoIndex: read from the on-disk cache, or built (without a progress bar)."""
    return retriever(how).index(key.path, progress=False)


def build_index(key: FileKey, how: Indexing, on_progress):
    """Index the video, telling `on_progress(done, total, desc)` as frames are done (outside any cache:
    the callback draws on the page), then hand back the cached VideoIndex."""
    from longlens.core.progress import report_progress

    with report_progress(on_progress):
        retriever(how).index(key.path, progress=True)
    is_indexed.clear()
    return video_index(key, how)


@st.cache_data(show_spinner=False, max_entries=256)
def curve(key: FileKey, how: Indexing, query: str | None, image_digest: str | None,
          _image: np.ndarray | None = None) -> dict:
    """The query's score curve: {"times" [N] s, "fused" [N], "channels": name -> [N], "stats"}."""
    r = retriever(how)
    c = r.curve(video_index(key, how), query or None, _image)
    return {"times": c.times, "fused": c.fused, "channels": dict(c.channels), "stats": dict(c.stats)}


@st.cache_resource(show_spinner=False)
def vlm(model: str | None = None):
    """(loaded VLM, None) or (None, one line saying why not): tried once per model for the whole server."""
    try:
        from longlens.lvlm import DEFAULT_MODEL, load_vlm

        return load_vlm(model or DEFAULT_MODEL), None
    except ModelUnavailableError as e:
        log.warning("no vision-language model: %s", e)
        return None, e.summary
    except Exception as e:  # noqa: BLE001 - no lvlm layer, a broken checkpoint: answer without a VLM
        log.warning("no vision-language model: %s", e)
        return None, f"{type(e).__name__}: {e}"


# ---------------------------------------------------------------- the library index


def library_stamp(library: Path) -> int:
    """When the library index last changed (its manifest's mtime, ns; 0 when there is none): keys the
    searches below, so a new index is searched afresh."""
    from longlens.core.io import MANIFEST
    from longlens.library import default_folder

    manifest = default_folder(library) / MANIFEST
    return manifest.stat().st_mtime_ns if manifest.is_file() else 0


@st.cache_data(show_spinner=False, ttl=60, max_entries=256)
def library_search(library: str, query: str, how: Indexing, stamp: int, k: int) -> list[dict]:
    """longlens.library.search_library's VideoHits as dicts (best video first), with the shared Retriever."""
    from longlens.library import search_library

    return [h.to_dict() for h in search_library(library, query, k=k, config=how.config(), retriever=retriever(how))]


def index_library(library: Path, how: Indexing, on_progress) -> list[dict]:
    """Index the library (longlens.library.index_library: every video's cache and the library index), telling
    `on_progress(done, total)` in videos; returns its status rows."""
    from longlens.core.progress import report_progress
    from longlens.library import index_library as build

    def report(done: float, total: float | None, desc: str) -> None:
        if total and desc == "index library":  # the bar over the library, not those of its videos
            on_progress(done, total)

    with report_progress(report):
        rows = list(build([library], config=how.config(), show=False))
    is_indexed.clear()
    return rows
