"""Batch results for browsing: prediction rows joined with their ground truth, IoU per item (no Streamlit)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from longlens.core.errors import UnsafePathError
from longlens.data.datasets import iter_jsonl, load_grounding
from longlens.data.metrics import best_iou, evaluate, read_predictions
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
        return best_iou(self.segments[0][:2] if self.segments else None, self.windows)


def load_batch(pred_path: str | os.PathLike, gt_path: str | os.PathLike | None = None) -> tuple[list[BatchItem], dict | None]:
    """Items of a prediction file (in ground-truth order when given, then predictions without truth) and
    the metrics of `longlens.data.metrics.evaluate` (None without ground truth). Raises InputError on a
    ground-truth file that cannot be read; bad prediction rows become items with an error."""
    preds, _ = read_predictions(pred_path)
    rows = {}
    for _, rec, _problem in iter_jsonl(pred_path):
        if rec and "id" in rec:
            rows[str(rec["id"])] = rec
    items, seen = [], set()
    if gt_path is not None:
        for s in load_grounding(gt_path):
            rec = rows.get(s.id, {})
            items.append(BatchItem(s.id, s.video or rec.get("video"), s.query or s.image, preds.get(s.id), list(s.windows),
                                   _error(rec, s.id in preds)))
            seen.add(s.id)
    for pid, segs in preds.items():
        if pid not in seen:
            rec = rows.get(pid, {})
            items.append(BatchItem(pid, rec.get("video"), rec.get("query") or rec.get("image"), segs, [], _error(rec, True)))
    metrics = evaluate(pred_path, gt_path) if gt_path is not None else None
    return items, metrics


def default_truth(names: list[str], preds: str) -> str | None:
    """The ground-truth file to pair with `preds` by default: a JSON-lines file (not `preds`) whose name says
    jobs, gt or truth (`longlens demo` writes its batch with windows as <name>.jobs.jsonl); None if none."""
    for word in ("jobs", "gt", "truth"):
        for n in names:
            if n != preds and n.endswith(".jsonl") and word in Path(n).name:
                return n
    return None


def _error(rec: dict, predicted: bool) -> str | None:
    if not predicted:
        return "no prediction"
    if rec.get("status", "ok") != "ok":
        return str(rec.get("error") or rec.get("status"))
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
