"""Plain-PyTorch fp32 twin of merge_attention: the CPU path and the test oracle."""
from __future__ import annotations

import torch


def merge_attention(
    o1: torch.Tensor, lse1: torch.Tensor, o2: torch.Tensor, lse2: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Merge two softmax partials over disjoint key sets.

    o1, o2 [B, T, H, D]; lse1, lse2 [B, T, H] (natural log). With w_i = exp(lse_i - max):
    o = (w1 o1 + w2 o2) / (w1 + w2), lse = max + log(w1 + w2). A side with lse = -inf contributes
    nothing (its o is ignored, even if not finite); both -inf gives o = 0, lse = -inf.
    Returns o in o1's dtype and lse fp32.
    """
    l1, l2 = lse1.float(), lse2.float()
    m = torch.maximum(l1, l2)
    m_safe = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    w1 = torch.exp(l1 - m_safe)  # 0 where lse1 = -inf
    w2 = torch.exp(l2 - m_safe)
    tot = w1 + w2
    num = torch.where(w1[..., None] > 0, w1[..., None] * o1.float(), 0.0) + torch.where(
        w2[..., None] > 0, w2[..., None] * o2.float(), 0.0
    )
    o = num / torch.where(tot > 0, tot, torch.ones_like(tot))[..., None]
    lse = torch.where(tot > 0, m_safe + torch.log(torch.where(tot > 0, tot, torch.ones_like(tot))), float("-inf"))
    return o.to(o1.dtype), lse
