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

from longlens.data import AtTimes, LonglensError, probe, read_frames

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
