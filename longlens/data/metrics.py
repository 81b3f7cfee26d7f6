"""Grounding and QA metrics, and `evaluate` for prediction files. Times in seconds; scores are fractions in [0, 1].

Definitions (per sample, then averaged over the samples that have ground-truth windows):
- iou(a, b): |a ∩ b| / |a ∪ b| for segments [start, end]; 0 when the union has zero length.
- R@1 at IoU θ: 1 when the top-1 predicted segment (highest score; ties: first listed) has IoU >= θ with
  some ground-truth window (the best-matching one), else 0.
- mIoU: the mean of that top-1 segment's best IoU with the ground-truth windows.
- Temporal F1 at tolerance τ (default ±5 s, in the spirit of LV-Haystack's temporal search metric): every
  predicted item (a segment [s, e], or a time point as [t, t]) counts as correct when it lies within τ of
  some ground-truth window, i.e. their gap max(0, a - e, s - b) <= τ for window [a, b];
  precision = correct predictions / predictions, recall = ground-truth windows within τ of some predicted
  item / ground-truth windows, F1 = 2PR / (P + R) (0 when P + R = 0). All predicted segments count, not
  only the top one. Matching is many-to-one (several predictions may hit one window).
- MCQ accuracy: correct answers / questions.
A missing, failed ("status" other than "ok") or unparseable prediction scores 0 on every metric.
"""
from __future__ import annotations

import logging
import math
import os
import re
from typing import Any, Sequence

from longlens.data.datasets import LETTERS, GroundingSample, QASample, iter_jsonl, load_grounding
from longlens.core.errors import InputError
from longlens.core.types import iou

log = logging.getLogger(__name__)

IOU_THRESHOLDS = (0.3, 0.5, 0.7)
Window = tuple[float, float]



def best_iou(segment: Sequence[float] | None, windows: Sequence[Window]) -> float:
    if segment is None or not windows:
        return 0.0
    return max(iou(segment, w) for w in windows)


def recall_at_1(top1: Sequence[Sequence[float] | None], gt: Sequence[Sequence[Window]], threshold: float = 0.5) -> float:
    """Fraction of samples whose top-1 segment (None = missing) reaches IoU >= threshold with a GT window."""
    if len(top1) != len(gt):
        raise InputError(f"{len(top1)} predictions for {len(gt)} ground-truth samples")
    if not gt:
        return 0.0
    return sum(best_iou(p, w) >= threshold - 1e-9 for p, w in zip(top1, gt)) / len(gt)


def mean_iou(top1: Sequence[Sequence[float] | None], gt: Sequence[Sequence[Window]]) -> float:
    """Mean over samples of the top-1 segment's best IoU with the GT windows (missing = 0)."""
    if len(top1) != len(gt):
        raise InputError(f"{len(top1)} predictions for {len(gt)} ground-truth samples")
    return sum(best_iou(p, w) for p, w in zip(top1, gt)) / len(gt) if gt else 0.0


def _gap(p: Sequence[float], w: Window) -> float:
    return max(0.0, w[0] - p[1], p[0] - w[1])


def sample_temporal_prf(pred: Sequence[Sequence[float]], windows: Sequence[Window],
                        tolerance: float = 5.0) -> tuple[float, float, float]:
    """(precision, recall, F1) of one sample's predicted segments/points against its GT windows (module doc)."""
    items = [(p[0], p[0]) if len(p) == 1 else (p[0], p[1]) for p in pred]
    if not items or not windows:
        return 0.0, 0.0, 0.0
    precision = sum(any(_gap(p, w) <= tolerance for w in windows) for p in items) / len(items)
    recall = sum(any(_gap(p, w) <= tolerance for p in items) for w in windows) / len(windows)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


def temporal_f1(preds: Sequence[Sequence[Sequence[float]] | None], gt: Sequence[Sequence[Window]],
                tolerance: float = 5.0) -> float:
    """Mean per-sample temporal F1 at ±tolerance seconds (missing predictions = 0)."""
    if len(preds) != len(gt):
        raise InputError(f"{len(preds)} predictions for {len(gt)} ground-truth samples")
    return sum(sample_temporal_prf(p or [], w, tolerance)[2] for p, w in zip(preds, gt)) / len(gt) if gt else 0.0


def parse_choice(answer: Any, n_options: int, options: Sequence[str] | None = None) -> int | None:
    """The option index an answer names: an int index, a letter ("B", "(B)", "B.", "The answer is B"), or an
    option's exact text; None when it names none of the n options."""
    if isinstance(answer, bool) or answer is None:
        return None
    if isinstance(answer, int):
        return answer if 0 <= answer < n_options else None
    text = str(answer).strip()
    if options:
        for i, o in enumerate(options):
            if text.casefold() == str(o).strip().casefold():
                return i
    letters = LETTERS[:n_options]
    m = re.fullmatch(rf"\(?([{letters}])[.):]?(?:\s.*)?", text, flags=re.S) or \
        re.search(rf"answer\s*(?:is|:)?\s*\(?([{letters}])\b", text, flags=re.I)
    return LETTERS.index(m.group(1).upper()) if m and m.group(1).upper() in letters else None


def mcq_accuracy(predictions: dict[str, Any], samples: Sequence[QASample]) -> float:
    """Fraction of `samples` (with a known answer) whose prediction (by id) names the right option."""
    scored = [s for s in samples if s.answer is not None]
    if not scored:
        return 0.0
    hits = sum(parse_choice(predictions.get(s.id), len(s.options), s.options) == s.answer_index for s in scored)
    return hits / len(scored)


# ---------------------------------------------------------------- prediction files


def _segments(rec: dict) -> list[tuple[float, float, float]] | None:
    """Valid [s, e, score] segments of a prediction row, best first; None when it has none."""
    raw = rec.get("segments")
    if not isinstance(raw, list):
        return None
    out = []
    for i, seg in enumerate(raw):
        try:
            vals = [float(x) for x in seg]
        except (TypeError, ValueError):
            continue
        if len(vals) not in (2, 3) or not all(math.isfinite(v) for v in vals) or vals[1] < vals[0]:
            continue
        out.append((vals[0], vals[1], vals[2] if len(vals) == 3 else -i * 1e-9))
    out.sort(key=lambda s: -s[2])  # stable: ties keep their listed order
    return out or None


def read_predictions(path: str | os.PathLike) -> tuple[dict[str, list | None], dict[str, int]]:
    """id -> segments (None = failed or unparseable) from a prediction JSONL, plus counts of bad rows.
    The last row for an id wins (resumed jobs append)."""
    preds: dict[str, list | None] = {}
    counts = {"malformed": 0, "errors": 0}
    for n, rec, problem in iter_jsonl(path):
        if problem or "id" not in rec:
            counts["malformed"] += 1
            log.warning("%s:%d: unusable prediction row: %s", path, n, problem or "no 'id'")
            continue
        status = rec.get("status", "ok")
        if status != "ok":
            counts["errors"] += 1
            preds[str(rec["id"])] = None
            continue
        segs = _segments(rec)
        if segs is None:
            counts["malformed"] += 1
            log.warning("%s:%d: prediction %s has no valid segments", path, n, rec["id"])
        preds[str(rec["id"])] = segs
    return preds, counts


def evaluate(pred_path: str | os.PathLike, gt_path: str | os.PathLike, *, gt_format: str = "auto",
             tolerance: float = 5.0) -> dict:
    """Score a grounding prediction file against ground truth (our JSONL, Charades-STA or QVHighlights; auto-detected).

    Returns {"n", "R1@0.3", "R1@0.5", "R1@0.7", "mIoU", "F1@5s", "P@5s", "R@5s", "missing", "errors",
    "malformed", "unknown_ids"}: n = ground-truth samples with windows (the ones scored); missing = those
    without a usable prediction (scored 0). Never raises on bad prediction rows.
    """
    gt: list[GroundingSample] = [s for s in load_grounding(gt_path, gt_format) if s.windows]
    if not gt:
        raise InputError(f"{gt_path}: no ground-truth samples with windows to score against")
    preds, counts = read_predictions(pred_path)
    segs = [preds.get(s.id) for s in gt]
    windows = [s.windows for s in gt]
    top1 = [p[0] if p else None for p in segs]
    prf = [sample_temporal_prf(p or [], w, tolerance) for p, w in zip(segs, windows)]
    tol = f"{tolerance:g}s"
    out: dict[str, Any] = {"n": len(gt)}
    for th in IOU_THRESHOLDS:
        out[f"R1@{th}"] = round(recall_at_1(top1, windows, th), 6)
    out["mIoU"] = round(mean_iou(top1, windows), 6)
    out[f"F1@{tol}"] = round(sum(f for _, _, f in prf) / len(gt), 6)
    out[f"P@{tol}"] = round(sum(p for p, _, _ in prf) / len(gt), 6)
    out[f"R@{tol}"] = round(sum(r for _, r, _ in prf) / len(gt), 6)
    out["missing"] = sum(p is None for p in segs)
    out.update(counts)
    ids = {s.id for s in gt}
    out["unknown_ids"] = sum(i not in ids for i in preds)
    return out

