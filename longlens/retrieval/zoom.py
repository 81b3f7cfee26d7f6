"""Zoom-in search (T* / TimeSearch style): score a coarse sampling, then re-decode denser frames inside the
most promising windows, round after round, and pick the final frames from everything scored."""
from __future__ import annotations

import logging

import numpy as np

from longlens.core.errors import InputError
from longlens.core.registry import SELECTORS
from longlens.core.types import Moment
from longlens.data import Window, iter_frames
from longlens.retrieval.config import MAX_FPS, check_fps
from longlens.retrieval.index import VideoIndex

log = logging.getLogger(__name__)


def _centres(times: np.ndarray, scores: np.ndarray, n: int, sep: float) -> list[float]:
    """Times of the n best scores at least `sep` seconds apart (best first)."""
    out: list[float] = []
    for i in np.lexsort((np.arange(len(scores)), -scores)):
        if all(abs(times[i] - c) >= sep for c in out):
            out.append(float(times[i]))
            if len(out) == n:
                break
    return out


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def zoom(retriever, video, query=None, image=None, *, budget: int = 16, rounds: int = 2, seed: int = 0,
         coarse_fps: float | None = None, factor: float = 4.0, windows: int = 3, max_frames: int = 512,
         method: str = "tass", **options) -> list[Moment]:
    """Coarse-to-fine search for `budget` frames, returned in time order.

    1. The coarse pass: the video's index when it is already built (or given) and no coarse_fps is asked
       for, else an index at coarse_fps (default config.fps / factor; cached like any index); score it.
    2. Each round: rate *= factor; windows of +-1.5 coarse periods (shrinking by `factor` each round) around
       the `windows` best-scoring times found so far, plus one exploration window around a time drawn
       (numpy Generator seeded with `seed`) with probability softmax(score); re-decode them with the data
       layer's Window sampling, score the new frames on the coarse pass's normalisation, add them to the
       pool. Stops after `rounds` rounds or `max_frames` re-decoded frames.
    3. The selector `method` (core.registry.SELECTORS; options such as min_gap or lam go to it) picks the frames
       from the pool. Deterministic for a fixed seed.
    Moments of re-decoded frames have index -1 (they are not in the cached index).
    """
    cfg = retriever.config
    select = SELECTORS.load(method)  # an unknown name fails before any decoding
    if not isinstance(budget, int) or budget <= 0:
        raise InputError(f"budget must be a whole number > 0, got {budget!r}")
    if not isinstance(rounds, int) or rounds < 0:
        raise InputError(f"rounds must be a whole number >= 0, got {rounds!r}")
    if factor <= 1:
        raise InputError(f"factor must be > 1, got {factor}")
    if windows < 1 or max_frames < 0:
        raise InputError(f"windows must be >= 1 and max_frames >= 0, got {windows}, {max_frames}")
    q = retriever.prepare(query, image)
    if coarse_fps is None and (isinstance(video, VideoIndex) or retriever.is_indexed(video)):
        coarse = retriever.index(video)  # an index already built is the coarse pass: nothing is decoded twice
    else:
        coarse = retriever.index(video, fps=check_fps(coarse_fps if coarse_fps is not None else cfg.fps / factor))
    cfps = coarse.fps
    curve = retriever.curve(coarse, prepared=q)
    times = list(coarse.times)
    scores = list(curve.fused)
    chans = [{c: float(s[i]) for c, s in curve.channels.items()} for i in range(len(coarse))]
    origin = [(coarse, curve, i) for i in range(len(coarse))]  # where each frame's evidence is read
    feats = [_features(coarse)]  # for selectors that weigh diversity (mmr)
    where = list(range(len(coarse)))
    rng = np.random.default_rng(seed)
    rate, half, decoded = cfps, 1.5 / cfps, 0
    for _ in range(rounds):
        rate = min(rate * factor, MAX_FPS)
        t, s = np.asarray(times), np.asarray(scores)
        centres = _centres(t, s, windows, 2 * half)
        p = np.exp(s - s.max())
        centres.append(float(t[rng.choice(len(t), p=p / p.sum())]))  # exploration
        spans = _merge([(max(0.0, c - half), min(coarse.duration, c + half)) for c in centres])
        seen = np.sort(t)
        frames = []
        for a, b in spans:
            if b - a <= 0 or a >= coarse.duration:
                continue
            for batch in iter_frames(coarse.video, Window(a, b, rate), backend=cfg.backend, size=_size(coarse, cfg)):
                for f in batch:
                    j = np.searchsorted(seen, f.time)
                    near = [seen[k] for k in (j - 1, j) if 0 <= k < len(seen)]
                    if all(abs(f.time - x) > 1e-3 for x in near) and all(abs(f.time - g.time) > 1e-3 for g in frames):
                        frames.append(f)
        frames = frames[: max(0, max_frames - decoded)]
        if not frames:
            break
        decoded += len(frames)
        extra = retriever.index_frames(coarse, frames)
        c2 = retriever.curve(extra, prepared=q, stats=curve.stats)
        times += list(extra.times)
        scores += list(c2.fused)
        chans += [{c: float(s2[i]) for c, s2 in c2.channels.items()} for i in range(len(extra))]
        origin += [(extra, c2, i) for i in range(len(extra))]
        feats.append(_features(extra))
        where += [-1] * len(extra)
        half /= factor
        if decoded >= max_frames:
            break
    log.info("zoom: %d coarse frames at %.3g fps, %d re-decoded", len(coarse), cfps, decoded)
    pick = select(np.asarray(times), np.asarray(scores), budget, features=np.concatenate(feats), **options)
    out = []
    for i in pick:
        text, kind = retriever.evidence(*origin[i])
        out.append(Moment(coarse.video, float(times[i]), float(scores[i]), chans[i], text, int(where[i]), kind))
    return out


def _features(index: VideoIndex) -> np.ndarray:
    """What diversity is measured on, as Retriever.select does: CLIP embeddings, else the descriptors."""
    return index.embeddings.get("clip", index.embeddings["descriptor"])


def _size(index, cfg):
    """The decode size the index was built with (None = native), so re-decoded frames match it."""
    return index.stats["decode_size"] if "decode_size" in index.stats else cfg.size
