"""Block sizes, dot precision and launch configs for the Triton kernels.

Under the Triton interpreter (TRITON_INTERPRET=1, CPU) there is exactly one config and no autotuning;
on a GPU a few warp/stage counts are autotuned per shape.
"""
from __future__ import annotations

import torch
import triton


def interpreting() -> bool:
    return bool(triton.knobs.runtime.interpret)


def configs() -> list[triton.Config]:
    if interpreting():
        return [triton.Config({}, num_warps=4)]
    return [triton.Config({}, num_warps=w, num_stages=s) for w in (4, 8) for s in (2, 3)]


def block(d: int, cap: int | None = None) -> int:
    """A Triton block covering head dim `d`: a power of two >= 16 (extra lanes are masked), at most `cap`."""
    b = max(16, triton.next_power_of_2(d))
    return b if cap is None else min(b, cap)


def dot_precision(dtype: torch.dtype) -> str:
    """fp32 inputs get IEEE fp32 products; bf16/fp16 inputs (already rounded) get TF32 on the GPU."""
    return "ieee" if dtype == torch.float32 else "tf32"
