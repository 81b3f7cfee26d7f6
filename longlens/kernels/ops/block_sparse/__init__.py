"""Block-sparse softmax attention: attention sinks + local window + content top-k key blocks.

`block_sparse_attention` runs the Triton kernel (kernel.py) or the PyTorch reference (naive.py), as `backend`
says (`longlens.kernels.dispatch`); both visit exactly the blocks `select_blocks` returns.
"""
from __future__ import annotations

import torch

from longlens.kernels.dispatch import backend_for
from longlens.kernels.ops.block_sparse import naive
from longlens.kernels.ops.block_sparse.select import (
    block_indices,
    check_block_size,
    indices_to_mask,
    mask_to_indices,
    normalize_block_mask,
    select_blocks,
)
from longlens.kernels.ops.common.attention_checks import check_qkv, default_scale

__all__ = ["block_sparse_attention", "select_blocks", "block_indices"]


def block_sparse_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    block_size: int = 64,
    sink_blocks: int = 1,
    window_blocks: int = 8,
    topk_blocks: int = 8,
    causal: bool = True,
    scale: float | None = None,
    block_mask: torch.Tensor | None = None,
    return_lse: bool = False,
    backend: str = "auto",
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Softmax attention over a selected set of key blocks per query block and head.

    q [B, Tq, Hq, D], k/v [B, Tk, Hkv, D], Tq <= Tk, queries the last Tq positions (decode: Tq = 1),
    Hq a multiple of Hkv (GQA). Key blocks are [j*bs, (j+1)*bs) in absolute positions; query blocks
    follow the same absolute boundaries. Without `block_mask` each query block visits its diagonal
    block, `window_blocks` blocks before it, `sink_blocks` first blocks and `topk_blocks` more by
    mean-pooled query/key similarity (`select_blocks` gives the exact set). With `block_mask` (bool,
    broadcastable to [B, Hq, nQ, nK]) exactly those blocks (intersected with causal) are visited;
    a query row with no visible key then gets o = 0 and lse = -inf. `scale` defaults to D^-0.5.
    backend: "auto" | "triton" | "reference" (`longlens.kernels.dispatch`).

    Returns o [B, Tq, Hq, D] in q's dtype, and with return_lse also lse [B, Tq, Hq] fp32 (natural
    log of the softmax normaliser of the scaled scores), so partials over disjoint key sets merge
    exactly with `merge_attention`.
    """
    B, Tq, Tk, Hq, Hkv, D = check_qkv(q, k, v, op="block_sparse_attention")
    check_block_size(block_size)
    scale = default_scale(scale, D)
    backend = backend_for(q, k, v, backend=backend)
    if block_mask is not None:
        mask = normalize_block_mask(block_mask.to(q.device), B, Hq, Tq, Tk, block_size, causal)
        idx, counts = mask_to_indices(mask) if backend == "triton" else (None, None)
    else:
        idx, counts = block_indices(
            q, k, block_size=block_size, sink_blocks=sink_blocks, window_blocks=window_blocks,
            topk_blocks=topk_blocks, causal=causal,
        )
        mask = indices_to_mask(idx, counts, -(-Tk // block_size)) if backend == "reference" else None
    if backend == "triton":
        from longlens.kernels.ops.block_sparse.kernel import block_sparse_fwd

        o, lse = block_sparse_fwd(q, k, v, idx, counts, block_size=block_size, causal=causal, scale=scale)
    else:
        o, lse = naive.block_sparse_attention(q, k, v, mask, block_size=block_size, causal=causal, scale=scale)
    return (o, lse) if return_lse else o
