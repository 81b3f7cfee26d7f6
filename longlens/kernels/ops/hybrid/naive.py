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
    T = q.shape[1]
    ctx = context(initial_state, k, v, sink)
    P = ctx.pos
    # explicit keys: sinks not inside ctx, then ctx; with their absolute positions
    ns = min(ctx.k_sink.shape[1], ctx.k_pos0)
    k_all = torch.cat([ctx.k_sink[:, :ns], ctx.k], 1)  # [B, N, Hkv, D]
    v_all = torch.cat([ctx.v_sink[:, :ns], ctx.v], 1)
    kpos = torch.cat([torch.arange(ns), ctx.k_pos0 + torch.arange(ctx.k.shape[1])]).to(q.device)
    qpos = P + torch.arange(T, device=q.device)
    state, normalizer = start_state(initial_state, rule, k)
    o = attend(q, qpos, k_all, v_all, kpos, rule, state, normalizer)

    final = None
    if output_final_state:
        fold = ((kpos >= sink) & (kpos <= P + T - 1 - window)).float()  # keys leaving the window in this call
        kf = _phi(k_all, kind, scale, "k") * fold[:, None]  # [B, Hkv, N, F]
        vv = v_all.float().transpose(1, 2)  # [B, Hkv, N, D]
        final = advance(initial_state, k, v, rule, state + kf.transpose(-1, -2) @ vv, normalizer + kf.sum(2))
    return o.to(q.dtype), final


def attend(
    q: torch.Tensor, qpos: torch.Tensor, k: torch.Tensor, v: torch.Tensor, kpos: torch.Tensor, rule: HybridRule,
    state: torch.Tensor, normalizer: torch.Tensor,
) -> torch.Tensor:
    """Hybrid outputs of queries q [B, T, Hq, D] at absolute positions qpos [T] over explicit keys k, v
    [B, N, Hkv, D] at positions kpos [N] plus the folded state [B, Hkv, F, D] / normalizer [B, Hkv, F]
    -> o [B, T, Hq, D] fp32. Any subset of query rows works (attention transfer trains on sampled rows);
    differentiable in q, k, v and a learned map's parameters."""
    kind, scale, window, sink = rule.feature_map, rule.scale, rule.window, rule.sink
    g = q.shape[2] // k.shape[2]
    keys, vals = (x.float().repeat_interleave(g, 2).transpose(1, 2) for x in (k, v))  # [B, Hq, N, D]
    qp, kp = qpos[:, None], kpos[None, :]
    soft = (kp <= qp) & ((kp < sink) | (kp > qp - window))  # [T, N]
    lin = (kp >= sink) & (kp <= qp - window)

    qf = q.float().transpose(1, 2)  # [B, Hq, T, D]
    logits = (qf @ keys.transpose(-1, -2)) * scale  # [B, Hq, T, N]
    phi_q = _phi(q, kind, scale, "q")  # [B, Hq, T, F]
    phi_k = _phi(k, kind, scale, "k").repeat_interleave(g, 1)  # [B, Hq, N, F] (maps per kv head)
    w_lin = (phi_q @ phi_k.transpose(-1, -2)) * lin  # [B, Hq, T, N]

    st = state.repeat_interleave(g, 1)  # [B, Hq, F, D]
    nz = normalizer.repeat_interleave(g, 1)  # [B, Hq, F]
    lin_num = w_lin @ vals + phi_q @ st  # [B, Hq, T, D]
    lin_den = w_lin.sum(-1) + (phi_q * nz[:, :, None]).sum(-1)  # [B, Hq, T]

    # one normaliser; shift by M = max(max soft logit, log lin_den) so nothing overflows
    logits = logits.masked_fill(~soft, float("-inf"))
    m = logits.amax(-1)  # finite: the query's own token is always in its window
    some = lin_den > 0
    # -inf where no linear weight, through a where so that gradients stay finite (log(0)' * 0 = nan)
    log_den = torch.where(some, torch.log(torch.where(some, lin_den, torch.ones_like(lin_den))), float("-inf"))
    big = torch.maximum(m, log_den)
    e = torch.exp(logits - big[..., None])
    c = torch.exp(log_den - big)  # weight of the linear part relative to exp(big)
    lin_mean = lin_num / torch.where(some, lin_den, torch.ones_like(lin_den))[..., None]
    o = (e @ vals + c[..., None] * lin_mean) / (e.sum(-1) + c)[..., None]

    return o.transpose(1, 2)


def _phi(x: torch.Tensor, kind, scale: float, role: str) -> torch.Tensor:
    """Feature vectors of x [B, N, H, D] as [B, H, N, F] fp32."""
    return feature_map(x, kind, scale, role).transpose(1, 2)
