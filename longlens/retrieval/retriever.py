"""Retriever: the one object the pipeline, LVLM and UI hold. Loops over the channels of its config (plug-ins
named in core.registry.CHANNELS, built lazily), indexes videos into the content-keyed cache, scores queries,
selects frames (core.registry.SELECTORS), zooms in and grounds."""
from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from longlens.core.errors import CacheError, InputError, ModelUnavailableError
from longlens.core.io import content_hash
from longlens.core.progress import progress as progress_bar
from longlens.core.registry import CHANNELS, SELECTORS
from longlens.core.types import Moment, Segment, iou
from longlens.data import FixedRate, decoder_version, iter_frames, probe
from longlens.retrieval import cache
from longlens.retrieval.config import RetrievalConfig, check_fps
from longlens.retrieval.fuse import fuse
from longlens.retrieval.ground import ground_segments
from longlens.retrieval.index import Encoder, VideoIndex, assemble
from longlens.retrieval.query import Query, check_query
from longlens.retrieval.types import ScoreCurve

log = logging.getLogger(__name__)

PROBE_FIELDS = ("width", "height", "backend", "duration")  # what of a probe the cache key and the index need


def probe_record(info) -> dict:
    """What `Retriever.index_cached` needs of a probe (data.VideoInfo), JSON-able."""
    return {k: getattr(info, k) for k in PROBE_FIELDS}


QUERY_CACHE = 256  # text queries whose embeddings a Retriever keeps (per channel)


class Retriever:
    """Index videos and answer queries over them. Thread-safe to share; models load on first use, and only the
    models a step needs (an indexed video's search loads no OCR model; a picture query no text model).

    index(video, fps=None) -> VideoIndex           decode + embed + OCR, cached on disk by content key
    curve(index, query=None, image=None) -> ScoreCurve
    search(video, query=None, image=None, k=10) -> list[Moment] (best first; [] when nothing was found)
    select(index, curve, budget, method="tass", **options) -> list[Moment] (time order)
    zoom(video, query=None, image=None, budget=16, rounds=2, seed=0, method="tass") -> list[Moment] (time order)
    ground(video, query=None, image=None, top=5) -> list[Segment] (best first; [] when nothing was found)
    support(index, curve) -> bool [N]; nothing_found(index, curve) / not_found(video, query, image) -> why, or None
    segments(index, curve, query=None, image=None, top=5) -> list[Segment]: ground an already scored curve
    `video` is a path or an already built VideoIndex wherever one is accepted.
    """

    def __init__(self, config: RetrievalConfig | None = None) -> None:
        self.config = config or RetrievalConfig()
        self._lock = threading.RLock()
        self._channels: dict = {}
        self._indexes: dict[str, VideoIndex] = {}
        self._text_vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()  # (channel, text) -> vector

    # ------------------------------------------------------------------ channels (lazy)
    def channel(self, name: str):
        """This Retriever's instance of channel `name` (longlens.retrieval.channels; built on first use)."""
        with self._lock:
            if name not in self._channels:
                self._channels[name] = CHANNELS.load(name)(self.config)
            return self._channels[name]

    def clip(self):
        """The loaded CLIP embedder, or None when the channel is not asked for or its weights cannot be loaded."""
        return self.channel("clip").model() if "clip" in self.config.channels else None

    def clip_off_reason(self) -> str | None:
        """One short line saying why the CLIP channel is off (its weights could not be loaded), or None when it
        is on or not asked for."""
        if self.clip() is not None or "clip" not in self.config.channels:
            return None
        return self.channel("clip").off.summary

    # ------------------------------------------------------------------ indexing
    def _fields(self, path: str, fps: float, info) -> tuple[dict, dict[str, dict]]:
        c = self.config
        size = c.size if min(info.width, info.height) > c.size else None
        base = {"content": content_hash(path, full=c.full_hash), "decoder": decoder_version(info.backend),
                "sampling": FixedRate(fps).key(), "size": size}
        fields = {"frames": {**base, "part": "frames", "model": "descriptor-v1"}}
        for name in c.channels:
            ch = self.channel(name)
            if ch.off is None:
                try:
                    fields[name] = {**base, "part": name, "model": ch.key()}
                except ModelUnavailableError as e:  # e.g. a checkpoint folder that is gone
                    ch.turn_off(e)
        return base, fields

    def index(self, video, *, fps: float | None = None, progress: bool = True) -> VideoIndex:
        """Decode, embed and OCR a video at `fps` (default config.fps), cached on disk by content key.

        A part already cached (frames, then one per channel) is read, never recomputed, and needs no model; a
        missing part whose channel's model cannot be loaded is dropped. `stats` of the result says which parts
        were cached and which computed, and the seconds each stage took. progress=False: no bar (else as
        config.progress says)."""
        if isinstance(video, VideoIndex):
            return video
        fps = check_fps(self.config.fps if fps is None else fps)
        path = os.fspath(video)
        root = self.config.cache_dir
        t0 = time.perf_counter()
        info = probe(path, backend=self.config.backend)
        base, fields = self._fields(path, fps, info)
        mem_key = json.dumps([base, sorted(fields)], sort_keys=True, default=str)
        with self._lock:
            if mem_key in self._indexes:
                return self._indexes[mem_key]
        stats: dict = {"cached": [], "computed": [], "seconds": {"probe+hash": time.perf_counter() - t0}}
        with cache.lock(root, cache.part_key(base)):
            parts = {p: cache.read(root, p, f) for p, f in fields.items()}
            missing = {p for p, v in parts.items() if v is None}
            for p in sorted(missing - {"frames"}):
                if not self.channel(p).ready():
                    missing.discard(p)
                    parts.pop(p)
            stats["cached"] = sorted(p for p in parts if p not in missing)
            if missing:
                times = parts["frames"][0]["times"] if parts.get("frames") else None
                new = self._encode(path, fps, info, base["size"], missing, stats, progress, times)
                for p in sorted(missing):
                    cached_times = parts["frames"][0]["times"] if parts.get("frames") else new["frames"][0]["times"] if "frames" in new else None
                    if cached_times is not None and not np.array_equal(new[p][0]["times"], cached_times):
                        raise CacheError(f"{cache.entry_dir(root, 'frames', fields['frames'])}: cached frame times differ "
                                         "from a fresh decode of the same file; delete that folder to rebuild")
                    cache.write(root, p, fields[p], *new[p])
                    parts[p] = new[p]
                stats["computed"] = sorted(missing)
        n = len(parts["frames"][0]["times"])
        if n == 0:
            raise InputError(f"{path}: no frames were decoded at {fps:g} fps")
        for p, (arrays, _) in parts.items():
            if len(arrays["times"]) != n:
                raise CacheError(f"{cache.entry_dir(root, p, fields[p])}: holds {len(arrays['times'])} frames, the frames entry {n}")
        stats["frames"] = n
        stats["decode_size"] = base["size"]
        stats["seconds"]["total"] = time.perf_counter() - t0
        idx = self._assemble(path, cache.part_key(base), float(info.duration), fps, parts, stats)
        with self._lock:
            self._indexes[mem_key] = idx
        return idx

    def index_cached(self, video, probed: dict | None) -> VideoIndex | None:
        """The index `index(video)` returns, read from the cache without probing the file again (a library keeps
        what the probe said: `probe_record`); None when a part is not cached or the file changed (the content
        hash is computed afresh, so never a stale index): then call `index`."""
        if not probed or any(k not in probed for k in PROBE_FIELDS):
            return None
        path, c = os.fspath(video), self.config
        base, fields = self._fields(path, c.fps, SimpleNamespace(**probed))
        parts = {}
        for p, f in fields.items():
            if (got := cache.read(c.cache_dir, p, f)) is None:
                return None
            parts[p] = got
        stats = {"cached": sorted(parts), "computed": [], "frames": len(parts["frames"][0]["times"]),
                 "decode_size": base["size"], "seconds": {}}
        return self._assemble(path, cache.part_key(base), float(probed["duration"]), c.fps, parts, stats)

    def _assemble(self, video: str, key: str, duration: float, fps: float, parts: dict, stats: dict) -> VideoIndex:
        """A VideoIndex from cache parts: the frames, then each channel attaches its own part."""
        idx = assemble(video, key, duration, fps, parts["frames"][0], stats)
        for name in CHANNELS:  # registry order: index.channels reads the same everywhere
            if name in parts:
                self.channel(name).attach(idx, *parts[name])
        idx.channels = tuple(name for name in CHANNELS if name in parts and self.channel(name).present(idx))
        return idx

    def is_indexed(self, video, *, fps: float | None = None) -> bool:
        """Whether every part `index(video, fps=fps)` would build is already in the on-disk cache (no decoding)."""
        fps = check_fps(self.config.fps if fps is None else fps)
        path = os.fspath(video)
        _, fields = self._fields(path, fps, probe(path, backend=self.config.backend))
        return all(cache.has(self.config.cache_dir, p, f) or (p != "frames" and not self.channel(p).ready())
                   for p, f in fields.items())

    def _encoder(self, parts: set[str]) -> Encoder:
        return Encoder({name: self.channel(name).encoder() for name in CHANNELS
                        if name in parts and self.channel(name).reads == "frames"}, frames="frames" in parts)

    def _encode(self, path: str, fps: float, info, size, parts: set[str], stats: dict, show: bool, times=None) -> dict:
        """The missing `parts`: frames are decoded only for the frame channels (and the frames part itself);
        a channel that reads the audio encodes from the file, its part carrying the frame times (`times`,
        those of the cached frames part when the frames were not decoded now)."""
        heard = {p for p in parts if p != "frames" and self.channel(p).reads == "audio"}
        out = self._decode(path, fps, info, size, parts - heard, stats, show) if parts - heard else {}
        if out:
            times = next(iter(out.values()))[0]["times"]
        for p in sorted(heard):
            t0 = time.perf_counter()
            arrays, texts = self.channel(p).encode_audio(path)
            stats["seconds"][p] = time.perf_counter() - t0
            out[p] = ({"times": times, **arrays}, texts)
        return out

    def _decode(self, path: str, fps: float, info, size, parts: set[str], stats: dict, show: bool) -> dict:
        enc = self._encoder(parts)
        decode = 0.0
        bar = progress_bar(total=max(1, math.ceil(info.duration * fps)), desc=f"index {Path(path).name}", unit="frame",
                           show=self.config.progress if show else False)
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
        stats.update(enc.stats)
        return out

    def index_frames(self, like: VideoIndex, frames: list) -> VideoIndex:
        """An uncached index of extra frames (e.g. zoom-in re-decoding), with the channels of `like`."""
        enc = self._encoder({"frames", *(c for c in like.channels if self.channel(c).ready())})
        if frames:
            enc.add(frames)
        idx = self._assemble(like.video, like.key + "+extra", like.duration, like.fps, enc.finish(), {"frames": len(frames)})
        carried = {c for c in like.channels if c not in idx.channels and self.channel(c).carry(like, idx)}
        idx.channels = tuple(c for c in CHANNELS if c in idx.channels or c in carried)
        return idx

    # ------------------------------------------------------------------ scoring
    def prepare(self, query: str | None = None, image=None) -> Query:
        """Validate a query (InputError on empty text, a path that is not an image, both or neither)."""
        text, picture = check_query(query, image)
        return Query(text, picture)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings (MiniLM, the OCR channel's space) of `texts`: [N, 384], L2-normalised."""
        return self.channel("ocr").embedder.encode(texts)

    def query_vector(self, q: Query, name: str):
        """The query's embedding for channel `name` (computed once per Query; None when the channel is off)."""
        key = (name, q.text) if q.text is not None else None  # text queries only (a picture is not a key)
        with self._lock:  # a text asked again (the explorer re-runs its page on every click) is not re-embedded
            if name not in q.vectors and key in self._text_vectors:
                self._text_vectors.move_to_end(key)
                q.vectors[name] = self._text_vectors[key]
        if name not in q.vectors:
            extra = list(self.config.rewriter(q.text)) if (self.config.rewriter and q.text) else []
            q.vectors[name] = self.channel(name).embed(q, extra)
            if key is not None and q.vectors[name] is not None:
                with self._lock:
                    self._text_vectors[key] = q.vectors[name]
                    while len(self._text_vectors) > QUERY_CACHE:
                        self._text_vectors.popitem(last=False)
        return q.vectors[name]

    def channel_scores(self, index: VideoIndex, q: Query) -> dict[str, np.ndarray]:
        """Raw scores [N] of every channel of the config and the index that applies to this query (plus what a
        channel adds, e.g. "keyword" hits beside OCR). Only these channels' query models are loaded."""
        out: dict[str, np.ndarray] = {}
        for name in index.channels:
            ch = self.channel(name) if name in self.config.channels else None
            if ch is None or not ch.applies(index, q):
                continue
            vector = self.query_vector(q, name)
            if vector is not None:
                out.update(ch.score(index, q, vector))
        return out

    def curve(self, index: VideoIndex, query: str | None = None, image=None, *, stats=None, prepared: Query | None = None) -> ScoreCurve:
        """Score every indexed frame: ScoreCurve(times [N], fused [N], raw channels, normalisation stats)."""
        q = prepared or self.prepare(query, image)
        chans = self.channel_scores(index, q)
        # each channel's keyword hits (on-screen text, words said): the best of them at each frame joins the fusion
        kwnames = {self.channel(c).keyword_curve for c in index.channels} - {None}
        kws = [s for c, s in chans.items() if c in kwnames]
        kw = np.max(kws, axis=0) if kws else None
        scored = {c: s for c, s in chans.items() if c not in kwnames}
        raw = ScoreCurve(index.times, np.zeros(len(index.times)), chans)  # what Channel.support reads
        support = {c: s for c in scored if (s := self.channel(c).support(raw)) is not None}
        fused, used = fuse(scored, self.config.weights, keyword=kw, keyword_weight=self.config.keyword_weight, stats=stats,
                           support=support)
        if not scored and kw is None:
            log.warning("%s: no channel can score a %s query (channels: %s)", index.video, q.kind, ", ".join(index.channels) or "none")
        return ScoreCurve(index.times, fused, chans, used)

    def evidence(self, index: VideoIndex, curve: ScoreCurve, i: int) -> tuple[str | None, str | None]:
        """(text, kind) of frame i: the text of the channel that speaks most strongly for it (Channel.strength;
        else the first that shows one), and what the evidence of the channels that scored the query is
        (core.types.KINDS; a text they show first, else a picture; None: nothing)."""
        order = sorted(index.channels, key=lambda c: self.channel(c).strength(curve, i), reverse=True)  # stable
        found = {c: self.channel(c).evidence(index, i) for c in order}
        text = next((t for t, _ in found.values() if t), None)
        scored = [found[c] for c in order if c in curve.channels]
        kind = next((k for t, k in scored if t), None) or next((k for _, k in scored if k), None)
        return text, kind

    def _moments(self, index: VideoIndex, curve: ScoreCurve, idx) -> list[Moment]:
        return [index.moment(int(i), curve.fused[i], {c: float(s[i]) for c, s in curve.channels.items()},
                             *self.evidence(index, curve, int(i))) for i in idx]

    def support(self, index: VideoIndex, curve: ScoreCurve) -> np.ndarray:
        """Rows [N] bool where some channel that scored the query has evidence above its noise (Channel.support:
        a caption read that matches, a verified picture match); a channel that cannot tell evidence from noise
        (CLIP's similarities) supports every row it scores. All False: nothing was found."""
        out = np.zeros(len(curve), dtype=bool)
        for name in index.channels:
            if name in curve.stats:  # took part in the fusion
                s = self.channel(name).support(curve)
                out |= True if s is None else np.asarray(s, dtype=bool)
        return out

    def nothing_found(self, index: VideoIndex, curve: ScoreCurve) -> str | None:
        """Why nothing was found for this scored query (one line), or None when some row has support."""
        if self.support(index, curve).any():
            return None
        said = [self.channel(c).nothing or f"no {c} evidence" for c in index.channels if c in curve.stats]
        return "not found: " + ("; ".join(said) if said else f"no channel of {', '.join(index.channels) or 'none'} "
                                "can score this query")

    def not_found(self, video, query: str | None = None, image=None) -> str | None:
        """`nothing_found` for a video and a query: the note a search or grounding that found nothing gives."""
        q = self.prepare(query, image)
        index = self.index(video)
        return self.nothing_found(index, self.curve(index, prepared=q))

    def search(self, video, query: str | None = None, image=None, *, k: int = 10) -> list[Moment]:
        """The k best-scoring frames with support (best first; ties: earlier first); [] when nothing was found
        (see `not_found` for why)."""
        if not isinstance(k, int) or k <= 0:
            raise InputError(f"k must be a whole number > 0, got {k!r}")
        q = self.prepare(query, image)
        index = self.index(video)
        curve = self.curve(index, prepared=q)
        rows = np.flatnonzero(self.support(index, curve))
        order = rows[np.lexsort((rows, -curve.fused[rows]))][:k]
        return self._moments(index, curve, order)

    def select(self, index: VideoIndex, curve: ScoreCurve, budget: int, *, method: str = "tass", **options) -> list[Moment]:
        """`budget` frames for a VLM, in time order, by the selector `method` (core.registry.SELECTORS: tass,
        uniform, topk, mmr). options: min_gap (s, tass), lam (mmr); a selector ignores the others. MMR's
        diversity is measured on CLIP embeddings when the index has them, else on the weight-free descriptors."""
        select = SELECTORS.load(method)
        features = index.embeddings.get("clip", index.embeddings["descriptor"])
        return self._moments(index, curve, select(curve.times, curve.fused, budget, features=features, **options))

    def ground(self, video, query: str | None = None, image=None, *, top: int = 5) -> list[Segment]:
        """Ranked time windows that answer the query (see `segments`); [] when nothing was found (`not_found`)."""
        q = self.prepare(query, image)
        index = self.index(video)
        return self.segments(index, self.curve(index, prepared=q), prepared=q, top=top)

    def segments(self, index: VideoIndex, curve: ScoreCurve, query: str | None = None, image=None, *, top: int = 5,
                 prepared: Query | None = None, nms_iou: float = 0.3) -> list[Segment]:
        """Ranked time windows of a scored curve. Only rows with support count (`support`; none: []): the fused
        curve's peaks among them (ground.ground_segments) give the windows, each handed to the channel that
        speaks most strongly at its peak (Channel.strength) to set its edges from its own evidence (on-screen
        text: the rows showing the caption; a picture: the rows where it is verified; speech: the sentences
        said); a window that becomes a near-copy of a better one (IoU > nms_iou) is dropped."""
        q = prepared or self.prepare(query, image)
        sup = self.support(index, curve)
        if not sup.any():
            return []
        floor = float(curve.fused[sup].min()) - 1.0  # rows without support sink below every row with it
        fused = np.where(sup, curve.fused, floor)
        found: list[Segment] = []
        for seg in ground_segments(curve.times, fused, top=2 * top, duration=index.duration):
            rows = np.flatnonzero((curve.times >= seg.start) & (curve.times <= seg.end) & sup)
            if not len(rows):
                continue
            peak = int(rows[np.argmax(curve.fused[rows])])
            lead = max(index.channels, key=lambda c: self.channel(c).strength(curve, peak), default=None)
            if lead is not None and lead in curve.stats:
                seg = self.channel(lead).edges(index, q, self.query_vector(q, lead), curve, seg)
            # ranked by the best row with support inside, unsmoothed: a caption shown 5 s is as good an answer
            # as one shown 20 s
            inside = sup & (curve.times >= seg.start) & (curve.times <= seg.end)
            found.append(Segment(seg.start, seg.end, float(curve.fused[inside].max()) if inside.any() else seg.score))
        out: list[Segment] = []
        for seg in sorted(found, key=lambda g: (-g.score, g.start)):
            if all(iou((seg.start, seg.end), (g.start, g.end)) <= nms_iou for g in out):
                out.append(seg)
        return out[:top]

    def zoom(self, video, query: str | None = None, image=None, *, budget: int = 16, rounds: int = 2, seed: int = 0,
             coarse_fps: float | None = None, factor: float = 4.0, windows: int = 3, max_frames: int = 512,
             method: str = "tass", **options) -> list[Moment]:
        """Zoom-in search (see zoom.zoom): coarse pass, then denser re-decoding inside promising windows; the
        selector `method` picks the frames from everything scored (options, e.g. min_gap or lam, go to it)."""
        from longlens.retrieval.zoom import zoom

        return zoom(self, video, query, image, budget=budget, rounds=rounds, seed=seed, coarse_fps=coarse_fps,
                    factor=factor, windows=windows, max_frames=max_frames, method=method, **options)
