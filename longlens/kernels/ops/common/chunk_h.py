"""Triton: the state at the start of every chunk, one pass over the chunks per (batch, head, V block).

For chunk n with within-chunk cumulative log gates b_t (b_t = g_1 + ... + g_t, t counted from the chunk start)
and chunk-start state S_n [K, V]:

    S_{n+1} = exp(b_last) * S_n + sum_t (k_t * exp(b_last - b_t))^T v'_t

where v'_t = v_t for linear attention, and v'_t = u_t - w_t S_n for the gated delta rule (u, w: the WY
representation from `chunk.py`); then v' is written out for the output kernel. Every exponent
is <= 0, so nothing overflows; gates never leave the chunk, so no cumsum runs over the whole sequence.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from longlens.kernels.ops.common.utils import block, configs, dot_precision, head_of, load_qk


@triton.autotune(configs=configs(), key=["K", "V", "BT", "USE_G", "USE_W"])
@triton.jit
def chunk_fwd_h_kernel(
    k, v, w, g, h, h0, ht, v_new,  # k [B,T,HK,K]; v, v_new [B,T,H,V]; w [B,T,H,K]; g [B,T,H]; h [B,H,NT,K,V]
    T, NT,
    H: tl.constexpr, HK: tl.constexpr, K: tl.constexpr, V: tl.constexpr,
    BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    USE_G: tl.constexpr, USE_W: tl.constexpr, NORM_K: tl.constexpr,
    USE_H0: tl.constexpr, STORE_HT: tl.constexpr, PRECISION: tl.constexpr,
):
    i_v, i_bh = tl.program_id(0), tl.program_id(1).to(tl.int64)  # int64: offsets pass 2**31 at 1M tokens
    i_b, i_h, i_hk = head_of(i_bh, H, HK)
    o_t = tl.arange(0, BT)
    o_k = tl.arange(0, BK)
    o_v = i_v * BV + tl.arange(0, BV)
    m_k, m_v = o_k < K, o_v < V
    m_kv = m_k[:, None] & m_v[None, :]
    p_kv = o_k[:, None] * V + o_v[None, :]  # offsets inside one [K, V] state

    b_h = tl.zeros([BK, BV], dtype=tl.float32)
    if USE_H0:
        b_h += tl.load(h0 + i_bh * K * V + p_kv, mask=m_kv, other=0.0).to(tl.float32)

    for i_n in range(NT):
        tl.store(h + (i_bh * NT + i_n) * K * V + p_kv, b_h, mask=m_kv)
        t = i_n * BT + o_t
        m_t = t < T
        b_k = load_qk(k, i_b, i_hk, t, m_t, o_k, m_k, T, HK, K, NORM_K)  # [BT, BK]
        p_v = ((i_b * T + t[:, None]) * H + i_h) * V + o_v[None, :]
        m_tv = m_t[:, None] & m_v[None, :]
        b_v = tl.load(v + p_v, mask=m_tv, other=0.0).to(tl.float32)  # [BT, BV]
        if USE_W:
            b_w = tl.load(w + ((i_b * T + t[:, None]) * H + i_h) * K + o_k[None, :],
                          mask=m_t[:, None] & m_k[None, :], other=0.0).to(tl.float32)  # [BT, BK]
            b_v = b_v - tl.dot(b_w, b_h, input_precision=PRECISION)
            tl.store(v_new + p_v, b_v, mask=m_tv)
        if USE_G:
            b_g = tl.load(g + (i_b * T + t) * H + i_h, mask=m_t, other=0.0).to(tl.float32)
            b_b = tl.cumsum(b_g, 0)  # padded steps add 0, so the last entry is the chunk's total
            b_last = tl.sum(tl.where(o_t == BT - 1, b_b, 0.0), 0)
            b_h = b_h * tl.exp(b_last)
            b_k = b_k * tl.exp(b_last - b_b)[:, None]
        b_h += tl.dot(tl.trans(b_k), b_v, input_precision=PRECISION)

    if STORE_HT:
        tl.store(ht + i_bh * K * V + p_kv, b_h, mask=m_kv)


def chunk_fwd_h(
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    g: torch.Tensor | None,
    w: torch.Tensor | None,
    initial_state: torch.Tensor | None,
    output_final_state: bool,
    chunk_size: int,
    norm_k: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Chunk-start states h [B, H, NT, K, V] fp32, final state [B, H, K, V] fp32 or None, and v' [B, T, H, V]
    fp32 (only with `w`, else None). k: [B, T, HK, K]; v (or u): [B, T, H, V]; g: [B, T, H] fp32 log gates;
    w: [B, T, H, K]. All inputs contiguous."""
    B, T, HK, K = k.shape
    H, V = v.shape[2], v.shape[3]
    BT, BK, BV = chunk_size, block(K), block(V, 64)
    NT = triton.cdiv(T, BT)
    h = k.new_empty(B, H, NT, K, V, dtype=torch.float32)
    ht = k.new_empty(B, H, K, V, dtype=torch.float32) if output_final_state else None
    v_new = torch.empty(B, T, H, V, device=v.device, dtype=torch.float32) if w is not None else None
    grid = (triton.cdiv(V, BV), B * H)
    chunk_fwd_h_kernel[grid](
        k, v, w, g, h, initial_state, ht, v_new, T, NT,
        H=H, HK=HK, K=K, V=V, BT=BT, BK=BK, BV=BV,
        USE_G=g is not None, USE_W=w is not None, NORM_K=norm_k,
        USE_H0=initial_state is not None, STORE_HT=output_final_state, PRECISION=dot_precision(k.dtype),
    )
    return h, ht, v_new
