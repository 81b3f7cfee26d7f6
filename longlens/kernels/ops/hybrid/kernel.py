"""Hybrid attention, fast path: Triton sinks + sliding-window softmax, PyTorch chunked linear branch.

Which part runs where:
- Triton (`_window_fwd`): the exact-softmax branch. One program per (query block, batch x query
  head) loads its query tile, one tile of sink keys (positions < sink, only those already out of the
  query's window), then the key blocks covering (p - window, p]; online softmax in fp32
  (`online_softmax_step`, shared with the block-sparse kernel). Writes o (fp32) and the LSE.
- PyTorch (linear.py): the linear branch over evicted tokens and the state update (chunked matmuls).
- Triton (merge kernel): the two partials merged under one normaliser (exact: lse arithmetic).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from longlens.kernels.ops.block_sparse.kernel import LOG2E, dot_dtype, online_softmax_finish, online_softmax_step
from longlens.kernels.ops.common.utils import block, dot_precision
from longlens.kernels.ops.hybrid.cache import Context, HybridCache, advance, context, feature_dim
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
    q = tl.load(Q + b * sqb + rows64[:, None] * sqt + h * sqh + offs_d[None, :],
                mask=row_ok[:, None] & d_ok[None, :], other=0.0).to(tl.float32)
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)

    # sinks: positions 0 .. n_sink-1, counted here only once out of the query's window
    if n_sink > 0:
        offs_s = tl.arange(0, BLOCK_S)
        s_ok = offs_s < n_sink
        ks = tl.load(KS + b * ssb + offs_s[:, None] * sst + hk * ssh + offs_d[None, :],
                     mask=s_ok[:, None] & d_ok[None, :], other=0.0).to(tl.float32)
        vs = tl.load(VS + b * swb + offs_s[:, None] * swt + hk * swh + offs_d[None, :],
                     mask=s_ok[:, None] & d_ok[None, :], other=0.0).to(tl.float32)
        ok = s_ok[None, :] & (offs_s[None, :] <= pos_m[:, None] - window)
        m_i, l_i, acc = online_softmax_step(q, ks, vs, ok, m_i, l_i, acc, qk_scale, DOT, PREC)

    # window: absolute positions (p - window, p]; K row i sits at position k_pos0 + i
    first = pid * BLOCK_M
    last = tl.minimum(first + BLOCK_M, T) - 1
    lo = tl.maximum(q_pos0 + first - window + 1 - k_pos0, 0)
    hi = tl.minimum(q_pos0 + last + 1 - k_pos0, Tk)
    for start in range(lo, hi, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        n_ok = cols < hi
        kv_mask = n_ok[:, None] & d_ok[None, :]
        cols64 = cols.to(tl.int64)
        k = tl.load(K + b * skb + cols64[:, None] * skt + hk * skh + offs_d[None, :], mask=kv_mask, other=0.0).to(tl.float32)
        v = tl.load(V + b * svb + cols64[:, None] * svt + hk * svh + offs_d[None, :], mask=kv_mask, other=0.0).to(tl.float32)
        pos_n = k_pos0 + cols
        ok = n_ok[None, :] & (pos_n[None, :] <= pos_m[:, None]) & (pos_n[None, :] > pos_m[:, None] - window)
        m_i, l_i, acc = online_softmax_step(q, k, v, ok, m_i, l_i, acc, qk_scale, DOT, PREC)

    o, lse = online_softmax_finish(m_i, l_i, acc)
    tl.store(O + b * sob + rows64[:, None] * sot + h * soh + offs_d[None, :], o.to(O.dtype.element_ty),
             mask=row_ok[:, None] & d_ok[None, :])
    tl.store(LSE + b * slb + rows64 * slt + h, lse, mask=row_ok)


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
        q, k, v, ks, vs, o, lse,
        q.stride(0), q.stride(1), q.stride(2),
        k.stride(0), k.stride(1), k.stride(2),
        v.stride(0), v.stride(1), v.stride(2),
        ks.stride(0), ks.stride(1), ks.stride(2),
        vs.stride(0), vs.stride(1), vs.stride(2),
        o.stride(0), o.stride(1), o.stride(2),
        lse.stride(0), lse.stride(1),
        T, k.shape[1], n_sink, Hq, Hq // Hkv, D, ctx.pos, ctx.k_pos0, window, scale * LOG2E,
        BLOCK_M=tile, BLOCK_N=tile, BLOCK_S=block(n_sink), BLOCK_D=block(D),
        DOT=dot_dtype(q.dtype, q.device), PREC=dot_precision(q.dtype),
    )
    return o, lse


def hybrid_fwd(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    window: int,
    sink: int,
    feature_map: str,
    scale: float,
    initial_state: HybridCache | None,
    output_final_state: bool,
    chunk: int = 64,
) -> tuple[torch.Tensor, HybridCache | None]:
    """Triton window softmax + PyTorch linear branch + Triton merge (arguments as hybrid_attention)."""
    B, T, Hkv, D = k.shape
    ctx = context(initial_state, k, v, sink)
    if initial_state is None:
        F = feature_dim(feature_map, D)
        state = torch.zeros(B, Hkv, F, D, device=q.device)
        normalizer = torch.zeros(B, Hkv, F, device=q.device)
    else:
        state, normalizer = initial_state.state, initial_state.normalizer
    o_s, lse_s = window_fwd(q, ctx, window=window, scale=scale)
    o_l, lse_l, state, normalizer = linear_branch(
        q, ctx, window=window, sink=sink, kind=feature_map, scale=scale, state=state, normalizer=normalizer, chunk=chunk,
    )
    o, _ = merge_fwd(o_s, lse_s, o_l, lse_l)
    final = None
    if output_final_state:
        final = advance(initial_state, k, v, window=window, sink=sink, feature_map=feature_map, scale=scale,
                        state=state, normalizer=normalizer)
    return o.to(q.dtype), final
