"""Triton block-sparse flash attention: each query block visits only its listed key blocks.

One program per (query block, batch x query head). It loads its query tile once, then for each key
block in its index list runs one online-softmax step (`common/softmax.py`, numerics there). Query and key
blocks have the same size and are aligned to absolute positions, so only the diagonal block needs the causal
mask; the mask is applied token-wise on every visited block anyway (cheap, and it also covers explicit masks
and partial last blocks).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from longlens.kernels.ops.common.softmax import (
    LOG2E,
    bth_strides,
    dot_dtype,
    load_rows,
    softmax_start,
    softmax_step,
    softmax_store,
)
from longlens.kernels.ops.common.utils import block, dot_precision


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
    q = load_rows(Q + b * sqb + h * sqh, row64, row_ok, offs_d, d_ok, sqt)
    m_i, l_i, acc = softmax_start(BLOCK, BLOCK_D)

    n = tl.load(CNT + b * scb + h * sch + r)
    idx_ptr = IDX + b * sib + h * sih + r * siq
    for i in range(0, n):
        kb = tl.load(idx_ptr + i)
        pos_n = kb * BLOCK + tl.arange(0, BLOCK)
        n_ok = pos_n < Tk
        pos64 = pos_n.to(tl.int64)
        k = load_rows(K + b * skb + hk * skh, pos64, n_ok, offs_d, d_ok, skt)
        v = load_rows(V + b * svb + hk * svh, pos64, n_ok, offs_d, d_ok, svt)
        ok = n_ok[None, :]
        if CAUSAL:
            ok = ok & (pos_n[None, :] <= pos_m[:, None])
        m_i, l_i, acc = softmax_step(q, k, v, ok, m_i, l_i, acc, qk_scale, DOT, PREC)

    softmax_store(O + b * sob + h * soh, LSE + b * slb + h, m_i, l_i, acc, row64, row_ok, offs_d, d_ok, sot, slt)


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
        q, k, v, o, lse, idx, counts, *bth_strides(q, k, v, o), lse.stride(0), lse.stride(1),
        idx.stride(0), idx.stride(1), idx.stride(2),
        counts.stride(0), counts.stride(1),
        Tq, Tk, Hq, Hq // Hkv, D, q_off, q_off // block_size, scale * LOG2E,
        CAUSAL=causal, BLOCK=block_size, BLOCK_D=block(D),
        DOT=dot_dtype(q.dtype, q.device), PREC=dot_precision(q.dtype),
        num_warps=num_warps, num_stages=num_stages,
    )
    return o, lse
