"""`longlens bench kernels`: the CPU smoke end to end through the CLI, and the GPU timing rows' code path run on
small CPU tensors (the timings there mean nothing; the rows' shape does)."""
from __future__ import annotations

import json

import pytest
import torch

from longlens.bench import kernels as kbench
from longlens.bench.kernels import block_sparse as bs_bench
from longlens.bench.kernels import common as common_bench
from longlens.bench.kernels import gated_delta_rule as gdr_bench
from longlens.bench.kernels import hybrid as hy_bench
from longlens.bench.kernels import linear_attention as la_bench


@pytest.fixture
def fixed_time(monkeypatch):
    """Every `measure` runs its function once and reports 2 ms."""
    for module in (la_bench, gdr_bench, bs_bench, hy_bench, common_bench):
        monkeypatch.setattr(module, "measure", lambda fn, **kw: (fn(), 2.0)[1])


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a CUDA machine `bench kernels` times the GPU instead")
def test_bench_cli_on_cpu_writes_accurate_smoke_rows(tmp_path, capsys):
    from longlens.cli import main

    out = tmp_path / "kernels.json"
    assert main(["bench", "kernels", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert not result["machine"]["cuda"] and any("no GPU" in n for n in result["notes"])
    rows = result["rows"]
    assert {r["op"] for r in rows} == {"linear_attention", "linear_attention_step", "chunk_gated_delta_rule",
                                       "recurrent_gated_delta_rule", "block_sparse_attention", "merge_attention",
                                       "hybrid_attention", "hybrid_attention_step"}
    assert all(r["ok"] and r["rel_err_o"] < 1e-4 for r in rows), rows
    assert {r["impl"] for r in rows} == {"triton-interpreter", "pytorch"}  # the tests run under the interpreter
    sparse = next(r for r in rows if r["op"] == "block_sparse_attention")
    assert 0 < sparse["visited"] < 1  # the sparse smoke really skips blocks
    assert "linear_attention" in capsys.readouterr().out


@pytest.mark.parametrize("mod, op, step", [(la_bench, "linear_attention", "linear_attention_step"),
                                           (gdr_bench, "chunk_gated_delta_rule", "recurrent_gated_delta_rule_step")])
def test_linear_family_rows_have_the_promised_columns(fixed_time, mod, op, step):
    rows = mod.rows_at(64, peak=1e12, device="cpu", backend="reference")
    by_impl = {(r["op"], r["impl"]): r for r in rows}
    ours = by_impl[(op, "longlens")]
    assert set(by_impl) >= {(op, "longlens"), (op, "sdpa_causal"), (step, "longlens"), (step, "sdpa_kv_cache")}
    assert ours["ms"] == 2.0 and ours["tokens_per_s"] == 64 / 2.0 * 1e3
    assert ours["GB_per_s"] > 0 and ours["roofline"] == pytest.approx(ours["GB_per_s"] * 1e9 / 1e12)
    assert ours["x_sdpa_causal"] == 1.0 and by_impl[(step, "longlens")]["x_sdpa_kv_cache"] == 1.0


def test_softmax_family_rows_have_the_promised_columns(fixed_time):
    """Block-sparse (its kernel through the interpreter) and hybrid rows, one timed run each at a fixed 2 ms."""
    rows = bs_bench.rows_at(128, peak=1e12, device="cpu", heads=2, dim=16, backend="reference")
    by_impl = {(r["op"], r["impl"]): r for r in rows}
    ours = by_impl[("block_sparse_attention", "longlens")]
    assert {("block_sparse_attention", "sdpa_causal"), ("block_sparse_attention_step", "longlens"),
            ("block_sparse_attention_step", "sdpa_kv_cache")} <= set(by_impl)
    flops = 4 * 16 * 64 * 64 * 2 * 3  # 2 heads x 3 causal block pairs of 64 at T = 128 (all visited)
    assert ours["tflops"] == pytest.approx(flops / 2.0 / 1e9)
    assert ours["compute_roofline"] == pytest.approx(flops / 2e-3 / 1e12)
    assert ours["sparsity"] == 0.0 and ours["x_sdpa_causal"] == 1.0 and "select_ms" in ours
    hy = hy_bench.rows_at(96, device="cpu", heads=2, dim=16, cfg=dict(window=32, sink=4, feature_map="elu1"),
                          backend="reference")
    by_impl = {(r["op"], r["impl"]): r for r in hy}
    assert {("hybrid_attention", "longlens"), ("hybrid_attention", "sdpa_causal"),
            ("hybrid_attention_step", "longlens"), ("hybrid_attention_step", "sdpa_kv_cache")} <= set(by_impl)
    assert by_impl[("hybrid_attention", "longlens")]["window_ms"] == 2.0


def test_smoke_without_gpu_or_interpreter_checks_the_chunked_path(monkeypatch):
    """Nothing switches the interpreter on: without it the smoke compares the chunked PyTorch path instead."""
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    if torch.cuda.is_available():
        pytest.skip("on CUDA the smoke runs Triton natively")
    rows = la_bench.smoke()
    assert {r["impl"] for r in rows} == {"reference"} and all(r["ok"] for r in rows)


def test_peak_tables():
    assert kbench.peak_bandwidth("NVIDIA H200") == 4.8e12
    assert kbench.peak_bandwidth("NVIDIA H100 80GB HBM3") == 3.35e12
    assert kbench.peak_bandwidth("NVIDIA H100 PCIe") == 2.0e12
    assert kbench.peak_bandwidth("Some Future GPU") is None
    assert kbench.peak_bf16_flops("NVIDIA H200") == 989e12
    assert kbench.peak_bf16_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert kbench.peak_bf16_flops("NVIDIA H100 PCIe") == 756e12
    assert kbench.peak_bf16_flops("Some Future GPU") is None


def test_plot_is_a_png_when_matplotlib_is_installed():
    import importlib.util

    rows = [kbench.timing_row(op=op, impl="longlens", T=T, ms=0.1 * T / 4096) for T in (4096, 16384)
            for op in ("linear_attention", "linear_attention_step")]
    png = kbench.plot_png(rows)
    if importlib.util.find_spec("matplotlib") is None:
        assert png is None
    else:
        assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_hub_writes_figures_beside_the_json(tmp_path, monkeypatch):
    import sys
    import types

    import longlens.bench as hub

    suite = types.SimpleNamespace(run=lambda quick: {"rows": [{"op": "x", "ms": 1.0}], "notes": [],
                                                      "figures": {"time-per-token": b"\x89PNG fake"}})
    monkeypatch.setitem(sys.modules, "longlens_fake_suite", suite)
    monkeypatch.setitem(hub.SUITES, "fake", "longlens_fake_suite:run")
    result = hub.bench("fake", out=tmp_path / "fake.json")
    png = tmp_path / "fake-time-per-token.png"
    assert png.read_bytes() == b"\x89PNG fake"
    assert result["figures"] == [str(png)]
    assert json.loads((tmp_path / "fake.json").read_text())["figures"] == [str(png)]
