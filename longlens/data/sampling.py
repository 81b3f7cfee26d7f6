"""Which frames to decode: sampling policies and their mapping onto a video's frame times.

A policy names target times in seconds; each target is mapped to the frame *on screen* at that time
(the last frame whose presentation timestamp is <= t, with a 1 ms tolerance for rounding), and repeated
frames are dropped, so every policy yields distinct frame indices in time order.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from longlens.core.errors import InputError

EPS = 1e-3  # s: tolerance when matching a target time to a frame's timestamp


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _positive(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class FixedRate:
    """`fps` frames per second over the whole video: targets 0, 1/fps, 2/fps, ... < duration."""

    fps: float = 1.0

    def __post_init__(self) -> None:
        _positive("FixedRate.fps", self.fps)

    def key(self) -> str:
        return f"fixed:{_fmt(self.fps)}"

    def targets(self, duration: float) -> np.ndarray:
        return np.arange(0.0, duration - 1e-9, 1.0 / self.fps) if duration > 0 else np.zeros(1)


@dataclass(frozen=True)
class Uniform:
    """`n` frames spread evenly: the centres of n equal slices of [0, duration)."""

    n: int = 32

    def __post_init__(self) -> None:
        if not isinstance(self.n, int) or isinstance(self.n, bool) or self.n <= 0:
            raise InputError(f"Uniform.n must be a positive integer, got {self.n!r}")

    def key(self) -> str:
        return f"uniform:{self.n}"

    def targets(self, duration: float) -> np.ndarray:
        return (np.arange(self.n) + 0.5) * (duration / self.n)


@dataclass(frozen=True)
class AtTimes:
    """The frames on screen at explicit times (s); each must lie in [0, duration]."""

    times: tuple[float, ...]

    def __post_init__(self) -> None:
        times = tuple(float(t) for t in self.times)
        if not times:
            raise InputError("AtTimes needs at least one time")
        bad = [t for t in times if not math.isfinite(t) or t < 0]
        if bad:
            raise InputError(f"AtTimes times must be finite and >= 0, got {bad[:5]}")
        object.__setattr__(self, "times", times)

    def key(self) -> str:
        digest = hashlib.sha1(",".join(f"{t:.3f}" for t in self.times).encode()).hexdigest()[:12]
        return f"times:{len(self.times)}:{digest}"

    def targets(self, duration: float) -> np.ndarray:
        late = [t for t in self.times if t > duration + EPS]
        if late:
            raise InputError(f"AtTimes: times {late[:5]} lie past the end of the video ({duration:.3f} s)")
        return np.asarray(self.times, dtype=np.float64)


@dataclass(frozen=True)
class Window:
    """`fps` frames per second inside [start, end) (s), for zoom-in re-decoding; end is clipped to the video."""

    start: float
    end: float
    fps: float = 1.0

    def __post_init__(self) -> None:
        _positive("Window.fps", self.fps)
        if not (math.isfinite(self.start) and math.isfinite(self.end)) or self.start < 0 or self.end <= self.start:
            raise InputError(f"Window needs 0 <= start < end, got start={self.start!r} end={self.end!r}")

    def key(self) -> str:
        return f"window:{_fmt(self.start)}-{_fmt(self.end)}@{_fmt(self.fps)}"

    def targets(self, duration: float) -> np.ndarray:
        if self.start >= duration:
            raise InputError(f"Window starts at {self.start} s, past the end of the video ({duration:.3f} s)")
        end = min(self.end, duration)
        return self.start + np.arange(0.0, end - self.start - 1e-9, 1.0 / self.fps)


Sampling = FixedRate | Uniform | AtTimes | Window


def select_frames(sampling: Sampling, times: np.ndarray, duration: float) -> np.ndarray:
    """Frame indices (distinct, ascending) that `sampling` picks from a video.

    times: [N] presentation timestamps in seconds, ascending (frame i is shown from times[i]).
    duration: seconds, the end of the last frame. Returns int64 [M], M <= N.
    """
    if not isinstance(sampling, (FixedRate, Uniform, AtTimes, Window)):
        raise InputError(f"sampling must be FixedRate, Uniform, AtTimes or Window, not {type(sampling).__name__}")
    if len(times) == 0:
        return np.zeros(0, dtype=np.int64)
    targets = np.sort(sampling.targets(duration))
    idx = np.searchsorted(times, targets + EPS, side="right") - 1  # the frame on screen at t
    return np.unique(np.clip(idx, 0, len(times) - 1)).astype(np.int64)
