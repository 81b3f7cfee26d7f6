"""Triton: the outputs of every chunk, all chunks in parallel, given the chunk-start states h.

For position i of chunk n (cumulative log gates b within the chunk, chunk-start state S_n):

    o_i = scale * ( exp(b_i) q_i S_n  +  sum_{j <= i} exp(b_i - b_j) (q_i . k_j) v'_j )

with v' = v for linear attention and the delta-corrected values for the gated delta rule. The decay
exp(b_i - b_j) is taken only where j <= i (exponent <= 0); the rest of the [BT, BT] block is masked first.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from longlens.kernels.ops.common.utils import block, configs, dot_precision, head_of, load_qk


@triton.autotune(configs=configs(), key=["K", "V", "BT", "USE_G"])
@triton.jit
def chunk_fwd_o_kernel(
    q, k, v, h, g, o,  # q, k [B,T,HK,K]; v, o [B,T,H,V]; h [B,H,NT,K,V] fp32; g [B,T,H]
    scale, T, NT,
    H: tl.constexpr, HK: tl.constexpr, K: tl.constexpr, V: tl.constexpr,
    BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    USE_G: tl.constexpr, NORM_QK: tl.constexpr, PRECISION: tl.constexpr,
):
    i_v, i_n, i_bh = tl.program_id(0), tl.program_id(1), tl.program_id(2).to(tl.int64)
    i_b, i_h, i_hk = head_of(i_bh, H, HK)
    o_t = tl.arange(0, BT)
    o_k = tl.arange(0, BK)
    o_v = i_v * BV + tl.arange(0, BV)
    m_k, m_v = o_k < K, o_v < V
    t = i_n * BT + o_t
    m_t = t < T

    b_q = load_qk(q, i_b, i_hk, t, m_t, o_k, m_k, T, HK, K, NORM_QK) * scale  # [BT, BK]
    b_k = load_qk(k, i_b, i_hk, t, m_t, o_k, m_k, T, HK, K, NORM_QK)  # [BT, BK]
    b_h = tl.load(h + (i_bh * NT + i_n) * K * V + o_k[:, None] * V + o_v[None, :],
                  mask=m_k[:, None] & m_v[None, :], other=0.0)  # [BK, BV] fp32
    p_v = ((i_b * T + t[:, None]) * H + i_h) * V + o_v[None, :]
    m_tv = m_t[:, None] & m_v[None, :]
    b_v = tl.load(v + p_v, mask=m_tv, other=0.0).to(tl.float32)  # [BT, BV]

    b_o = tl.dot(b_q, b_h, input_precision=PRECISION)  # [BT, BV]: the earlier chunks, through the state
    b_s = tl.dot(b_q, tl.trans(b_k), input_precision=PRECISION)  # [BT, BT]
    m_causal = o_t[:, None] >= o_t[None, :]
    if USE_G:
        b_g = tl.load(g + (i_b * T + t) * H + i_h, mask=m_t, other=0.0).to(tl.float32)
        b_b = tl.cumsum(b_g, 0)
        b_o = b_o * tl.exp(b_b)[:, None]
        b_s = b_s * tl.exp(tl.where(m_causal, b_b[:, None] - b_b[None, :], 0.0))
    b_s = tl.where(m_causal, b_s, 0.0)
    b_o += tl.dot(b_s, b_v, input_precision=PRECISION)
    tl.store(o + p_v, b_o.to(o.dtype.element_ty), mask=m_tv)


def chunk_fwd_o(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    h: torch.Tensor,
    *,
    g: torch.Tensor | None,
    scale: float,
    chunk_size: int,
    out_dtype: torch.dtype,
    norm_qk: bool = False,
) -> torch.Tensor:
    """Outputs o [B, T, H, V] in `out_dtype`. q, k: [B, T, HK, K]; v: [B, T, H, V]; h: [B, H, NT, K, V] fp32
    chunk-start states from `chunk_fwd_h`; g: [B, T, H] fp32 log gates or None. All inputs contiguous."""
    B, T, HK, K = k.shape
    H, V = v.shape[2], v.shape[3]
    BT, BK, BV = chunk_size, block(K), block(V, 64)
    NT = triton.cdiv(T, BT)
    if NT > 65535:  # a CUDA grid's second axis
        raise ValueError(f"T={T} is too long for chunk_size={chunk_size}: at most {65535 * BT} tokens per call")
    o = torch.empty(B, T, H, V, device=v.device, dtype=out_dtype)
    grid = (triton.cdiv(V, BV), NT, B * H)
    chunk_fwd_o_kernel[grid](
        q, k, v, h, g, o, scale, T, NT,
        H=H, HK=HK, K=K, V=V, BT=BT, BK=BK, BV=BV,
        USE_G=g is not None, NORM_QK=norm_qk, PRECISION=dot_precision(q.dtype),
    )
    return o
