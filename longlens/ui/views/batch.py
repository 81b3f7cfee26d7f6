"""Batch results: a preds.jsonl (+ ground truth) browsed item by item. (filled in below)"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from longlens.ui.views.library import Settings


def batch_tab(library: Path, s: Settings) -> None:
    st.caption("Batch results: coming.")
