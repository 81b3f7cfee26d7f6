"""`evaluate`: score a prediction file against ground truth with the benchmarks' own metrics and key names.

Every figure is in points (percent) rounded to 2 decimals, as moment_detr's evaluator reports them.
- "qvhighlights": moment retrieval per length bucket ("full", "short", "middle", "long": {"MR-mAP": {"0.5",
  ..., "0.95", "average"}, "MR-R1": {...}}) and, when the predictions carry saliency and the ground truth
  has it, highlight detection ("HL-min-Fair" / "-Good" / "-VeryGood": {"HL-mAP", "HL-Hit1"}); the brief
  keys are moment_detr's ("MR-full-mAP", "MR-full-R1@0.5", "HL-min-VeryGood-mAP", ...). mAP uses each
  query's first `max_windows` (10) predictions, as moment_detr does.
- "charades": "R1@0.3" ... "R5@0.7" (a hit when one of the first n predictions reaches the IoU) and "mIoU".
- "lvhaystack": LV-Haystack's "Average Temporal Precision" / "Recall" / "F1 Score" at ±tolerance s over
  the queries with both predictions and truth.
- "all": the three.
Queries whose ground truth has no window are not scored (they are counted). A query without a usable
prediction (missing, failed, unreadable) scores 0 on MR and HL metrics and is counted; the official
scripts refuse such files instead.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from longlens.core.errors import InputError
from longlens.core.registry import METRIC_SETS
from longlens.eval.formats import Prediction, read_predictions
from longlens.eval.highlight import SALIENCY_LEVELS, highlight_ap, hit_at_1
from longlens.eval.moment import (
    BUCKETS,
    IOU_THRESHOLDS,
    average_precision,
    best_ious,
    in_bucket,
    recall_at,
    temporal_prf,
)
from longlens.eval.truth import Truth, read_truth

CHARADES_IOUS = (0.3, 0.5, 0.7)
CHARADES_TOP = (1, 5)
NO_WINDOWS = np.zeros((0, 3))


def points(v: float) -> float:
    """A fraction as points with 2 decimals (moment_detr's float(f"{100 * v:.2f}"))."""
    return float(f"{100 * v:.2f}")


def match(preds: list[Prediction], truths: list[Truth]) -> tuple[list[Prediction | None], int]:
    """Each truth's prediction (by id, else by video and query; the last row wins), and the number of
    predictions that match no truth."""
    by_id = {t.id: i for i, t in enumerate(truths)}
    by_key: dict[tuple, list[int]] = {}
    for i, t in enumerate(truths):
        if t.key:
            by_key.setdefault(t.key, []).append(i)
    out: list[Prediction | None] = [None] * len(truths)
    unknown = 0
    for p in preds:
        hit = [by_id[p.id]] if p.id in by_id else by_key.get(p.key, []) if p.key else []
        unknown += not hit
        for i in hit:
            out[i] = p
    return out, unknown


def _windows(p: Prediction | None) -> np.ndarray:
    return NO_WINDOWS if p is None or p.failed else p.windows


def moment_retrieval(pairs: list[tuple[np.ndarray, np.ndarray]], max_windows: int = 10) -> dict:
    """{"MR-mAP": {θ: .., "average": ..}, "MR-R1": {θ: ..}} in points over (prediction [K, 3], truth [M, 2]) pairs."""
    if not pairs:
        return {}
    ap = np.array([average_precision(p[:max_windows], t) for p, t in pairs]).mean(axis=0)
    r1 = recall_at([best_ious(p, t, n=1) for p, t in pairs])
    mr_map = {str(th): points(v) for th, v in zip(IOU_THRESHOLDS, ap)}
    mr_map["average"] = points(ap.mean())
    return {"MR-mAP": mr_map, "MR-R1": {str(th): points(v) for th, v in zip(IOU_THRESHOLDS, r1)}}


def qvhighlights(preds: list[Prediction | None], truths: list[Truth], max_windows: int = 10) -> dict:
    out: dict[str, Any] = {}
    scored = [(_windows(p), t.windows) for p, t in zip(preds, truths) if len(t.windows)]
    out["full"] = moment_retrieval(scored, max_windows)
    for name, (lo, hi) in BUCKETS.items():
        kept = [(p, in_bucket(t, lo, hi)) for p, t in scored]
        out[name] = moment_retrieval([(p, t) for p, t in kept if len(t)], max_windows)
    hl = [(p.saliency if p is not None and p.saliency is not None and not p.failed else np.zeros(0), t.saliency)
          for p, t in zip(preds, truths) if t.saliency is not None]
    if hl and any(p is not None and p.saliency is not None for p in preds):
        for level, low in SALIENCY_LEVELS.items():
            out[f"HL-min-{level}"] = {"HL-mAP": points(np.mean([highlight_ap(s, g >= low) for s, g in hl])),
                                      "HL-Hit1": points(np.mean([hit_at_1(s, g >= low) for s, g in hl]))}
    return {k: v for k, v in out.items() if v}


def charades(preds: list[Prediction | None], truths: list[Truth]) -> dict:
    scored = [(_windows(p), t.windows) for p, t in zip(preds, truths) if len(t.windows)]
    if not scored:
        return {}
    out = {}
    for n in CHARADES_TOP:
        hits = recall_at([best_ious(p, t, n=n) for p, t in scored], CHARADES_IOUS)
        out.update({f"R{n}@{th}": points(v) for th, v in zip(CHARADES_IOUS, hits)})
    first = [best_ious(p, t, n=1) for p, t in scored]
    out["mIoU"] = points(np.mean([f[0] if len(f) else 0.0 for f in first]))
    return out


def lvhaystack(preds: list[Prediction | None], truths: list[Truth], tolerance: float = 5.0) -> dict:
    prf = [temporal_prf(_windows(p), t.windows, tolerance) for p, t in zip(preds, truths)]
    prf = [x for x in prf if x is not None]
    if not prf:
        return {}
    p, r, f = np.mean(prf, axis=0)
    return {"Average Temporal Precision": points(p), "Average Temporal Recall": points(r),
            "Average Temporal F1 Score": points(f), "tolerance_s": tolerance, "queries": len(prf)}


def _brief(out: dict) -> dict:
    brief = {}
    if "full" in out:  # moment_detr's brief keys, in its (sorted) order
        mr = {f"MR-full-R1@{th}": out["full"]["MR-R1"][th] for th in ("0.5", "0.7")}
        mr.update({f"MR-{b}-mAP": out[b]["MR-mAP"]["average"] for b in ("full", *BUCKETS) if b in out})
        mr.update({f"MR-full-mAP@{th}": out["full"]["MR-mAP"][th] for th in ("0.5", "0.75")})
        brief.update(sorted(mr.items()))
    for level in SALIENCY_LEVELS:
        hl = out.get(f"HL-min-{level}")
        if hl:
            brief.update({f"HL-min-{level}-mAP": hl["HL-mAP"], f"HL-min-{level}-Hit1": hl["HL-Hit1"]})
    brief.update(out.get("charades", {}))
    brief.update({k: v for k, v in out.get("lvhaystack", {}).items() if k.startswith("Average")})
    return brief


def evaluate(pred: str | os.PathLike, gt: str | os.PathLike, *, metrics: str = "all", pred_format: str = "auto",
             gt_format: str = "auto", tolerance: float = 5.0, max_windows: int = 10) -> dict:
    """Score prediction file `pred` against ground-truth file `gt` (module doc). Returns {"brief": {official
    key: points}, <section>: {...}, ..., "counts": {...}}; InputError for unreadable files or no scorable query."""
    METRIC_SETS.check(metrics)
    truths = read_truth(gt, gt_format)
    preds, counts = read_predictions(pred, pred_format)
    matched, unknown = match(preds, truths)
    scorable = [len(t.windows) > 0 or t.saliency is not None for t in truths]
    if not any(scorable):
        raise InputError(f"{gt}: no ground-truth query has windows or saliency to score against")
    out: dict[str, Any] = {}
    if metrics in ("all", "qvhighlights"):
        out.update(qvhighlights(matched, truths, max_windows))
    if metrics in ("all", "charades"):
        out["charades"] = charades(matched, truths)
    if metrics in ("all", "lvhaystack"):
        out["lvhaystack"] = lvhaystack(matched, truths, tolerance)
    out = {"brief": {}, **{k: v for k, v in out.items() if v}}
    out["brief"] = _brief(out)
    out["counts"] = {**counts, "queries": len(truths), "scored": sum(scorable),
                     "missing": sum(p is None for p, s in zip(matched, scorable) if s),
                     # queries whose last row is an error row (an error row superseded by a retry is not)
                     "failed": sum(p is not None and p.failed for p, s in zip(matched, scorable) if s),
                     "unknown": unknown}
    return out


def table(result: dict) -> str:
    """The brief figures of an `evaluate` result as a two-column text table, then the counts."""
    brief = result.get("brief", {})
    width = max((len(k) for k in brief), default=6)
    lines = [f"{'metric':<{width}}  {'value':>7}", f"{'-' * width}  {'-' * 7}"]
    lines += [f"{k:<{width}}  {v:>7.2f}" for k, v in brief.items()]
    c = result.get("counts", {})
    if c:
        lines.append(f"{c.get('scored', 0)} of {c.get('queries', 0)} queries scored ({c.get('format')} predictions); "
                     f"missing {c.get('missing', 0)}, failed {c.get('failed', 0)}, unreadable rows "
                     f"{c.get('malformed', 0)}, unknown ids {c.get('unknown', 0)}")
    return "\n".join(lines)
