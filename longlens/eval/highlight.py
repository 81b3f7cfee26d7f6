"""Highlight detection metrics (QVHighlights): HL-mAP and HIT@1 over 2-second clips. Stateless numpy.

Shapes: a query's predicted saliency is a float array [C'] (one score per clip, in clip order); its ground
truth is an int array [C, A]: A annotators' scores 0-4 per clip, C = int(duration / 2), clips that no
annotator marked relevant scoring 0. At a threshold ("Fair" >= 2, "Good" >= 3, "VeryGood" = 4) a clip is
positive for an annotator whose score reaches it.

- HIT@1: 1 when the top-scored predicted clip (first on ties) is positive for some annotator, else 0
  (also 0 when that clip lies past the video's C clips).
- HL-AP, per annotator: predicted scores cut or zero-padded to C; AP as moment_detr computes it (from
  video2gif's `get_ap`): rank clips by score, one operating point per distinct score, precision made
  non-increasing towards lower recall, then the plain mean of that precision at each point where recall
  rises (not weighted by the size of the rise: tied scores that add several positives count once).
  A ground truth with no positive clip gives 0, one with only positive clips 1.
  A query's HL-AP is the mean over its annotators; HL-mAP the mean over queries.
"""
from __future__ import annotations

import numpy as np

from longlens.core.errors import InputError

CLIP_SECONDS = 2.0
SALIENCY_LEVELS = {"Fair": 2, "Good": 3, "VeryGood": 4}


def saliency_matrix(clip_ids, scores, duration: float, clip: float = CLIP_SECONDS) -> np.ndarray:
    """The [C, A] ground-truth scores of a video of `duration` s from QVHighlights' `relevant_clip_ids` [R]
    and `saliency_scores` [R, A]; InputError when a clip id is outside the video or the shapes disagree."""
    ids = np.asarray(clip_ids, dtype=np.int64).reshape(-1)
    marks = np.asarray(scores, dtype=np.int64)
    if marks.size == 0 and len(ids) == 0:
        marks = np.zeros((0, 3), dtype=np.int64)  # no relevant clip: QVHighlights has 3 annotators
    if marks.ndim != 2 or marks.shape[0] != len(ids):
        raise InputError(f"{len(ids)} relevant clip ids but {len(marks)} rows of saliency scores")
    n = int(duration / clip)
    if len(ids) and (ids.min() < 0 or ids.max() >= n):
        raise InputError(f"relevant clip id {int(ids.max())} is past the {n} clips of a {duration:g} s video")
    out = np.zeros((n, marks.shape[1]), dtype=np.int64)
    out[ids] = marks
    return out


def hit_at_1(scores, positive: np.ndarray) -> float:
    """HIT@1 of predicted clip scores [C'] against positives [C, A] (bool)."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.size == 0:
        return 0.0
    top = int(np.argmax(scores))
    return float(positive[top].any()) if top < len(positive) else 0.0


def ranking_ap(positive: np.ndarray, scores: np.ndarray) -> float:
    """AP of scores [C] against positives [C] (bool) as in the module doc."""
    positive = np.asarray(positive, dtype=bool)
    if positive.size == 0 or positive.all() or not positive.any():
        return float(positive.size > 0 and positive.all())
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    ranked, hits = np.asarray(scores, dtype=np.float64)[order], positive[order]
    ends = np.append(np.nonzero(ranked[1:] != ranked[:-1])[0], len(ranked) - 1)  # last clip of each score
    tp = np.cumsum(hits)[ends]
    precision = tp / (ends + 1)
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # best precision at this recall or more
    rises = np.diff(np.append(0, tp)) > 0
    return float(precision[rises].mean())


def highlight_ap(scores, positive: np.ndarray) -> float:
    """A query's HL-AP: predicted scores [C'] fitted to the C clips, mean over the A annotators of positives [C, A]."""
    positive = np.asarray(positive, dtype=bool)
    c = len(positive)
    fitted = np.zeros(c)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)[:c]
    fitted[:len(s)] = s
    if positive.shape[1] == 0:
        return 0.0
    return float(np.mean([ranking_ap(positive[:, a], fitted) for a in range(positive.shape[1])]))
