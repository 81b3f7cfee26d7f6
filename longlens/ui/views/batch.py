"""Batch results: a predictions JSONL (+ ground truth) from the library, browsed item by item."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from longlens.core.errors import InputError, LonglensError
from longlens.core.types import Segment, clock
from longlens.retrieval import ScoreCurve
from longlens.ui import cached, state
from longlens.ui.batch import BatchItem, default_truth, library_video, load_batch
from longlens.ui.library import RESULT_EXTS, list_files, safe_path, save_upload
from longlens.ui.timeline import selection_params, timeline_chart
from longlens.ui.views.library import Settings

NONE = "(none)"
RESULT_TYPES = ("jsonl", "json", "txt")  # txt: Charades-STA ground truth


def _pick_files(library: Path) -> tuple[Path | None, Path | None]:
    up = st.file_uploader("Add a predictions or ground-truth file to the library", type=list(RESULT_TYPES),
                          key="batch_upload")
    if up is not None and st.session_state.get("_batch_uploaded") != up.file_id:
        try:
            save_upload(library, up.name, up, exts=tuple(f".{t}" for t in RESULT_TYPES))
            st.session_state["_batch_uploaded"] = up.file_id
        except InputError as e:
            st.error(str(e))
    names = [f.name for f in list_files(library, RESULT_EXTS + (".txt",))]
    if not names:
        st.caption("No result files in the library: write `longlens ground --output` there, or add one above.")
        return None, None
    left, right = st.columns(2)
    preds = left.selectbox("Predictions", names, key="batch_preds",
                           index=next((i for i, n in enumerate(names) if "pred" in n), 0))
    gts = [NONE] + [n for n in names if n != preds]
    gt = right.selectbox("Ground truth", gts, key="batch_gt", index=gts.index(default_truth(names, preds) or NONE))
    return safe_path(library, preds), None if gt == NONE else safe_path(library, gt)


def _row(item: BatchItem) -> dict:
    top = item.segments[0] if item.segments else None
    return {"id": item.id, "video": Path(item.video).name if item.video else "", "query": item.query or "",
            "predicted": f"{clock(top[0])}–{clock(top[1])}" if top else item.error or "",
            "true": ", ".join(f"{clock(a)}–{clock(b)}" for a, b in item.windows),
            "IoU": None if item.iou is None else round(item.iou, 3)}


def batch_tab(library: Path, s: Settings) -> None:
    """Metrics table, items table, and the chosen item on a timeline (predicted vs true)."""
    preds, gt = _pick_files(library)
    if preds is None:
        return
    try:
        items, metrics = load_batch(preds, gt)
    except LonglensError as e:
        st.error(f"Cannot read these results: {e}")
        return
    if metrics is not None:
        st.dataframe(pd.DataFrame([metrics]), hide_index=True)
    if not items:
        st.info("No predictions in this file.")
        return
    st.dataframe(pd.DataFrame([_row(i) for i in items]), hide_index=True)
    by_id = {i.id: i for i in items}
    chosen = by_id[st.selectbox("Item", list(by_id), key="batch_item",
                                format_func=lambda i: f"{i} · {by_id[i].query or ''}")]
    _item(library, chosen, s)


def _item(library: Path, item: BatchItem, s: Settings) -> None:
    video = library_video(library, item.video, list_files(library))
    top = item.segments[0] if item.segments else None
    iou = "" if item.iou is None else f" · IoU {item.iou:.2f}"
    st.markdown(f"**{item.query or item.id}** · predicted "
                f"{f'{clock(top[0])}–{clock(top[1])}' if top else item.error or 'nothing'}"
                + (f" · true {', '.join(f'{clock(a)}–{clock(b)}' for a, b in item.windows)}" if item.windows else "")
                + iou)
    curve, duration = None, None
    if video is not None:
        key = cached.FileKey.of(video.path)
        info = cached.video_info(key)
        duration = info["info"]["duration"] if "info" in info else None
        if item.query and cached.is_indexed(key, s.indexing) and not Path(item.query).suffix:
            got = cached.curve(key, s.indexing, item.query, None)
            curve = ScoreCurve(got["times"], got["fused"], got["channels"], got["stats"])
    chart = timeline_chart([] if curve is None else curve.times, [] if curve is None else curve.fused,
                           segments=[Segment(*top)] if top else [], truth=[Segment(a, b) for a, b in item.windows],
                           duration=duration)
    params = selection_params(chart)
    if params:
        st.altair_chart(chart, key="batch_timeline", on_select=lambda: state.on_timeline_select("batch_timeline"),
                        selection_mode=params, width="stretch")
    else:
        st.altair_chart(chart, width="stretch")
    st.caption("Orange: the predicted segment (click it to play); green band along the top: the true window.")
    if video is None:
        st.caption(f"{item.video or 'The video'} is not in the library: nothing to play.")
    elif top:
        st.button(f"▶ Play the prediction in {video.name}", key="batch_play", on_click=_play,
                  args=(video.name, top[0], top[1]))


def _play(name: str, start: float, end: float) -> None:
    if st.session_state.get(state.VIDEO) != name:
        st.session_state[state.VIDEO] = name
        state.reset_seek()
    state.seek_to(start, end)
