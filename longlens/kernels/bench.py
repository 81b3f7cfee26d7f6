"""`longlens bench kernels`: timings of our kernels against SDPA and other baselines.

Each op folder contributes a `bench.py` with `rows(*, quick: bool) -> list[dict]` (GPU timings) and
`smoke() -> list[dict]` (a small correctness check that also runs on CPU); `run` collects them.
`measure` is the one timer everybody uses: warm-ups, then the median of repeats (CUDA events on GPU).
"""
from __future__ import annotations

import importlib
import statistics
import time
from typing import Callable

import torch

# op bench modules, in report order; each op adds its own.
OP_BENCHES: tuple[str, ...] = ()


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


def run(*, quick: bool = False) -> dict:
    """GPU: timings of every op. CPU: says no GPU is present and runs the correctness smoke instead."""
    rows: list[dict] = []
    notes: list[str] = []
    gpu = torch.cuda.is_available()
    if not gpu:
        notes.append("no GPU present: ran the correctness smoke (Triton interpreter vs reference), no timings")
    for name in OP_BENCHES:
        mod = importlib.import_module(name)
        rows += mod.rows(quick=quick) if gpu else mod.smoke()
    return {"rows": rows, "notes": notes}
