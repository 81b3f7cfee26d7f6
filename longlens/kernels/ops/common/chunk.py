"""Triton: the chunked forward of the linear-attention family (linear attention; the gated delta rule with beta).

Per chunk (cumulative log gates b within the chunk, Γ_ij = exp(b_i - b_j) for j < i):
  1. delta rule only, `prepare_wy_kernel`: A = (I + strictly_lower(diag(beta) K K^T ∘ Γ))^-1 by forward
     substitution, then w = A (beta * exp(b) * K) and u = A (beta * V) (the WY / UT representation, all chunks
     in parallel);
  2. `chunk_fwd_h`: the chunk-start states (v' = u - w S_n for the delta rule, v' = v for linear attention);
  3. `chunk_fwd_o`: o = scale * (exp(b) q S_n + tril(q k^T ∘ Γ) v').
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from longlens.kernels.ops.common.chunk_h import chunk_fwd_h
from longlens.kernels.ops.common.chunk_o import chunk_fwd_o
from longlens.kernels.ops.common.utils import block, configs, dot_precision, head_of, load_qk


@triton.autotune(configs=configs(), key=["K", "V", "BT"])
@triton.jit
def prepare_wy_kernel(
    k, v, beta, g, w, u,  # k [B,T,HK,K]; v [B,T,H,V]; beta, g [B,T,H]; w [B,T,H,K] fp32; u [B,T,H,V] fp32
    T,
    H: tl.constexpr, HK: tl.constexpr, K: tl.constexpr, V: tl.constexpr,
    BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
    NORM_K: tl.constexpr, PRECISION: tl.constexpr,
):
    i_n, i_bh = tl.program_id(0), tl.program_id(1).to(tl.int64)
    i_b, i_h, i_hk = head_of(i_bh, H, HK)
    o_t = tl.arange(0, BT)
    o_k = tl.arange(0, BK)
    m_k = o_k < K
    t = i_n * BT + o_t
    m_t = t < T

    b_k = load_qk(k, i_b, i_hk, t, m_t, o_k, m_k, T, HK, K, NORM_K)  # [BT, BK]
    b_beta = tl.load(beta + (i_b * T + t) * H + i_h, mask=m_t, other=0.0).to(tl.float32)  # [BT]
    b_g = tl.load(g + (i_b * T + t) * H + i_h, mask=m_t, other=0.0).to(tl.float32)
    b_b = tl.cumsum(b_g, 0)  # [BT] log gates from the chunk start

    # strictly lower part of diag(beta) K K^T ∘ Γ, negated: the system is (I - b_a)
    m_lower = o_t[:, None] > o_t[None, :]
    b_a = tl.dot(b_k * b_beta[:, None], tl.trans(b_k), input_precision=PRECISION)  # [BT, BT]
    b_a = -tl.where(m_lower, b_a * tl.exp(tl.where(m_lower, b_b[:, None] - b_b[None, :], 0.0)), 0.0)
    # forward substitution, one row at a time: row_i += row_i @ A[:i, :i] (rows above are already final)
    for i in range(1, BT):
        m_i = o_t == i
        b_row = tl.sum(tl.where(m_i[:, None], b_a, 0.0), 0)  # [BT], row i
        b_row = b_row + tl.where(o_t < i, tl.sum(b_row[:, None] * b_a, 0), 0.0)
        b_a = tl.where(m_i[:, None], b_row[None, :], b_a)
    b_a = tl.where(o_t[:, None] == o_t[None, :], 1.0, b_a)  # A = (I + L)^-1, unit lower triangular

    b_w = tl.dot(b_a, b_k * (b_beta * tl.exp(b_b))[:, None], input_precision=PRECISION)  # [BT, BK]
    tl.store(w + ((i_b * T + t[:, None]) * H + i_h) * K + o_k[None, :], b_w, mask=m_t[:, None] & m_k[None, :])
    for i_v in range(tl.cdiv(V, BV)):
        o_v = i_v * BV + tl.arange(0, BV)
        p_v = ((i_b * T + t[:, None]) * H + i_h) * V + o_v[None, :]
        m_tv = m_t[:, None] & (o_v < V)[None, :]
        b_v = tl.load(v + p_v, mask=m_tv, other=0.0).to(tl.float32)  # [BT, BV]
        b_u = tl.dot(b_a, b_v * b_beta[:, None], input_precision=PRECISION)
        tl.store(u + p_v, b_u, mask=m_tv)


def chunk_fwd(q, k, v, *, g, beta, scale: float, initial_state, output_final_state: bool, chunk_size: int,
              norm_qk: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """q, k: [B, T, HK, K]; v: [B, T, H, V]; g (log gates; required with beta), beta: [B, T, H] or None;
    initial_state [B, H, K, V] -> (o [B, T, H, V] in q's dtype, final state [B, H, K, V] fp32 or None).
    Inputs contiguous."""
    w = None
    if beta is not None:
        B, T, HK, K = k.shape
        H, V = v.shape[2], v.shape[3]
        BT, BK, BV = chunk_size, block(K), block(V, 64)
        w = torch.empty(B, T, H, K, device=k.device, dtype=torch.float32)
        u = torch.empty(B, T, H, V, device=k.device, dtype=torch.float32)
        prepare_wy_kernel[(triton.cdiv(T, BT), B * H)](
            k, v, beta, g, w, u, T,
            H=H, HK=HK, K=K, V=V, BT=BT, BK=BK, BV=BV, NORM_K=norm_qk, PRECISION=dot_precision(k.dtype),
        )
        v = u
    h, ht, v_new = chunk_fwd_h(k, v, g=g, w=w, initial_state=initial_state, output_final_state=output_final_state,
                               chunk_size=chunk_size, norm_k=norm_qk)
    o = chunk_fwd_o(q, k, v if v_new is None else v_new, h, g=g, scale=scale, chunk_size=chunk_size,
                    out_dtype=q.dtype, norm_qk=norm_qk)
    return o, ht
