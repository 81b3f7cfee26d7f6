"""Streamlit entry of the explorer: `streamlit run app.py -- [--library DIR] [--cache DIR] [--max-upload-mb N]`.

Started by `longlens ui` (longlens.ui.launch), which passes the library and cache; missing values come from the
environment (core.env), read here and nowhere below. The page frame (title, sidebar header) and a spinner are
drawn before anything slow: the views' imports (PyAV, pandas, Altair, the retrieval layer) and the probe of the
video shown.
"""
from __future__ import annotations

import argparse
import sys

import streamlit as st

from longlens.ui.config import ExplorerConfig
from longlens.ui.library import DEFAULT_MAX_UPLOAD_MB

TITLE = "longlens explorer"


def parse_args(argv: list[str]) -> ExplorerConfig:
    p = argparse.ArgumentParser(prog="longlens-ui", allow_abbrev=False, add_help=False)
    p.add_argument("--library", default=None)
    p.add_argument("--cache", default=None)
    p.add_argument("--max-upload-mb", type=int, default=DEFAULT_MAX_UPLOAD_MB)
    args, _ = p.parse_known_args(argv)
    return ExplorerConfig.from_env(library=args.library, cache=args.cache, max_upload_mb=args.max_upload_mb)


def main(argv: list[str] | None = None, *, copies=None) -> None:
    """Draw the page. copies: the BrowserCopies that makes the player's WebM copies (default: the server's
    shared one for <cache>/webm; tests pass one whose transcode they control)."""
    config = parse_args(sys.argv[1:] if argv is None else argv)
    st.set_page_config(page_title=TITLE, page_icon="🔎", layout="wide")
    st.title(TITLE)
    st.sidebar.header("Library")
    st.sidebar.caption(str(config.library))
    with st.spinner("Opening the library…"):
        # imported here, after the frame above is on its way to the browser: these take a second or more
        from longlens.ui import cached
        from longlens.ui.views.library import sidebar
        from longlens.ui.views.library_search import library_box, library_page
        from longlens.ui.views.page import video_page

        query = library_box()
        video, settings = sidebar(config)
        if query and library_page(config, settings, query):  # the library's results take the page
            return
        if video is None:
            st.info(f"The library {config.library} has no videos. Run `longlens demo` to put the demo video "
                    "there, or upload one in the sidebar.")
            return
        video_page(video, config.library, settings, copies or cached.copies(config.webm))


if __name__ == "__main__":  # Streamlit runs this file as __main__; decoder workers re-import it as __mp_main__
    main()
