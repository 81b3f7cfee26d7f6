"""Triton merge of two softmax partials: one program per block of (b, t, h) rows, fp32 math."""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from longlens.kernels.ops.common.utils import block


@triton.jit
def _merge_fwd(O1, L1, O2, L2, O, L, n_rows, D, ROWS: tl.constexpr, BLOCK_D: tl.constexpr):
    rows = tl.program_id(0).to(tl.int64) * ROWS + tl.arange(0, ROWS)  # rows * D passes 2^31 at long T
    r_ok = rows < n_rows
    offs_d = tl.arange(0, BLOCK_D)
    msk = r_ok[:, None] & (offs_d[None, :] < D)
    l1 = tl.load(L1 + rows, mask=r_ok, other=float("-inf")).to(tl.float32)
    l2 = tl.load(L2 + rows, mask=r_ok, other=float("-inf")).to(tl.float32)
    m = tl.maximum(l1, l2)
    m_safe = tl.where(m == float("-inf"), 0.0, m)
    w1 = tl.exp(l1 - m_safe)
    w2 = tl.exp(l2 - m_safe)
    tot = w1 + w2
    seen = tot > 0.0
    off = rows[:, None] * D + offs_d[None, :]
    o1 = tl.load(O1 + off, mask=msk, other=0.0).to(tl.float32)
    o2 = tl.load(O2 + off, mask=msk, other=0.0).to(tl.float32)
    num = tl.where(w1[:, None] > 0.0, w1[:, None] * o1, 0.0) + tl.where(w2[:, None] > 0.0, w2[:, None] * o2, 0.0)
    tot_safe = tl.where(seen, tot, 1.0)
    tl.store(O + off, (num / tot_safe[:, None]).to(O.dtype.element_ty), mask=msk)
    tl.store(L + rows, tl.where(seen, m_safe + tl.log(tot_safe), float("-inf")), mask=r_ok)


def merge_fwd(o1, lse1, o2, lse2) -> tuple[torch.Tensor, torch.Tensor]:
    """o1, o2 [B, T, H, D]; lse1, lse2 [B, T, H]. Returns o (o1's dtype), lse fp32 (see naive.py)."""
    D = o1.shape[-1]
    o1, o2 = o1.contiguous(), o2.contiguous()
    lse1, lse2 = lse1.contiguous(), lse2.contiguous()
    n_rows = lse1.numel()
    o = torch.empty(*o1.shape, dtype=o1.dtype, device=o1.device)
    lse = torch.empty(*lse1.shape, dtype=torch.float32, device=o1.device)
    rows = 16
    _merge_fwd[(triton.cdiv(n_rows, rows),)](
        o1, lse1, o2, lse2, o, lse, n_rows, D, ROWS=rows, BLOCK_D=block(D)
    )
    return o, lse
