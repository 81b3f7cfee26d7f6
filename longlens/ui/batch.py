"""Batch results for browsing: prediction rows joined with their ground truth, IoU per item (no Streamlit)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from longlens.core.errors import UnsafePathError
from longlens.core.types import iou
from longlens.data.datasets import iter_jsonl
from longlens.eval.formats import Prediction, read_predictions
from longlens.eval.score import evaluate, match
from longlens.eval.truth import read_truth
from longlens.ui.library import LibraryFile, safe_path


@dataclass
class BatchItem:
    """One query of a batch: predicted segments [(start, end, score)] best first (None: failed/unusable),
    true windows [(start, end)] (empty without ground truth), and the top segment's IoU with them."""

    id: str
    video: str | None
    query: str | None
    segments: list[tuple[float, float, float]] | None
    windows: list[tuple[float, float]] = field(default_factory=list)
    error: str | None = None

    @property
    def iou(self) -> float | None:
        """Best IoU of the top-1 segment with a true window (None without ground truth; 0 when it failed)."""
        if not self.windows:
            return None
        return max((iou(self.segments[0], w) for w in self.windows), default=0.0) if self.segments else 0.0


def load_batch(pred_path: str | os.PathLike,
               gt_path: str | os.PathLike | None = None) -> tuple[list[BatchItem], dict | None]:
    """Items of a prediction file in any layout longlens.eval reads (in ground-truth order when given, then
    the predictions that match no truth) and the metrics of `longlens.eval.evaluate` as one row: {"n" (queries
    scored), official key: points} (None without ground truth). Raises InputError on a file that cannot be
    read; rows that cannot be read are left out (longlens.eval.formats logs them)."""
    preds, counts = read_predictions(pred_path)
    errors = _errors(pred_path) if counts["format"] == "longlens" else {}
    if gt_path is None:
        return [_item(p, errors) for p in preds], None
    truths = read_truth(gt_path)
    matched, _ = match(preds, truths)
    items = [_item(p, errors, t.id, t.video, t.query, [tuple(map(float, w)) for w in t.windows])
             for p, t in zip(matched, truths)]
    taken = {id(p) for p in matched if p is not None}
    items += [_item(p, errors) for p in preds if id(p) not in taken]
    result = evaluate(pred_path, gt_path)
    return items, {"n": result["counts"]["scored"], **result["brief"]}


def _item(p: Prediction | None, errors: dict[str, str], id_: str | None = None, video: str | None = None,
          query: str | None = None, windows: list | None = None) -> BatchItem:
    """A BatchItem from a prediction (None: none for this truth) and, when given, its truth's fields."""
    if p is None:
        return BatchItem(str(id_), video, query, None, windows or [], "no prediction")
    segments = None if p.failed or not len(p.windows) else [tuple(map(float, w)) for w in p.windows]
    error = (errors.get(str(p.id)) or "failed") if p.failed else None
    return BatchItem(str(id_ if id_ is not None else p.id), video or p.video, query or p.query, segments,
                     windows or [], error)


def _errors(pred_path: str | os.PathLike) -> dict[str, str]:
    """id -> what went wrong, for the error rows of a longlens predictions file (its `error` field)."""
    out = {}
    for _, rec, _problem in iter_jsonl(pred_path):
        if rec and "id" in rec and rec.get("status", "ok") != "ok":
            out[str(rec["id"])] = str(rec.get("error") or rec.get("status"))
    return out


def default_truth(names: list[str], preds: str) -> str | None:
    """The ground-truth file to pair with `preds` by default: a JSON-lines file (not `preds`) whose name says
    jobs, gt or truth (`longlens demo` writes its batch with windows as <name>.jobs.jsonl); None if none."""
    for word in ("jobs", "gt", "truth"):
        for n in names:
            if n != preds and n.endswith(".jsonl") and word in Path(n).name:
                return n
    return None


def library_video(library: str | os.PathLike, video: str | None, files: list[LibraryFile]) -> LibraryFile | None:
    """The library file a batch row's `video` names: a path inside the library, else the library file with
    the same base name; None when there is none (a path outside the library is never followed)."""
    if not video:
        return None
    root = Path(library).resolve()
    by_path = {f.path: f for f in files}
    try:
        p = Path(video)
        rel = p.resolve().relative_to(root).as_posix() if p.is_absolute() else p.as_posix()
        target = safe_path(root, rel)
        if target in by_path:
            return by_path[target]
    except (UnsafePathError, ValueError, OSError):
        pass
    same = [f for f in files if Path(f.name).name == Path(video).name]
    return same[0] if len(same) == 1 else None
