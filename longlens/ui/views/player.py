"""The player: the video's WebM copy at the moment the page asks for (a segment loops).

The copy is made in the background (ui.copies): until it is ready a progress bar stands in the player's place,
redrawn every second by a fragment, and the rest of the page (index, search, timeline) works meanwhile. When
the copy is done the fragment reruns the whole page, which then draws the player.
"""
from __future__ import annotations

import math

import streamlit as st

from longlens.core.types import clock
from longlens.ui import state
from longlens.ui.copies import BrowserCopies, CopyJob
from longlens.ui.library import LibraryFile

PLAYER_WIDTH = 720  # px: the timeline below stays in view
POLL_S = 1.0  # how often the progress bar of a copy being made is redrawn


def player(video: LibraryFile, copies: BrowserCopies) -> bool:
    """Draw the player for `video` (or the progress of its copy); False when there is no player yet, or when
    no playable copy can be made (the error is shown)."""
    job = copies.job(video.path)
    if job.error is not None:
        st.error(job.error)
        return False
    if not job.ready:
        _making(job)
        return False
    seek = state.seek()
    # the player takes whole seconds: a point rounds to its nearest second (as its mm:ss label does);
    # a segment widens to whole seconds so none of it is cut
    end = math.ceil(seek.end) if seek and seek.end is not None else None
    start = 0 if seek is None else math.floor(seek.start) if end is not None else round(seek.start)
    # A repeated seek to the same second remounts the player (a new key), or the browser would stay put.
    with st.container(key=f"player-{st.session_state.get(state.SEEK_COUNT, 0)}"):
        st.video(str(job.path), format="video/webm", start_time=start, end_time=end, loop=end is not None,
                 width=PLAYER_WIDTH)
    where = "Start" if seek is None else f"Playing from {clock(seek.start)}"
    if end is not None:
        where += f" to {clock(seek.end)} (looping)"
    st.caption(where)
    return True


@st.fragment(run_every=POLL_S)
def _making(job: CopyJob) -> None:
    if job.finished.is_set():
        st.rerun()  # the whole page: the player (or the error) takes the bar's place
    frames = f"{job.done} / {job.total} frames" if job.total else f"{job.done} frames"
    st.progress(job.fraction, text=f"Making a browser-playable copy: {frames} (search works meanwhile)")
