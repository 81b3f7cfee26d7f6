"""Sidebar: the library's videos (duration, resolution, indexed or not, once known), uploads, search settings.

Videos are probed lazily: only the one shown is probed; the others say what is already known of them (their
size until they are shown once), so a large library opens at once.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import streamlit as st

from longlens.core.errors import InputError, UnsafePathError
from longlens.core.registry import CHANNELS, SELECTORS
from longlens.core.types import clock
from longlens.retrieval import RetrievalConfig
from longlens.ui import cached, state
from longlens.ui.config import ExplorerConfig
from longlens.ui.library import (
    VIDEO_EXTS,
    LibraryFile,
    list_files,
    safe_path,
    save_upload,
)

DEFAULT_FPS = next(f.default for f in fields(RetrievalConfig) if f.name == "fps")
DEFAULT_BUDGET = 12  # keyframes in the gallery (a 4-column grid of 3 rows)
DEFAULT_TOP = 3  # segment buttons under the timeline


@dataclass(frozen=True)
class Settings:
    """Choices made in the sidebar: how the video is indexed (cache, rate, channels), the frame selector and
    budget, and how many segments are shown."""

    indexing: cached.Indexing
    selector: str = SELECTORS.default
    budget: int = DEFAULT_BUDGET
    top: int = DEFAULT_TOP


def describe(f: LibraryFile, s: Settings) -> str:
    """What the video picker says under a name: duration · WxH · indexed (or why it can't be read) when the
    video was probed already, else its size (nothing is probed here)."""
    key = cached.FileKey.of(f.path)
    got = cached.known_info(key)
    if got is None:
        return f"{f.size / 1e6:.1f} MB"
    if "error" in got:
        return "unreadable"
    i = got["info"]
    mark = " · indexed" if cached.is_indexed(key, s.indexing) else ""
    return f"{clock(i['duration'])} · {i['width']}×{i['height']}{mark}"


def _upload(library: Path, max_upload_mb: int) -> None:
    with st.sidebar.expander("Upload a video"):
        up = st.file_uploader("Video file", type=[e[1:] for e in VIDEO_EXTS], key="upload",
                              max_upload_size=max_upload_mb, help=f"at most {max_upload_mb} MB; saved into the library")
        if up is None or st.session_state.get("_uploaded") == up.file_id:
            return
        try:
            path = save_upload(library, up.name, up, max_bytes=max_upload_mb * 2**20)
        except InputError as e:
            st.error(str(e))
            return
        st.session_state["_uploaded"] = up.file_id
        st.session_state[state.VIDEO] = path.relative_to(library).as_posix()
        state.reset_seek()
        st.success(f"saved {path.name} into the library")


def _from_url(library: Path, files: dict[str, LibraryFile]) -> None:
    """Honour `?video=NAME` (a name inside the library); anything reaching outside is refused on the page."""
    wanted = st.query_params.get("video")
    if not wanted:
        return
    try:
        safe_path(library, wanted)
    except UnsafePathError as e:
        st.error(f"Refused: {e}")
        return
    name = Path(wanted).as_posix()
    if name not in files:
        st.error(f"{wanted!r} is not a video in the library")
    elif st.session_state.get("_from_url") != name:  # once: later picks in the sidebar win
        st.session_state["_from_url"] = name
        st.session_state[state.VIDEO] = name
        state.reset_seek()


def _settings(config: ExplorerConfig) -> Settings:
    with st.sidebar.expander("Search settings"):
        fps = st.number_input("Index rate (frames/s)", 0.1, 10.0, DEFAULT_FPS, 0.5, key="fps")
        chans = st.multiselect("Channels", CHANNELS.names, default=list(CHANNELS.names), key="channels")
        sel = st.selectbox("Frame selector", SELECTORS.names, index=SELECTORS.names.index(SELECTORS.default),
                           key="selector")
        budget = st.slider("Frame budget", 2, 64, DEFAULT_BUDGET, key="budget")
        top = st.slider("Segments shown", 1, 10, DEFAULT_TOP, key="top")
    how = cached.Indexing(config.cache, float(fps), tuple(chans) or CHANNELS.names, config.progress)
    return Settings(how, sel, int(budget), int(top))


def sidebar(config: ExplorerConfig) -> tuple[LibraryFile | None, Settings]:
    """Draw the rest of the sidebar (under its header); returns the chosen video (None when the library has
    none, probed) and the settings."""
    _upload(config.library, config.max_upload_mb)
    s = _settings(config)
    files = {f.name: f for f in list_files(config.library)}
    if not files:
        st.sidebar.info("No videos here yet: run `longlens demo`, or upload one.")
        return None, s
    _from_url(config.library, files)
    if st.session_state.get(state.VIDEO) not in files:
        st.session_state[state.VIDEO] = next(iter(files))
    cached.video_info(cached.FileKey.of(files[st.session_state[state.VIDEO]].path))  # the one shown: probe it now
    name = st.sidebar.radio("Videos", list(files), key=state.VIDEO, on_change=state.reset_seek,
                            captions=[describe(f, s) for f in files.values()])
    return files[name], s
