"""One video's page: what it is, the player (once its browser copy is ready) with the transcript beside it,
indexing with a progress bar, and the Search / Ask / Batch tabs."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from longlens.core.errors import LonglensError
from longlens.core.types import clock
from longlens.ui import cached
from longlens.ui.copies import BrowserCopies
from longlens.ui.library import LibraryFile
from longlens.ui.views.ask import ask_tab
from longlens.ui.views.batch import batch_tab
from longlens.ui.views.library import Settings
from longlens.ui.views.player import player
from longlens.ui.views.search import search_tab
from longlens.ui.views.transcript import transcript_panel


def _index(video: LibraryFile, s: Settings, *, build: bool):
    """The video's index when cached (or when `build`, with a progress bar); None otherwise."""
    key = cached.FileKey.of(video.path)
    if not build and not cached.is_indexed(key, s.indexing):
        return None
    bar = st.progress(0.0, text="Indexing…") if build else None
    seen = {"done": 0.0, "total": None}

    def report(done: float, total: float | None, desc: str) -> None:
        seen.update(done=done, total=total)
        if bar is not None and total:
            bar.progress(min(1.0, done / total), text=f"Indexing: {int(done)} / {int(total)} frames")

    try:
        index = cached.build_index(key, s.indexing, report) if build else cached.video_index(key, s.indexing)
    except LonglensError as e:
        st.error(f"Indexing failed: {e}")
        return None
    if bar is not None:
        done = (f"{int(seen['done'])} / {int(seen['total'])} frames" if seen["total"]
                else f"{len(index)} frames, from the cache")
        bar.progress(1.0, text=f"Indexed {done}")
    return index


def video_page(video: LibraryFile, library: Path, s: Settings, copies: BrowserCopies) -> None:
    st.header(video.name)
    got = cached.video_info(cached.FileKey.of(video.path))
    if "error" in got:
        st.error(f"This video cannot be read: {got['error']}")
        batch_tab(library, s)
        return
    info = got["info"]
    st.caption(f"{clock(info['duration'])} · {info['width']}×{info['height']} · {info['fps']:.3g} fps · "
               f"{info['codec']}" + (" · variable frame rate" if info["vfr"] else ""))
    left, right = st.columns([3, 2], gap="medium")
    with left:
        player(video, copies)
    off = cached.retriever(s.indexing).clip_off_reason()
    if off:
        st.info(f"Visual channel (CLIP) is off: {off}. Searching with "
                f"{', '.join(c for c in s.indexing.channels if c != 'clip') or 'no other channel'}.", icon="ℹ️")
    index = _index(video, s, build=False)
    if index is None:
        st.warning("Not indexed yet: indexing decodes the video, reads its on-screen text and transcribes what is "
                   "said (once; it is cached).")
        if st.button("Index this video", key="index", type="primary"):
            index = _index(video, s, build=True)
    with right:
        transcript_panel(index)
    search, ask, batch = st.tabs(["Search", "Ask", "Batch results"])
    with search:
        if index is None:
            st.caption("Index the video to search it.")
        else:
            search_tab(video, index, s)
    with ask:
        ask_tab(video, s)
    with batch:
        batch_tab(library, s)
