"""VideoIndex (one video's sampled frames, their embeddings, OCR text, FAISS) and the Encoder that fills it.

The Encoder turns batches of decoded frames into the arrays of each cache part:
  frames: times [N] (s, decoder PTS), frame numbers [N], descriptor [N, 112] (weight-free, image.descriptor)
  clip:   clip [N, D], clip_regions [N, R, D] (R = clip_regions ** 2; absent when 0), float16 on disk
  ocr:    ocr [N, 384] MiniLM embedding of the frame's readable text (zero row: no text), texts, raw_texts
  image:  ORB points / descriptors / offsets (image.OrbFeatures)
OCR runs only on frames whose text may have changed since the last OCR'd frame (see Encoder._ocr); the others
inherit its text.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from longlens.core.types import Frame
from longlens.retrieval import faiss_index
from longlens.retrieval.image import OrbFeatures, change, descriptor, gray, text_change, text_edges, thumbnail
from longlens.retrieval.text import readable
from longlens.core.types import Moment


@dataclass
class VideoIndex:
    """One video's index. Arrays are row-aligned with `times` ([N], seconds, ascending).

    embeddings: channel -> L2-normalised float32 [N, D] ("clip", "ocr", "descriptor");
    regions: CLIP crop embeddings [N, R, D] or None; texts: readable OCR text per frame (None = no text);
    raw_texts: what the OCR returned; orb: ORB features for image queries or None;
    key: content key of the video's frames entry; stats: counts and seconds per stage (what was cached).
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
    stats: dict = field(default_factory=dict)
    _faiss: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.times)

    @property
    def channels(self) -> tuple[str, ...]:
        """Retrieval channels this index can score: subset of ("clip", "ocr", "image")."""
        out = [c for c in ("clip", "ocr") if c in self.embeddings]
        return tuple(out + (["image"] if self.orb is not None else []))

    def faiss(self, channel: str):
        """Exact inner-product FAISS index over `embeddings[channel]` (built on first use)."""
        if channel not in self._faiss:
            self._faiss[channel] = faiss_index.flat_ip(self.embeddings[channel])
        return self._faiss[channel]

    def scores(self, channel: str, query: np.ndarray) -> np.ndarray:
        """Cosine of query [D] with every frame's `channel` embedding -> [N]."""
        return faiss_index.scores_all(self.faiss(channel), query)

    def moment(self, i: int, score: float, scores: dict[str, float] | None = None) -> Moment:
        return Moment(self.video, float(self.times[i]), float(score), dict(scores or {}), self.texts[i] if self.texts else None, int(i))


class Encoder:
    """Accumulates the arrays of the requested parts over batches of frames; `finish()` returns them.

    components: clip (ClipEmbedder | None), ocr (OcrReader), text (TextEmbedder), orb (OrbExtractor).
    seconds: per-stage wall time (clip, ocr, text, orb, descriptor) for benchmarks.
    """

    def __init__(self, parts: set[str], *, clip=None, ocr=None, text=None, orb=None, ocr_change: float = 3.0,
                 ocr_text_change: float = 0.5, ocr_refresh: float = 30.0) -> None:
        self.parts = parts
        self.clip, self.ocr, self.text, self.orb = clip, ocr, text, orb
        self.ocr_change, self.ocr_text_change, self.ocr_refresh = ocr_change, ocr_text_change, ocr_refresh
        self.times: list[float] = []
        self.numbers: list[int] = []
        self.desc: list[np.ndarray] = []
        self.clip_rows: list[np.ndarray] = []
        self.region_rows: list[np.ndarray] = []
        self.raw_texts: list[str | None] = []
        self.orb_rows: list[tuple[np.ndarray, np.ndarray]] = []
        self._last_thumb: np.ndarray | None = None
        self._last_edges: np.ndarray | None = None
        self._last_ocr_time = -np.inf
        self._last_text: str | None = None
        self.ocr_calls = 0
        self.seconds: dict[str, float] = {}

    def _timed(self, stage: str, fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - t0
        return out

    def add(self, frames: list[Frame]) -> None:
        images = [f.image for f in frames]
        self.times += [float(f.time) for f in frames]
        self.numbers += [int(f.index) for f in frames]
        if "frames" in self.parts:
            self.desc += self._timed("descriptor", lambda: [descriptor(im) for im in images])
        if "clip" in self.parts:
            whole, regions = self._timed("clip", self.clip.embed_frames, images)
            self.clip_rows.append(whole)
            if regions is not None:
                self.region_rows.append(regions)
        if "ocr" in self.parts:
            self._timed("ocr", self._ocr, images, [float(f.time) for f in frames])
        if "image" in self.parts:
            self.orb_rows += self._timed("orb", lambda: [self.orb.detect(im) for im in images])

    def _ocr(self, images: list[np.ndarray], times: list[float]) -> None:
        """OCR a frame when its text-like edges changed since the last OCR'd frame (text appeared, went or
        changed), or, as a safety net for text the edge map misses (low contrast), when its thumbnail changed
        and `ocr_refresh` seconds have passed. Panning scenery and moving objects trigger neither."""
        for im, t in zip(images, times):
            g = gray(im)  # once per frame: both maps start from it
            thumb, edges = thumbnail(g), text_edges(g)
            if (self._last_thumb is None or text_change(edges, self._last_edges) > self.ocr_text_change
                    or (t - self._last_ocr_time >= self.ocr_refresh and change(thumb, self._last_thumb) > self.ocr_change)):
                self._last_text = self.ocr.read(im)
                self._last_thumb, self._last_edges, self._last_ocr_time = thumb, edges, t
                self.ocr_calls += 1
            self.raw_texts.append(self._last_text)

    def finish(self) -> dict[str, tuple[dict[str, np.ndarray], dict]]:
        """part -> (arrays, texts) ready for the cache (floats as float16)."""
        out: dict[str, tuple[dict[str, np.ndarray], dict]] = {}
        times = np.asarray(self.times, dtype=np.float64)
        if "frames" in self.parts:
            out["frames"] = ({"times": times, "frame_numbers": np.asarray(self.numbers, dtype=np.int64),
                              "descriptor": np.asarray(self.desc, dtype=np.float16).reshape(len(times), -1)}, {})
        if "clip" in self.parts:
            arrays = {"times": times, "clip": np.concatenate(self.clip_rows).astype(np.float16)}
            if self.region_rows:
                arrays["clip_regions"] = np.concatenate(self.region_rows).astype(np.float16)
            out["clip"] = (arrays, {})
        if "ocr" in self.parts:
            def embed():
                vocab = self.text.vocab
                nice = [readable(t, vocab) if t else None for t in self.raw_texts]
                unique = sorted({t for t in nice if t})
                emb = self.text.encode(unique)
                rows = np.zeros((len(nice), self.text.dim), dtype=np.float32)
                where = {t: i for i, t in enumerate(unique)}
                for i, t in enumerate(nice):
                    if t:
                        rows[i] = emb[where[t]]
                return nice, rows

            nice, rows = self._timed("text", embed)
            out["ocr"] = ({"times": times, "ocr": rows.astype(np.float16), "ocr_calls": np.array(self.ocr_calls)},
                          {"texts": nice, "raw_texts": self.raw_texts})
        if "image" in self.parts:
            f = self.orb.build(self.orb_rows)
            out["image"] = ({"times": times, "points": f.points, "descriptors": f.descriptors, "offsets": f.offsets}, {})
        return out


def assemble(video: str, key: str, duration: float, fps: float, parts: dict[str, tuple[dict, dict]], stats: dict) -> VideoIndex:
    """A VideoIndex from cache parts (as written by Encoder.finish / read from the cache)."""
    frames, _ = parts["frames"]
    n = len(frames["times"])

    def f32(x: np.ndarray) -> np.ndarray:
        return faiss_index.normalize(x.astype(np.float32)) if len(x) else x.astype(np.float32)

    emb = {"descriptor": f32(frames["descriptor"])}
    regions = None
    texts: list[str | None] = [None] * n
    raw: list[str | None] = [None] * n
    orb = None
    if "clip" in parts:
        a, _ = parts["clip"]
        emb["clip"] = f32(a["clip"])
        if "clip_regions" in a:
            r = a["clip_regions"].astype(np.float32)
            regions = r / np.maximum(np.linalg.norm(r, axis=-1, keepdims=True), 1e-12)
    if "ocr" in parts:
        a, t = parts["ocr"]
        o = a["ocr"].astype(np.float32)
        emb["ocr"] = o / np.maximum(np.linalg.norm(o, axis=1, keepdims=True), 1e-12)  # zero rows stay zero
        texts, raw = list(t["texts"]), list(t["raw_texts"])
        stats.setdefault("ocr_calls", int(a["ocr_calls"]))
    if "image" in parts:
        a, _ = parts["image"]
        orb = OrbFeatures(a["points"], a["descriptors"], a["offsets"])
    return VideoIndex(video, key, duration, fps, frames["times"].astype(np.float64), frames["frame_numbers"],
                      emb, regions, texts, raw, orb, stats)
