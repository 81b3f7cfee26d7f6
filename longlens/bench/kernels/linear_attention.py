"""Benchmarks of decayed linear attention: GPU timings (`rows_at`) and the CPU correctness smoke (`smoke`).

GPU: B=1, H=16, K=V=128, bf16, per-token log decay; ours vs causal SDPA and flash-linear-attention's
chunk_simple_gla (when installed); the decode step vs SDPA decoding against a KV cache of T tokens.
"""
from __future__ import annotations

import torch

from longlens.bench.kernels import measure, peak_bandwidth, timing_row
from longlens.bench.kernels.common import (
    B,
    D,
    H,
    fla_function,
    repeats,
    sdpa_rows,
    smoke_inputs,
    smoke_row,
    smoke_target,
    speedups,
)
from longlens.kernels.ops.common import naive
from longlens.kernels.ops.linear_attention import linear_attention, linear_attention_step

PEAK = peak_bandwidth  # the table `rows_at`'s `peak` (bytes/s) comes from
OP, STEP = "linear_attention", "linear_attention_step"


def rows_at(T: int, *, peak: float | None, device: str = "cuda", backend: str = "auto") -> list[dict]:
    """Timing rows at sequence length T: ours, the baselines, and the decode step after T tokens."""
    q, k, v = (torch.randn(B, T, H, D, device=device, dtype=torch.bfloat16) for _ in range(3))
    g = -0.1 * torch.rand(B, T, H, device=device)  # log decay per token
    moved = 4 * q.numel() * q.element_size() + g.numel() * 4  # read q, k, v, g; write o
    ms = measure(lambda: linear_attention(q, k, v, log_decay=g, backend=backend), **repeats(T))
    rows = [timing_row(op=OP, impl="longlens", T=T, ms=ms, bytes_moved=moved, peak=peak)]
    rows += sdpa_rows(OP, STEP, q, k, v, peak)
    fla = fla_function("chunk_simple_gla")
    if fla is not None:
        ms = measure(lambda: fla(q, k, v, g=g), **repeats(T))
        rows.append(timing_row(op=OP, impl="fla.chunk_simple_gla", T=T, ms=ms, bytes_moved=moved, peak=peak))
    _, state = linear_attention(q, k, v, log_decay=g, output_final_state=True, backend=backend)  # after T tokens
    q1, k1, v1, g1 = q[:, -1], k[:, -1], v[:, -1], g[:, -1]
    ms = measure(lambda: linear_attention_step(q1, k1, v1, state, log_decay=g1, backend=backend))
    rows.append(timing_row(op=STEP, impl="longlens", T=T, ms=ms, bytes_moved=2 * state.numel() * 4, peak=peak))
    speedups(rows)
    return rows



def smoke() -> list[dict]:
    """Ours (Triton natively on CUDA, else the interpreter when on) against the token-by-token twin at a small
    shape; fp32."""
    B_, T, H_, K, V = 1, 200, 2, 32, 32
    device, backend, impl = smoke_target()
    q, k, v, g, h0 = smoke_inputs((B_, T, H_, K), (B_, T, H_, K), (B_, T, H_, V), (B_, T, H_), (B_, H_, K, V),
                                  device=device)
    g = -g.abs()
    kw = dict(initial_state=h0, output_final_state=True)
    ref_o, ref_s = naive.recurrent(q, k, v, g=g, beta=None, scale=K ** -0.5, **kw)
    o, s = linear_attention(q, k, v, log_decay=g, backend=backend, **kw)
    o1, s1 = linear_attention_step(q[:, 0], k[:, 0], v[:, 0], h0, log_decay=g[:, 0], backend=backend)
    ref_o1, ref_s1 = naive.recurrent(q[:, :1], k[:, :1], v[:, :1], g=g[:, :1], beta=None, scale=K ** -0.5, **kw)
    shape = f"B{B_} H{H_} K{K} V{V}"
    return [smoke_row(OP, impl, T, shape, o=(o, ref_o), state=(s, ref_s)),
            smoke_row(STEP, impl, 1, shape, o=(o1, ref_o1[:, 0]), state=(s1, ref_s1))]
