"""Plain-PyTorch twins of the gated delta rule, in fp32 (the CPU path and the tests' oracle).

Per batch and value head (state S [K, V] fp32, log gate g_t <= 0, beta_t in [0, 1]):
    S = exp(g_t) * S
    S = S + k_t^T (beta_t * (v_t - k_t S))      the delta rule: write only what S does not already predict
    o_t = scale * q_t S
Grouped heads: q/k head j serves value heads j*G .. j*G+G-1 (G = H // HK), as in transformers' Qwen3.5.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def l2norm(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """x / sqrt(sum x^2 + eps) over the last dim (the formula of transformers' and flash-linear-attention's l2norm)."""
    return x * torch.rsqrt((x * x).sum(-1, keepdim=True) + eps)


def _prepare(q, k, v, g, beta, use_qk_l2norm):
    """fp32 copies in [B, H, T, D] / [B, H, T] layout with q/k heads repeated up to the value heads."""
    G = v.shape[2] // k.shape[2]
    q, k = (x.repeat_interleave(G, dim=2) if G > 1 else x for x in (q, k))
    q, k, v, g, beta = (x.float().transpose(1, 2).contiguous() for x in (q, k, v, g, beta))
    if use_qk_l2norm:
        q, k = l2norm(q), l2norm(k)
    return q, k, v, g, beta


def naive_recurrent_gated_delta_rule(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    beta: torch.Tensor,
    *,
    scale: float,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    use_qk_l2norm: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Token by token. q, k: [B, T, HK, K]; v: [B, T, H, V]; g, beta: [B, T, H]; initial_state [B, H, K, V].
    Returns o [B, T, H, V] in q's dtype and the final state [B, H, K, V] fp32 (or None)."""
    dtype = q.dtype
    B, T, _, K = k.shape
    H, V = v.shape[2:]
    q, k, v, g, beta = _prepare(q, k, v, g, beta, use_qk_l2norm)
    S = q.new_zeros(B, H, K, V) if initial_state is None else initial_state.float().clone()
    o = q.new_empty(B, H, T, V)
    for t in range(T):
        S = S * g[:, :, t].exp()[..., None, None]
        k_t = k[:, :, t]
        delta = beta[:, :, t, None] * (v[:, :, t] - torch.einsum("bhk,bhkv->bhv", k_t, S))
        S = S + k_t[..., :, None] * delta[..., None, :]
        o[:, :, t] = scale * torch.einsum("bhk,bhkv->bhv", q[:, :, t], S)
    return o.transpose(1, 2).contiguous().to(dtype), (S if output_final_state else None)


def naive_chunk_gated_delta_rule(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    beta: torch.Tensor,
    *,
    scale: float,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    use_qk_l2norm: bool = False,
    chunk_size: int = 64,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The chunked algorithm in PyTorch (WY representation per chunk, then a scan over chunks), the same math
    as the Triton kernels: the fast CPU path. Same arguments and returns as the recurrent twin."""
    dtype = q.dtype
    B, T, _, K = k.shape
    H, V = v.shape[2:]
    C = chunk_size
    q, k, v, g, beta = _prepare(q, k, v, g, beta, use_qk_l2norm)
    pad = (C - T % C) % C  # padded steps: q = k = v = 0, g = 0, beta = 0
    q, k, v = (F.pad(x, (0, 0, 0, pad)).reshape(B, H, -1, C, x.shape[-1]) for x in (q, k, v))
    g, beta = (F.pad(x, (0, pad)).reshape(B, H, -1, C) for x in (g, beta))
    b = g.cumsum(-1)  # [B, H, N, C] log gates from each chunk's start
    lower = torch.ones(C, C, dtype=torch.bool, device=q.device).tril(-1)
    causal = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()
    diff = b[..., :, None] - b[..., None, :]
    gamma = diff.masked_fill(~causal, 0.0).exp().masked_fill(~causal, 0.0)  # exp(b_i - b_j), j <= i
    L = ((beta[..., None] * k) @ k.transpose(-1, -2) * gamma).masked_fill(~lower, 0.0)
    eye = torch.eye(C, device=q.device)
    w = torch.linalg.solve_triangular(eye + L, beta[..., None] * b.exp()[..., None] * k, upper=False, unitriangular=True)
    u = torch.linalg.solve_triangular(eye + L, beta[..., None] * v, upper=False, unitriangular=True)
    attn = (q @ k.transpose(-1, -2)) * gamma
    q_in = q * b.exp()[..., None]
    k_out = k * (b[..., -1:] - b).exp()[..., None]
    S = q.new_zeros(B, H, K, V) if initial_state is None else initial_state.float().clone()
    o = torch.empty_like(v)
    for n in range(q.shape[2]):
        v_new = u[:, :, n] - w[:, :, n] @ S
        o[:, :, n] = q_in[:, :, n] @ S + attn[:, :, n] @ v_new
        S = S * b[:, :, n, -1].exp()[..., None, None] + k_out[:, :, n].transpose(-1, -2) @ v_new
    o = (scale * o).reshape(B, H, -1, V)[:, :, :T].transpose(1, 2).contiguous()
    return o.to(dtype), (S if output_final_state else None)
