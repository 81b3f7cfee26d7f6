"""Triton block-sparse flash attention: each query block visits only its listed key blocks.

One program per (query block, batch x query head). It loads its query tile once, then for each key
block in its index list runs one online-softmax step (fp32 running max / sum / accumulator, exp2 with
log2(e) folded into the scale). Query and key blocks have the same size and are aligned to absolute
positions, so only the diagonal block needs the causal mask; the mask is applied token-wise on every
visited block anyway (cheap, and it also covers explicit masks and partial last blocks).

Numerics: every tile is upcast to fp32 right after loading. For 16-bit inputs on a GPU the two
`tl.dot` operands are cast back to the input dtype (exact for q, k; p rounds like FlashAttention) so
the tensor cores run at 16-bit rate; accumulation is fp32 throughout. fp32 inputs use IEEE fp32 dots.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from longlens.kernels.ops.common.utils import block, dot_precision, interpreting

LOG2E = 1.4426950408889634


def dot_dtype(dtype: torch.dtype, device: torch.device):
    """Triton dtype of the dot operands: the input's 16-bit type on a GPU, else fp32."""
    if device.type != "cuda" or interpreting():
        return tl.float32
    return {torch.bfloat16: tl.bfloat16, torch.float16: tl.float16}.get(dtype, tl.float32)


@triton.jit
def online_softmax_step(q, k, v, ok, m_i, l_i, acc, qk_scale, DOT: tl.constexpr, PREC: tl.constexpr):
    """One flash-attention step on fp32 tiles q [M, D], k/v [N, D] with bool ok [M, N] (log2 domain).

    Rows that have seen no allowed key keep m = -inf, l = 0, acc = 0 (no NaN: the max is made safe).
    """
    s = tl.dot(q.to(DOT), tl.trans(k.to(DOT)), input_precision=PREC) * qk_scale
    s = tl.where(ok, s, float("-inf"))
    m_new = tl.maximum(m_i, tl.max(s, 1))
    m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
    alpha = tl.exp2(m_i - m_safe)
    p = tl.exp2(s - m_safe[:, None])
    l_i = l_i * alpha + tl.sum(p, 1)
    acc = acc * alpha[:, None] + tl.dot(p.to(DOT), v.to(DOT), input_precision=PREC)
    return m_new, l_i, acc


@triton.jit
def online_softmax_finish(m_i, l_i, acc):
    """Normalised output [M, D] and natural-log LSE [M]; a row with no key gets 0 and -inf."""
    seen = l_i > 0.0
    l_safe = tl.where(seen, l_i, 1.0)
    o = acc / l_safe[:, None]
    lse = tl.where(seen, (m_i + tl.log2(l_safe)) * 0.6931471805599453, float("-inf"))
    return o, lse


@triton.jit
def _block_sparse_fwd(
    Q, K, V, O, LSE, IDX, CNT,
    sqb, sqt, sqh,
    skb, skt, skh,
    svb, svt, svh,
    sob, sot, soh,
    slb, slt,
    sib, sih, siq,
    scb, sch,
    Tq, Tk, HQ, GROUP, D, q_off, blk_off, qk_scale,
    CAUSAL: tl.constexpr, BLOCK: tl.constexpr, BLOCK_D: tl.constexpr, DOT: tl.constexpr, PREC: tl.constexpr,
):
    r = tl.program_id(0)
    bh = tl.program_id(1)
    b = (bh // HQ).to(tl.int64)
    h = bh % HQ
    hk = h // GROUP
    pos_m = (r + blk_off) * BLOCK + tl.arange(0, BLOCK)  # absolute query positions
    row = pos_m - q_off
    row_ok = (row >= 0) & (row < Tq)
    offs_d = tl.arange(0, BLOCK_D)
    d_ok = offs_d < D

    row64 = row.to(tl.int64)  # offsets pass 2^31 at ~0.5M tokens x 32 heads x 128
    q = tl.load(Q + b * sqb + row64[:, None] * sqt + h * sqh + offs_d[None, :],
                mask=row_ok[:, None] & d_ok[None, :], other=0.0).to(tl.float32)
    m_i = tl.full([BLOCK], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK], tl.float32)
    acc = tl.zeros([BLOCK, BLOCK_D], tl.float32)

    n = tl.load(CNT + b * scb + h * sch + r)
    idx_ptr = IDX + b * sib + h * sih + r * siq
    for i in range(0, n):
        kb = tl.load(idx_ptr + i)
        pos_n = kb * BLOCK + tl.arange(0, BLOCK)
        n_ok = pos_n < Tk
        kv_mask = n_ok[:, None] & d_ok[None, :]
        pos64 = pos_n.to(tl.int64)
        k = tl.load(K + b * skb + pos64[:, None] * skt + hk * skh + offs_d[None, :], mask=kv_mask, other=0.0).to(tl.float32)
        v = tl.load(V + b * svb + pos64[:, None] * svt + hk * svh + offs_d[None, :], mask=kv_mask, other=0.0).to(tl.float32)
        ok = n_ok[None, :]
        if CAUSAL:
            ok = ok & (pos_n[None, :] <= pos_m[:, None])
        m_i, l_i, acc = online_softmax_step(q, k, v, ok, m_i, l_i, acc, qk_scale, DOT, PREC)

    o, lse = online_softmax_finish(m_i, l_i, acc)
    tl.store(O + b * sob + row64[:, None] * sot + h * soh + offs_d[None, :], o.to(O.dtype.element_ty),
             mask=row_ok[:, None] & d_ok[None, :])
    tl.store(LSE + b * slb + row64 * slt + h, lse, mask=row_ok)


def block_sparse_fwd(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    idx: torch.Tensor,
    counts: torch.Tensor,
    *,
    block_size: int,
    causal: bool,
    scale: float,
    num_warps: int = 4,
    num_stages: int = 2,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the kernel on a compact block list.

    q [B, Tq, Hq, D], k/v [B, Tk, Hkv, D]; idx [B, Hq, nQ, M] int32 absolute key-block indices (first
    counts[b, h, r] valid), counts [B, Hq, nQ] int32. Returns o [B, Tq, Hq, D] (q's dtype) and
    lse [B, Tq, Hq] fp32 natural log (-inf, with o = 0, for a row that sees no key).
    """
    B, Tq, Hq, D = q.shape
    Tk, Hkv = k.shape[1], k.shape[2]
    q, k, v = (t if t.stride(-1) == 1 else t.contiguous() for t in (q, k, v))
    idx = idx.to(torch.int32).contiguous()
    counts = counts.to(torch.int32).contiguous()
    nQ = idx.shape[2]
    o = torch.empty(B, Tq, Hq, D, dtype=q.dtype, device=q.device)
    lse = torch.empty(B, Tq, Hq, dtype=torch.float32, device=q.device)
    q_off = Tk - Tq
    grid = (nQ, B * Hq)
    _block_sparse_fwd[grid](
        q, k, v, o, lse, idx, counts,
        q.stride(0), q.stride(1), q.stride(2),
        k.stride(0), k.stride(1), k.stride(2),
        v.stride(0), v.stride(1), v.stride(2),
        o.stride(0), o.stride(1), o.stride(2),
        lse.stride(0), lse.stride(1),
        idx.stride(0), idx.stride(1), idx.stride(2),
        counts.stride(0), counts.stride(1),
        Tq, Tk, Hq, Hq // Hkv, D, q_off, q_off // block_size, scale * LOG2E,
        CAUSAL=causal, BLOCK=block_size, BLOCK_D=block(D),
        DOT=dot_dtype(q.dtype, q.device), PREC=dot_precision(q.dtype),
        num_warps=num_warps, num_stages=num_stages,
    )
    return o, lse
