"""Retrieval's small vocabulary: Moment, ScoreCurve and the error raised when a model is unavailable."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from longlens.data.errors import LonglensError


class ModelUnavailableError(LonglensError):
    """A model's weights cannot be loaded (no local file, no hub access). The channel is dropped, never faked."""


class CacheError(LonglensError):
    """An index or cache file on disk is truncated, corrupt or of another version; the message names the file."""


@dataclass
class Moment:
    """One scored instant of a video.

    time: seconds (decoder PTS of the sampled frame); score: fused score (higher = better);
    scores: per-channel raw scores (cosines, inlier ratio, keyword hit fraction);
    text: on-screen text recognised at that frame (None when none); index: position of the frame in its
    VideoIndex (-1 for frames decoded outside the index, e.g. by zoom-in search).
    """

    video: str
    time: float
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    text: str | None = None
    index: int = -1

    def to_dict(self) -> dict:
        return {
            "video": self.video,
            "time": round(float(self.time), 3),
            "score": round(float(self.score), 6),
            "scores": {k: round(float(v), 6) for k, v in self.scores.items()},
            "text": self.text,
            "index": int(self.index),
        }


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
