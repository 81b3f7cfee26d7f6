"""Library search: one query over every video of the library (its index, built by `longlens index DIR` or the
button here), the hits grouped by video with thumbnails and times; a click opens that video at that moment.

The box is in the sidebar; while a query is typed its results take the main area, and opening a hit gives the
page back to that video (a button returns to the results).
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from longlens.core.errors import LonglensError
from longlens.core.types import Moment
from longlens.ui import cached, state
from longlens.ui.config import ExplorerConfig
from longlens.ui.library import list_files
from longlens.ui.views.library import Settings
from longlens.ui.views.search import GALLERY_COLUMNS, moment_card

HITS = 12  # the best moments across the library shown (grouped by video)


def library_box() -> str:
    """The sidebar's library search box; returns the query (stripped, "" when none)."""
    query = st.sidebar.text_input("Search the library", key=state.LIBRARY_QUERY,
                                  placeholder="words seen or said, in any video",
                                  help="one query over every video of the library, best video first")
    return query.strip()


def library_page(config: ExplorerConfig, s: Settings, query: str) -> bool:
    """Draw the results of `query` over the library in the main area, unless one of them was opened (then a
    button back to them). True when the results took the page."""
    if st.session_state.get(state.LIBRARY_OPENED) == query:
        st.button(f"← Library results for “{query}”", key="library-back", on_click=state.back_to_results)
        return False
    st.header(f"Library: “{query}”")
    try:
        hits = cached.library_search(str(config.library), query, s.indexing, cached.library_stamp(config.library),
                                     HITS)
    except LonglensError as e:
        st.warning(f"The library cannot be searched yet: {e}")
        _index_button(config, s)
        return True
    if not hits:
        st.info("Not found: no video of the library shows or says anything that matches.")
    else:
        st.caption(f"{sum(len(h['moments']) for h in hits)} moments in {len(hits)} video(s), best first. "
                   "Click one to play that video from there.")
    names = {f.path.resolve(): f.name for f in list_files(config.library)}
    for v, hit in enumerate(hits):
        name = names.get(Path(hit["video"]).resolve())
        if name is None:  # in the index but no longer in the library (or reaching outside it)
            continue
        _video_hits(v, name, hit, query)
    _index_button(config, s, label="Update the library index")
    return True


def _video_hits(v: int, name: str, hit: dict, query: str) -> None:
    """One video's moments: thumbnails in time order, each with a button that opens the video there."""
    st.subheader(name)
    st.caption(f"best score {hit['score']:.2f} · {len(hit['moments'])} moment(s)")
    moments = sorted((Moment(**m) for m in hit["moments"]), key=lambda m: m.time)  # Moment.to_dict's, cached
    try:
        thumbs = cached.thumbnails(cached.FileKey.of(hit["video"]), tuple(m.time for m in moments))
    except (LonglensError, OSError) as e:
        st.error(str(e))
        return
    cols = st.columns(GALLERY_COLUMNS)
    for i, (m, thumb) in enumerate(zip(moments, thumbs)):
        with cols[i % GALLERY_COLUMNS]:
            moment_card(thumb, m, key=f"lib-{v}-{i}", on_click=state.open_hit, args=(name, m.time, query),
                        help=f"open {name} at {m.time:.1f} s")


def _index_button(config: ExplorerConfig, s: Settings, *, label: str = "Index the library") -> None:
    """Index every video of the library into its library index (incremental: what is current is skipped)."""
    if not st.button(label, key="library-index"):
        return
    bar = st.progress(0.0, text="Indexing the library…")
    try:
        rows = cached.index_library(config.library, s.indexing, lambda done, total: bar.progress(
            min(1.0, done / total), text=f"Indexing the library: {int(done)} / {int(total)} videos"))
    except LonglensError as e:
        st.error(f"Indexing failed: {e}")
        return
    bad = [r for r in rows if r["status"] == "error"]
    failed = f", {len(bad)} failed" if bad else ""
    bar.progress(1.0, text=f"Library indexed: {len(rows) - len(bad)} video(s){failed}")
    for r in bad:
        st.error(f"{Path(r['video']).name}: {r.get('error')}")
    if not bad:
        st.rerun()  # search the fresh index
