"""What the explorer computes once and reuses across reruns and sessions.

Models and indexes: `st.cache_resource` (one shared Retriever per configuration; it is thread-safe).
Per-video arrays (probe results, score curves, thumbnails, browser copies): `st.cache_data`, keyed by the
file's path, size and mtime so an edited file is looked at afresh. Errors are returned as values (cache_data
does not cache exceptions), so a broken video is probed once and its message shown on every rerun.
"""
from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass

import numpy as np
import streamlit as st

from longlens.core.errors import LonglensError
from longlens.data import AtTimes, probe, read_frames

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileKey:
    """A library file as a cache key: resolved path + size + mtime (ns)."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str | os.PathLike) -> "FileKey":
        st_ = os.stat(path)
        return cls(os.fspath(path), st_.st_size, st_.st_mtime_ns)


@st.cache_data(show_spinner=False, max_entries=512)
def video_info(key: FileKey) -> dict:
    """{"info": VideoInfo dict} or {"error": message} for one library video."""
    try:
        return {"info": probe(key.path).to_dict()}
    except LonglensError as e:
        return {"error": str(e)}


@st.cache_data(show_spinner=False, max_entries=64)
def browser_copy(key: FileKey) -> dict:
    """{"path": WebM copy} or {"error": message} (see longlens.ui.webm.browser_copy)."""
    from longlens.ui.webm import browser_copy as make

    try:
        return {"path": str(make(key.path))}
    except LonglensError as e:
        return {"error": str(e)}


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
def retriever(fps: float, channels: tuple[str, ...]):
    """One shared Retriever per (fps, channels); it builds its models lazily and is thread-safe."""
    from longlens.retrieval import RetrievalConfig, Retriever

    return Retriever(RetrievalConfig(fps=fps, channels=channels))


@st.cache_data(show_spinner=False, ttl=60, max_entries=1024)
def is_indexed(key: FileKey, fps: float, channels: tuple[str, ...] = ("clip", "ocr", "image")) -> bool:
    """Whether every part the Retriever would build for this video is already in the on-disk cache
    (rechecked after a minute, so indexing done elsewhere, e.g. `longlens index`, shows up)."""
    if "error" in video_info(key):
        return False
    try:
        return retriever(fps, channels).is_indexed(key.path, fps=fps)
    except (LonglensError, OSError):
        return False


@st.cache_resource(show_spinner=False, max_entries=32)
def video_index(key: FileKey, fps: float, channels: tuple[str, ...]):
    """The video's VideoIndex: read from the on-disk cache, or built (without a progress bar)."""
    return retriever(fps, channels).index(key.path, progress=False)


def build_index(key: FileKey, fps: float, channels: tuple[str, ...], on_progress):
    """Index the video, telling `on_progress(done, total, desc)` as frames are done (outside any cache:
    the callback draws on the page), then hand back the cached VideoIndex."""
    from longlens.core.progress import report_progress

    with report_progress(on_progress):
        retriever(fps, channels).index(key.path, progress=True)
    is_indexed.clear()
    return video_index(key, fps, channels)


@st.cache_data(show_spinner=False, max_entries=256)
def curve(key: FileKey, fps: float, channels: tuple[str, ...], query: str | None, image_digest: str | None,
          _image: np.ndarray | None = None) -> dict:
    """The query's score curve: {"times" [N] s, "fused" [N], "channels": name -> [N], "stats"}."""
    r = retriever(fps, channels)
    c = r.curve(video_index(key, fps, channels), query or None, _image)
    return {"times": c.times, "fused": c.fused, "channels": dict(c.channels), "stats": dict(c.stats)}


@st.cache_resource(show_spinner=False)
def vlm(model: str | None = None):
    """(loaded VLM, None) or (None, why not): tried once per model for the whole server."""
    try:
        from longlens.lvlm import DEFAULT_MODEL, load_vlm

        return load_vlm(model or DEFAULT_MODEL), None
    except Exception as e:  # noqa: BLE001 - no weights, no lvlm layer, a broken checkpoint: answer without a VLM
        log.warning("no vision-language model: %s", e)
        return None, str(e)
