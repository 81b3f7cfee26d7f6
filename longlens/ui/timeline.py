"""The timeline chart (Altair) and what a click on it means (pure functions, no Streamlit).

The chart layers, bottom to top: grounded segments (shaded, clickable), when words are said (a thin band near
the top), per-channel curves (optional), the fused score line, the selected keyframes (marked), and invisible
points on the fused curve that carry the click selection (nearest point). A click comes back from Streamlit as a
selection state; `seek_from_selection` turns the change between two states into the moment to play.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd

from longlens.core.types import Segment, clock

PICK = "pick"  # selection parameter on the fused-curve points
SEGMENT = "segment"  # selection parameter on the grounded segments
PARAMS = (PICK, SEGMENT)

@dataclass(frozen=True)
class Seek:
    """Where the player should go: start (s), and for a segment preview an end (s) with looping."""

    start: float
    end: float | None = None

    @property
    def loop(self) -> bool:
        return self.end is not None


def _axis_expr() -> str:
    """Vega expression writing the axis value (s) as mm:ss, or h:mm:ss past the hour."""
    def pad(v: str) -> str:
        return f"slice('0' + toString({v}), -2)"

    mins, secs = "floor(datum.value % 3600 / 60)", "floor(datum.value % 60)"
    return (f"datum.value >= 3600 ? floor(datum.value / 3600) + ':' + {pad(mins)} + ':' + {pad(secs)} "
            f": {pad('floor(datum.value / 60)')} + ':' + {pad(secs)}")


def timeline_chart(
    times: Sequence[float] | np.ndarray,
    fused: Sequence[float] | np.ndarray,
    *,
    channels: Mapping[str, Sequence[float] | np.ndarray] | None = None,
    keyframes: Sequence[tuple[float, float]] = (),
    segments: Sequence[Segment] = (),
    truth: Sequence[Segment] = (),
    spoken: Sequence[tuple[float, float, str]] = (),
    duration: float | None = None,
    height: int = 220,
) -> alt.LayerChart:
    """Layered Altair chart of a score curve.

    times, fused: [N] seconds and fused score; channels: name -> [N] per-channel scores (drawn when given);
    keyframes: (time s, score) of the selected frames; segments: grounded (predicted) windows, shaded and
    clickable; truth: ground-truth windows, drawn as a band along the top for comparison; spoken: (start s,
    end s, words) of each sentence said, a thin band under the truth's whose tooltip gives the words (bands are
    placed from the top: a mark placed past the bottom would make Vega shrink the plot to fit it); duration: s
    shown (default: the last time). With no curve (N = 0) only the segments and truth are drawn.
    """
    times = np.asarray(times, dtype=float)
    fused = np.asarray(fused, dtype=float)
    if times.shape != fused.shape:
        raise ValueError(f"times {times.shape} and fused {fused.shape} differ in shape")
    df = pd.DataFrame({"time": times, "score": fused, "at": [clock(t) for t in times]})
    end = duration or max([float(times.max()) if len(times) else 0.0] + [w.end for w in (*segments, *truth)] + [1.0])
    x = alt.X("time:Q", title="time", scale=alt.Scale(domain=[0, end]),
              axis=alt.Axis(labelExpr=_axis_expr()))
    y = alt.Y("score:Q", title="score")
    xs = alt.X("start:Q", title="time", scale=alt.Scale(domain=[0, end]), axis=alt.Axis(labelExpr=_axis_expr()))
    layers = []
    if segments:
        seg = pd.DataFrame([{"start": s.start, "end": s.end, "score": s.score, "from": clock(s.start),
                             "to": clock(s.end)} for s in segments])
        pick_seg = alt.selection_point(name=SEGMENT, fields=["start", "end"], on="click", clear=False)
        layers.append(alt.Chart(seg).mark_rect(color="#f59e0b", opacity=0.25).encode(
            x=xs, x2="end:Q", tooltip=["from", "to", alt.Tooltip("score:Q", format=".3f")],
        ).add_params(pick_seg))
    if truth:
        tr = pd.DataFrame([{"start": s.start, "end": s.end, "from": clock(s.start), "to": clock(s.end)}
                           for s in truth])
        layers.append(alt.Chart(tr).mark_rect(color="#16a34a", opacity=0.35).encode(
            x=xs, x2="end:Q", y=alt.value(0), y2=alt.value(8), tooltip=["from", "to"]))  # a band along the top
    if len(spoken):
        said = pd.DataFrame([{"start": a, "end": b, "said": text, "from": clock(a)} for a, b, text in spoken])
        layers.append(alt.Chart(said).mark_rect(color="#7c3aed", opacity=0.45).encode(
            x=xs, x2="end:Q", y=alt.value(10), y2=alt.value(16), tooltip=["from", "said"]))  # under the truth band
    if channels:
        long = pd.DataFrame({"time": np.tile(times, len(channels)),  # long format: one row per (channel, time)
                             "score": np.concatenate([np.asarray(v, dtype=float) for v in channels.values()]),
                             "channel": np.repeat(list(channels), len(times))})
        legend = alt.Legend(orient="top", direction="horizontal", title=None)  # one row: the plot keeps its height
        layers.append(alt.Chart(long).mark_line(strokeWidth=1, opacity=0.7).encode(
            x=x, y=y, color=alt.Color("channel:N", legend=legend)))
    if not len(times):
        return alt.layer(*layers).properties(height=height)
    layers.append(alt.Chart(df).mark_line(color="#2563eb", strokeWidth=2).encode(x=x, y=y))
    if len(keyframes):
        kf = pd.DataFrame([{"time": t, "score": s, "at": clock(t)} for t, s in keyframes])
        layers.append(alt.Chart(kf).mark_point(color="#dc2626", filled=True, size=70, shape="diamond").encode(
            x=x, y=y, tooltip=["at", alt.Tooltip("score:Q", format=".3f")]))
    pick = alt.selection_point(name=PICK, fields=["time"], on="click", nearest=True, clear=False)
    layers.append(alt.Chart(df).mark_point(opacity=0.0, size=30).encode(
        x=x, y=y, tooltip=["at", alt.Tooltip("score:Q", format=".3f")]).add_params(pick))
    return alt.layer(*layers).properties(height=height)


def selection_params(chart: alt.LayerChart) -> list[str]:
    """Names of the click selections a timeline chart carries (PICK needs a curve, SEGMENT segments)."""
    names = {p["name"] for p in chart.to_dict().get("params", [])}
    return [p for p in PARAMS if p in names]


def _first(values) -> dict | None:
    if isinstance(values, Mapping):  # Vega point selections may also arrive as {"field": [..]}
        values = [dict(zip(values, v)) for v in zip(*values.values())] if values else []
    return dict(values[0]) if values else None


def seek_from_selection(new: Mapping | None, old: Mapping | None = None) -> Seek | None:
    """The seek a timeline click asks for, or None.

    new, old: Streamlit selection states {param: [ {field: value}, ... ]} after and before the click.
    Only a parameter whose value changed counts (a point selection stays set after its click), so a
    click on the curve gives Seek(time) and a click on a segment Seek(start, end).
    """
    new, old = dict(new or {}), dict(old or {})
    for param in PARAMS:
        value = _first(new.get(param) or [])
        if value is None or value == _first(old.get(param) or []):
            continue
        if param == SEGMENT and "start" in value and "end" in value:
            return Seek(float(value["start"]), float(value["end"]))
        if param == PICK and "time" in value:
            return Seek(float(value["time"]))
    return None
