"""Benchmarks of the gated delta rule: GPU timings (`rows_at`) and the CPU correctness smoke (`smoke`).

GPU: B=1, H=16 (q/k and v heads), K=V=128, bf16, fp32 log gates, L2-normalised q/k in the kernel (as
Qwen3.5 calls it); ours vs causal SDPA and flash-linear-attention's chunk_gated_delta_rule (when installed);
the decode step (recurrent, T=1) vs SDPA decoding against a KV cache of T tokens.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

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
from longlens.kernels.ops.gated_delta_rule import chunk_gated_delta_rule, recurrent_gated_delta_rule

PEAK = peak_bandwidth  # the table `rows_at`'s `peak` (bytes/s) comes from
OP, STEP = "chunk_gated_delta_rule", "recurrent_gated_delta_rule_step"


def rows_at(T: int, *, peak: float | None, device: str = "cuda", backend: str = "auto") -> list[dict]:
    """Timing rows at sequence length T: ours, the baselines, and the decode step after T tokens."""
    q, k, v = (torch.randn(B, T, H, D, device=device, dtype=torch.bfloat16) for _ in range(3))
    g = F.logsigmoid(torch.randn(B, T, H, device=device))  # log gates < 0
    beta = torch.rand(B, T, H, device=device, dtype=torch.bfloat16)
    moved = 4 * q.numel() * q.element_size() + g.numel() * (4 + 2)  # read q, k, v, g, beta; write o
    kw = dict(use_qk_l2norm_in_kernel=True)
    ms = measure(lambda: chunk_gated_delta_rule(q, k, v, g=g, beta=beta, backend=backend, **kw), **repeats(T))
    rows = [timing_row(op=OP, impl="longlens", T=T, ms=ms, bytes_moved=moved, peak=peak)]
    rows += sdpa_rows(OP, STEP, q, k, v, peak)
    fla = fla_function("chunk_gated_delta_rule")
    if fla is not None:
        ms = measure(lambda: fla(q, k, v, g=g, beta=beta, **kw), **repeats(T))
        rows.append(timing_row(op=OP, impl="fla.chunk_gated_delta_rule", T=T, ms=ms, bytes_moved=moved, peak=peak))
    _, state = chunk_gated_delta_rule(q, k, v, g=g, beta=beta, output_final_state=True, backend=backend, **kw)
    last = [x[:, -1:] for x in (q, k, v, g, beta)]
    ms = measure(lambda: recurrent_gated_delta_rule(*last, initial_state=state, output_final_state=True,
                                                    backend=backend, **kw))
    rows.append(timing_row(op=STEP, impl="longlens", T=T, ms=ms, bytes_moved=2 * state.numel() * 4, peak=peak))
    speedups(rows)
    return rows



def smoke() -> list[dict]:
    """Ours (Triton natively on CUDA, else the interpreter when on) against the token-by-token twin at a small
    shape; fp32, grouped heads."""
    B_, T, HK, H_, K, V = 1, 200, 1, 2, 32, 32
    device, backend, impl = smoke_target()
    q, k, v, g, beta, h0 = smoke_inputs((B_, T, HK, K), (B_, T, HK, K), (B_, T, H_, V), (B_, T, H_), (B_, T, H_),
                                        (B_, H_, K, V), device=device)
    g, beta = F.logsigmoid(g), beta.sigmoid()
    kw = dict(initial_state=h0, output_final_state=True)
    ref_o, ref_s = naive.recurrent(q, k, v, g=g, beta=beta, scale=K ** -0.5, norm_qk=True, **kw)
    Tr = 50  # the recurrent kernel is token by token: fewer tokens under the interpreter
    first = [x[:, :Tr] for x in (q, k, v, g, beta)]
    ref_or, ref_sr = naive.recurrent(*first[:3], g=first[3], beta=first[4], scale=K ** -0.5, norm_qk=True, **kw)
    o, s = chunk_gated_delta_rule(q, k, v, g, beta, use_qk_l2norm_in_kernel=True, backend=backend, **kw)
    o_r, s_r = recurrent_gated_delta_rule(*first, use_qk_l2norm_in_kernel=True, backend=backend, **kw)
    shape = f"B{B_} HK{HK} H{H_} K{K} V{V}"
    return [smoke_row(OP, impl, T, shape, o=(o, ref_o), state=(s, ref_s)),
            smoke_row("recurrent_gated_delta_rule", impl, Tr, shape, o=(o_r, ref_or), state=(s_r, ref_sr))]
