"""Search: a text or picture query → timeline (score over time, keyframes, segments, when words are said and
the speech curve), the sentences said that match, and the keyframe gallery."""
from __future__ import annotations

import io

import numpy as np
import streamlit as st
from PIL import Image

from longlens.core.errors import LonglensError
from longlens.core.types import clock
from longlens.retrieval import ScoreCurve
from longlens.ui import cached, state
from longlens.ui.library import LibraryFile
from longlens.ui.timeline import selection_params, timeline_chart
from longlens.ui.views.library import Settings

GALLERY_COLUMNS = 4
PICTURE_MAX_MB = 20
SAID_HITS = 3  # sentences said shown under the timeline for a text query
KIND_LABEL = {"speech": "said", "screen": "on screen"}


def _query_image() -> tuple[np.ndarray | None, str | None]:
    up = st.file_uploader("…or a picture", type=["png", "jpg", "jpeg", "webp"], key="query_image",
                          max_upload_size=PICTURE_MAX_MB)
    if up is None:
        return None, None
    data = up.getvalue()
    try:
        image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    except Exception as e:  # noqa: BLE001 (PIL raises many kinds for a bad file)
        st.error(f"{up.name} is not a picture: {e}")
        return None, None
    return image, cached.digest(data)


def search_tab(video: LibraryFile, index, s: Settings) -> None:
    """Query box, timeline and gallery for an indexed video."""
    query = st.text_input("Find", key="query", placeholder="a few words seen on screen or said, or a description")
    image, image_key = _query_image()
    if not query.strip() and image is None:
        st.caption("Type a few words (or drop a picture) to see where they are in the video.")
        return
    if image is not None and query.strip():
        st.caption("Searching by the picture (remove it to search by the words).")
    key = cached.FileKey.of(video.path)
    try:
        got = cached.curve(key, s.indexing, None if image is not None else query.strip(), image_key, image)
    except LonglensError as e:
        st.error(str(e))
        return
    curve = ScoreCurve(got["times"], got["fused"], got["channels"], got["stats"])
    r = cached.retriever(s.indexing)
    keyframes = r.select(index, curve, min(s.budget, len(curve)), method=s.selector)
    text = None if image is not None else query.strip()
    segments = r.segments(index, curve, text, image, top=s.top)  # a spoken hit's edges are the words said
    shown = st.toggle("Per-channel curves", key="show_channels")
    said = index.speech if index.speech is not None and index.speech.audio else None
    # the speech curve is always drawn (when it scored the query); the others on request
    channels = curve.channels if shown else {c: v for c, v in curve.channels.items() if c == "speech"}
    chart = timeline_chart(curve.times, curve.fused, channels=channels,
                           keyframes=[(m.time, m.score) for m in keyframes], segments=segments,
                           spoken=[] if said is None else list(zip(said.starts, said.ends, said.texts)))
    st.altair_chart(chart, key=state.TIMELINE, on_select=lambda: state.on_timeline_select(state.TIMELINE),
                    selection_mode=selection_params(chart), width="stretch")
    st.caption("Click the curve to play from there, or a shaded segment to loop it.")
    cols = st.columns(max(1, len(segments)))
    for i, (col, seg) in enumerate(zip(cols, segments)):
        col.button(f"▶ {clock(seg.start)}–{clock(seg.end)} · {seg.score:.2f}", key=f"seg-{i}",
                   on_click=state.seek_to, args=(seg.start, seg.end))
    if text and said is not None and len(said):
        spoken_hits(r, index, text)
    gallery(video, keyframes)


def spoken_hits(retriever, index, query: str) -> None:
    """The sentences said that best match the query (as the extractive answerer ranks them), each with its
    words and a button that plays from when they were said."""
    from longlens.pipeline.extractive import MIN_RELEVANCE, spoken_runs

    runs = [r for r in spoken_runs(retriever, index, query)[:SAID_HITS] if r.relevance >= MIN_RELEVANCE]
    st.subheader(f"Said ({len(runs)})")
    if not runs:
        st.caption("Nothing said matches these words.")
    for i, run in enumerate(runs):
        left, right = st.columns([1, 8])
        left.button(f"▶ {clock(run.time)}", key=f"said-hit-{i}", on_click=state.seek_to, args=(run.time,),
                    help=f"play from {run.time:.1f} s")
        right.caption(f"“{run.text}” · relevance {run.relevance:.2f}")


def gallery(video: LibraryFile, moments: list) -> None:
    """Thumbnails of the selected frames, best first: mm:ss, score, on-screen text, and a button that seeks."""
    st.subheader(f"Keyframes ({len(moments)})")
    moments = sorted(moments, key=lambda m: (-m.score, m.time))
    if not moments:
        return
    try:
        thumbs = cached.thumbnails(cached.FileKey.of(video.path), tuple(m.time for m in moments))
    except LonglensError as e:
        st.error(str(e))
        return
    cols = st.columns(GALLERY_COLUMNS)
    for i, (m, thumb) in enumerate(zip(moments, thumbs)):
        with cols[i % GALLERY_COLUMNS]:
            moment_card(thumb, m, key=f"hit-{i}", on_click=state.seek_to, args=(m.time,),
                        help=f"play from {m.time:.1f} s")


def moment_card(thumb, m, *, key: str, on_click, args: tuple, help: str) -> None:
    """One Moment in a gallery: its thumbnail, a ▶ mm:ss button that calls `on_click(*args)`, its score and the
    recognised text or the words said."""
    st.image(thumb, width="stretch")
    st.button(f"▶ {clock(m.time)}", key=key, on_click=on_click, args=args, help=help)
    what = f"{KIND_LABEL[m.kind]}: " if m.kind in KIND_LABEL and m.text else ""
    st.caption(f"score {m.score:.2f}" + (f" · {what}{m.text}" if m.text else ""))
