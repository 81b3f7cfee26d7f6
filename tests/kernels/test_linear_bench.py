"""`longlens bench kernels` for the linear-attention family: the CPU smoke end to end, and the GPU timing rows'
code path run on CPU tensors with the reference backend (the timings there mean nothing; the rows' shape does)."""
from __future__ import annotations

import json

import pytest
import torch

from longlens.bench import kernels as kbench
from longlens.bench.kernels import common as common_bench
from longlens.bench.kernels import gated_delta_rule as gdr_bench
from longlens.bench.kernels import linear_attention as la_bench


def test_smoke_rows_are_accurate():
    rows = la_bench.smoke() + gdr_bench.smoke()
    assert {r["op"] for r in rows} == {"linear_attention", "linear_attention_step", "chunk_gated_delta_rule",
                                       "recurrent_gated_delta_rule"}
    for r in rows:
        assert r["ok"] and r["rel_err_o"] < 1e-4 and r["rel_err_state"] < 1e-4, r


@pytest.mark.parametrize("mod, op, step", [(la_bench, "linear_attention", "linear_attention_step"),
                                           (gdr_bench, "chunk_gated_delta_rule", "recurrent_gated_delta_rule_step")])
def test_timing_rows_have_the_promised_columns(monkeypatch, mod, op, step):
    monkeypatch.setenv("LONGLENS_KERNELS", "reference")
    for module in (mod, common_bench):  # one run each, a fixed time
        monkeypatch.setattr(module, "measure", lambda fn, **kw: (fn(), 2.0)[1])
    rows = mod.rows_at(64, peak=1e12, device="cpu")
    by_impl = {(r["op"], r["impl"]): r for r in rows}
    ours = by_impl[(op, "longlens")]
    assert set(by_impl) >= {(op, "longlens"), (op, "sdpa_causal"), (step, "longlens"), (step, "sdpa_kv_cache")}
    assert ours["ms"] == 2.0 and ours["tokens_per_s"] == 64 / 2.0 * 1e3
    assert ours["GB_per_s"] > 0 and ours["roofline"] == pytest.approx(ours["GB_per_s"] * 1e9 / 1e12)
    assert ours["x_sdpa_causal"] == 1.0 and by_impl[(step, "longlens")]["x_sdpa_kv_cache"] == 1.0


def test_peak_bandwidth_table():
    assert kbench.peak_bandwidth("NVIDIA H200") == 4.8e12
    assert kbench.peak_bandwidth("NVIDIA H100 80GB HBM3") == 3.35e12
    assert kbench.peak_bandwidth("NVIDIA H100 PCIe") == 2.0e12
    assert kbench.peak_bandwidth("Some Future GPU") is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a CUDA machine `bench kernels` times the GPU instead")
def test_bench_cli_on_cpu_writes_smoke_rows(tmp_path, capsys):
    from longlens.cli import main

    out = tmp_path / "kernels.json"
    assert main(["bench", "kernels", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert not result["machine"]["cuda"] and any("no GPU" in n for n in result["notes"])
    linear = [r for r in result["rows"] if "linear_attention" in r["op"] or "delta_rule" in r["op"]]
    assert len(linear) == 4 and all(r["ok"] for r in linear)
    assert "linear_attention" in capsys.readouterr().out


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
