"""merge_attention: exact merge of two softmax-attention partials over disjoint key sets."""
from __future__ import annotations

import torch

from longlens.kernels.dispatch import backend_for
from longlens.kernels.ops.merge import naive

__all__ = ["merge_attention"]


def merge_attention(
    o1: torch.Tensor, lse1: torch.Tensor, o2: torch.Tensor, lse2: torch.Tensor, *, backend: str = "auto"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Combine attention over key set A (o1, lse1) and disjoint key set B (o2, lse2) into A ∪ B.

    o1, o2 [B, T, H, D] (same shape and dtype); lse1, lse2 [B, T, H] natural-log softmax normalisers
    (as `block_sparse_attention(..., return_lse=True)` returns). Exact: the result equals attention
    over A ∪ B. A side with lse = -inf (no key) is ignored; both -inf gives o = 0, lse = -inf.
    backend: "auto" | "triton" | "reference" (`longlens.kernels.dispatch`).
    Returns (o [B, T, H, D] in o1's dtype, lse [B, T, H] fp32).
    """
    if o1.dim() != 4 or o1.shape != o2.shape:
        raise ValueError(f"merge_attention: o1, o2 must be [B, T, H, D] of one shape, "
                         f"got {tuple(o1.shape)}, {tuple(o2.shape)}")
    if o1.dtype != o2.dtype:
        raise ValueError(f"merge_attention: o1 and o2 must share a dtype, got {o1.dtype}, {o2.dtype}")
    if lse1.shape != o1.shape[:3] or lse2.shape != o1.shape[:3]:
        raise ValueError(
            f"merge_attention: lse1, lse2 must be [B, T, H] = {tuple(o1.shape[:3])}, "
            f"got {tuple(lse1.shape)}, {tuple(lse2.shape)}"
        )
    if backend_for(o1, lse1, o2, lse2, backend=backend) == "triton":
        from longlens.kernels.ops.merge.kernel import merge_fwd

        return merge_fwd(o1, lse1, o2, lse2)
    return naive.merge_attention(o1, lse1, o2, lse2)
