"""Synthetic talks: sentences said by espeak-ng at known times, muxed into a video (for tests, the demo, benchmarks).

`make_talk` places the facts you give ("needles") at their times and, optionally, fills the rest with
random filler sentences (from an rng), leaving `quiet` spans silent; it returns the waveform and the script
(every line with its start and end). `add_audio` muxes it into a video written by `longlens.data.synth`,
starting `offset` seconds after the video's first frame (an MP4 gets an edit list, as from ffmpeg -itsoffset).
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import wave
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from longlens.core.errors import InputError, ModelUnavailableError
from longlens.core.io import atomic_path

RATE = 22_050  # espeak-ng's own output rate
PAUSE = (0.4, 1.2)  # s between filler sentences
_FORMATS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}

_SUBJECTS = ["the committee", "our team", "the old library", "every student", "the river valley", "the museum",
             "a small company", "the city council", "the garden", "this chapter", "the orchestra", "the farmers"]
_VERBS = ["talked about", "looked at", "studied", "described", "planned", "remembered", "explained", "visited",
          "painted", "discussed", "reviewed", "admired"]
_OBJECTS = ["the history of bridges", "a quiet morning", "the weather in spring", "some ancient maps",
            "the price of bread", "a long journey", "the rules of chess", "the colour of the sea",
            "a famous painting", "the school garden", "the harvest season", "a forgotten song"]
_TAILS = ["", " last year", " with great care", " in the afternoon", " for a long time", " once again"]


@dataclass
class SpokenLine:
    """One sentence of the script: said from `start` to `end` (s, from the talk's first sample)."""

    start: float
    end: float
    text: str
    needle: bool = False  # a fact placed on purpose (not filler)


@dataclass
class Talk:
    """samples [n] float32 mono at `rate`; `lines` in time order."""

    samples: np.ndarray
    rate: int
    lines: list[SpokenLine] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.samples) / self.rate

    @property
    def script(self) -> str:
        return " ".join(line.text for line in self.lines)

    def to_dict(self) -> dict:
        return {"rate": self.rate, "duration": self.duration, "lines": [asdict(x) for x in self.lines]}


def filler_sentence(rng: np.random.Generator) -> str:
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    s = f"{pick(_SUBJECTS)} {pick(_VERBS)} {pick(_OBJECTS)}{pick(_TAILS)}."
    return s[0].upper() + s[1:]


@functools.lru_cache(maxsize=4096)
def _speak(text: str, voice: str, wpm: int) -> np.ndarray:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ModelUnavailableError("espeak-ng is not installed (apt-get install espeak-ng): no synthetic speech",
                                    summary="espeak-ng missing")
    with tempfile.TemporaryDirectory(prefix="longlens-tts-") as tmp:
        wav = Path(tmp) / "line.wav"
        subprocess.run([exe, "-v", voice, "-s", str(wpm), "-w", str(wav), "--", text], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
        with wave.open(str(wav)) as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1 or w.getframerate() != RATE:
                raise ModelUnavailableError(f"espeak-ng wrote unexpected audio ({w.getparams()})")
            x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    loud = np.flatnonzero(np.abs(x) > 1e-3)  # trim espeak's silent margins: a line starts where it is heard
    x = x[loud[0] : loud[-1] + 1] if len(loud) else x[:0]
    x.setflags(write=False)
    return x


def speak(text: str, *, voice: str = "en-us", wpm: int = 160) -> np.ndarray:
    """`text` said by espeak-ng: [n] float32 mono at RATE, silent margins trimmed."""
    if not text.strip():
        raise InputError("nothing to say: empty text")
    return _speak(text.strip(), voice, int(wpm))


def make_talk(duration: float, *, needles: list[tuple[float, str]] = (), rng: np.random.Generator | None = None,
              filler: bool = True, quiet: list[tuple[float, float]] = (), voice: str = "en-us",
              wpm: int = 160) -> Talk:
    """A `duration`-second talk: each needle (start s, text) said at its start; with `filler`, random
    sentences (from `rng`) between them, none inside a `quiet` (start, end) span. InputError when needles
    overlap each other or the end."""
    if filler and rng is None:
        raise InputError("make_talk with filler needs an rng")
    n = int(round(duration * RATE))
    out = np.zeros(n, np.float32)
    lines: list[SpokenLine] = []

    def place(t: float, text: str, x: np.ndarray, needle: bool) -> float:
        i = int(round(t * RATE))
        out[i : i + len(x)] = x
        end = (i + len(x)) / RATE
        lines.append(SpokenLine(round(i / RATE, 4), round(end, 4), text, needle))
        return end

    def blocked(a: float, b: float) -> float | None:
        """End of a quiet span that [a, b] overlaps, else None."""
        return next((q1 for q0, q1 in quiet if a < q1 and b > q0), None)

    t = PAUSE[0]
    for at, text in sorted(needles) + [(duration, None)]:
        while filler:
            sentence = filler_sentence(rng)
            x = speak(sentence, voice=voice, wpm=wpm)
            end = t + len(x) / RATE
            if end + PAUSE[0] > at:
                break
            skip = blocked(t, end)
            if skip is not None:
                t = skip
                continue
            t = place(t, sentence, x, False) + float(rng.uniform(*PAUSE))
        if text is None:
            break
        x = speak(text, voice=voice, wpm=wpm)
        if at < (lines[-1].end if lines else 0.0) or at + len(x) / RATE > duration:
            raise InputError(f"needle {text!r} at {at} s overlaps the line before it or runs past {duration} s")
        t = place(at, text, x, True) + PAUSE[0]
    return Talk(out, RATE, lines)


def add_audio(video: str | os.PathLike, talks: Talk | list[Talk], out: str | os.PathLike, *, offset: float = 0.0,
              languages: list[str | None] | None = None, default: int = 0) -> Path:
    """Copy `video`'s video stream into `out` (atomically; container from the suffix) with each talk as an audio
    track (AAC), tagged with `languages`, track `default` flagged as the default one; every
    talk's first sample plays `offset` s (>= 0) after the first frame."""
    import av
    from av.stream import Disposition

    out = Path(out)
    talks = [talks] if isinstance(talks, Talk) else list(talks)
    if out.suffix.lower() not in _FORMATS:
        raise InputError(f"{out}: unknown suffix; use one of {', '.join(_FORMATS)}")
    if offset < 0:
        raise InputError(f"offset must be >= 0, got {offset}")
    rate = talks[0].rate
    tracks = [t.samples if t.rate == rate else _resample(t.samples, t.rate, rate) for t in talks]
    first = int(round(offset * rate))
    with av.open(os.fspath(video)) as inp, atomic_path(out) as tmp:
        vin = inp.streams.video[0]
        with av.open(str(tmp), "w", format=_FORMATS[out.suffix.lower()]) as dst:
            vout = dst.add_stream_from_template(vin)
            aouts = []
            for k, lang in enumerate(languages or [None] * len(tracks)):
                a = dst.add_stream("aac", rate=rate, layout="mono")
                if lang:
                    a.metadata["language"] = lang
                a.disposition = Disposition.default if k == default else Disposition(0)
                aouts.append(a)
            packets = (p for p in inp.demux(vin) if p.dts is not None)
            pending = next(packets, None)
            for k in range(0, max(map(len, tracks)), rate):  # one second at a time, interleaved with the video
                while pending is not None and float(pending.pts * vin.time_base) <= offset + k / rate:
                    pending.stream = vout
                    dst.mux(pending)
                    pending = next(packets, None)
                for x, a in zip(tracks, aouts):
                    if k < len(x):
                        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[None, k : k + rate]), format="fltp",
                                                           layout="mono")
                        frame.sample_rate, frame.pts, frame.time_base = rate, first + k, Fraction(1, rate)
                        dst.mux(a.encode(frame))
            for a in aouts:
                dst.mux(a.encode(None))
            while pending is not None:
                pending.stream = vout
                dst.mux(pending)
                pending = next(packets, None)
    return out


def _resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Linear resampling: enough for synthetic speech fed to an encoder that resamples anyway."""
    n = int(round(len(x) * dst / src))
    return np.interp(np.arange(n) * (src / dst), np.arange(len(x)), x).astype(np.float32)
