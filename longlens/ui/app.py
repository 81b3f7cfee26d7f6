"""Streamlit entry of the explorer: `streamlit run app.py -- --library DIR [--max-upload-mb N]`.

Started by `longlens ui` (longlens.ui.launch). Without arguments the library is `library_dir()`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import streamlit as st

from longlens.core.paths import default_library as library_dir
from longlens.ui.launch import DEFAULT_MAX_UPLOAD_MB
from longlens.ui.views.library import sidebar
from longlens.ui.views.page import video_page


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="longlens-ui", allow_abbrev=False, add_help=False)
    p.add_argument("--library", default=None)
    p.add_argument("--max-upload-mb", type=int, default=DEFAULT_MAX_UPLOAD_MB)
    args, _ = p.parse_known_args(argv)
    args.library = Path(args.library) if args.library else library_dir()
    return args


def main() -> None:
    args = parse_args(sys.argv[1:])
    st.set_page_config(page_title="longlens explorer", page_icon="🔎", layout="wide")
    video = sidebar(args.library, args.max_upload_mb)
    if video is None:
        st.title("longlens explorer")
        st.info(f"The library {args.library} has no videos. Run `longlens demo` to put the demo video there, "
                "or upload one in the sidebar.")
        return
    video_page(video, args.library, st.session_state["settings"])


if __name__ == "__main__":  # Streamlit runs this file as __main__; decoder workers re-import it as __mp_main__
    main()
