"""The small shared vocabulary of longlens (plain dataclasses)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Frame:
    """One decoded frame."""

    time: float  # seconds: the decoder's presentation timestamp, never index / fps
    index: int  # frame number in the video stream
    image: np.ndarray  # [H, W, 3] uint8 RGB


@dataclass(frozen=True)
class Segment:
    """A time window [start, end] in seconds, with a score (higher is better)."""

    start: float
    end: float
    score: float = 1.0

    @property
    def length(self) -> float:
        return max(0.0, self.end - self.start)

    def to_list(self) -> list[float]:
        return [round(self.start, 3), round(self.end, 3), round(float(self.score), 6)]


def clock(t: float, *, hours: bool | None = None) -> str:
    """Seconds as a clock: "mm:ss", or "h:mm:ss" from an hour on (or always / never with `hours`)."""
    s = max(0, int(round(t)))
    h, m, sec = s // 3600, s // 60 % 60, s % 60
    if hours is None:
        hours = h > 0
    return f"{h}:{m:02d}:{sec:02d}" if hours else f"{h * 60 + m:02d}:{sec:02d}"
