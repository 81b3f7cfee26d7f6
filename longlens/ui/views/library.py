"""Sidebar: the library's videos (duration, resolution, indexed or not), uploads, and search settings."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from longlens.core.errors import InputError
from longlens.ui import cached, state
from longlens.ui.library import VIDEO_EXTS, LibraryFile, UnsafePathError, list_files, safe_path, save_upload
from longlens.core.types import clock

SELECTORS = ("tass", "uniform", "topk", "mmr")
CHANNELS = ("clip", "ocr", "image")


@dataclass(frozen=True)
class Settings:
    """Choices made in the sidebar: indexing rate, channels, frame selector and budget, segments shown."""

    fps: float = 1.0
    channels: tuple[str, ...] = CHANNELS
    selector: str = "tass"
    budget: int = 12
    top: int = 3


def describe(f: LibraryFile) -> str:
    """What the video picker says under a name: duration · WxH · indexed (or why it can't be read)."""
    got = cached.video_info(cached.FileKey.of(f.path))
    if "error" in got:
        return "unreadable"
    i, s = got["info"], settings()
    mark = " · indexed" if cached.is_indexed(cached.FileKey.of(f.path), s.fps, s.channels) else ""
    return f"{clock(i['duration'])} · {i['width']}×{i['height']}{mark}"


def settings() -> Settings:
    return st.session_state.get("settings") or Settings()


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


def sidebar(library: Path, max_upload_mb: int) -> LibraryFile | None:
    """Draw the sidebar; returns the chosen video (None when the library has none)."""
    st.sidebar.header("Library")
    st.sidebar.caption(str(library))
    _upload(library, max_upload_mb)
    files = {f.name: f for f in list_files(library)}
    with st.sidebar.expander("Search settings"):
        fps = st.number_input("Index rate (frames/s)", 0.1, 10.0, 1.0, 0.5, key="fps")
        chans = st.multiselect("Channels", CHANNELS, default=list(CHANNELS), key="channels")
        sel = st.selectbox("Frame selector", SELECTORS, key="selector")
        budget = st.slider("Frame budget", 2, 64, 12, key="budget")
        top = st.slider("Segments shown", 1, 10, 3, key="top")
    st.session_state["settings"] = Settings(float(fps), tuple(chans) or CHANNELS, sel, int(budget), int(top))
    if not files:
        st.sidebar.info("No videos here yet: run `longlens demo`, or upload one.")
        return None
    _from_url(library, files)
    if st.session_state.get(state.VIDEO) not in files:
        st.session_state[state.VIDEO] = next(iter(files))
    name = st.sidebar.radio("Videos", list(files), key=state.VIDEO, on_change=state.reset_seek,
                            captions=[describe(f) for f in files.values()])
    return files[name]
