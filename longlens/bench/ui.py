"""`longlens bench ui`: how fast the explorer makes its browser copies and draws its timeline.

Rows: the WebM (VP9) copy of the demo video (20 minutes at 1 fps; 2 minutes with quick) in seconds and as a
multiple of real time, and building + serialising the timeline chart of an hour-long curve at 1 fps.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import altair as alt
import numpy as np

from longlens.core.types import Segment
from longlens.data.synth import demo_spec, make_video


def run(*, quick: bool = False) -> dict:
    from longlens.ui.timeline import timeline_chart
    from longlens.ui.webm import WebmConfig, browser_copy, video_codec

    duration = 120.0 if quick else 1200.0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "demo.mp4"
        make_video(src, demo_spec(duration), show_progress=False)
        t0 = time.perf_counter()
        out = browser_copy(src, cache=Path(tmp) / "webm")
        seconds = time.perf_counter() - t0
        rows.append({"case": f"webm copy, demo {duration / 60:g} min @ 1 fps 480x270", "codec": video_codec(),
                     "seconds": round(seconds, 3), "x_realtime": round(duration / seconds, 1),
                     "MB": round(out.stat().st_size / 1e6, 3)})
    n = 600 if quick else 3600
    rng = np.random.default_rng(0)
    times, fused = np.arange(n, dtype=float), rng.standard_normal(n)
    t0 = time.perf_counter()
    with alt.data_transformers.disable_max_rows():  # Streamlit ships data as Arrow, without Altair's row cap
        spec = timeline_chart(times, fused, channels={"ocr": rng.random(n), "image": rng.random(n)},
                              keyframes=[(float(t), 1.0) for t in times[:: n // 16]],
                              segments=[Segment(100.0, 130.0, 2.0)]).to_dict()
    rows.append({"case": f"timeline chart, {n} points + 2 channels", "seconds": round(time.perf_counter() - t0, 3),
                 "datasets": len(spec["datasets"])})
    return {"rows": rows, "notes": [f"WebM settings: {WebmConfig().key()} (deadline realtime, cpu-used 8)"],
            "meta": {"duration_s": duration, "points": n}}
