"""Plain-PyTorch fp32 twin of the block-sparse kernel: the explicit token mask, then softmax.

The CPU path and the test oracle. Memory is O(query chunk x Tk) per head (queries are processed in
chunks), so it also serves moderate sequence lengths on CPU.
"""
from __future__ import annotations

import torch

# elements of one score chunk [B, Hq, rows, Tk]
_CHUNK = 1 << 25


def block_sparse_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    block_mask: torch.Tensor,
    *,
    block_size: int,
    causal: bool,
    scale: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax attention restricted to the key blocks in `block_mask`.

    q [B, Tq, Hq, D], k/v [B, Tk, Hkv, D] (queries = the last Tq positions), block_mask bool
    [B, Hq, nQ, nK] over absolute blocks (query block r = absolute block (Tk - Tq) // bs + r).
    Returns o [B, Tq, Hq, D] (q's dtype) and lse [B, Tq, Hq] fp32 (natural log). A query row that sees
    no key gets o = 0 and lse = -inf.
    """
    B, Tq, Hq, D = q.shape
    Tk, Hkv = k.shape[1], k.shape[2]
    g = Hq // Hkv
    off = Tk - Tq
    a0 = off // block_size
    qf = q.float().transpose(1, 2)  # [B, Hq, Tq, D]
    kf = k.float().repeat_interleave(g, dim=2).transpose(1, 2)  # [B, Hq, Tk, D]
    vf = v.float().repeat_interleave(g, dim=2).transpose(1, 2)
    kpos = torch.arange(Tk, device=q.device)
    o = torch.empty(B, Hq, Tq, D, dtype=torch.float32, device=q.device)
    lse = torch.empty(B, Hq, Tq, dtype=torch.float32, device=q.device)
    rows = max(1, _CHUNK // max(1, B * Hq * Tk))
    for i0 in range(0, Tq, rows):
        i1 = min(Tq, i0 + rows)
        qpos = off + torch.arange(i0, i1, device=q.device)
        allowed = block_mask[:, :, qpos // block_size - a0][..., kpos // block_size]  # [B, Hq, r, Tk]
        if causal:
            allowed = allowed & (kpos[None, :] <= qpos[:, None])
        s = torch.einsum("bhid,bhjd->bhij", qf[:, :, i0:i1], kf) * scale
        s = s.masked_fill(~allowed, float("-inf"))
        l = torch.logsumexp(s, dim=-1)  # -inf where nothing allowed
        p = torch.exp(s - torch.where(torch.isfinite(l), l, torch.zeros_like(l))[..., None])
        o[:, :, i0:i1] = p @ vf
        lse[:, :, i0:i1] = l
    return o.transpose(1, 2).to(q.dtype), lse.transpose(1, 2).contiguous()
