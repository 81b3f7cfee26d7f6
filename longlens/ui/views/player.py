"""The player: the video's WebM copy at the moment the page asks for (a segment loops)."""
from __future__ import annotations

import math

import streamlit as st

from longlens.ui import cached, state
from longlens.ui.library import LibraryFile
from longlens.core.types import clock

PLAYER_WIDTH = 720  # px: the timeline below stays in view


def player(video: LibraryFile) -> bool:
    """Draw the player for `video`; False (with the error shown) when no playable copy can be made."""
    with st.spinner("Making a browser-playable copy…"):
        copy = cached.browser_copy(cached.FileKey.of(video.path))
    if "error" in copy:
        st.error(copy["error"])
        return False
    seek = state.seek()
    # the player takes whole seconds: a point rounds to its nearest second (as its mm:ss label does);
    # a segment widens to whole seconds so none of it is cut
    end = math.ceil(seek.end) if seek and seek.end is not None else None
    start = 0 if seek is None else math.floor(seek.start) if end is not None else round(seek.start)
    # A repeated seek to the same second remounts the player (a new key), or the browser would stay put.
    with st.container(key=f"player-{st.session_state.get(state.SEEK_COUNT, 0)}"):
        st.video(copy["path"], format="video/webm", start_time=start, end_time=end, loop=end is not None,
                 width=PLAYER_WIDTH)
    where = "Start" if seek is None else f"Playing from {clock(seek.start)}"
    if end is not None:
        where += f" to {clock(seek.end)} (looping)"
    st.caption(where)
    return True
