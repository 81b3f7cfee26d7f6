"""VideoIndex (one video's sampled frames, their embeddings, OCR text, FAISS) and the Encoder that fills it.

The Encoder turns batches of decoded frames into the arrays of each cache part:
  frames: times [N] (s, decoder PTS), frame numbers [N], descriptor [N, 112] (weight-free, image.descriptor)
  one part per channel, made by that channel's encoder (longlens.retrieval.channels.<name>; each module's
  docstring lists what it stores), every part with the frame times beside its arrays.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from longlens.core.types import Frame, Moment
from longlens.retrieval import faiss_index
from longlens.retrieval.channels import as_float32
from longlens.retrieval.image import descriptor
from longlens.retrieval.orb import OrbFeatures


@dataclass
class VideoIndex:
    """One video's index. Arrays are row-aligned with `times` ([N], seconds, ascending).

    embeddings: channel -> L2-normalised float32 [N, D] ("clip", "descriptor");
    regions: CLIP crop embeddings [N, R, D] or None; texts: readable OCR text per frame (None = no text);
    raw_texts: what the OCR returned; orb: ORB features for image queries or None;
    text_lines: the on-screen lines' embeddings and the rows showing them (channels.ocr.TextLines) or None;
    speech: what is said (channels.speech.SpeechTrack: sentences with spans, embeddings, words) or None;
    key: content key of the video's frames entry; stats: counts and seconds per stage (what was cached);
    channels: the channels attached (core.registry.CHANNELS order), i.e. those this index can score.
    """

    video: str
    key: str
    duration: float
    fps: float
    times: np.ndarray
    frame_numbers: np.ndarray
    embeddings: dict[str, np.ndarray]
    regions: np.ndarray | None = None
    texts: list[str | None] = field(default_factory=list)
    raw_texts: list[str | None] = field(default_factory=list)
    orb: OrbFeatures | None = None
    text_lines: object | None = None
    speech: object | None = None
    stats: dict = field(default_factory=dict)
    channels: tuple[str, ...] = ()
    _faiss: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.times)

    def faiss(self, channel: str):
        """Exact inner-product FAISS index over `embeddings[channel]` (built on first use)."""
        if channel not in self._faiss:
            self._faiss[channel] = faiss_index.flat_ip(self.embeddings[channel])
        return self._faiss[channel]

    def scores(self, channel: str, query: np.ndarray) -> np.ndarray:
        """Cosine of query [D] with every frame's `channel` embedding -> [N]."""
        return faiss_index.scores_all(self.faiss(channel), query)

    def moment(self, i: int, score: float, scores: dict[str, float] | None = None, text: str | None = None,
               kind: str | None = None) -> Moment:
        return Moment(self.video, float(self.times[i]), float(score), dict(scores or {}), text, int(i), kind)


class Encoder:
    """Turns batches of decoded frames into cache parts: "frames" (times, frame numbers, descriptors) when asked,
    and one part per channel encoder given (see longlens.retrieval.channels). `finish()` returns them.

    seconds: wall time per stage ("descriptor", then each channel's name; a channel encoder's `finish_stage`
    names its finish() apart, e.g. OCR's "text"); stats: what the channel encoders counted (e.g. ocr_calls).
    """

    def __init__(self, encoders: dict, *, frames: bool = True) -> None:
        self.encoders = encoders
        self.frames = frames
        self.times: list[float] = []
        self.numbers: list[int] = []
        self.desc: list[np.ndarray] = []
        self.seconds: dict[str, float] = {}
        self.stats: dict = {}

    def _timed(self, stage: str, fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0
        return out

    def add(self, frames: list[Frame]) -> None:
        self.times += [float(f.time) for f in frames]
        self.numbers += [int(f.index) for f in frames]
        if self.frames:
            self.desc += self._timed("descriptor", lambda: [descriptor(f.image) for f in frames])
        for name, enc in self.encoders.items():
            self._timed(name, enc.add, frames)

    def finish(self) -> dict[str, tuple[dict[str, np.ndarray], dict]]:
        """part -> (arrays, texts) ready for the cache; every part's arrays carry the frame times."""
        times = np.asarray(self.times, dtype=np.float64)
        out: dict[str, tuple[dict[str, np.ndarray], dict]] = {}
        if self.frames:
            out["frames"] = ({"times": times, "frame_numbers": np.asarray(self.numbers, dtype=np.int64),
                              "descriptor": np.asarray(self.desc, dtype=np.float16).reshape(len(times), -1)}, {})
        for name, enc in self.encoders.items():
            arrays, texts = self._timed(getattr(enc, "finish_stage", name), enc.finish)
            out[name] = ({"times": times, **arrays}, texts)
            self.stats.update(getattr(enc, "stats", {}))
        return out


def assemble(video: str, key: str, duration: float, fps: float, frames: dict[str, np.ndarray], stats: dict) -> VideoIndex:
    """A VideoIndex of the "frames" part's arrays alone; channels `attach` their parts to it."""
    return VideoIndex(video, key, duration, fps, frames["times"].astype(np.float64), frames["frame_numbers"],
                      {"descriptor": as_float32(frames["descriptor"])}, stats=stats)
