"""Benchmarks of hybrid attention: GPU timings (`rows_at`) and the CPU correctness smoke (`smoke`).

GPU: B=1, H=32, d=128, bf16; hybrid (window 512, sink 4, taylor2) vs causal SDPA; `window_ms` is the
Triton sinks + window softmax part alone, the rest of `ms` the PyTorch linear branch (chunked fp32
matmuls over 1 + d + d² = 16513 features) and the merge; decode (`hybrid_attention_step` after T tokens)
vs SDPA against a KV cache of T tokens.
"""
from __future__ import annotations

import torch

from longlens.bench.kernels import measure, timing_row
from longlens.bench.kernels.common import repeats, sdpa_rows, smoke_inputs, smoke_row, smoke_target, speedups
from longlens.kernels.ops.hybrid import HybridCache, HybridRule, hybrid_attention, hybrid_attention_step, naive

PEAK = None  # `rows_at` takes no peak
OP, STEP = "hybrid_attention", "hybrid_attention_step"
B, H, D = 1, 32, 128
CFG = dict(window=512, sink=4, feature_map="taylor2")


def rows_at(T: int, *, device: str = "cuda", heads: int = H, dim: int = D, cfg: dict = CFG,
            backend: str = "auto") -> list[dict]:
    """Timing rows at sequence length T: ours (and its softmax part), SDPA, and the decode step after T tokens."""
    from longlens.kernels.ops.hybrid.cache import context
    from longlens.kernels.ops.hybrid.kernel import window_fwd

    q, k, v = (torch.randn(B, T, heads, dim, device=device, dtype=torch.bfloat16) for _ in range(3))
    ms = measure(lambda: hybrid_attention(q, k, v, backend=backend, **cfg), **repeats(T))
    ctx = context(None, k, v, cfg["sink"])
    window_ms = measure(lambda: window_fwd(q, ctx, window=cfg["window"], scale=dim ** -0.5), **repeats(T))
    rows = [timing_row(op=OP, impl="longlens", T=T, ms=ms, window_ms=window_ms)]
    rows += sdpa_rows(OP, STEP, q, k, v, None)
    _, cache = hybrid_attention(q, k, v, output_final_state=True, backend=backend, **cfg)
    q1, k1, v1 = q[:, -1:], k[:, -1:], v[:, -1:]
    step_ms = measure(lambda: hybrid_attention_step(q1, k1, v1, cache))  # advances the cache; cost is flat in T
    rows.append(timing_row(op=STEP, impl="longlens", T=T, ms=step_ms))
    speedups(rows)
    return rows



def smoke() -> list[dict]:
    """Ours (Triton natively on CUDA, else the interpreter when on) against the explicit twin at a small shape;
    fp32."""
    T, d = 128, 32
    device, backend, impl = smoke_target()
    q, k, v = smoke_inputs((1, T, 4, d), (1, T, 2, d), (1, T, 2, d), device=device)
    cfg = dict(window=32, sink=4, feature_map="taylor2")
    ref_o, ref_cache = naive.hybrid_attention(q, k, v, HybridRule(**cfg, scale=d ** -0.5), output_final_state=True)
    o, cache = hybrid_attention(q, k, v, output_final_state=True, backend=backend, **cfg)
    step_cache = HybridCache.empty(1, 2, d, device=device, **cfg)
    steps = torch.cat([hybrid_attention_step(q[:, t:t + 1], k[:, t:t + 1], v[:, t:t + 1], step_cache)[0]
                       for t in range(T)], 1)
    shape = "Hq:Hkv 4:2 d32 window32 sink4 taylor2"
    return [
        smoke_row(OP, impl, T, shape, check="vs naive twin", o=(o, ref_o), state=(cache.state, ref_cache.state)),
        smoke_row(STEP, "pytorch", T, shape, check="T decode steps vs naive twin", o=(steps, ref_o),
                  state=(step_cache.state, ref_cache.state)),
    ]
