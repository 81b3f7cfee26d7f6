"""Benchmarks of block-sparse attention (and merge): GPU timings (`rows_at`) and the CPU correctness smoke (`smoke`).

GPU: B=1, H=32, d=128, bf16, causal; ours with sinks 1 + window 8 + top-k 8 blocks of 64 vs causal SDPA
and vs compiled FlexAttention with the very same block list (`flex_attention` rows; `err_vs_flex` checks
the two agree, at T <= 64k); decode (`block_sparse_attention_step` rows: `block_sparse_attention` with one
query against T keys, selection included) vs SDPA against a KV cache.
FLOP conventions: ours and flex count 4·d·64·64 per visited block pair (the diagonal as a full tile, as the
kernels compute it); SDPA counts 4·d·T²/2. `compute_roofline` = TFLOP/s over the GPU's dense bf16 peak
(`longlens.bench.kernels.PEAK_BF16_FLOPS`; None when unknown). `select_ms` is the block selection alone;
`ms` the attention kernel on the selected blocks.
"""
from __future__ import annotations

import logging

import torch

from longlens.bench.kernels import measure, peak_bf16_flops, timing_row
from longlens.bench.kernels.common import rel_err, repeats, sdpa_rows, smoke_inputs, smoke_row, smoke_target, speedups
from longlens.kernels.ops.block_sparse import block_indices, block_sparse_attention, naive, select_blocks
from longlens.kernels.ops.merge import merge_attention

log = logging.getLogger(__name__)

PEAK = peak_bf16_flops  # the table `rows_at`'s `peak` (FLOP/s) comes from
OP, STEP = "block_sparse_attention", "block_sparse_attention_step"
B, H, D, BLOCK = 1, 32, 128, 64
SELECT = dict(sink_blocks=1, window_blocks=8, topk_blocks=8)


def rows_at(T: int, *, peak: float | None, device: str = "cuda", heads: int = H, dim: int = D,
            backend: str = "auto") -> list[dict]:
    """Timing rows at sequence length T: ours, SDPA, FlexAttention, and the decode call after T tokens.

    `peak`: dense bf16 FLOP/s of the GPU (None: no roofline fraction)."""
    from longlens.kernels.ops.block_sparse.kernel import block_sparse_fwd

    q, k, v = (torch.randn(B, T, heads, dim, device=device, dtype=torch.bfloat16) for _ in range(3))
    scale = dim ** -0.5
    select = lambda: block_indices(q, k, block_size=BLOCK, **SELECT)  # noqa: E731
    idx, counts = select()
    select_ms = measure(select, **repeats(T))
    ms = measure(lambda: block_sparse_fwd(q, k, v, idx, counts, block_size=BLOCK, causal=True, scale=scale),
                 **repeats(T))
    visited = int(counts.sum())
    nq = idx.shape[2]
    flops = 4 * dim * BLOCK * BLOCK * visited

    def flop_row(impl: str, ms: float, flops: float, **extra) -> dict:
        return timing_row(op=OP, impl=impl, T=T, ms=ms, tflops=flops / ms / 1e9,
                          compute_roofline=flops / (ms / 1e3) / peak if peak else None, **extra)

    ours = None if T > 65536 else block_sparse_fwd(q, k, v, idx, counts, block_size=BLOCK, causal=True, scale=scale)[0]
    rows = [flop_row("longlens", ms, flops, select_ms=select_ms,
                     sparsity=1.0 - visited / (B * heads * nq * (nq + 1) / 2))]
    flex_ms, err = _flex(q, k, v, idx, counts, ours, T)
    if flex_ms is not None:
        rows[0]["err_vs_flex"] = err
        rows.append(flop_row("flex_attention", flex_ms, flops))
    for r in sdpa_rows(OP, STEP, q, k, v, None):
        if r["op"] == OP:
            r.update(tflops=4 * dim * T * T / 2 * B * heads / r["ms"] / 1e9)
            r["compute_roofline"] = r["tflops"] * 1e12 / peak if peak else None
        rows.append(r)
    q1 = q[:, -1:]
    step_ms = measure(lambda: block_sparse_attention(q1, k, v, block_size=BLOCK, backend=backend, **SELECT))
    rows.append(timing_row(op=STEP, impl="longlens", T=T, ms=step_ms))
    speedups(rows)
    return rows


def _flex(q, k, v, idx, counts, ours, T) -> tuple[float | None, float | None]:
    """(ms, relative error of `ours` against it or None) of compiled FlexAttention on our block list:
    off-diagonal blocks full, the diagonal causal (mask_mod). Eager flex would ignore the block list
    (it applies mask_mod densely), hence the error check. (None, None) when flex cannot run here."""
    try:
        from torch.nn.attention.flex_attention import BlockMask, flex_attention

        nq = idx.shape[2]
        diag = torch.arange(nq, device=q.device, dtype=torch.int32).view(1, 1, nq, 1).expand(*idx.shape[:3], 1)
        mask = BlockMask.from_kv_blocks(
            torch.ones_like(counts), diag.contiguous(), counts - 1, idx, BLOCK_SIZE=BLOCK,
            mask_mod=lambda b, h, qi, ki: qi >= ki, seq_lengths=(T, T), compute_q_blocks=False,
        )
        flex = torch.compile(flex_attention, dynamic=False)
        qh, kh, vh = (x.transpose(1, 2) for x in (q, k, v))
        err = None
        if ours is not None:
            err = rel_err(ours, flex(qh, kh, vh, block_mask=mask).transpose(1, 2))
        return measure(lambda: flex(qh, kh, vh, block_mask=mask), **repeats(T)), err
    except Exception as e:  # compile or kernel-option failures: report, don't stop the suite
        log.warning("FlexAttention failed at T=%d: %s", T, e)
        return None, None



def smoke() -> list[dict]:
    """Ours (Triton natively on CUDA, else the interpreter when on) against the twin and SDPA at a small shape;
    fp32."""
    T, bs, d = 256, 16, 32
    device, backend, impl = smoke_target()
    q, k, v, coin = smoke_inputs((1, T, 4, d), (1, T, 2, d), (1, T, 2, d), (1, 4, T // bs, T // bs), device=device)
    sel = dict(block_size=bs, sink_blocks=1, window_blocks=2, topk_blocks=2)
    mask = select_blocks(q, k, **sel)
    ref_o, ref_lse = naive.block_sparse_attention(q, k, v, mask, block_size=bs, causal=True, scale=d ** -0.5)
    sdpa = torch.nn.functional.scaled_dot_product_attention(
        q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True, enable_gqa=True).transpose(1, 2)
    half = coin > 0
    o, lse = block_sparse_attention(q, k, v, return_lse=True, backend=backend, **sel)
    o_all = block_sparse_attention(q, k, v, block_size=bs, window_blocks=T, topk_blocks=0, backend=backend)
    o1, l1 = block_sparse_attention(q, k, v, block_size=bs, block_mask=half, return_lse=True, backend=backend)
    o2, l2 = block_sparse_attention(q, k, v, block_size=bs, block_mask=~half, return_lse=True, backend=backend)
    merged = merge_attention(o1, l1, o2, l2, backend=backend)[0]
    shape = f"Hq:Hkv 4:2 d{d} block{bs}"
    nq = mask.shape[2]
    rows = [
        smoke_row(OP, impl, T, shape + " sink1 window2 top2", check="vs naive twin", o=(o, ref_o), lse=(lse, ref_lse)),
        smoke_row(OP, impl, T, shape + " all blocks", check="vs SDPA causal", o=(o_all, sdpa)),
        smoke_row("merge_attention", impl, T, shape, check="two random halves vs SDPA", o=(merged, sdpa)),
    ]
    rows[0]["visited"] = float(mask.sum()) / (mask.shape[1] * nq * (nq + 1) / 2)
    return rows
