"""Triton: token-by-token recurrence with the state held in registers, one program per (batch, head, V block).

O(1) per token in the context length: this is the decode step (T = 1) of both ops. Per token t:

    S = exp(g_t) * S                                  (if gated)
    v'_t = beta_t * (v_t - k_t S)                     (gated delta rule; linear attention: v'_t = v_t)
    S = S + k_t^T v'_t
    o_t = scale * q_t S
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from longlens.kernels.ops.common.utils import block, configs, head_of


@triton.autotune(configs=configs(), key=["K", "V", "USE_G", "USE_BETA"])
@triton.jit
def fused_recurrent_kernel(
    q, k, v, g, beta, o, h0, ht,  # q, k [B,T,HK,K]; v, o [B,T,H,V]; g, beta [B,T,H]; h0, ht [B,H,K,V]
    scale, T,
    H: tl.constexpr, HK: tl.constexpr, K: tl.constexpr, V: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    USE_G: tl.constexpr, USE_BETA: tl.constexpr, NORM_QK: tl.constexpr,
    USE_H0: tl.constexpr, STORE_HT: tl.constexpr,
):
    i_v, i_bh = tl.program_id(0), tl.program_id(1).to(tl.int64)
    i_b, i_h, i_hk = head_of(i_bh, H, HK)
    o_k = tl.arange(0, BK)
    o_v = i_v * BV + tl.arange(0, BV)
    m_k, m_v = o_k < K, o_v < V
    m_kv = m_k[:, None] & m_v[None, :]
    p_kv = o_k[:, None] * V + o_v[None, :]

    b_h = tl.zeros([BK, BV], dtype=tl.float32)
    if USE_H0:
        b_h += tl.load(h0 + i_bh * K * V + p_kv, mask=m_kv, other=0.0).to(tl.float32)
    for t in range(T):
        p_qk = ((i_b * T + t) * HK + i_hk) * K + o_k
        b_q = tl.load(q + p_qk, mask=m_k, other=0.0).to(tl.float32)  # [BK]
        b_k = tl.load(k + p_qk, mask=m_k, other=0.0).to(tl.float32)  # [BK]
        if NORM_QK:
            b_q = b_q * tl.rsqrt(tl.sum(b_q * b_q, 0) + 1e-6)
            b_k = b_k * tl.rsqrt(tl.sum(b_k * b_k, 0) + 1e-6)
        b_q = b_q * scale
        p_v = ((i_b * T + t) * H + i_h) * V + o_v
        b_v = tl.load(v + p_v, mask=m_v, other=0.0).to(tl.float32)  # [BV]
        if USE_G:
            b_h = b_h * tl.exp(tl.load(g + (i_b * T + t) * H + i_h).to(tl.float32))
        if USE_BETA:
            b_beta = tl.load(beta + (i_b * T + t) * H + i_h).to(tl.float32)
            b_v = b_beta * (b_v - tl.sum(b_h * b_k[:, None], 0))
        b_h += b_k[:, None] * b_v[None, :]
        b_o = tl.sum(b_h * b_q[:, None], 0)  # [BV]
        tl.store(o + p_v, b_o.to(o.dtype.element_ty), mask=m_v)
    if STORE_HT:
        tl.store(ht + i_bh * K * V + p_kv, b_h, mask=m_kv)


def fused_recurrent_fwd(q, k, v, *, g, beta, scale: float, initial_state, output_final_state: bool,
                        norm_qk: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """o [B, T, H, V] in q's dtype and the final state [B, H, K, V] fp32 (or None). q, k: [B, T, HK, K];
    v: [B, T, H, V]; g (log gates), beta: [B, T, H] or None; initial_state [B, H, K, V]. Inputs contiguous."""
    B, T, HK, K = k.shape
    H, V = v.shape[2], v.shape[3]
    BK, BV = block(K), block(V, 64)
    o = torch.empty(B, T, H, V, device=v.device, dtype=q.dtype)
    ht = k.new_empty(B, H, K, V, dtype=torch.float32) if output_final_state else None
    grid = (triton.cdiv(V, BV), B * H)
    fused_recurrent_kernel[grid](
        q, k, v, g, beta, o, initial_state, ht, scale, T,
        H=H, HK=HK, K=K, V=V, BK=BK, BV=BV,
        USE_G=g is not None, USE_BETA=beta is not None, NORM_QK=norm_qk,
        USE_H0=initial_state is not None, STORE_HT=output_final_state,
    )
    return o, ht
