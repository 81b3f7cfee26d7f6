"""Temporal grounding: a score curve over time -> ranked segments [start, end, score]. Pure numpy."""
from __future__ import annotations

import numpy as np

from longlens.core.errors import InputError
from longlens.core.types import Segment, iou

BAND = 8.0  # sigmas: weights beyond it are below e^-32 of a frame's own, far under float64 rounding of the sums


def smooth(times: np.ndarray, scores: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing in time (sigma in seconds; works for uneven sampling). times sorted, [N] -> [N].

    out[i] = sum_j w_ij s_j / sum_j w_ij with w_ij = exp(-(t_i - t_j)^2 / 2 sigma^2), over the neighbours within
    BAND sigmas (the rest weigh nothing in float64). Memory O(N): the sums are accumulated one index offset at a
    time (offset o pairs every frame i with frame i + o), never as an N x N matrix (a 2-hour video at 1 fps
    would need 415 MB for one)."""
    times = np.asarray(times, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    if sigma <= 0 or n < 2:
        return scores.copy()
    pos = np.arange(n)
    lo = np.searchsorted(times, times - BAND * sigma, side="left")
    hi = np.searchsorted(times, times + BAND * sigma, side="right")
    num, den = scores.copy(), np.ones(n)  # offset 0: every frame's own weight is 1
    for o in range(-int((pos - lo).max()), int((hi - 1 - pos).max()) + 1):
        if o == 0:
            continue
        a, b = max(0, -o), n - max(0, o)  # frames a..b-1 have a partner at i + o
        w = np.exp(-0.5 * ((times[a + o: b + o] - times[a:b]) / sigma) ** 2)
        num[a:b] += w * scores[a + o: b + o]
        den[a:b] += w
    return num / den


def ground_segments(
    times,
    scores,
    *,
    top: int = 5,
    sigma: float | None = None,
    rel: float = 0.5,
    nms_iou: float = 0.3,
    duration: float | None = None,
) -> list[Segment]:
    """Ranked segments where the score curve peaks.

    times [N] seconds (sorted), scores [N]. Steps: Gaussian smoothing (sigma seconds, default 1.5 sample
    periods); peaks = local maxima above the median; each peak expands left and right while the smoothed
    score stays >= median + rel * (peak - median) (an adaptive, per-peak half-height threshold); a segment
    spans its first to last frame, widened by half a sample period on each side (a sample stands for its
    interval) and clipped to [0, duration]; score = peak height. Non-maximum suppression drops segments
    whose IoU with a better one exceeds nms_iou. Returns at most `top` segments, best first.
    """
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(times) != len(scores):
        raise InputError(f"times and scores differ in length ({len(times)} vs {len(scores)})")
    if top <= 0:
        raise InputError(f"top must be > 0, got {top}")
    if len(times) == 0:
        return []
    order = np.argsort(times, kind="stable")
    times, scores = times[order], scores[order]
    dt = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    dt = dt if dt > 0 else 1.0
    s = smooth(times, scores, 1.5 * dt if sigma is None else sigma)
    base = float(np.median(s))
    left = np.r_[-np.inf, s[:-1]]
    right = np.r_[s[1:], -np.inf]
    eps = 1e-9 * max(1.0, float(np.abs(s).max()))  # smoothing a constant leaves rounding ripples, not peaks
    peaks = np.flatnonzero((s >= left) & (s >= right) & (s > base + eps))
    if len(peaks) == 0:  # a flat curve has no peak: nothing stands out, so nothing is found (never the whole video)
        return []
    peaks = peaks[np.argsort(-s[peaks], kind="stable")]
    end_time = float(duration) if duration is not None else float(times[-1] + dt / 2)
    segs: list[Segment] = []
    covered = np.zeros(len(s), dtype=bool)
    for p in peaks:
        if covered[p]:
            continue  # on the plateau of a better peak
        thr = base + rel * (s[p] - base)
        lo = p
        while lo > 0 and s[lo - 1] >= thr:
            lo -= 1
        hi = p
        while hi < len(s) - 1 and s[hi + 1] >= thr:
            hi += 1
        covered[lo : hi + 1] = True
        start = max(0.0, times[lo] - dt / 2)
        end = min(end_time, times[hi] + dt / 2)
        if end <= start:
            end = start + dt
        cand = (start, end)
        if any(iou(cand, (g.start, g.end)) > nms_iou for g in segs):
            continue
        segs.append(Segment(float(start), float(end), float(s[p])))
        if len(segs) == top:
            break
    return segs


def evidence_span(times, evidence, peak: int, *, gap: int = 2,
                  duration: float | None = None) -> tuple[float, float] | None:
    """The time window of the run of evidence around row `peak`: times [N] s (sorted), evidence [N] bool (the
    rows where a channel verified what was asked: the caption read, the picture matched). The run grows from
    the peak while evidence continues, across at most `gap` rows without it (a frame the OCR misread, or where
    a passing object hid the picture), and spans its first to last row with evidence, widened by half a sample
    period on each side (a sample stands for its interval) and clipped to [0, duration]. None when the peak
    row itself has no evidence."""
    times = np.asarray(times, dtype=np.float64)
    evidence = np.asarray(evidence, dtype=bool)
    if not evidence[peak]:
        return None
    lo = hi = peak
    i = peak - 1
    while i >= 0 and lo - i <= gap + 1:
        if evidence[i]:
            lo = i
        i -= 1
    i = peak + 1
    while i < len(times) and i - hi <= gap + 1:
        if evidence[i]:
            hi = i
        i += 1
    dt = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    end = times[hi] + dt / 2 if duration is None else min(float(duration), times[hi] + dt / 2)
    return max(0.0, float(times[lo] - dt / 2)), float(end)
