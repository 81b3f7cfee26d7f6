"""Retriever: the one object the pipeline, LVLM and UI hold. Builds embedders lazily, indexes videos into
the content-keyed cache, scores queries, selects frames, zooms in and grounds."""
from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

from longlens.data import FixedRate, decoder_version, iter_frames, probe
from longlens.core.errors import InputError
from longlens.core.progress import progress as progress_bar
from longlens.core.types import Segment
from longlens.retrieval import cache
from longlens.retrieval.clip import ClipEmbedder
from longlens.retrieval.config import RetrievalConfig, check_fps
from longlens.retrieval.fuse import fuse
from longlens.retrieval.ground import ground_segments
from longlens.retrieval.image import OrbExtractor, match_scores, prepare_query
from longlens.retrieval.index import Encoder, VideoIndex, assemble
from longlens.retrieval.query import Query, check_query
from longlens.retrieval.select import mmr, tass, topk, uniform
from longlens.retrieval.text import OcrReader, TextEmbedder, keyword_hits
from longlens.core.errors import CacheError, ModelUnavailableError
from longlens.core.types import Moment
from longlens.retrieval.types import ScoreCurve

log = logging.getLogger(__name__)
METHODS = ("tass", "uniform", "topk", "mmr")
QUERY_CACHE = 256  # text queries whose embeddings a Retriever keeps (per channel)


class Retriever:
    """Index videos and answer queries over them. Thread-safe to share; models load on first use.

    index(video, fps=None) -> VideoIndex           decode + embed + OCR, cached on disk by content key
    curve(index, query=None, image=None) -> ScoreCurve
    search(video, query=None, image=None, k=10) -> list[Moment] (best first)
    select(index, curve, budget, method="tass") -> list[Moment] (time order)
    zoom(video, query=None, image=None, budget=16, rounds=2, seed=0) -> list[Moment] (time order)
    ground(video, query=None, image=None, top=5) -> list[Segment] (best first)
    `video` is a path or an already built VideoIndex wherever one is accepted.
    """

    def __init__(self, config: RetrievalConfig | None = None) -> None:
        self.config = config or RetrievalConfig()
        self._lock = threading.RLock()
        self._clip: ClipEmbedder | None = None
        self._clip_error: str | None = None
        self._ocr: OcrReader | None = None
        self._text: TextEmbedder | None = None
        self._orb: OrbExtractor | None = None
        self._indexes: dict[str, VideoIndex] = {}
        self._text_vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()  # (channel, text) -> vector

    # ------------------------------------------------------------------ components (lazy)
    def clip(self) -> ClipEmbedder | None:
        """The loaded CLIP embedder, or None when its weights cannot be loaded (said once, in the log)."""
        if "clip" not in self.config.channels:
            return None
        with self._lock:
            if self._clip is None and self._clip_error is None:
                emb = ClipEmbedder(self.config)
                try:
                    emb.load()
                    self._clip = emb
                except ModelUnavailableError as e:
                    self._clip_error = str(e)
                    log.warning("CLIP channel off: %s; continuing with the other channels (%s)", e,
                                ", ".join(c for c in self.config.channels if c != "clip") or "none")
            return self._clip

    def clip_off_reason(self) -> str | None:
        """Why the CLIP channel is off (its weights could not be loaded), or None when it is on or not asked for."""
        if "clip" not in self.config.channels or self.clip() is not None:
            return None
        return self._clip_error or "CLIP weights are unavailable"

    def _components(self) -> dict:
        with self._lock:
            if self._ocr is None:
                device = "cuda" if self.config.device == "cuda" else "cpu"
                self._ocr, self._text = OcrReader(), TextEmbedder(device)
                self._orb = OrbExtractor(self.config.orb_features)
        return {"ocr": self._ocr, "text": self._text, "orb": self._orb}

    # ------------------------------------------------------------------ indexing
    def _fields(self, path: str, fps: float, info) -> tuple[dict, dict[str, dict]]:
        c = self.config
        size = c.size if min(info.width, info.height) > c.size else None
        base = {"content": cache.content_hash(path, full=c.full_hash), "decoder": decoder_version(info.backend),
                "sampling": FixedRate(fps).key(), "size": size}
        fields = {"frames": {**base, "part": "frames", "model": "descriptor-v1"}}
        if "clip" in c.channels and self._clip_error is None:
            try:
                fields["clip"] = {**base, "part": "clip", "model": ClipEmbedder(c).key()}
            except ModelUnavailableError as e:
                self._clip_error = str(e)
                log.warning("CLIP channel off: %s; continuing with the other channels", e)
        if "ocr" in c.channels:
            fields["ocr"] = {**base, "part": "ocr", "model": f"{OcrReader.version()}|{TextEmbedder.model_key()}|change={c.ocr_change}|edges-v2={c.ocr_text_change}|refresh={c.ocr_refresh}|conf=0.5"}
        if "image" in c.channels:
            fields["image"] = {**base, "part": "image", "model": OrbExtractor(c.orb_features).key()}
        return base, fields

    def index(self, video, *, fps: float | None = None, progress: bool = True) -> VideoIndex:
        """Decode, embed and OCR a video at `fps` (default config.fps), cached on disk by content key.

        A part already cached (frames, clip, ocr, image) is read, never recomputed; `stats` of the result
        says which parts were cached and which computed, and the seconds each stage took."""
        if isinstance(video, VideoIndex):
            return video
        fps = check_fps(self.config.fps if fps is None else fps)
        path = os.fspath(video)
        t0 = time.perf_counter()
        info = probe(path, backend=self.config.backend)
        base, fields = self._fields(path, fps, info)
        mem_key = json.dumps([base, sorted(fields)], sort_keys=True, default=str)
        with self._lock:
            if mem_key in self._indexes:
                return self._indexes[mem_key]
        stats: dict = {"cached": [], "computed": [], "seconds": {"probe+hash": time.perf_counter() - t0}}
        with cache.lock(cache.part_key(base)):
            parts = {p: cache.read(p, f) for p, f in fields.items()}
            missing = {p for p, v in parts.items() if v is None}
            if "clip" in missing and self.clip() is None:
                missing.discard("clip")
                parts.pop("clip")
            stats["cached"] = sorted(p for p in parts if p not in missing)
            if missing:
                new = self._encode(path, fps, info, base["size"], missing, stats, progress)
                for p in sorted(missing):
                    cached_times = parts["frames"][0]["times"] if parts.get("frames") else new["frames"][0]["times"] if "frames" in new else None
                    if cached_times is not None and not np.array_equal(new[p][0]["times"], cached_times):
                        raise CacheError(f"{cache.entry_dir('frames', fields['frames'])}: cached frame times differ from a "
                                         "fresh decode of the same file; delete that folder to rebuild")
                    cache.write(p, fields[p], *new[p])
                    parts[p] = new[p]
                stats["computed"] = sorted(missing)
        n = len(parts["frames"][0]["times"])
        if n == 0:
            raise InputError(f"{path}: no frames were decoded at {fps:g} fps")
        for p, (arrays, _) in parts.items():
            if len(arrays["times"]) != n:
                raise CacheError(f"{cache.entry_dir(p, fields[p])}: holds {len(arrays['times'])} frames, the frames entry {n}")
        stats["frames"] = n
        stats["decode_size"] = base["size"]
        stats["seconds"]["total"] = time.perf_counter() - t0
        idx = assemble(path, cache.part_key(base), float(info.duration), fps, parts, stats)
        with self._lock:
            self._indexes[mem_key] = idx
        return idx

    def is_indexed(self, video, *, fps: float | None = None) -> bool:
        """Whether every part `index(video, fps=fps)` would build is already in the on-disk cache (no decoding)."""
        fps = check_fps(self.config.fps if fps is None else fps)
        path = os.fspath(video)
        _, fields = self._fields(path, fps, probe(path, backend=self.config.backend))
        if "clip" in fields and self.clip() is None:
            fields.pop("clip")
        return all(cache.has(p, f) for p, f in fields.items())

    def _encoder(self, parts: set[str]) -> Encoder:
        comps = self._components()
        return Encoder(parts, clip=self.clip() if "clip" in parts else None, ocr=comps["ocr"], text=comps["text"],
                       orb=comps["orb"], ocr_change=self.config.ocr_change,
                       ocr_text_change=self.config.ocr_text_change, ocr_refresh=self.config.ocr_refresh)

    def _encode(self, path: str, fps: float, info, size, parts: set[str], stats: dict, show: bool) -> dict:
        enc = self._encoder(parts)
        decode = 0.0
        bar = progress_bar(total=max(1, math.ceil(info.duration * fps)), desc=f"index {Path(path).name}", unit="frame")
        if not show:
            bar.disable = True
        with bar:
            batches = iter_frames(path, FixedRate(fps), backend=self.config.backend, size=size,
                                  batch_size=self.config.batch_size)
            while True:
                t0 = time.perf_counter()
                batch = next(batches, None)
                decode += time.perf_counter() - t0
                if batch is None:
                    break
                enc.add(batch)
                bar.update(len(batch))
        out = enc.finish()
        stats["seconds"].update({"decode": decode, **enc.seconds})
        stats["ocr_calls"] = enc.ocr_calls
        return out

    def index_frames(self, like: VideoIndex, frames: list) -> VideoIndex:
        """An uncached index of extra frames (e.g. zoom-in re-decoding), with the channels of `like`."""
        parts = {"frames"} | {p for p in ("clip", "ocr") if p in like.embeddings} | ({"image"} if like.orb is not None else set())
        enc = self._encoder(parts)
        if frames:
            enc.add(frames)
        return assemble(like.video, like.key + "+extra", like.duration, like.fps, enc.finish(), {"frames": len(frames)})

    # ------------------------------------------------------------------ scoring
    def prepare(self, query: str | None = None, image=None) -> Query:
        """Validate a query (InputError on empty text, a path that is not an image, both or neither)."""
        text, picture = check_query(query, image)
        return Query(text, picture)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings (MiniLM, the OCR channel's space) of `texts`: [N, 384], L2-normalised."""
        return self._components()["text"].encode(texts)

    def _vector(self, q: Query, name: str):
        """The query's embedding for channel `name` (computed once per Query)."""
        key = (name, q.text) if q.text is not None else None  # text queries only (a picture is not a key)
        with self._lock:  # a text asked again (the explorer re-runs its page on every click) is not re-embedded
            if name not in q.vectors and key in self._text_vectors:
                self._text_vectors.move_to_end(key)
                q.vectors[name] = self._text_vectors[key]
        if name not in q.vectors:
            extra = list(self.config.rewriter(q.text)) if (self.config.rewriter and q.text) else []
            if name == "clip":
                clip = self.clip()
                q.vectors[name] = None if clip is None else (clip.embed_text(q.text, extra) if q.text else clip.embed_image(q.image))
            elif name == "ocr":
                v = self._components()["text"].encode([q.text, *extra]).mean(axis=0)
                q.vectors[name] = v / max(float(np.linalg.norm(v)), 1e-12)
            elif name == "image":
                q.vectors[name] = prepare_query(q.image)
            if key is not None and q.vectors[name] is not None:
                with self._lock:
                    self._text_vectors[key] = q.vectors[name]
                    while len(self._text_vectors) > QUERY_CACHE:
                        self._text_vectors.popitem(last=False)
        return q.vectors[name]

    def channel_scores(self, index: VideoIndex, q: Query) -> dict[str, np.ndarray]:
        """Raw scores [N] per channel that applies to this query and index (plus "keyword" for text)."""
        out: dict[str, np.ndarray] = {}
        chans = [c for c in index.channels if c in self.config.channels]
        if "clip" in chans and self._vector(q, "clip") is not None:
            v = self._vector(q, "clip")
            s = index.scores("clip", v)
            if q.image is not None and index.regions is not None:  # a picture may fill only part of a frame
                s = np.maximum(s, (index.regions @ v).max(axis=1))
            out["clip"] = s
        if q.text is not None and "ocr" in chans:
            out["ocr"] = index.scores("ocr", self._vector(q, "ocr"))
            kw = keyword_hits(q.text, index.texts)
            if kw is not None:
                out["keyword"] = kw
        if q.image is not None and "image" in chans:
            out["image"] = match_scores(self._vector(q, "image"), index.orb)
        return out

    def curve(self, index: VideoIndex, query: str | None = None, image=None, *, stats=None, prepared: Query | None = None) -> ScoreCurve:
        """Score every indexed frame: ScoreCurve(times [N], fused [N], raw channels, normalisation stats)."""
        q = prepared or self.prepare(query, image)
        chans = self.channel_scores(index, q)
        kw = chans.get("keyword")
        scored = {c: s for c, s in chans.items() if c != "keyword"}
        fused, used = fuse(scored, self.config.weights, keyword=kw, keyword_weight=self.config.keyword_weight, stats=stats)
        if not scored and kw is None:
            log.warning("%s: no channel can score a %s query (channels: %s)", index.video, q.kind, ", ".join(index.channels) or "none")
        return ScoreCurve(index.times, fused, chans, used)

    def _moments(self, index: VideoIndex, curve: ScoreCurve, idx) -> list[Moment]:
        return [index.moment(int(i), curve.fused[i], {c: float(s[i]) for c, s in curve.channels.items()}) for i in idx]

    def search(self, video, query: str | None = None, image=None, *, k: int = 10) -> list[Moment]:
        """The k best-scoring frames (best first; ties: earlier first)."""
        if not isinstance(k, int) or k <= 0:
            raise InputError(f"k must be a whole number > 0, got {k!r}")
        q = self.prepare(query, image)
        index = self.index(video)
        curve = self.curve(index, prepared=q)
        order = np.lexsort((np.arange(len(curve.fused)), -curve.fused))[:k]
        return self._moments(index, curve, order)

    def select(self, index: VideoIndex, curve: ScoreCurve, budget: int, *, method: str = "tass",
               min_gap: float = 20.0, lam: float = 0.7) -> list[Moment]:
        """`budget` frames for a VLM, in time order: tass (min_gap s) | uniform | topk | mmr (lam)."""
        if method == "tass":
            idx = tass(curve.times, curve.fused, budget, min_gap=min_gap)
        elif method == "uniform":
            idx = uniform(curve.times, budget)
        elif method == "topk":
            idx = topk(curve.times, curve.fused, budget)
        elif method == "mmr":
            feats = index.embeddings.get("clip", index.embeddings["descriptor"])
            idx = mmr(curve.times, curve.fused, feats, budget, lam=lam)
        else:
            raise InputError(f"unknown selection method {method!r}; choose from {', '.join(METHODS)}")
        return self._moments(index, curve, idx)

    def ground(self, video, query: str | None = None, image=None, *, top: int = 5) -> list[Segment]:
        """Ranked time windows that answer the query (ground.ground_segments over the fused curve)."""
        q = self.prepare(query, image)
        index = self.index(video)
        curve = self.curve(index, prepared=q)
        return ground_segments(curve.times, curve.fused, top=top, duration=index.duration)

    def zoom(self, video, query: str | None = None, image=None, *, budget: int = 16, rounds: int = 2, seed: int = 0,
             coarse_fps: float | None = None, factor: float = 4.0, windows: int = 3, max_frames: int = 512,
             min_gap: float = 20.0) -> list[Moment]:
        """Zoom-in search (see zoom.zoom): coarse pass, then denser re-decoding inside promising windows."""
        from longlens.retrieval.zoom import zoom

        return zoom(self, video, query, image, budget=budget, rounds=rounds, seed=seed, coarse_fps=coarse_fps,
                    factor=factor, windows=windows, max_frames=max_frames, min_gap=min_gap)
