"""Ground truth for scoring: the grounding loaders' samples (longlens.data.datasets), plus QVHighlights'
per-clip saliency, which those loaders do not keep."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from longlens.core.errors import InputError
from longlens.data.datasets import detect_grounding_format, iter_jsonl, load_grounding
from longlens.eval.formats import query_key, video_key
from longlens.eval.highlight import saliency_matrix


@dataclass
class Truth:
    """One query's answer: windows [M, 2] in s; saliency [C, A] (QVHighlights: A annotators' 0-4 per 2-s clip)."""

    id: str
    video: str
    query: str | None
    windows: np.ndarray
    saliency: np.ndarray | None = None

    @property
    def key(self) -> tuple[str, str] | None:
        return (video_key(self.video), query_key(self.query)) if self.query else None


def read_saliency(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """qid -> [C, A] clip scores of a QVHighlights file (rows without `saliency_scores` are left out)."""
    out = {}
    for n, rec, problem in iter_jsonl(path):
        if problem or "saliency_scores" not in rec:
            continue  # the grounding loader has already rejected bad lines
        try:
            out[str(rec["qid"])] = saliency_matrix(rec.get("relevant_clip_ids", []), rec["saliency_scores"],
                                                   float(rec["duration"]))
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"{path}:{n}: unusable saliency ({e})") from None
    return out


def read_truth(path: str | os.PathLike, format: str = "auto") -> list[Truth]:
    """Every query of a ground-truth file in any grounding layout (datasets.load_grounding), in file order."""
    fmt = detect_grounding_format(path) if format == "auto" else format
    samples = load_grounding(path, fmt)
    saliency = read_saliency(path) if fmt == "qvhighlights" else {}
    return [Truth(s.id, s.video, s.query, np.array(s.windows, dtype=np.float64).reshape(-1, 2), saliency.get(s.id))
            for s in samples]
