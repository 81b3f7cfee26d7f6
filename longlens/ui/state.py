"""Session state of the explorer: where the player is, and the callbacks that move it.

Callbacks (on_click / on_select) run before the script reruns, so the player, drawn near the top of the
page, already shows the new position in the same run.
"""
from __future__ import annotations

import streamlit as st

from longlens.ui.timeline import Seek, seek_from_selection

SEEK = "seek"  # Seek | None: where the player starts (and ends, for a segment preview)
SEEK_COUNT = "seek_count"  # bumps when a seek repeats the current start, so the player is remounted
VIDEO = "video"  # the selected library name (selectbox key)
TIMELINE = "timeline"  # the timeline chart's widget key
LIBRARY_QUERY = "library_query"  # the library search box (sidebar text input key)
LIBRARY_OPENED = "library_opened"  # the library query whose hit was opened: its results give way to the video


def seek() -> Seek | None:
    return st.session_state.get(SEEK)


def seek_to(start: float, end: float | None = None) -> None:
    """Move the player to `start` s (and loop until `end` s when given). Usable as an on_click callback."""
    new = Seek(float(start), None if end is None else float(end))
    old = st.session_state.get(SEEK)
    if old is not None and round(old.start) == round(new.start):
        st.session_state[SEEK_COUNT] = st.session_state.get(SEEK_COUNT, 0) + 1
    st.session_state[SEEK] = new


def reset_seek() -> None:
    st.session_state[SEEK] = None
    for k in [k for k in st.session_state if str(k).startswith("_last_")]:
        del st.session_state[k]


def on_timeline_select(key: str = TIMELINE) -> None:
    """on_select callback of the timeline chart: a click on the curve or a segment seeks the player."""
    event = st.session_state.get(key) or {}
    selection = dict(event.get("selection") or {})
    target = seek_from_selection(selection, st.session_state.get(f"_last_{key}"))  # what the click changed
    st.session_state[f"_last_{key}"] = selection
    if target is not None:
        seek_to(target.start, target.end)


def open_hit(name: str, time: float, query: str) -> None:
    """on_click of a library search hit: show video `name` (a library name) playing from `time` s; the results
    of `query` give way to it until the query changes (or `back_to_results`)."""
    st.session_state[VIDEO] = name
    reset_seek()
    seek_to(time)
    st.session_state[LIBRARY_OPENED] = query


def back_to_results() -> None:
    st.session_state.pop(LIBRARY_OPENED, None)
