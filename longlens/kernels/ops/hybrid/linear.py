"""The linear branch of the hybrid layer, chunked, in PyTorch (fp32 matmuls; cuBLAS on a GPU).

Query p sees, linearly, the tokens sink <= s <= p - window. Shifting the keys by `window` turns this
into ordinary inclusive causal linear attention: new query t (position P + t) pairs with the shifted
key t' (position P + t' - window) for t' <= t. Per chunk of C queries: inter-chunk phi(Q) @ state,
intra-chunk (phi(Q) phi(K')^T, causal) @ V', then state += phi(K')^T V'. The normaliser rides along as
an extra all-ones value column. Memory: one chunk's features plus the state, independent of T.
"""
from __future__ import annotations

import math

import torch

from longlens.kernels.ops.hybrid.cache import Context, HybridRule, feature_map


def linear_branch(
    q: torch.Tensor, ctx: Context, rule: HybridRule, state: torch.Tensor, normalizer: torch.Tensor, *, chunk: int = 64,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Linear-attention partial of the new queries q [B, T, Hq, D].

    state [B, Hkv, F, D], normalizer [B, Hkv, F] (fp32) cover positions <= P - 1 - window.
    Returns o [B, T, Hq, D] fp32 (= num / den, 0 where den = 0), lse [B, T, Hq] fp32 (= log den,
    -inf where 0), and the state and normalizer after the last new query.
    """
    window, sink, kind, scale = rule.window, rule.sink, rule.feature_map, rule.scale
    B, T, Hq, D = q.shape
    Hkv = ctx.k.shape[2]
    g = Hq // Hkv
    P = ctx.pos
    if P + T - 1 - window < sink:  # no token has ever left the window (state is zero too)
        return (torch.zeros(B, T, Hq, D, device=q.device), torch.full((B, T, Hq), -math.inf, device=q.device),
                state, normalizer)
    s_aug = torch.cat([state, normalizer[..., None]], -1)  # [B, Hkv, F, D+1]
    o = torch.empty(B, T, Hq, D, device=q.device)
    lse = torch.empty(B, T, Hq, device=q.device)
    for t0 in range(0, T, chunk):
        t1 = min(T, t0 + chunk)
        C = t1 - t0
        t = torch.arange(t0, t1, device=q.device)
        j = t + P - ctx.k_pos0 - window  # index of the shifted key in ctx.k
        ok = ((j >= 0) & (P + t - window >= sink)).float()  # [C]
        jc = j.clamp(min=0)
        kf = feature_map(ctx.k[:, jc], kind, scale, "k") * ok[None, :, None, None]  # [B, C, Hkv, F]
        va = torch.cat([ctx.v[:, jc].float(), torch.ones_like(ctx.v[:, jc, :, :1], dtype=torch.float32)], -1)
        va = va * ok[None, :, None, None]  # [B, C, Hkv, D+1]
        qf = feature_map(q[:, t0:t1], kind, scale, "q")  # [B, C, Hq, F]
        qf = qf.view(B, C, Hkv, g, -1).permute(0, 2, 3, 1, 4)  # [B, Hkv, g, C, F]
        kf = kf.permute(0, 2, 1, 3)  # [B, Hkv, C, F]
        va = va.permute(0, 2, 1, 3)  # [B, Hkv, C, D+1]
        a = (qf @ kf[:, :, None].transpose(-1, -2)).tril()  # [B, Hkv, g, C, C], t' <= t
        num = qf @ s_aug[:, :, None] + a @ va[:, :, None]  # [B, Hkv, g, C, D+1]
        s_aug = s_aug + kf.transpose(-1, -2) @ va
        den = num[..., D]
        pos = den > 0
        out = num[..., :D] / torch.where(pos, den, torch.ones_like(den))[..., None]
        lg = torch.where(pos, torch.log(torch.where(pos, den, torch.ones_like(den))), -math.inf)
        o[:, t0:t1] = out.permute(0, 3, 1, 2, 4).reshape(B, C, Hq, D)
        lse[:, t0:t1] = lg.permute(0, 3, 1, 2).reshape(B, C, Hq)
    return o, lse, s_aug[..., :D].contiguous(), s_aug[..., D].contiguous()
