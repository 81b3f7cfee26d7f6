"""The two decoding backends behind one small reader interface: PyAV (reference) and decord2 (fast).

Both report each frame's *decoder presentation timestamp* in seconds from the stream's start (what a
player shows), never index / fps. A frame's index is its rank in presentation order.

Only the frames a player shows count. A file cut by stream copy (`ffmpeg -ss 3.3 -i in.mp4 -c copy out.mp4`)
must begin at the keyframe before the cut, so it keeps the frames between that keyframe and the cut and says
in an MP4 edit list where the video really starts. FFmpeg flags those frames' packets "discard", decodes
them only as references, never outputs them, and counts from the first shown frame: the stream's start_time
is that frame's PTS (ffprobe -show_frames lists it at pts_time 0 and `-count_frames` leaves the others out;
players that honour edit lists, browsers among them, show it at 0:00). The clock here is the same one:
time = (PTS - start_time) * time_base, the first shown frame at 0, and a discarded frame is not a frame of
the video: PyAV's index leaves out the packets flagged discard. decord lists them at negative times and then
decodes such a file's pictures wrongly, so it declines these files and "auto" decodes them with PyAV. The
audio layer measures from the same start_time, so sound and pictures stay in step.

Every file is first opened with PyAV to classify bad input (missing, not a video, no video stream,
unsupported codec, truncated) the same way whichever backend then decodes it.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import struct
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field

import numpy as np

from longlens.core.errors import (
    NotAVideoError,
    NoVideoStreamError,
    TruncatedVideoError,
    UnsupportedCodecError,
    VideoDecodeError,
    VideoNotFoundError,
)
from longlens.core.types import Frame

log = logging.getLogger(__name__)

N_TIMESTAMPS = 1000  # VideoInfo.timestamps holds this many leading frame times


@dataclass
class VideoInfo:
    """What `probe` reports about a video. Times in seconds, measured from the first frame's stream start."""

    path: str
    duration: float  # s: end of the last frame (its start + the median frame interval)
    fps: float  # average: (frames - 1) / (last PTS - first PTS)
    vfr: bool  # frame intervals vary by more than 10 % (and 2 ms) from the median
    frames: int  # decodable frames
    width: int  # native, before any resizing
    height: int
    codec: str
    backend: str  # "decord" | "pyav": the one that decoded
    timestamps: list[float] = field(default_factory=list)  # PTS (s) of the first 1000 frames
    truncated: bool = False  # the file is cut short; frames/duration cover what precedes the damage

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> VideoInfo:
        return cls(**d)


# ---------------------------------------------------------------- classifying bad input


def check_path(path: str | os.PathLike) -> str:
    """The path as a string; raises VideoNotFoundError / NoVideoStreamError before any decoder runs."""
    p = os.fspath(path)
    if not os.path.exists(p):
        raise VideoNotFoundError(f"{p}: no such file")
    if os.path.isdir(p):
        raise NotAVideoError(f"{p}: is a directory, not a video file")
    if not os.access(p, os.R_OK):
        raise VideoNotFoundError(f"{p}: not readable (permission denied)")
    if os.path.getsize(p) == 0:
        raise NoVideoStreamError(f"{p}: the file is empty (0 bytes)")
    return p


def _vint(buf: bytes, pos: int) -> tuple[int, int, bool]:
    """An EBML variable-length integer at buf[pos]: (value, length in bytes, all-ones 'unknown' marker)."""
    first = buf[pos]
    length = 9 - first.bit_length() if first else 9
    if length > 8 or pos + length > len(buf):
        raise ValueError("bad EBML vint")
    value = first & ((1 << (8 - length)) - 1)
    for b in buf[pos + 1 : pos + length]:
        value = (value << 8) | b
    return value, length, value == (1 << (7 * length)) - 1


def container_damage(path: str) -> str | None:
    """Why the container is cut short, or None: checks ISO-BMFF (MP4/MOV) boxes and the Matroska segment size."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(64)
        if head[4:8] == b"ftyp":
            pos, has_moov = 0, False
            while pos + 8 <= size:
                f.seek(pos)
                n, kind = struct.unpack(">I4s", f.read(8))
                if n == 1:
                    n = struct.unpack(">Q", f.read(8))[0]
                elif n == 0:
                    n = size - pos
                if n < 8:
                    return None  # malformed in some other way: let the demuxer judge
                has_moov |= kind == b"moov"
                if pos + n > size:
                    return f"its '{kind.decode('latin-1')}' box needs {pos + n} bytes but the file has {size}"
                pos += n
            if pos < size:
                return "it ends inside a box header"
            return None if has_moov else "it has no 'moov' index box (the recording was never finalized)"
        if head[:4] == b"\x1a\x45\xdf\xa3":
            try:
                n, ln, _ = _vint(head, 4)
                pos = 4 + ln + n
                f.seek(pos)
                seg = f.read(12)
                if seg[:4] == b"\x18\x53\x80\x67":
                    n, ln, unknown = _vint(seg, 4)
                    if not unknown and pos + 4 + ln + n > size:
                        return f"its segment needs {pos + 4 + ln + n} bytes but the file has {size}"
            except (ValueError, IndexError, struct.error):
                return None
    return None


@dataclass
class Source:
    """A file opened with PyAV and checked: the container, its first video stream, and any damage."""

    path: str
    container: object  # av.container.InputContainer
    stream: object  # av.video.stream.VideoStream
    damage: str | None
    start: int | None = None  # the stream's start_time (ticks) as the header gives it, before any demuxing

    def close(self) -> None:
        self.container.close()


def open_source(path: str) -> Source:
    """Open `path` with PyAV and classify what is wrong with it, if anything (raises a VideoError subclass)."""
    import av

    path = check_path(path)
    damage = container_damage(path)
    try:
        container = av.open(path, metadata_errors="ignore")
    except av.error.InvalidDataError as e:
        if damage:
            raise TruncatedVideoError(f"{path}: the file is cut short and no frames can be recovered: {damage}") from e
        raise NotAVideoError(f"{path}: not a video container FFmpeg can read ({e.strerror or e})") from e
    except av.error.FileNotFoundError as e:
        raise VideoNotFoundError(f"{path}: no such file") from e
    except av.error.FFmpegError as e:
        raise NotAVideoError(f"{path}: FFmpeg cannot open it: {e}") from e
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams})
        container.close()
        what = f"only {', '.join(kinds)} stream(s)" if kinds else "no streams at all"
        raise NoVideoStreamError(f"{path}: no video stream ({what})")
    stream = container.streams.video[0]
    cc = stream.codec_context
    problem = "FFmpeg does not recognise its codec" if cc is None else None
    if cc is not None:
        try:
            av.codec.Codec(cc.name, "r")
        except Exception:  # noqa: BLE001 - av raises different classes across versions
            problem = f"this FFmpeg build has no decoder for {cc.name!r}"
    if problem:
        container.close()
        raise UnsupportedCodecError(f"{path}: unsupported video codec: {problem}")
    return Source(path, container, stream, damage, stream.start_time)


# ---------------------------------------------------------------- the frame table


@dataclass
class Index:
    """The frame table: presentation times [N] s ascending, keyframe times [K] s, raw PTS ticks [N]."""

    times: np.ndarray
    ticks: np.ndarray  # int64, in stream.time_base
    key_ticks: np.ndarray  # int64, ascending; includes discarded keyframes (decoding a shown frame may start there)
    corrupt: int  # packets dropped as corrupt (cut short)
    discarded: int = 0  # packets an edit list cuts away (never shown; see the module docstring)


def build_index(src: Source, heartbeat: Callable[[], None] = lambda: None) -> Index:
    """Demux every packet of the video stream (no decoding) to list frame PTS and keyframes.

    Costs one read of the file, like decord's own index. Packets FFmpeg flags corrupt (e.g. the one the
    file was cut through) are left out, and so are those it flags discard (before an edit list's start: never
    shown), though a discarded keyframe stays a place to start decoding from.
    """
    import av

    stream = src.stream
    ticks, keys, corrupt, discarded = [], [], 0, 0
    try:
        for i, packet in enumerate(src.container.demux(stream)):
            if packet.size == 0:
                continue
            if packet.is_corrupt:
                corrupt += 1
                continue
            pts = packet.pts if packet.pts is not None else packet.dts
            if pts is None:
                return _index_by_decoding(src, heartbeat)
            if packet.is_keyframe:
                keys.append(pts)
            if packet.is_discard:
                discarded += 1
            else:
                ticks.append(pts)
            if i % 512 == 0:
                heartbeat()
    except av.error.FFmpegError as e:  # a read error mid-file: keep what came before
        src.damage = src.damage or f"reading failed after {len(ticks)} packets ({e})"
    return _make_index(src, ticks, keys, corrupt, discarded)


def _index_by_decoding(src: Source, heartbeat: Callable[[], None]) -> Index:
    """For streams whose packets carry no timestamps: decode once, keeping only each frame's PTS (the decoder
    outputs only shown frames)."""
    log.warning("%s: packets carry no timestamps; indexing by decoding every frame (slow)", src.path)
    src.container.seek(0)
    ticks, keys = [], []
    for frame in src.container.decode(src.stream):
        if frame.pts is None:
            raise VideoDecodeError(f"{src.path}: the decoder reports no presentation timestamps")
        ticks.append(frame.pts)
        if frame.key_frame:
            keys.append(frame.pts)
        heartbeat()
    return _make_index(src, ticks, keys, 0)


def _make_index(src: Source, ticks: list, keys: list, corrupt: int, discarded: int = 0) -> Index:
    stream = src.stream
    t = np.unique(np.asarray(ticks, dtype=np.int64))
    start = src.start if src.start is not None else (int(t[0]) if len(t) else 0)
    times = (t - start).astype(np.float64) * float(stream.time_base)
    return Index(times, t, np.unique(np.asarray(keys or t[:1], dtype=np.int64)), corrupt, discarded)


def describe(times: np.ndarray, *, path: str, width: int, height: int, codec: str, backend: str,
             nominal_fps: float, truncated: bool) -> VideoInfo:
    """VideoInfo from a frame table: times [N] s ascending."""
    n = len(times)
    diffs = np.diff(times)
    step = float(np.median(diffs)) if n > 1 else (1.0 / nominal_fps if nominal_fps > 0 else 0.0)
    span = float(times[-1] - times[0]) if n > 1 else 0.0
    fps = (n - 1) / span if span > 0 else nominal_fps
    vfr = bool(n > 2 and np.max(np.abs(diffs - step)) > max(0.1 * step, 0.002))
    return VideoInfo(
        path=path, duration=round(float(times[-1] + step), 6) if n else 0.0, fps=round(float(fps), 6), vfr=vfr,
        frames=n, width=width, height=height, codec=codec, backend=backend,
        timestamps=[float(round(x, 6)) for x in times[:N_TIMESTAMPS]], truncated=truncated,
    )


def out_size(width: int, height: int, size: int | None) -> tuple[int, int]:
    """(W, H) after scaling so the short side is `size` pixels (None: native)."""
    if size is None:
        return width, height
    s = size / min(width, height)
    return max(1, round(width * s)), max(1, round(height * s))


# ---------------------------------------------------------------- readers


class PyAVReader:
    """Reference backend: demux-index, then seek to the keyframe before each wanted frame and decode forward."""

    name = "pyav"

    def __init__(self, src: Source, size: int | None, heartbeat: Callable[[], None] = lambda: None):
        self.src, self.heartbeat = src, heartbeat
        stream = src.stream
        stream.thread_type = "AUTO"
        self.index = build_index(src, heartbeat)
        if not len(self.index.times):
            raise _no_frames(src)
        listed = len(self.index.times) + self.index.discarded  # the header's frame count includes discarded ones
        self.truncated = bool(src.damage) or self.index.corrupt > 0 or (stream.frames or 0) > listed
        cc = stream.codec_context
        self.width, self.height = cc.width, cc.height
        self.size = out_size(self.width, self.height, size)
        self.info = describe(self.index.times, path=src.path, width=self.width, height=self.height,
                             codec=cc.name, backend=self.name, nominal_fps=float(stream.average_rate or 0),
                             truncated=self.truncated)
        self.frame_times = self.index.times  # [N] s: the frames `read` indexes
        self._gen: Iterator | None = None
        self._last = None  # PTS tick of the last frame taken from the decoder
        self._pending = None  # a decoded frame beyond the last target, kept for the next one

    def _decode_from(self, key_tick: int) -> Iterator:
        import av

        self.src.container.seek(int(key_tick), stream=self.src.stream, backward=True)
        for packet in self.src.container.demux(self.src.stream):
            if packet.is_corrupt:
                continue
            try:
                frames = packet.decode()
            except av.error.FFmpegError as e:
                log.warning("%s: skipping a packet the decoder rejects (%s)", self.src.path, e)
                continue
            for f in frames:
                self.heartbeat()
                yield f

    def _seek(self, k: int) -> None:
        """Restart decoding at keyframe number k (into index.key_ticks)."""
        self._gen, self._pending, self._last = self._decode_from(int(self.index.key_ticks[k])), None, None

    def _frame_at(self, tick: int):
        """The decoded frame whose PTS is `tick`, or None when the decoder never produces it."""
        keys = self.index.key_ticks
        k = max(0, int(np.searchsorted(keys, tick, side="right")) - 1)  # last keyframe at or before tick
        if self._gen is None or self._last is None or tick <= self._last or keys[k] > self._last:
            self._seek(k)  # backwards, or a keyframe lies between: jumping beats decoding through
        fresh = self._last is None
        while True:
            f = self._pending if self._pending is not None else next(self._gen, None)
            self._pending = None
            if f is None:
                return None
            if f.pts is None:
                continue
            if fresh and f.pts > tick and k > 0:  # the seek landed late: start one keyframe earlier
                k -= 1
                self._seek(k)
                continue
            fresh = False
            self._last = f.pts
            if f.pts == tick:
                return f
            if f.pts > tick:
                self._pending = f
                return None

    def read(self, indices: np.ndarray) -> Iterator[Frame]:
        """Frames at `indices` (ascending), each [H, W, 3] uint8 RGB at the requested size."""
        w, h = self.size
        missing = 0
        for i in indices:
            f = self._frame_at(int(self.index.ticks[i]))
            if f is None:
                missing += 1
                continue
            yield Frame(time=float(self.index.times[i]), index=int(i),
                        image=f.to_ndarray(format="rgb24", width=w, height=h))
        if missing:
            log.warning("%s: %d wanted frames could not be decoded", self.src.path, missing)

    def close(self) -> None:
        self._gen = None
        self.src.close()


# Set in decoder worker processes (worker.serve_stdio), which never run torch.
IN_WORKER = False


def import_decord():
    """Import decord safely. decord2's wheel bundles NVBLAS, which, loaded into a process before torch,
    takes over torch's CPU matrix products and segfaults them; so in any process that may use torch
    (in-process decoding), torch is imported first. Decoder workers never use torch and skip that."""
    if not IN_WORKER and "torch" not in sys.modules and importlib.util.find_spec("torch") is not None:
        import torch  # noqa: F401
    import decord

    return decord


class DecordReader:
    """Fast backend: decord2 indexes frames in C++ and seeks internally; times from `get_frame_timestamp`."""

    name = "decord"

    def __init__(self, src: Source, size: int | None, heartbeat: Callable[[], None] = lambda: None):
        decord = import_decord()

        self.src = src
        cc = src.stream.codec_context
        self.width, self.height = cc.width, cc.height
        self.size = out_size(self.width, self.height, size)
        w, h = self.size if size is not None else (-1, -1)
        try:
            self.vr = decord.VideoReader(src.path, width=w, height=h, num_threads=0)
        except Exception as e:  # noqa: BLE001 - decord raises RuntimeError / DECORDError / AssertionError
            raise VideoDecodeError(f"{src.path}: decord cannot open it ({_short(e)})") from e
        n = len(self.vr)
        # decord reports float32 seconds (0.1379999965; +-0.12 ms at one hour): keep whole milliseconds
        self.times = (np.round(self.vr.get_frame_timestamp(list(range(n)))[:, 0].astype(np.float64), 3) if n
                      else np.zeros(0))
        if n and (np.any(np.diff(self.times) < 0) or self.times[-1] > 1e7):
            raise VideoDecodeError(f"{src.path}: decord reports implausible frame times "
                                   f"({self.times[0]:.6g} .. {self.times[-1]:.6g} s)")
        if n and self.times[0] < 0:  # -0.0 (a rounded 0) is not < 0
            # Frames before the start: an edit list cuts them away (module docstring). decord counts them as
            # decoded although FFmpeg never outputs them, and from there returns the wrong pictures (shifted or
            # repeated frames; seen with decord2 3.4), so these files are PyAV's ("auto" falls back to it).
            raise VideoDecodeError(f"{src.path}: its edit list cuts away the first {int(np.sum(self.times < 0))} "
                                   "frames (a stream-copy cut); decord decodes such files wrongly, PyAV does not")
        self.valid = np.arange(n)
        self.truncated = bool(src.damage)
        if self.truncated:  # keep only frames whose packets are whole: PyAV's index knows which
            good = build_index(src, heartbeat).times
            j = np.clip(np.searchsorted(good, self.times), 0, max(0, len(good) - 1))
            ok = np.abs(good[j] - self.times) < 1e-3 if len(good) else np.zeros(n, bool)
            self.valid = np.flatnonzero(ok)
        if not len(self.valid):
            raise _no_frames(src)
        self.frame_times = self.times[self.valid]  # [N] s: the frames `read` indexes
        self.info = describe(self.frame_times, path=src.path, width=self.width, height=self.height,
                             codec=cc.name, backend=self.name,
                             nominal_fps=float(src.stream.average_rate or 0), truncated=self.truncated)

    def read(self, indices: np.ndarray, chunk: int = 32) -> Iterator[Frame]:
        """Frames at `indices` (into the valid-frame table, ascending), each [H, W, 3] uint8 RGB."""
        for s in range(0, len(indices), chunk):
            idx = indices[s : s + chunk]
            raw = self.valid[idx]
            try:
                arr = self.vr.get_batch(list(map(int, raw))).asnumpy()  # [n, H, W, 3]
            except Exception as e:  # noqa: BLE001
                raise VideoDecodeError(f"{self.src.path}: decord failed on frames {int(raw[0])}..{int(raw[-1])} "
                                       f"({_short(e)})") from e
            for i, r, img in zip(idx, raw, arr):
                yield Frame(time=float(self.times[r]), index=int(i), image=img)

    def close(self) -> None:
        del self.vr
        self.src.close()


def _short(e: Exception) -> str:
    msg = str(e).strip().splitlines()
    return (msg[-1] if msg else type(e).__name__)[:300]


def _no_frames(src: Source) -> Exception:
    if src.damage:
        return TruncatedVideoError(f"{src.path}: the file is cut short before its first whole frame: {src.damage}")
    return NoVideoStreamError(f"{src.path}: the video stream has no frames")


def open_reader(path: str, backend: str, size: int | None, heartbeat: Callable[[], None] = lambda: None):
    """A reader for `path`: backend "pyav", "decord", or "auto" (decord, else PyAV when decord can't open it)."""
    src = open_source(path)
    try:
        if backend == "pyav":
            return PyAVReader(src, size, heartbeat)
        try:
            return DecordReader(src, size, heartbeat)
        except VideoDecodeError as e:
            if backend == "decord":
                raise
            log.info("%s; falling back to PyAV", e)
        src.close()
        src = open_source(path)
        return PyAVReader(src, size, heartbeat)
    except BaseException:
        src.close()
        raise
