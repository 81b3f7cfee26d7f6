"""One-token decode of the hybrid layer (PyTorch on every device: O(window + sink + F*D) per head).

The window lives in the cache's ring buffer (position p in slot p % window). Before the new token is
written, the token leaving the window (position pos - window, in the slot the new token takes) is
folded into the state unless it is a sink.
"""
from __future__ import annotations

import torch

from longlens.kernels.ops.hybrid.cache import HybridCache, feature_map
from longlens.kernels.ops.merge.naive import merge_attention


def step(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cache: HybridCache) -> torch.Tensor:
    """q [B, 1, Hq, D], k/v [B, 1, Hkv, D]; updates `cache` in place; returns o [B, 1, Hq, D]."""
    B, _, Hq, D = q.shape
    Hkv = k.shape[2]
    g = Hq // Hkv
    W, S, P = cache.window, cache.sink, cache.pos
    kind, scale = cache.feature_map, cache.scale

    out = P - W  # position leaving the window now
    slot = P % W
    if out >= S and out >= 0:
        kf = feature_map(cache.k_ring[:, slot], kind, scale, "k")  # [B, Hkv, F]
        # out of place: a cache returned by hybrid_attention may share its state tensors
        cache.state = cache.state + kf[..., :, None] * cache.v_ring[:, slot].float()[..., None, :]
        cache.normalizer = cache.normalizer + kf
    cache.k_ring[:, slot] = k[:, 0]
    cache.v_ring[:, slot] = v[:, 0]
    if P < S:
        cache.k_sink[:, P] = k[:, 0]
        cache.v_sink[:, P] = v[:, 0]
    cache.pos = P + 1

    # softmax part: ring slots holding positions > P - W (all written ones), sinks out of the window
    i = torch.arange(W, device=q.device)
    ring_ok = P - ((P - i) % W) >= 0
    s = torch.arange(S, device=q.device)
    sink_ok = (s < min(S, P + 1)) & (s <= P - W)
    keys = torch.cat([cache.k_ring, cache.k_sink], 1).float()  # [B, W + S, Hkv, D]
    vals = torch.cat([cache.v_ring, cache.v_sink], 1).float()
    ok = torch.cat([ring_ok, sink_ok])
    qh = q[:, 0].float().view(B, Hkv, g, D)
    logits = torch.einsum("bhgd,bnhd->bhgn", qh, keys) * scale
    logits = logits.masked_fill(~ok, float("-inf"))
    lse_s = torch.logsumexp(logits, -1)  # [B, Hkv, g]
    o_s = torch.einsum("bhgn,bnhd->bhgd", torch.exp(logits - lse_s[..., None]), vals)

    # linear part: phi(q) . state / phi(q) . normalizer
    qf = feature_map(q[:, 0], kind, scale, "q").view(B, Hkv, g, -1)  # [B, Hkv, g, F]
    num = qf @ cache.state  # [B, Hkv, g, D]
    den = (qf * cache.normalizer[:, :, None]).sum(-1)
    pos = den > 0
    o_l = num / torch.where(pos, den, torch.ones_like(den))[..., None]
    lse_l = torch.where(pos, torch.log(torch.where(pos, den, torch.ones_like(den))), float("-inf"))

    o, _ = merge_attention(o_s.reshape(B, 1, Hq, D), lse_s.reshape(B, 1, Hq),
                           o_l.reshape(B, 1, Hq, D), lse_l.reshape(B, 1, Hq))
    return o.to(q.dtype)
