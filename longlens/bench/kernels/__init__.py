"""`longlens bench kernels`: timings of our kernels against SDPA and other baselines.

Each op has a module here (OP_BENCHES) with `OP`, `rows_at(T, ...) -> list[dict]` (GPU timings at one length),
`PEAK` (the peak table its `peak` argument comes from, or None) and `smoke() -> list[dict]` (a small correctness
check that also runs on CPU); `run` sweeps the lengths or runs the smokes.
`measure` is the one timer everybody uses: warm-ups, then the median of repeats (CUDA events on GPU);
`timing_row` turns a time into ms, tokens/s, GB/s and the fraction of the GPU's memory-bandwidth roofline.
On GPU, `run` also returns a PNG plot under "figures" (written beside the JSON by the bench hub).
"""
from __future__ import annotations

import importlib
import io
import statistics
import time
from collections.abc import Callable

import torch

# op bench modules, in report order; each op adds its own.
OP_BENCHES: tuple[str, ...] = (
    "longlens.bench.kernels.linear_attention",
    "longlens.bench.kernels.gated_delta_rule",
    "longlens.bench.kernels.block_sparse",
    "longlens.bench.kernels.hybrid",
)

# Peak memory bandwidth (bytes/s) by GPU name, first substring match wins (vendor data sheets).
PEAK_BANDWIDTH: tuple[tuple[str, float | None], ...] = (
    ("GH200", None),  # two memory configurations under one name
    ("H200", 4.8e12),
    ("H100 PCIe", 2.0e12),
    ("H100 NVL", 3.9e12),
    ("H100", 3.35e12),  # SXM, HBM3
    ("A100-SXM4-80GB", 2.039e12),
    ("A100-PCIE-80GB", 1.935e12),
    ("A100", 1.555e12),  # 40 GB parts
    ("L40S", 8.64e11),
    ("RTX 4090", 1.008e12),
)

# Peak dense bf16 tensor-core throughput (FLOP/s, fp32 accumulate, no sparsity) by GPU name, first match wins.
PEAK_BF16_FLOPS: tuple[tuple[str, float | None], ...] = (
    ("GH200", 989e12),
    ("H200", 989e12),
    ("H100 PCIe", 756e12),
    ("H100 NVL", 835e12),
    ("H100", 989e12),  # SXM
    ("A100", 312e12),
    ("L40S", 362e12),
    ("RTX 4090", 165e12),
)


def measure(fn: Callable[[], object], *, warmup: int = 3, repeat: int = 10) -> float:
    """Median wall time of `fn()` in milliseconds (CUDA events when CUDA is available)."""
    for _ in range(warmup):
        fn()
    times = []
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        for _ in range(repeat):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
    else:
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def peak_bandwidth(gpu_name: str) -> float | None:
    """Peak memory bandwidth in bytes/s of the named GPU, or None when it is not in PEAK_BANDWIDTH."""
    for key, bandwidth in PEAK_BANDWIDTH:
        if key.lower() in gpu_name.lower():
            return bandwidth
    return None


def peak_bf16_flops(gpu_name: str) -> float | None:
    """Peak dense bf16 FLOP/s of the named GPU, or None when it is not in PEAK_BF16_FLOPS."""
    for key, flops in PEAK_BF16_FLOPS:
        if key.lower() in gpu_name.lower():
            return flops
    return None


def timing_row(*, op: str, impl: str, T: int, ms: float, bytes_moved: float | None = None,
               peak: float | None = None, **extra) -> dict:
    """One benchmark row: time (ms), tokens/s, achieved GB/s for `bytes_moved` and its fraction of `peak`."""
    row = {"op": op, "impl": impl, "T": T, "ms": ms, "tokens_per_s": T / ms * 1e3}
    if bytes_moved is not None:
        row["GB_per_s"] = bytes_moved / ms / 1e6
        row["roofline"] = bytes_moved / (ms / 1e3) / peak if peak else None
    return {**row, **extra}


def plot_png(rows: list[dict]) -> bytes | None:
    """PNG with two log-log panels: prefill ms per 1k tokens vs T, and decode-step ms vs T (rows whose op ends
    in "_step"); one line per op and implementation. None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    panels: list[dict[str, list[tuple[int, float]]]] = [{}, {}]
    for r in rows:
        if r.get("ms") is None or not r.get("T"):
            continue
        step = r["op"].endswith("_step")
        y = r["ms"] if step else r["ms"] / r["T"] * 1e3
        panels[step].setdefault(f"{r['op']} / {r['impl']}", []).append((r["T"], y))
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    titles = ("prefill: time per token (flat = constant per token)", "decode: one step after T tokens")
    for ax, lines, title, ylabel in zip(axes, panels, titles, ("ms per 1k tokens", "ms per step")):
        for label, points in lines.items():
            xs, ys = zip(*sorted(points))
            ax.plot(xs, ys, marker="o", label=label)
        ax.set(xscale="log", yscale="log", xlabel="sequence length T (tokens)", ylabel=ylabel, title=title)
        ax.grid(True, which="both", alpha=0.3)
        if lines:
            ax.legend(fontsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def run(*, quick: bool = False) -> dict:
    """GPU: timings of every op. CPU: says no GPU is present and runs the correctness smoke instead."""
    rows: list[dict] = []
    notes: list[str] = []
    gpu = torch.cuda.is_available()
    if not gpu:
        from longlens.bench.kernels.common import smoke_target

        notes.append("no GPU present: ran the correctness smoke, no timings; " + (
            "Triton interpreter vs reference" if smoke_target()[1] == "triton" else
            "chunked PyTorch path vs the token-by-token reference (start with TRITON_INTERPRET=1 to check the Triton "
            "kernels in Triton's interpreter)"))
    from longlens.bench.kernels.common import sweep

    for name in OP_BENCHES:
        mod = importlib.import_module(name)
        rows += sweep(mod.OP, mod.rows_at, quick=quick, peak=mod.PEAK) if gpu else mod.smoke()
    result = {"rows": rows, "notes": notes}
    if gpu:
        gpu_name = torch.cuda.get_device_name(0)
        peak = peak_bandwidth(gpu_name)
        notes.append(f"roofline: achieved GB/s (minimum traffic: inputs read once, outputs written once) over "
                     f"{gpu_name}'s peak {peak / 1e12:.2f} TB/s" if peak else
                     f"peak memory bandwidth of {gpu_name} is unknown: no roofline fraction")
        flops = peak_bf16_flops(gpu_name)
        notes.append(f"compute_roofline: TFLOP/s (block-sparse: on the visited blocks) over {gpu_name}'s dense bf16 "
                     f"peak {flops / 1e12:.0f} TFLOP/s" if flops else
                     f"dense bf16 peak of {gpu_name} is unknown: no compute_roofline fraction")
        png = plot_png(rows)
        if png is None:
            notes.append("matplotlib is not installed: no plot (pip install matplotlib)")
        else:
            result["figures"] = {"time-per-token": png}
    return result
