"""Block sizes, dot precision, launch configs and small shared pieces (head indices, q/k tiles) of the Triton kernels.

Under the Triton interpreter (TRITON_INTERPRET=1, CPU) there is exactly one config and no autotuning;
on a GPU a few warp/stage counts are autotuned per shape.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl


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


@triton.jit
def head_of(i_bh, H: tl.constexpr, HK: tl.constexpr):
    """(batch, value head, key head) of program row i_bh = batch * H + value head; each key head serves
    H // HK consecutive value heads."""
    i_b, i_h = i_bh // H, i_bh % H
    return i_b, i_h, i_h // (H // HK)


@triton.jit
def load_qk(x, i_b, i_hk, t, m_t, o_k, m_k, T, HK: tl.constexpr, K: tl.constexpr, NORM: tl.constexpr):
    """The fp32 [BT, BK] tile of q or k ([B, T, HK, K]) at key head i_hk and positions t; rows L2-normalised
    (eps 1e-6, as transformers' l2norm) when NORM."""
    b_x = tl.load(x + ((i_b * T + t[:, None]) * HK + i_hk) * K + o_k[None, :],
                  mask=m_t[:, None] & m_k[None, :], other=0.0).to(tl.float32)
    if NORM:
        b_x = b_x * tl.rsqrt(tl.sum(b_x * b_x, 1) + 1e-6)[:, None]
    return b_x
