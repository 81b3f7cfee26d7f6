"""Retrieval's own vocabulary: ScoreCurve (Moment and the errors live in longlens.core)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ScoreCurve:
    """Scores of one query over a video's sampled frames.

    times [N] seconds; fused [N] (see fuse.fuse); channels: name -> raw scores [N] for every channel that
    took part ("keyword" holds the OCR keyword-hit fraction when the query had keywords).
    stats: name -> (mean, std) used to normalise each channel (reused to score extra frames on one scale).
    """

    times: np.ndarray
    fused: np.ndarray
    channels: dict[str, np.ndarray]
    stats: dict[str, tuple[float, float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.times)
