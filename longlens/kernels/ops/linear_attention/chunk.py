"""Triton forward of chunked (decayed) linear attention: chunk-start states, then all chunk outputs in parallel.

Inputs are the already-checked public arguments, with log_decay expanded to [B, T, H] fp32 (or None).
"""
from __future__ import annotations

import torch

from longlens.kernels.ops.common.chunk_h import chunk_fwd_h
from longlens.kernels.ops.common.chunk_o import chunk_fwd_o
from longlens.kernels.ops.common.fused_recurrent import fused_recurrent_fwd


def chunk_linear_attention_fwd(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    g: torch.Tensor | None,
    scale: float,
    initial_state: torch.Tensor | None,
    output_final_state: bool,
    chunk_size: int,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """q, k: [B, T, H, K]; v: [B, T, H, V]; g: [B, T, H] log decay; state [B, H, K, V] -> (o [B, T, H, V], state fp32)."""
    q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
    h, ht, _ = chunk_fwd_h(k, v, g=g, w=None, initial_state=initial_state,
                           output_final_state=output_final_state, chunk_size=chunk_size)
    o = chunk_fwd_o(q, k, v, h, g=g, scale=scale, chunk_size=chunk_size, out_dtype=q.dtype)
    return o, ht


def linear_attention_step_fwd(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    state: torch.Tensor | None,
    *,
    g: torch.Tensor | None,
    scale: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One token: q, k [B, H, K]; v [B, H, V]; g [B, H]; state [B, H, K, V] -> (o [B, H, V], state fp32)."""
    o, ht = fused_recurrent_fwd(
        q[:, None].contiguous(), k[:, None].contiguous(), v[:, None].contiguous(),
        g=None if g is None else g[:, None].contiguous(), beta=None, scale=scale,
        initial_state=state, output_final_state=True,
    )
    return o[:, 0], ht
