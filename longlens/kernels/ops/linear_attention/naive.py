"""Plain-PyTorch twins of decayed linear attention, in fp32 (the CPU path and the tests' oracle).

Recurrence (flash-linear-attention's simple-GLA convention), per batch and head:
    S_t = exp(g_t) * S_{t-1} + k_t^T v_t        S: [K, V] fp32
    o_t = scale * q_t S_t
"""
from __future__ import annotations

import torch


def naive_recurrent_linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    g: torch.Tensor | None,
    scale: float,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Token by token. q, k: [B, T, H, K]; v: [B, T, H, V]; g: [B, T, H] log decay or None;
    initial_state: [B, H, K, V]. Returns o [B, T, H, V] in q's dtype and the final state fp32 (or None)."""
    B, T, H, K = q.shape
    V = v.shape[-1]
    dtype = q.dtype
    q, k, v = (x.float() for x in (q, k, v))
    S = q.new_zeros(B, H, K, V) if initial_state is None else initial_state.float().clone()
    o = q.new_empty(B, T, H, V)
    for t in range(T):
        if g is not None:
            S = S * g[:, t].float().exp()[..., None, None]
        S = S + k[:, t, :, :, None] * v[:, t, :, None, :]
        o[:, t] = scale * torch.einsum("bhk,bhkv->bhv", q[:, t], S)
    return o.to(dtype), (S if output_final_state else None)


def naive_chunk_linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    g: torch.Tensor | None,
    scale: float,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    chunk_size: int = 64,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The chunked algorithm in PyTorch (same math as the Triton kernel, vectorised over chunks where it can):
    the fast CPU path. Same arguments and returns as `naive_recurrent_linear_attention`."""
    B, T, H, K = q.shape
    V = v.shape[-1]
    dtype = q.dtype
    C = chunk_size
    pad = (C - T % C) % C
    # [B, H, N, C, D] fp32, zero-padded to whole chunks (padded steps: k = v = 0, g = 0)
    q, k, v = (torch.nn.functional.pad(x.float().transpose(1, 2), (0, 0, 0, pad)) for x in (q, k, v))
    q, k, v = (x.reshape(B, H, -1, C, x.shape[-1]) for x in (q, k, v))
    if g is None:
        b = q.new_zeros(B, H, q.shape[2], C)
    else:
        b = torch.nn.functional.pad(g.float().transpose(1, 2), (0, pad)).reshape(B, H, -1, C).cumsum(-1)
    causal = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()
    decay = (b[..., :, None] - b[..., None, :]).masked_fill(~causal, 0.0).exp().masked_fill(~causal, 0.0)
    o_intra = ((q @ k.transpose(-1, -2)) * decay) @ v  # [B, H, N, C, V]
    q_in = q * b.exp()[..., None]  # decay from the chunk start to each position
    k_out = k * (b[..., -1:] - b).exp()[..., None]  # decay from each position to the chunk end
    S = q.new_zeros(B, H, K, V) if initial_state is None else initial_state.float().clone()
    o = torch.empty_like(o_intra)
    for n in range(q.shape[2]):
        o[:, :, n] = o_intra[:, :, n] + q_in[:, :, n] @ S
        S = S * b[:, :, n, -1].exp()[..., None, None] + k_out[:, :, n].transpose(-1, -2) @ v[:, :, n]
    o = (scale * o).reshape(B, H, -1, V)[:, :, :T].transpose(1, 2).contiguous()
    return o.to(dtype), (S if output_final_state else None)


def naive_linear_attention_step(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    state: torch.Tensor | None,
    *,
    g: torch.Tensor | None,
    scale: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One token: q, k [B, H, K]; v [B, H, V]; g [B, H] or None; state [B, H, K, V] or None (zeros).
    Returns o [B, H, V] in q's dtype and the new state fp32."""
    o, S = naive_recurrent_linear_attention(
        q[:, None], k[:, None], v[:, None], g=None if g is None else g[:, None], scale=scale,
        initial_state=state, output_final_state=True,
    )
    return o[:, 0], S
