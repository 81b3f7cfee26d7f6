"""`longlens bench kernels` for block-sparse and hybrid attention: the CPU smoke, and the GPU timing rows'
code path run on small CPU tensors (the timings there mean nothing; the rows' shape does)."""
from __future__ import annotations

import pytest
import torch

from longlens.bench import kernels as kbench
from longlens.bench.kernels import block_sparse as bs_bench
from longlens.bench.kernels import common as common_bench
from longlens.bench.kernels import hybrid as hy_bench


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a CUDA machine the smoke runs natively (covered by the GPU run)")
def test_smoke_rows_are_accurate():
    rows = bs_bench.smoke() + hy_bench.smoke()
    assert {r["op"] for r in rows} == {"block_sparse_attention", "merge_attention", "hybrid_attention",
                                       "hybrid_attention_step"}
    for r in rows:
        assert r["ok"] and r["rel_err_o"] < 1e-4, r
    assert 0 < rows[0]["visited"] < 1  # the sparse smoke really skips blocks


def test_timing_rows_have_the_promised_columns(monkeypatch):
    """rows_at on CPU tensors (interpreter for our kernel), one timed run each at a fixed 2 ms."""
    for module in (bs_bench, hy_bench, common_bench):
        monkeypatch.setattr(module, "measure", lambda fn, **kw: (fn(), 2.0)[1])
    rows = bs_bench.rows_at(128, peak=1e12, device="cpu", heads=2, dim=16)
    by_impl = {(r["op"], r["impl"]): r for r in rows}
    ours = by_impl[("block_sparse_attention", "longlens")]
    assert {("block_sparse_attention", "sdpa_causal"), ("block_sparse_attention_step", "longlens"),
            ("block_sparse_attention_step", "sdpa_kv_cache")} <= set(by_impl)
    flops = 4 * 16 * 64 * 64 * 2 * 3  # 2 heads x 3 causal block pairs of 64 at T = 128 (all visited)
    assert ours["tflops"] == pytest.approx(flops / 2.0 / 1e9)
    assert ours["compute_roofline"] == pytest.approx(flops / 2e-3 / 1e12)
    assert ours["sparsity"] == 0.0 and ours["x_sdpa_causal"] == 1.0 and "select_ms" in ours
    hy = hy_bench.rows_at(96, device="cpu", heads=2, dim=16, cfg=dict(window=32, sink=4, feature_map="elu1"))
    by_impl = {(r["op"], r["impl"]): r for r in hy}
    assert {("hybrid_attention", "longlens"), ("hybrid_attention", "sdpa_causal"),
            ("hybrid_attention_step", "longlens"), ("hybrid_attention_step", "sdpa_kv_cache")} <= set(by_impl)
    assert by_impl[("hybrid_attention", "longlens")]["window_ms"] == 2.0


def test_peak_flops_table():
    assert kbench.peak_bf16_flops("NVIDIA H200") == 989e12
    assert kbench.peak_bf16_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert kbench.peak_bf16_flops("NVIDIA H100 PCIe") == 756e12
    assert kbench.peak_bf16_flops("Some Future GPU") is None
