"""Benchmarks of the gated delta rule: GPU timings (`rows`) and the CPU correctness smoke (`smoke`).

GPU: B=1, H=16 (q/k and v heads), K=V=128, bf16, fp32 log gates, L2-normalised q/k in the kernel (as
Qwen3.5 calls it); ours vs causal SDPA and flash-linear-attention's chunk_gated_delta_rule (when installed);
the decode step (recurrent, T=1) vs SDPA decoding against a KV cache of T tokens.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from longlens.bench.kernels import measure, peak_bandwidth, timing_row
from longlens.kernels.dispatch import force_backend
from longlens.bench.kernels.common import (B, D, H, fla_function, rel_err, repeats, sdpa_rows, smoke_target,
                                                speedups, sweep)
from longlens.kernels.ops.gated_delta_rule import chunk_gated_delta_rule, recurrent_gated_delta_rule
from longlens.kernels.ops.gated_delta_rule.naive import naive_recurrent_gated_delta_rule

OP, STEP = "chunk_gated_delta_rule", "recurrent_gated_delta_rule_step"


def rows_at(T: int, *, peak: float | None, device: str = "cuda") -> list[dict]:
    """Timing rows at sequence length T: ours, the baselines, and the decode step after T tokens."""
    q, k, v = (torch.randn(B, T, H, D, device=device, dtype=torch.bfloat16) for _ in range(3))
    g = F.logsigmoid(torch.randn(B, T, H, device=device))  # log gates < 0
    beta = torch.rand(B, T, H, device=device, dtype=torch.bfloat16)
    moved = 4 * q.numel() * q.element_size() + g.numel() * (4 + 2)  # read q, k, v, g, beta; write o
    kw = dict(use_qk_l2norm_in_kernel=True)
    ms = measure(lambda: chunk_gated_delta_rule(q, k, v, g=g, beta=beta, **kw), **repeats(T))
    rows = [timing_row(op=OP, impl="longlens", T=T, ms=ms, bytes_moved=moved, peak=peak)]
    rows += sdpa_rows(OP, STEP, q, k, v, peak)
    fla = fla_function("chunk_gated_delta_rule")
    if fla is not None:
        ms = measure(lambda: fla(q, k, v, g=g, beta=beta, **kw), **repeats(T))
        rows.append(timing_row(op=OP, impl="fla.chunk_gated_delta_rule", T=T, ms=ms, bytes_moved=moved, peak=peak))
    _, state = chunk_gated_delta_rule(q, k, v, g=g, beta=beta, output_final_state=True, **kw)
    last = [x[:, -1:] for x in (q, k, v, g, beta)]
    ms = measure(lambda: recurrent_gated_delta_rule(*last, initial_state=state, output_final_state=True, **kw))
    rows.append(timing_row(op=STEP, impl="longlens", T=T, ms=ms, bytes_moved=2 * state.numel() * 4, peak=peak))
    speedups(rows)
    return rows


def rows(*, quick: bool = False) -> list[dict]:
    """GPU timings for every length (see module docstring)."""
    peak = peak_bandwidth(torch.cuda.get_device_name(0))
    return sweep(OP, lambda T: rows_at(T, peak=peak), quick=quick)


def smoke() -> list[dict]:
    """Triton (natively on CUDA, else the interpreter) against the token-by-token twin at a small shape; fp32, grouped heads."""
    B_, T, HK, H_, K, V = 1, 200, 1, 2, 32, 32
    q, k, v = torch.randn(B_, T, HK, K), torch.randn(B_, T, HK, K), torch.randn(B_, T, H_, V)
    g, beta, h0 = F.logsigmoid(torch.randn(B_, T, H_)), torch.rand(B_, T, H_), torch.randn(B_, H_, K, V)
    device, impl = smoke_target()
    q, k, v, g, beta, h0 = (x.to(device) for x in (q, k, v, g, beta, h0))
    kw = dict(initial_state=h0, output_final_state=True)
    ref_o, ref_s = naive_recurrent_gated_delta_rule(q, k, v, g, beta, scale=K ** -0.5, use_qk_l2norm=True, **kw)
    Tr = 50  # the recurrent kernel is token by token: fewer tokens under the interpreter
    ref_or, ref_sr = naive_recurrent_gated_delta_rule(*(x[:, :Tr] for x in (q, k, v, g, beta)), scale=K ** -0.5,
                                                      use_qk_l2norm=True, **kw)
    with force_backend("triton"):
        o, s = chunk_gated_delta_rule(q, k, v, g, beta, use_qk_l2norm_in_kernel=True, **kw)
        o_r, s_r = recurrent_gated_delta_rule(*(x[:, :Tr] for x in (q, k, v, g, beta)),
                                              use_qk_l2norm_in_kernel=True, **kw)
    shape = f"B{B_} HK{HK} H{H_} K{K} V{V}"
    out = []
    for op, t, (a, b), (c, d) in ((OP, T, (o, ref_o), (s, ref_s)),
                                  ("recurrent_gated_delta_rule", Tr, (o_r, ref_or), (s_r, ref_sr))):
        err_o, err_s = rel_err(a, b), rel_err(c, d)
        out.append({"op": op, "impl": impl, "T": t, "shape": shape, "rel_err_o": err_o,
                    "rel_err_state": err_s, "ok": max(err_o, err_s) < 1e-4})
    return out
