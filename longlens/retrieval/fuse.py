"""Channel fusion: per-video z-scores, weighted sum, plus an exact-keyword boost from OCR text.

Rule (documented, used everywhere):
    fused[i] = sum_c w_c * z_c[i] / sum_c w_c  +  keyword_weight * keyword[i]
where z_c = (s_c - mean_c) / max(std_c, 1e-6) over the video's frames, the sums run over the channels
that took part in this query (a channel without weights, or not applicable to the query, drops out and
the remaining weights are renormalised), and keyword[i] in [0, 1] is the weighted fraction of the query's
keywords found in frame i's OCR text (keyword_hits) or in the sentence said then (channels.speech.spoken_hits),
the larger of the two. A frame showing or saying every keyword gains keyword_weight standard deviations.

A channel that can tell evidence from noise (Channel.support: a caption or sentence that matches, a verified
picture) counts only where it has evidence: z_c is max(z_c, 0) on its supported rows and 0 elsewhere. Otherwise
noise decides: an unrelated sentence said 0.1 above the video's mean outranked the caption that answers the
query, where nothing was said (issue 12).
"""
from __future__ import annotations

import numpy as np

from longlens.core.errors import InputError


def channel_stats(scores: np.ndarray) -> tuple[float, float]:
    """(mean, std) of one channel's scores over a video's frames."""
    scores = np.asarray(scores, dtype=np.float64)
    return (float(scores.mean()), float(scores.std())) if len(scores) else (0.0, 0.0)


def fuse(
    channels: dict[str, np.ndarray],
    weights: dict[str, float],
    *,
    keyword: np.ndarray | None = None,
    keyword_weight: float = 2.0,
    stats: dict[str, tuple[float, float]] | None = None,
    support: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, dict[str, tuple[float, float]]]:
    """Fuse raw per-channel scores [N] into one curve [N] (rule in the module docstring).

    stats: per-channel (mean, std) to normalise with (default: computed from these scores). Pass the stats
    of a video's full index to score extra frames (zoom-in) on the same scale. support: per-channel rows [N]
    bool where the channel has evidence (channels absent here count everywhere). Returns (fused, stats used).
    """
    used = {c: s for c, s in channels.items() if weights.get(c, 0.0) > 0}
    sizes = {len(np.asarray(s).reshape(-1)) for s in channels.values()}
    if keyword is not None:
        sizes.add(len(np.asarray(keyword).reshape(-1)))
    if len(sizes) > 1:
        raise InputError(f"channels differ in length: {sorted(sizes)}")
    n = sizes.pop() if sizes else 0
    fused = np.zeros(n, dtype=np.float64)
    out_stats: dict[str, tuple[float, float]] = {}
    total = sum(weights[c] for c in used)
    for c, s in used.items():
        s = np.asarray(s, dtype=np.float64).reshape(-1)
        mean, std = (stats or {}).get(c) or channel_stats(s)
        out_stats[c] = (mean, std)
        z = (s - mean) / max(std, 1e-6)
        if support is not None and c in support:  # evidence counts, noise does not (module docstring)
            z = np.where(np.asarray(support[c], dtype=bool).reshape(-1), np.maximum(z, 0.0), 0.0)
        fused += weights[c] * z
    if total > 0:
        fused /= total
    if keyword is not None:
        fused += keyword_weight * np.asarray(keyword, dtype=np.float64).reshape(-1)
    return fused, out_stats
