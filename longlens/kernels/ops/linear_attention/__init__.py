"""Decayed linear attention (Lightning Attention-2 / simple GLA): chunked forward and the one-token decode step.

Recurrence, per batch and head (state S [K, V] fp32, log decay g_t <= 0):
    S_t = exp(g_t) * S_{t-1} + k_t^T v_t,    o_t = scale * q_t S_t,    scale defaults to K**-0.5.

The implementations (Triton kernels, PyTorch twins) are the linear-attention family's, in `ops/common`;
`backend` picks one ("auto" | "triton" | "reference", see `longlens.kernels.dispatch`).
"""
from __future__ import annotations

import torch

from longlens.kernels.ops.common.checks import check_chunk_size, check_qkv, check_state, default_scale
from longlens.kernels.ops.common.forward import forward

__all__ = ["linear_attention", "linear_attention_step"]


def _log_decay(log_decay: torch.Tensor | None, shapes: list[tuple[int, ...]], full: tuple[int, ...]):
    """None, or the log decay broadcast to `full` in fp32 (contiguous)."""
    if log_decay is None:
        return None
    if not isinstance(log_decay, torch.Tensor) or tuple(log_decay.shape) not in shapes:
        raise ValueError(f"log_decay must be None or have shape {' or '.join(map(str, shapes))}, "
                         f"got {getattr(log_decay, 'shape', type(log_decay))}")
    return log_decay.float().expand(full).contiguous()


def linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    log_decay: torch.Tensor | None = None,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    chunk_size: int = 64,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Causal linear attention with an optional decay, computed chunk by chunk.

    q, k: [B, T, H, K]; v: [B, T, H, V]; log_decay: None (no decay), [H] (per-head constant) or [B, T, H]
    (per token), all entries <= 0 (natural log of the decay factor); initial_state: [B, H, K, V] (any float
    dtype, used in fp32); chunk_size: a power of two in [16, 128] (the result does not depend on it);
    backend: "auto" | "triton" | "reference" (`longlens.kernels.dispatch`).
    Returns o [B, T, H, V] in q's dtype and the final state [B, H, K, V] fp32 (None unless
    output_final_state). Passing the returned state as `initial_state` of the next call continues the sequence.
    """
    B, T, HK, H, K, V = check_qkv(q, k, v)
    if HK != H:
        raise ValueError(f"linear_attention needs as many q/k heads as v heads, got {HK} and {H}")
    g = _log_decay(log_decay, [(H,), (B, T, H)], (B, T, H))
    check_state("initial_state", initial_state, B, H, K, V)
    check_chunk_size(chunk_size)
    return forward(q, k, v, g=g, beta=None, scale=default_scale(scale, K), initial_state=initial_state,
                   output_final_state=output_final_state, chunk_size=chunk_size, norm_qk=False, backend=backend)


def linear_attention_step(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    state: torch.Tensor | None,
    *,
    log_decay: torch.Tensor | None = None,
    scale: float | None = None,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    """One decode step, O(1) in the context length.

    q, k: [B, H, K]; v: [B, H, V]; state: [B, H, K, V] (None: zeros); log_decay: None, [H] or [B, H], <= 0;
    backend as `linear_attention`.
    Returns o [B, H, V] in q's dtype and the new state [B, H, K, V] fp32 (a new tensor; `state` is not changed).
    """
    for name, x in (("q", q), ("k", k), ("v", v)):
        if not isinstance(x, torch.Tensor) or x.dim() != 3:
            raise ValueError(f"{name} must be a 3-D tensor [B, H, D] (one token), got {getattr(x, 'shape', type(x))}")
    B, H, K, V = *q.shape, v.shape[-1]
    check_qkv(q[:, None], k[:, None], v[:, None])
    if v.shape[1] != H:
        raise ValueError(f"linear_attention_step needs as many q/k heads as v heads, got {H} and {v.shape[1]}")
    g = _log_decay(log_decay, [(H,), (B, H)], (B, H))
    check_state("state", state, B, H, K, V)
    o, state = forward(q[:, None], k[:, None], v[:, None], g=None if g is None else g[:, None], beta=None,
                       scale=default_scale(scale, K), initial_state=state, output_final_state=True, chunk_size=None,
                       norm_qk=False, backend=backend)
    return o[:, 0], state
