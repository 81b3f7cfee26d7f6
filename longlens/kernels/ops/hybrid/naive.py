"""Plain-PyTorch fp32 twin of hybrid attention: explicit masks and explicit weighted sums.

Every (query, key) pair gets its weight written out: exp(scale q.k) on the softmax set (sinks and
window), phi(q).phi(k) with explicit feature vectors on the linear set (tokens out of the window),
plus phi(q).state for tokens folded before this call; then one division by the summed weights.
Memory O(T x (window + T)) per head: the CPU path for short inputs and the test oracle.
"""
from __future__ import annotations

import torch

from longlens.kernels.ops.hybrid.cache import HybridCache, HybridRule, advance, context, feature_map, start_state


def hybrid_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, rule: HybridRule,
    initial_state: HybridCache | None = None, output_final_state: bool = False,
) -> tuple[torch.Tensor, HybridCache | None]:
    """q [B, T, Hq, D], k/v [B, T, Hkv, D] -> o [B, T, Hq, D] (q's dtype), final cache or None."""
    kind, scale, window, sink = rule.feature_map, rule.scale, rule.window, rule.sink
    T, Hq = q.shape[1], q.shape[2]
    g = Hq // k.shape[2]
    ctx = context(initial_state, k, v, sink)
    P = ctx.pos
    # explicit keys: sinks not inside ctx, then ctx; with their absolute positions
    ns = min(ctx.k_sink.shape[1], ctx.k_pos0)
    k_all = torch.cat([ctx.k_sink[:, :ns], ctx.k], 1)  # [B, N, Hkv, D]
    v_all = torch.cat([ctx.v_sink[:, :ns], ctx.v], 1)
    keys, vals = (x.float().repeat_interleave(g, 2).transpose(1, 2) for x in (k_all, v_all))  # [B, Hq, N, D]
    kpos = torch.cat([torch.arange(ns), ctx.k_pos0 + torch.arange(ctx.k.shape[1])]).to(q.device)
    qpos = P + torch.arange(T, device=q.device)
    qp, kp = qpos[:, None], kpos[None, :]
    soft = (kp <= qp) & ((kp < sink) | (kp > qp - window))  # [T, N]
    lin = (kp >= sink) & (kp <= qp - window)

    qf = q.float().transpose(1, 2)  # [B, Hq, T, D]
    logits = (qf @ keys.transpose(-1, -2)) * scale  # [B, Hq, T, N]
    phi_q = _phi(q, kind, scale)  # [B, Hq, T, F]
    phi_k = _phi(k_all.repeat_interleave(g, 2), kind, scale)  # [B, Hq, N, F]
    w_lin = (phi_q @ phi_k.transpose(-1, -2)) * lin  # [B, Hq, T, N]

    state, normalizer = start_state(initial_state, rule, k)
    st = state.repeat_interleave(g, 1)  # [B, Hq, F, D]
    nz = normalizer.repeat_interleave(g, 1)  # [B, Hq, F]
    lin_num = w_lin @ vals + phi_q @ st  # [B, Hq, T, D]
    lin_den = w_lin.sum(-1) + (phi_q * nz[:, :, None]).sum(-1)  # [B, Hq, T]

    # one normaliser; shift by M = max(max soft logit, log lin_den) so nothing overflows
    logits = logits.masked_fill(~soft, float("-inf"))
    m = logits.amax(-1)  # finite: the query's own token is always in its window
    log_den = torch.log(lin_den)  # -inf where no linear weight
    big = torch.maximum(m, log_den)
    e = torch.exp(logits - big[..., None])
    c = torch.exp(log_den - big)  # weight of the linear part relative to exp(big)
    lin_mean = lin_num / torch.where(lin_den > 0, lin_den, torch.ones_like(lin_den))[..., None]
    o = (e @ vals + c[..., None] * lin_mean) / (e.sum(-1) + c)[..., None]

    final = None
    if output_final_state:
        fold = ((kpos >= sink) & (kpos <= P + T - 1 - window)).float()  # keys leaving the window in this call
        kf = _phi(k_all, kind, scale) * fold[:, None]  # [B, Hkv, N, F]
        vv = v_all.float().transpose(1, 2)  # [B, Hkv, N, D]
        final = advance(initial_state, k, v, rule, state + kf.transpose(-1, -2) @ vv, normalizer + kf.sum(2))
    return o.transpose(1, 2).to(q.dtype), final


def _phi(x: torch.Tensor, kind: str, scale: float) -> torch.Tensor:
    """Feature vectors of x [B, N, H, D] as [B, H, N, F] fp32."""
    return feature_map(x, kind, scale).transpose(1, 2)
