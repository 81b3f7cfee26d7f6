"""Reading a video's audio: 16 kHz mono float32, in bounded chunks, on the video frames' clock.

Times are presentation times in seconds on the same clock as `longlens.data.decoders` reports frame times:
0 is the video stream's start. An audio stream that starts later or earlier (a start offset, an MP4 edit list)
therefore comes out shifted by that offset, and a word said while frame t is shown has time t.
"""
from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from longlens.core.errors import InputError, NoAudioStreamError, TruncatedVideoWarning
from longlens.data.decoders import Source, open_source

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # what Whisper and Silero VAD take
CHUNK_S = 30.0  # default chunk length: memory is bounded by one chunk (30 s = 1.9 MB), not the video
GAP_S = 0.02  # a jump in the audio's timestamps larger than this starts a new chunk at the new time


@dataclass
class AudioStream:
    """One audio stream as `probe_audio` reports it. start / duration in seconds on the video's clock."""

    track: int  # its rank among the file's audio streams: what `track=` chooses
    index: int  # its index among all of the container's streams
    codec: str
    sample_rate: int
    channels: int
    start: float  # when its first sample plays, relative to the video stream's start
    duration: float | None  # None when the container does not say
    language: str | None  # the stream's language tag ("eng", "deu", ...), None when absent or "und"
    default: bool  # flagged as the default track (or, when none is flagged, the first one)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class AudioChunk:
    """Contiguous audio: samples [n] float32 in [-1, 1] at SAMPLE_RATE, the first one at `start` s."""

    start: float
    samples: np.ndarray

    @property
    def end(self) -> float:
        return self.start + len(self.samples) / SAMPLE_RATE


# ---------------------------------------------------------------------------------------------- probing


def _origin(src: Source) -> float:
    """Seconds of the container clock at which the video clock reads 0 (how decoders define frame times:
    the video stream's start_time, else its first packet's timestamp)."""
    stream = src.stream
    if src.start is not None:
        return float(src.start * stream.time_base)
    for packet in src.container.demux(stream):
        pts = packet.pts if packet.pts is not None else packet.dts
        if pts is not None:
            src.container.seek(0)
            return float(pts * stream.time_base)
    return 0.0


def _describe(src: Source, origin: float) -> list[AudioStream]:
    from av.stream import Disposition

    audio = list(src.container.streams.audio)
    flagged = [bool(s.disposition & Disposition.default) for s in audio]
    default = flagged.index(True) if any(flagged) else 0
    out = []
    for k, s in enumerate(audio):
        tb = s.time_base
        start = float(s.start_time * tb) - origin if s.start_time is not None and tb else 0.0
        duration = float(s.duration * tb) if s.duration is not None and tb else None
        lang = (s.metadata.get("language") or "").strip() or None
        cc = s.codec_context
        out.append(AudioStream(
            track=k, index=s.index, codec=cc.name if cc is not None else "unknown", sample_rate=int(s.rate or 0),
            channels=int(s.channels or 0), start=round(start, 6),
            duration=None if duration is None else round(duration, 6),
            language=None if lang == "und" else lang, default=k == default,
        ))
    return out


def probe_audio(path: str | os.PathLike) -> list[AudioStream]:
    """The video's audio streams (an empty list when it has none). Raises the VideoError subclasses of
    `decoders.open_source` for a file that is missing or not a video."""
    src = open_source(os.fspath(path))
    try:
        return _describe(src, _origin(src))
    finally:
        src.close()


def pick_track(streams: list[AudioStream], track: int | None, path: str | os.PathLike) -> AudioStream:
    """The stream `track` names (None: the default one). NoAudioStreamError when there is no audio at all,
    InputError when the track does not exist."""
    if not streams:
        raise NoAudioStreamError(f"{os.fspath(path)}: no audio stream (nothing can be transcribed)")
    if track is None:
        return next(s for s in streams if s.default)
    if isinstance(track, bool) or not isinstance(track, int) or not 0 <= track < len(streams):
        have = ", ".join(str(s.track) for s in streams)
        raise InputError(f"{os.fspath(path)}: no audio track {track!r}; it has {len(streams)} (tracks {have})")
    return streams[track]


# ---------------------------------------------------------------------------------------------- reading


def iter_audio(path: str | os.PathLike, *, track: int | None = None, chunk_s: float = CHUNK_S) -> Iterator[AudioChunk]:
    """The audio of `track` (None: the default stream) as chunks of about `chunk_s` seconds, in time order.

    Each chunk is contiguous; a jump in the stream's timestamps (a gap, a splice) ends it and the next chunk
    starts at the new time. A damaged stream yields what decodes before the damage and warns
    (TruncatedVideoWarning) once. Raises NoAudioStreamError when the video has no audio.
    """
    import av

    if not chunk_s > 0:
        raise InputError(f"chunk_s must be > 0, got {chunk_s!r}")
    src = open_source(os.fspath(path))
    try:
        origin = _origin(src)
        chosen = pick_track(_describe(src, origin), track, src.path)
        stream = src.container.streams[chosen.index]
        yield from _decode(src, stream, origin, int(chunk_s * SAMPLE_RATE), av)
    finally:
        src.close()


def _decode(src: Source, stream, origin: float, chunk_n: int, av) -> Iterator[AudioChunk]:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    parts: list[np.ndarray] = []
    have = 0  # samples in parts
    start = None  # time of parts[0][0]
    damage = src.damage
    corrupt = 0

    def take(frames) -> Iterator[AudioChunk]:
        nonlocal parts, have, start
        for f in frames:
            x = f.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            if not len(x):
                continue
            t = None if f.pts is None else float(f.pts * f.time_base) - origin
            if start is not None and t is not None and abs(t - (start + have / SAMPLE_RATE)) > GAP_S:
                yield AudioChunk(start, np.concatenate(parts))  # timestamps jump: start a new chunk there
                parts, have, start = [], 0, None
            if start is None:
                start = t if t is not None else 0.0
            parts.append(x)
            have += len(x)
            if have >= chunk_n:
                yield AudioChunk(start, np.concatenate(parts))
                start, parts, have = start + have / SAMPLE_RATE, [], 0

    try:
        for packet in src.container.demux(stream):
            if packet.is_corrupt:
                corrupt += 1
                continue
            try:
                frames = packet.decode()
            except av.error.FFmpegError as e:
                damage = damage or f"the audio decoder rejects a packet ({e})"
                continue
            yield from take(f for frame in frames for f in resampler.resample(frame))
    except av.error.FFmpegError as e:  # a read error mid-file: keep what came before
        damage = damage or f"reading failed ({e})"
    yield from take(resampler.resample(None))
    if parts:
        yield AudioChunk(start, np.concatenate(parts))
    if damage or corrupt:
        why = damage or f"{corrupt} corrupt audio packet(s) were skipped"
        end = (start or 0.0) + have / SAMPLE_RATE
        warnings.warn(f"{src.path}: the audio is damaged; kept what decodes (up to {end:.1f} s): {why}",
                      TruncatedVideoWarning, stacklevel=3)
