"""Benchmarks of decayed linear attention: GPU timings (`rows`) and the CPU correctness smoke (`smoke`).

GPU: B=1, H=16, K=V=128, bf16, per-token log decay; ours vs causal SDPA and flash-linear-attention's
chunk_simple_gla (when installed); the decode step vs SDPA decoding against a KV cache of T tokens.
"""
from __future__ import annotations

import torch

from longlens.bench.kernels import measure, peak_bandwidth, timing_row
from longlens.kernels.dispatch import force_backend
from longlens.bench.kernels.common import (B, D, H, fla_function, rel_err, repeats, sdpa_rows, smoke_target,
                                                speedups, sweep)
from longlens.kernels.ops.linear_attention import linear_attention, linear_attention_step
from longlens.kernels.ops.linear_attention.naive import naive_recurrent_linear_attention

OP, STEP = "linear_attention", "linear_attention_step"


def rows_at(T: int, *, peak: float | None, device: str = "cuda") -> list[dict]:
    """Timing rows at sequence length T: ours, the baselines, and the decode step after T tokens."""
    q, k, v = (torch.randn(B, T, H, D, device=device, dtype=torch.bfloat16) for _ in range(3))
    g = -0.1 * torch.rand(B, T, H, device=device)  # log decay per token
    moved = 4 * q.numel() * q.element_size() + g.numel() * 4  # read q, k, v, g; write o
    ms = measure(lambda: linear_attention(q, k, v, log_decay=g), **repeats(T))
    rows = [timing_row(op=OP, impl="longlens", T=T, ms=ms, bytes_moved=moved, peak=peak)]
    rows += sdpa_rows(OP, STEP, q, k, v, peak)
    fla = fla_function("chunk_simple_gla")
    if fla is not None:
        ms = measure(lambda: fla(q, k, v, g=g), **repeats(T))
        rows.append(timing_row(op=OP, impl="fla.chunk_simple_gla", T=T, ms=ms, bytes_moved=moved, peak=peak))
    _, state = linear_attention(q, k, v, log_decay=g, output_final_state=True)  # the state after T tokens
    q1, k1, v1, g1 = q[:, -1], k[:, -1], v[:, -1], g[:, -1]
    ms = measure(lambda: linear_attention_step(q1, k1, v1, state, log_decay=g1))
    rows.append(timing_row(op=STEP, impl="longlens", T=T, ms=ms, bytes_moved=2 * state.numel() * 4, peak=peak))
    speedups(rows)
    return rows


def rows(*, quick: bool = False) -> list[dict]:
    """GPU timings for every length (see module docstring)."""
    peak = peak_bandwidth(torch.cuda.get_device_name(0))
    return sweep(OP, lambda T: rows_at(T, peak=peak), quick=quick)


def smoke() -> list[dict]:
    """Triton (natively on CUDA, else the interpreter) against the token-by-token twin at a small shape; fp32."""
    B_, T, H_, K, V = 1, 200, 2, 32, 32
    q, k, v = torch.randn(B_, T, H_, K), torch.randn(B_, T, H_, K), torch.randn(B_, T, H_, V)
    g, h0 = -torch.rand(B_, T, H_), torch.randn(B_, H_, K, V)
    device, impl = smoke_target()
    q, k, v, g, h0 = (x.to(device) for x in (q, k, v, g, h0))
    ref_o, ref_s = naive_recurrent_linear_attention(q, k, v, g=g, scale=K ** -0.5, initial_state=h0,
                                                    output_final_state=True)
    with force_backend("triton"):
        o, s = linear_attention(q, k, v, log_decay=g, initial_state=h0, output_final_state=True)
        o1, s1 = linear_attention_step(q[:, 0], k[:, 0], v[:, 0], h0, log_decay=g[:, 0])
    ref_o1, ref_s1 = naive_recurrent_linear_attention(q[:, :1], k[:, :1], v[:, :1], g=g[:, :1], scale=K ** -0.5,
                                                      initial_state=h0, output_final_state=True)
    shape = f"B{B_} H{H_} K{K} V{V}"
    out = []
    for op, t, (a, b), (c, d) in ((OP, T, (o, ref_o), (s, ref_s)), (STEP, 1, (o1, ref_o1[:, 0]), (s1, ref_s1))):
        err_o, err_s = rel_err(a, b), rel_err(c, d)
        out.append({"op": op, "impl": impl, "T": t, "shape": shape, "rel_err_o": err_o,
                    "rel_err_state": err_s, "ok": max(err_o, err_s) < 1e-4})
    return out
