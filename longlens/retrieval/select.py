"""Frame selection on a score curve: TASS, uniform, top-k and MMR. Pure numpy, no models.

Every selector is called the same way, fn(times [N] s, scores [N], budget, *, features=None, **options), and
returns frame indices into them sorted by time (the order frames are shown to a VLM); options another selector
uses (min_gap for tass, lam and features for mmr) are ignored, so one call fits every name in
core.registry.SELECTORS. A budget larger than N returns every frame once.
"""
from __future__ import annotations

import bisect

import numpy as np

from longlens.core.errors import InputError


def _check(scores: np.ndarray, budget: int, times: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if times is not None and len(np.asarray(times).reshape(-1)) != len(scores):
        raise InputError(f"times and scores differ in length ({len(np.asarray(times).reshape(-1))} vs {len(scores)})")
    if int(budget) != budget or budget < 0:
        raise InputError(f"budget must be a whole number >= 0, got {budget!r}")
    if not np.all(np.isfinite(scores)):
        raise InputError("scores contain NaN or infinity")
    return scores, min(int(budget), len(scores))


def _by_time(idx, times: np.ndarray) -> np.ndarray:
    idx = np.asarray(sorted(set(int(i) for i in idx)), dtype=np.int64)
    return idx[np.argsort(times[idx], kind="stable")] if len(idx) else idx


def tass(times, scores, budget: int, *, min_gap: float = 20.0, cap: float = 4.0, **_other) -> np.ndarray:
    """Temporal-aware similarity sampling (DATE): well-scored frames that are spread out in time.

    Candidates: frames scoring above the mean, topped up with the next best when fewer than `budget`, capped
    at `cap` x budget (the best ones). Greedy by descending score (ties: earlier frame first): take a
    candidate if it is at least `gap` seconds from every frame taken; after each pass halve `gap` (it starts
    at `min_gap`; below 1 ms it becomes 0, where duplicates of a taken timestamp are allowed too), until
    `budget` frames are taken. Always terminates: the gap-0 pass accepts every remaining candidate.
    Returns indices sorted by time.
    """
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    scores, budget = _check(scores, budget, times)
    if min_gap < 0:
        raise InputError(f"min_gap must be >= 0 seconds, got {min_gap}")
    if budget == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((np.arange(len(scores)), -scores))  # descending score, stable on index
    above = int(np.sum(scores > scores.mean()))
    n_cand = min(max(above, budget), max(budget, int(cap * budget)), len(scores))
    cand = order[:n_cand]
    taken: list[int] = []
    taken_times: list[float] = []  # sorted, for O(log n) gap checks
    is_taken = np.zeros(len(scores), dtype=bool)
    gap = float(min_gap)
    while len(taken) < budget:
        for i in cand:
            if is_taken[i]:
                continue
            t = times[i]
            if gap > 0:
                j = bisect.bisect_left(taken_times, t)
                if j < len(taken_times) and taken_times[j] - t < gap:
                    continue
                if j > 0 and t - taken_times[j - 1] < gap:
                    continue
            bisect.insort(taken_times, t)
            taken.append(int(i))
            is_taken[i] = True
            if len(taken) == budget:
                break
        if gap == 0.0:
            break  # every candidate has been taken
        gap = gap / 2 if gap / 2 >= 1e-3 else 0.0
    return _by_time(taken, times)


def uniform(times, scores, budget: int, **_other) -> np.ndarray:
    """`budget` frames evenly spread over the sampled frames (centres of equal bins; scores unused). Sorted by time."""
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    _, budget = _check(np.zeros(len(times)), budget)
    if budget == 0:
        return np.zeros(0, dtype=np.int64)
    n = len(times)
    idx = np.floor((np.arange(budget) + 0.5) * n / budget).astype(np.int64)
    return _by_time(np.clip(idx, 0, n - 1), times)


def topk(times, scores, budget: int, **_other) -> np.ndarray:
    """The `budget` best-scoring frames (ties: earlier first), returned sorted by time."""
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    scores, budget = _check(scores, budget, times)
    order = np.lexsort((np.arange(len(scores)), -scores))
    return _by_time(order[:budget], times)


def mmr(times, scores, budget: int, *, features, lam: float = 0.7, **_other) -> np.ndarray:
    """Maximal marginal relevance: greedily maximise lam * relevance - (1 - lam) * max similarity to taken.

    scores [N] (relevance, min-max scaled to [0, 1] here); features [N, D] (any vectors; L2-normalised here,
    similarity = cosine). lam in [0, 1]: 1 = top-k, 0 = pure diversity. Returns indices sorted by time.
    """
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    scores, budget = _check(scores, budget, times)
    if not 0.0 <= lam <= 1.0:
        raise InputError(f"lam must be in [0, 1], got {lam}")
    feats = np.asarray(features, dtype=np.float32).reshape(len(scores), -1)
    feats = feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
    span = scores.max() - scores.min() if len(scores) else 0.0
    rel = (scores - scores.min()) / span if span > 0 else np.zeros_like(scores)
    taken: list[int] = []
    max_sim = np.full(len(scores), -np.inf)
    available = np.ones(len(scores), dtype=bool)
    for _ in range(budget):
        div = np.where(np.isfinite(max_sim), max_sim, 0.0)
        gain = np.where(available, lam * rel - (1 - lam) * div, -np.inf)
        i = int(np.argmax(gain))
        taken.append(i)
        available[i] = False
        max_sim = np.maximum(max_sim, feats @ feats[i])
    return _by_time(taken, times)
