"""Triton pieces of flash-style softmax attention, shared by the block-sparse and the hybrid window kernels:
row tiles in and out, and the online-softmax step (fp32 running max / sum / accumulator, exp2 with log2(e)
folded into the scale).

Numerics: every tile is upcast to fp32 right after loading. For 16-bit inputs on a GPU the two `tl.dot`
operands are cast back to the input dtype (exact for q, k; p rounds like FlashAttention) so the tensor cores
run at 16-bit rate; accumulation is fp32 throughout. fp32 inputs use IEEE fp32 dots.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from longlens.kernels.ops.common.utils import interpreting

LOG2E = 1.4426950408889634


def dot_dtype(dtype: torch.dtype, device: torch.device):
    """Triton dtype of the dot operands: the input's 16-bit type on a GPU, else fp32."""
    if device.type != "cuda" or interpreting():
        return tl.float32
    return {torch.bfloat16: tl.bfloat16, torch.float16: tl.float16}.get(dtype, tl.float32)


def bth_strides(*tensors: torch.Tensor) -> list[int]:
    """The batch, time and head strides of [B, T, H, D] tensors, in order: the kernels' stride arguments."""
    return [s for t in tensors for s in t.stride()[:3]]


@triton.jit
def load_rows(ptr, rows64, row_ok, offs_d, d_ok, stride):
    """fp32 tile [rows, BLOCK_D] of one (batch, head)'s [T, D] slice at `ptr` (row stride `stride`, int64 rows);
    rows or lanes out of range read 0."""
    return tl.load(ptr + rows64[:, None] * stride + offs_d[None, :], mask=row_ok[:, None] & d_ok[None, :],
                   other=0.0).to(tl.float32)


@triton.jit
def softmax_start(BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr):
    """Running max (-inf), sum (0) and accumulator (0) of BLOCK_M query rows."""
    return (tl.full([BLOCK_M], float("-inf"), tl.float32), tl.zeros([BLOCK_M], tl.float32),
            tl.zeros([BLOCK_M, BLOCK_D], tl.float32))


@triton.jit
def softmax_step(q, k, v, ok, m_i, l_i, acc, qk_scale, DOT: tl.constexpr, PREC: tl.constexpr):
    """One flash-attention step on fp32 tiles q [M, D], k/v [N, D] with bool ok [M, N] (log2 domain).

    Rows that have seen no allowed key keep m = -inf, l = 0, acc = 0 (no NaN: the max is made safe).
    """
    s = tl.dot(q.to(DOT), tl.trans(k.to(DOT)), input_precision=PREC) * qk_scale
    s = tl.where(ok, s, float("-inf"))
    m_new = tl.maximum(m_i, tl.max(s, 1))
    m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
    alpha = tl.exp2(m_i - m_safe)
    p = tl.exp2(s - m_safe[:, None])
    l_i = l_i * alpha + tl.sum(p, 1)
    acc = acc * alpha[:, None] + tl.dot(p.to(DOT), v.to(DOT), input_precision=PREC)
    return m_new, l_i, acc


@triton.jit
def softmax_store(o_ptr, lse_ptr, m_i, l_i, acc, rows64, row_ok, offs_d, d_ok, so, sl):
    """Normalise and store: o [rows, D] (in o_ptr's dtype) into one (batch, head)'s slice at o_ptr (row stride
    so), the natural-log LSE [rows] at lse_ptr (stride sl); a row that saw no key gets o = 0 and lse = -inf."""
    seen = l_i > 0.0
    l_safe = tl.where(seen, l_i, 1.0)
    o = acc / l_safe[:, None]
    lse = tl.where(seen, (m_i + tl.log2(l_safe)) * 0.6931471805599453, float("-inf"))
    tl.store(o_ptr + rows64[:, None] * so + offs_d[None, :], o.to(o_ptr.dtype.element_ty),
             mask=row_ok[:, None] & d_ok[None, :])
    tl.store(lse_ptr + rows64 * sl, lse, mask=row_ok)
