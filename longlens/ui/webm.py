"""Browser-playable copies of library videos: WebM (VP9, VP8 fallback) at a small size, cached by content.

Chromium builds ship without H.264, so the explorer never hands the original file to the browser. The copy
keeps the original presentation timestamps (a moment at t s in the index is at t s in the player), is made
once per video content (keyed like the index cache), written atomically into the folder the caller names
(the explorer uses <cache>/webm), and uses the encoder's fastest settings so a 20-minute 1-fps video converts
in seconds. An hour of 1080p30 still takes minutes: the explorer makes copies in the background (ui.copies).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from longlens.core.errors import TranscodeError
from longlens.core.io import atomic_open, content_hash

log = logging.getLogger(__name__)

_MS = Fraction(1, 1000)

Progress = Callable[[int, "int | None"], None]  # (source frames decoded, their expected total or None)


@dataclass(frozen=True)
class WebmConfig:
    height: int = 360  # target height in pixels (never upscaled; width keeps the aspect, even)
    max_fps: float = 10.0  # at most one frame per 1/max_fps s slot is kept (the first in it)
    crf: int = 40  # constant quality (higher = smaller)
    keyframe_s: float = 2.0  # a keyframe at least this often (s of media): quick seeks
    audio: bool = True  # keep the first audio stream (Opus)

    def key(self) -> str:
        return f"h{self.height}-f{self.max_fps:g}-q{self.crf}-k{self.keyframe_s:g}-a{int(self.audio)}"


def video_codec() -> str:
    """libvpx-vp9 when the bundled FFmpeg has it, else VP8 (libvpx)."""
    for name in ("libvpx-vp9", "libvpx"):
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:  # noqa: BLE001 (PyAV raises several kinds for a missing codec)
            log.debug("this PyAV build has no %s encoder", name)
    raise TranscodeError("this PyAV build has neither libvpx-vp9 nor libvpx; cannot make WebM copies")


def copy_path(path: str | os.PathLike, cache: str | os.PathLike, config: WebmConfig | None = None) -> Path:
    """Where the copy of `path` lives in the folder `cache`: named by the index cache's content hash and the
    settings, so an edited file gets a new copy and an unchanged one is found again."""
    return Path(cache) / f"{content_hash(path)[:20]}-{(config or WebmConfig()).key()}.webm"


def browser_copy(path: str | os.PathLike, cache: str | os.PathLike, *, config: WebmConfig | None = None,
                 on_progress: Progress | None = None) -> Path:
    """Path of a WebM copy of `path` (in the folder `cache`) playable in Chromium, transcoding it on first use.

    on_progress(done, total) is called as source frames are decoded. Raises TranscodeError (naming the file
    and the decoder's message) when the source can't be decoded.
    """
    config = config or WebmConfig()
    src = Path(path)
    out = copy_path(src, cache, config)
    if out.exists():
        return out
    log.info("making a browser copy of %s -> %s", src, out)
    try:
        with atomic_open(out, "wb") as f:
            _transcode(src, f, config, on_progress or _quiet)
    except (av.FFmpegError, ValueError, OSError) as e:
        raise TranscodeError(f"cannot make a browser copy of {src.name}: {e}") from e
    return out


def _quiet(done: int, total: int | None) -> None:
    pass


def _frame_count(inp, iv, rate: float) -> int | None:
    """Frames the source should have: the container's count, else duration x rate (None if neither is known)."""
    if iv.frames:
        return int(iv.frames)
    seconds = float(iv.duration * iv.time_base) if iv.duration and iv.time_base else (inp.duration or 0) / av.time_base
    return round(seconds * rate) or None


def _size(width: int, height: int, target: int) -> tuple[int, int]:
    h = min(height, target)
    w = round(width * h / height)
    return max(2, w - w % 2), max(2, h - h % 2)


def _transcode(src: Path, f, config: WebmConfig, on_progress: Progress) -> None:
    with av.open(str(src)) as inp:
        if not inp.streams.video:
            raise ValueError("no video stream")
        iv = inp.streams.video[0]
        iv.thread_type = "AUTO"
        ia = inp.streams.audio[0] if config.audio and inp.streams.audio else None
        rate = float(iv.average_rate or iv.guessed_rate or 25)
        fps = min(rate, config.max_fps)
        total, decoded = _frame_count(inp, iv, rate), 0
        with av.open(f, "w", format="webm") as out:
            ov = out.add_stream(video_codec(), rate=Fraction(fps).limit_denominator(1000))
            ov.width, ov.height = _size(iv.codec_context.width, iv.codec_context.height, config.height)
            ov.pix_fmt = "yuv420p"
            ov.time_base = _MS
            ov.codec_context.time_base = _MS
            ov.gop_size = max(1, round(config.keyframe_s * fps))
            ov.options = {"deadline": "realtime", "cpu-used": "8", "crf": str(config.crf), "b": "0",
                          "row-mt": "1", "lag-in-frames": "0"}
            oa = None
            if ia is not None:
                oa = out.add_stream("libopus", rate=48000)
                oa.layout = "stereo"
                resampler = av.AudioResampler(format="s16", layout="stereo", rate=48000)
            last = None
            for packet in inp.demux(*([iv, ia] if ia is not None else [iv])):
                for frame in packet.decode():
                    if packet.stream is iv:
                        decoded += 1
                        on_progress(decoded, total)
                        t = frame.time
                        slot = None if t is None else int(t * config.max_fps + 1e-6)  # one frame per 1/max_fps s
                        if slot is None or slot == last:
                            continue
                        last = slot
                        img = frame.reformat(width=ov.width, height=ov.height, format="yuv420p")
                        img.pts, img.time_base = round(t * 1000), _MS
                        out.mux(ov.encode(img))
                    else:
                        for chunk in resampler.resample(frame):
                            out.mux(oa.encode(chunk))
            if last is None:
                raise ValueError("no decodable video frames")
            out.mux(ov.encode(None))
            if oa is not None:
                out.mux(oa.encode(None))
