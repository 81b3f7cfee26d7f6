"""Hybrid attention, fast path: Triton sinks + sliding-window softmax, PyTorch chunked linear branch.

Which part runs where:
- Triton (`_window_fwd`): the exact-softmax branch. One program per (query block, batch x query
  head) loads its query tile, one tile of sink keys (positions < sink, only those already out of the
  query's window), then the key blocks covering (p - window, p]; online softmax in fp32
  (`common/softmax.py`, shared with the block-sparse kernel). Writes o (fp32) and the LSE.
- PyTorch (linear.py): the linear branch over evicted tokens and the state update (chunked matmuls).
- Triton (merge kernel): the two partials merged under one normaliser (exact: lse arithmetic).
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
from longlens.kernels.ops.hybrid.cache import Context, HybridCache, HybridRule, advance, context, start_state
from longlens.kernels.ops.hybrid.linear import linear_branch
from longlens.kernels.ops.merge.kernel import merge_fwd


@triton.jit
def _window_fwd(
    Q, K, V, KS, VS, O, LSE,
    sqb, sqt, sqh,
    skb, skt, skh,
    svb, svt, svh,
    ssb, sst, ssh,
    swb, swt, swh,
    sob, sot, soh,
    slb, slt,
    T, Tk, n_sink, HQ, GROUP, D, q_pos0, k_pos0, window, qk_scale,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_S: tl.constexpr, BLOCK_D: tl.constexpr,
    DOT: tl.constexpr, PREC: tl.constexpr,
):
    pid = tl.program_id(0)
    bh = tl.program_id(1)
    b = (bh // HQ).to(tl.int64)
    h = bh % HQ
    hk = h // GROUP
    rows = pid * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < T
    pos_m = q_pos0 + rows  # absolute query positions
    offs_d = tl.arange(0, BLOCK_D)
    d_ok = offs_d < D
    rows64 = rows.to(tl.int64)  # offsets pass 2^31 at ~0.5M tokens x 32 heads x 128
    q = load_rows(Q + b * sqb + h * sqh, rows64, row_ok, offs_d, d_ok, sqt)
    m_i, l_i, acc = softmax_start(BLOCK_M, BLOCK_D)

    # sinks: positions 0 .. n_sink-1, counted here only once out of the query's window
    if n_sink > 0:
        offs_s = tl.arange(0, BLOCK_S)
        s_ok = offs_s < n_sink
        ks = load_rows(KS + b * ssb + hk * ssh, offs_s, s_ok, offs_d, d_ok, sst)
        vs = load_rows(VS + b * swb + hk * swh, offs_s, s_ok, offs_d, d_ok, swt)
        ok = s_ok[None, :] & (offs_s[None, :] <= pos_m[:, None] - window)
        m_i, l_i, acc = softmax_step(q, ks, vs, ok, m_i, l_i, acc, qk_scale, DOT, PREC)

    # window: absolute positions (p - window, p]; K row i sits at position k_pos0 + i
    first = pid * BLOCK_M
    last = tl.minimum(first + BLOCK_M, T) - 1
    lo = tl.maximum(q_pos0 + first - window + 1 - k_pos0, 0)
    hi = tl.minimum(q_pos0 + last + 1 - k_pos0, Tk)
    for start in range(lo, hi, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        n_ok = cols < hi
        cols64 = cols.to(tl.int64)
        k = load_rows(K + b * skb + hk * skh, cols64, n_ok, offs_d, d_ok, skt)
        v = load_rows(V + b * svb + hk * svh, cols64, n_ok, offs_d, d_ok, svt)
        pos_n = k_pos0 + cols
        ok = n_ok[None, :] & (pos_n[None, :] <= pos_m[:, None]) & (pos_n[None, :] > pos_m[:, None] - window)
        m_i, l_i, acc = softmax_step(q, k, v, ok, m_i, l_i, acc, qk_scale, DOT, PREC)

    softmax_store(O + b * sob + h * soh, LSE + b * slb + h, m_i, l_i, acc, rows64, row_ok, offs_d, d_ok, sot, slt)


def window_fwd(q: torch.Tensor, ctx: Context, *, window: int, scale: float, tile: int | None = None):
    """Softmax over sinks + window for the new queries q [B, T, Hq, D] (positions ctx.pos ..).

    Returns o [B, T, Hq, D] fp32 and lse [B, T, Hq] fp32 (natural log).
    """
    B, T, Hq, D = q.shape
    k, v, ks, vs = ctx.k, ctx.v, ctx.k_sink, ctx.v_sink
    Hkv = k.shape[2]
    q, k, v = (t if t.stride(-1) == 1 else t.contiguous() for t in (q, k, v))
    n_sink = ks.shape[1]
    if n_sink == 0:
        ks, vs = k, v  # never read
    ks, vs = (t if t.stride(-1) == 1 else t.contiguous() for t in (ks, vs))
    if tile is None:
        tile = 64 if q.is_cuda else 32  # query/key rows per program and per step
    o = torch.empty(B, T, Hq, D, dtype=torch.float32, device=q.device)
    lse = torch.empty(B, T, Hq, dtype=torch.float32, device=q.device)
    grid = (triton.cdiv(T, tile), B * Hq)
    _window_fwd[grid](
        q, k, v, ks, vs, o, lse, *bth_strides(q, k, v, ks, vs, o), lse.stride(0), lse.stride(1),
        T, k.shape[1], n_sink, Hq, Hq // Hkv, D, ctx.pos, ctx.k_pos0, window, scale * LOG2E,
        BLOCK_M=tile, BLOCK_N=tile, BLOCK_S=block(n_sink), BLOCK_D=block(D),
        DOT=dot_dtype(q.dtype, q.device), PREC=dot_precision(q.dtype),
    )
    return o, lse


def hybrid_fwd(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, rule: HybridRule,
    initial_state: HybridCache | None = None, output_final_state: bool = False, chunk: int = 64,
) -> tuple[torch.Tensor, HybridCache | None]:
    """Triton window softmax + PyTorch linear branch + Triton merge (arguments as the naive twin's)."""
    ctx = context(initial_state, k, v, rule.sink)
    state, normalizer = start_state(initial_state, rule, k)
    o_s, lse_s = window_fwd(q, ctx, window=rule.window, scale=rule.scale)
    o_l, lse_l, state, normalizer = linear_branch(q, ctx, rule, state, normalizer, chunk=chunk)
    o, _ = merge_fwd(o_s, lse_s, o_l, lse_l)
    final = advance(initial_state, k, v, rule, state, normalizer) if output_final_state else None
    return o.to(q.dtype), final
