"""Moment retrieval metrics, as the field's evaluators compute them. Small stateless numpy functions.

Shapes: a query's predictions are a float array [K, 3] of (start, end, score) rows in the order the model
ranked them (best first); its ground-truth windows are [M, 2] of (start, end). Times in seconds; results
are fractions in [0, 1] (callers scale to points).

Two IoU formulas, equal in exact arithmetic, kept apart because the evaluators break threshold ties with
their own float results:
- `iou_matrix` uses |a| + |b| - |a ∩ b| as the union: mAP (moment_detr's standalone_eval, from MMAction2);
- `hull_iou` uses max(ends) - min(starts), which equals the union whenever the windows overlap (and the
  intersection is 0 otherwise): recall@n and mIoU (moment_detr's R1, 2D-TAN, TimeChat).

- R@n at IoU θ (`best_ious` + `recall_at`): a query is a hit when one of its first n predictions reaches
  IoU >= θ; each prediction is scored against the ground-truth window it overlaps most (first on ties).
- mIoU: the mean over queries of the first prediction's IoU.
- AP (`average_precision`): predictions sorted by score (stable), each matched greedily to the
  unmatched window of highest IoU >= θ (a true positive), else a false positive; AP is the area under
  the precision/recall curve after making precision non-increasing (VOC 2011 interpolation), with
  recall over the query's M windows. mAP is the mean of per-query AP; "average" the mean over θ.
- Length buckets (QVHighlights): a query keeps only its windows of length in (lo, hi] and is dropped
  when none are left; short (0, 10], middle (10, 30], long (30, inf) s. (moment_detr caps long at 150 s,
  the longest QVHighlights video; hour-long videos have longer windows, so we do not.)
A query without predictions (K = 0) scores 0 everywhere.
"""
from __future__ import annotations

import numpy as np

IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))  # 0.5, 0.55, ..., 0.95
BUCKETS = {"short": (0.0, 10.0), "middle": (10.0, 30.0), "long": (30.0, float("inf"))}


def as_windows(x, cols: int = 2) -> np.ndarray:
    """A float64 array [K, cols] (an empty input gives [0, cols])."""
    a = np.asarray(x, dtype=np.float64)
    return a.reshape(0, cols) if a.size == 0 else a.reshape(-1, a.shape[-1])[:, :cols]


def iou_matrix(a, b) -> np.ndarray:
    """IoU [N, M] of windows a [N, >=2] and b [M, >=2] with union |a| + |b| - |a ∩ b|; 0 where that is 0."""
    a, b = as_windows(a), as_windows(b)
    inter = np.clip(np.minimum(a[:, None, 1], b[None, :, 1]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    union = (a[:, 1] - a[:, 0])[:, None] + (b[:, 1] - b[:, 0])[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def hull_iou(a, b) -> np.ndarray:
    """IoU [N] of paired windows a [N, >=2] and b [N, >=2] with max(ends) - min(starts) as the union."""
    a, b = as_windows(a), as_windows(b)
    inter = np.clip(np.minimum(a[:, 1], b[:, 1]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    hull = np.maximum(a[:, 1], b[:, 1]) - np.minimum(a[:, 0], b[:, 0])
    return np.divide(inter, hull, out=np.zeros_like(inter), where=hull > 0)


def best_ious(pred, truth, n: int | None = None) -> np.ndarray:
    """IoU [min(K, n)] of each of the first n predictions [K, >=2] with the window of truth [M, 2] it
    overlaps most (first on ties); zeros when M = 0."""
    pred = as_windows(pred)[:n]
    truth = as_windows(truth)
    if len(truth) == 0 or len(pred) == 0:
        return np.zeros(len(pred))
    nearest = truth[np.argmax(iou_matrix(pred, truth), axis=1)]
    return hull_iou(pred, nearest)


def recall_at(top_ious: list[np.ndarray], thresholds=IOU_THRESHOLDS) -> np.ndarray:
    """[T] fraction of queries whose best IoU among their first-n predictions (`best_ious(.., n=n)`) is >= θ."""
    best = np.array([t.max() if len(t) else 0.0 for t in top_ious])
    if len(best) == 0:
        return np.zeros(len(thresholds))
    return np.array([np.mean(best >= th) for th in thresholds])


def interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """VOC 2011 AP of a precision/recall curve [K] (recall non-decreasing): precision made non-increasing
    from the right, summed over the recall steps (a step to recall 1 at precision 0 closes the curve)."""
    p = np.concatenate([[0.0], precision, [0.0]])
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    step = np.nonzero(r[1:] != r[:-1])[0] + 1
    return float(np.sum((r[step] - r[step - 1]) * p[step]))


def average_precision(pred, truth, thresholds=IOU_THRESHOLDS) -> np.ndarray:
    """AP [T] of one query's predictions [K, 3] (start, end, score) against its windows [M, 2] (module doc)."""
    pred = as_windows(pred, 3)
    truth = as_windows(truth)
    ap = np.zeros(len(thresholds))
    if len(pred) == 0 or len(truth) == 0:
        return ap
    pred = pred[np.argsort(-pred[:, 2], kind="stable")]
    ious = iou_matrix(pred, truth)  # [K, M]
    # each prediction tries windows from the highest IoU down (ties: the later window first, as a reversed
    # stable argsort gives in the reference evaluator)
    order = np.argsort(ious, axis=1, kind="stable")[:, ::-1]
    for t, th in enumerate(thresholds):
        taken = np.zeros(len(truth), dtype=bool)
        tp = np.zeros(len(pred))
        for k in range(len(pred)):
            for j in order[k]:
                if ious[k, j] < th:
                    break
                if not taken[j]:
                    taken[j] = True
                    tp[k] = 1.0
                    break
        hits = np.cumsum(tp)
        ap[t] = interpolated_ap(hits / np.arange(1, len(pred) + 1), hits / len(truth))
    return ap


def in_bucket(truth, lo: float, hi: float) -> np.ndarray:
    """The windows [M', 2] of truth [M, 2] whose length is in (lo, hi]."""
    truth = as_windows(truth)
    length = truth[:, 1] - truth[:, 0]
    return truth[(length > lo) & (length <= hi)]


def temporal_prf(pred, truth, tolerance: float = 5.0) -> tuple[float, float, float] | None:
    """LV-Haystack's temporal (precision, recall, F1) of one query at ±tolerance s; None when pred or truth is
    empty (LV-Haystack leaves such queries out of its averages).

    pred [K, >=2] and truth [M, 2] are windows; a time point t is the window [t, t], and the distance between
    two windows is the gap between them (0 when they overlap), so on points this is LV-Haystack's |t - t'|.
    precision: the share of predictions within tolerance of some truth; recall: the share of truths within
    tolerance of some prediction; F1 = 2PR / (P + R), 0 when P + R = 0.
    """
    pred, truth = as_windows(pred), as_windows(truth)
    if len(pred) == 0 or len(truth) == 0:
        return None
    gap = np.maximum(0.0, np.maximum(truth[None, :, 0] - pred[:, None, 1], pred[:, None, 0] - truth[None, :, 1]))
    near = gap <= tolerance  # [K, M]
    p, r = float(near.any(axis=1).mean()), float(near.any(axis=0).mean())
    return p, r, (2 * p * r / (p + r) if p + r > 0 else 0.0)
