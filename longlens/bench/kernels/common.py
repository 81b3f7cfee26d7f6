"""Benchmark pieces shared by the linear-attention family: lengths, the SDPA and flash-linear-attention
baselines, and a sweep over T that stops at the first out-of-memory.

Shapes follow the issue: B = 1, H = 16, head dim 128, bf16 inputs, fp32 log gates, random inputs.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import logging
from collections.abc import Callable

import torch
import torch.nn.functional as F

from longlens.bench.kernels import measure, timing_row

log = logging.getLogger(__name__)

B, H, D = 1, 16, 128
LENGTHS = (4096, 16384, 65536, 131072, 262144, 1048576)
QUICK_LENGTHS = (4096, 16384)
SDPA_MAX_T = 262144  # causal SDPA is quadratic: 1M tokens would take minutes per op


def lengths(quick: bool) -> tuple[int, ...]:
    return QUICK_LENGTHS if quick else LENGTHS


def repeats(T: int) -> dict:
    """Fewer repeats for the longest sequences (each run is already long)."""
    return dict(warmup=1, repeat=3) if T >= 262144 else dict(warmup=3, repeat=10)


def fla_function(name: str) -> Callable | None:
    """flash-linear-attention's `fla.ops.<name>` taking [B, T, H, D] inputs, when that package is installed."""
    try:
        fn = getattr(importlib.import_module("fla.ops"), name)
    except (ImportError, AttributeError):
        return None
    if "head_first" in inspect.signature(fn).parameters:  # older releases defaulted to [B, H, T, D]
        return functools.partial(fn, head_first=False)
    return fn


def sdpa_rows(op: str, step_op: str, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
              peak: float | None) -> list[dict]:
    """Causal SDPA prefill (T <= SDPA_MAX_T) as `op`, and one-token SDPA decode against a T-token KV cache
    as `step_op`, at the shape of q, k, v [B, T, H, D]."""
    T = q.shape[1]
    qh, kh, vh = (x.transpose(1, 2) for x in (q, k, v))  # [B, H, T, D] views
    rows = []
    if T <= SDPA_MAX_T:
        ms = measure(lambda: F.scaled_dot_product_attention(qh, kh, vh, is_causal=True), **repeats(T))
        rows.append(timing_row(op=op, impl="sdpa_causal", T=T, ms=ms, bytes_moved=4 * q.numel() * q.element_size(),
                               peak=peak))
    q1 = qh[:, :, -1:]
    ms = measure(lambda: F.scaled_dot_product_attention(q1, kh, vh))
    rows.append(timing_row(op=step_op, impl="sdpa_kv_cache", T=T, ms=ms,
                           bytes_moved=2 * k.numel() * k.element_size(), peak=peak))
    return rows


def sweep(op: str, rows_at: Callable[..., list[dict]], *, quick: bool,
          peak: Callable[[str], float | None] | None = None) -> list[dict]:
    """rows_at(T) for each length (rows_at(T, peak=peak(GPU name)) when a `peak` table is given), freeing GPU
    memory in between; stops at the first out-of-memory."""
    extra = {} if peak is None else {"peak": peak(torch.cuda.get_device_name(0))}
    out: list[dict] = []
    for T in lengths(quick):
        try:
            out += rows_at(T, **extra)
        except torch.cuda.OutOfMemoryError:
            log.warning("%s: out of memory at T=%d; longer sequences skipped", op, T)
            out.append({"op": op, "impl": "longlens", "T": T, "note": "out of memory: this and longer T skipped"})
            break
        finally:
            torch.cuda.empty_cache()
    return out


def speedups(rows: list[dict], ours: str = "longlens") -> None:
    """Add `x_<impl>` (baseline ms / our ms) to our rows, per op and T, in place."""
    mine = {(r["op"], r["T"]): r for r in rows if r.get("impl") == ours and "ms" in r}
    for r in rows:
        base = mine.get((r["op"], r["T"]))
        if r.get("impl") != ours and "ms" in r and base is not None:
            base[f"x_{r['impl']}"] = r["ms"] / base["ms"]


def smoke_target() -> tuple[str, str, str]:
    """(device, backend, label) of the correctness smoke: Triton natively on CUDA; on CPU Triton's interpreter when
    it was switched on before start (TRITON_INTERPRET=1), else the chunked PyTorch path (nothing switches the
    interpreter on from here: it is process-wide)."""
    from longlens.kernels.dispatch import interpreter_on

    if torch.cuda.is_available():
        return "cuda", "triton", "triton"
    return ("cpu", "triton", "triton-interpreter") if interpreter_on() else ("cpu", "reference", "reference")


def smoke_inputs(*shapes: tuple[int, ...], device: str, seed: int = 0) -> list[torch.Tensor]:
    """Standard-normal fp32 tensors of `shapes` on `device`, the same on every run (seeded)."""
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, generator=gen).to(device) for shape in shapes]


def smoke_row(op: str, impl: str, T: int, shape: str, **pairs: tuple[torch.Tensor, torch.Tensor] | str) -> dict:
    """One smoke row: `rel_err_<name>` of each (ours, reference) pair, `ok` when all are below 1e-4; string
    values (e.g. check=...) are copied as they are."""
    row = {"op": op, "impl": impl, "T": T, "shape": shape}
    errs = {f"rel_err_{name}": rel_err(*pair) for name, pair in pairs.items() if not isinstance(pair, str)}
    row.update({name: v for name, v in pairs.items() if isinstance(v, str)}, **errs)
    row["ok"] = max(errs.values()) < 1e-4
    return row


def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    """||out - ref|| / ||ref|| in fp64."""
    out, ref = out.double().cpu(), ref.double().cpu()
    return ((out - ref).norm() / ref.norm()).item()
