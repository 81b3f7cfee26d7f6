"""The small shared vocabulary of longlens (plain dataclasses) and the one way to write and compare times."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

KINDS = ("screen", "speech", "picture")  # what a Moment's evidence is: on-screen text, words said, a picture


@dataclass
class Frame:
    """One decoded frame."""

    time: float  # seconds: the decoder's presentation timestamp, never index / fps
    index: int  # frame number in the video stream
    image: np.ndarray  # [H, W, 3] uint8 RGB


@dataclass(frozen=True)
class Segment:
    """A time window [start, end] in seconds, with a score (higher is better). No evidence -> no segment."""

    start: float
    end: float
    score: float = 1.0

    @property
    def length(self) -> float:
        return max(0.0, self.end - self.start)

    def to_list(self) -> list[float]:
        return [round(self.start, 3), round(self.end, 3), round(float(self.score), 6)]


@dataclass
class Moment:
    """One scored instant of a video.

    time: seconds (decoder PTS of the sampled frame); score: fused score (higher = better);
    scores: per-channel raw scores (cosines, inlier ratio, keyword hit fraction);
    text: the evidence text at that time (on-screen text, or words said; None when none);
    kind: what the evidence is, one of KINDS (None when no channel gave text or a picture);
    index: position of the frame in its VideoIndex (-1 for frames decoded outside the index, e.g. by zoom).
    """

    video: str
    time: float
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    text: str | None = None
    index: int = -1
    kind: str | None = None

    def to_dict(self) -> dict:
        return {
            "video": self.video,
            "time": round(float(self.time), 3),
            "score": round(float(self.score), 6),
            "scores": {k: round(float(v), 6) for k, v in self.scores.items()},
            "text": self.text,
            "kind": self.kind,
            "index": int(self.index),
        }


def clock(t: float, *, hours: bool | None = None) -> str:
    """Seconds as a clock: "mm:ss", or "h:mm:ss" from an hour on (or always / never with `hours`)."""
    s = max(0, int(round(t)))
    h, m, sec = s // 3600, s // 60 % 60, s % 60
    if hours is None:
        hours = h > 0
    return f"{h}:{m:02d}:{sec:02d}" if hours else f"{h * 60 + m:02d}:{sec:02d}"


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Temporal IoU of windows a = [s, e] and b = [s, e] (extra items such as a score are ignored); 0 when the
    union has zero length."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0
