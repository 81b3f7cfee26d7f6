"""Plain-PyTorch twins of the linear-attention family, in fp32: the CPU path and the tests' oracle.

One recurrence serves both ops. Per batch and value head (state S [K, V] fp32, log gate g_t <= 0):
    S = exp(g_t) S                                   (no gate: g_t = 0)
    v'_t = beta_t (v_t - k_t S)                      the gated delta rule: write only what S does not predict
    v'_t = v_t                                       linear attention (beta None)
    S = S + k_t^T v'_t
    o_t = scale q_t S
Grouped heads: q/k head j serves value heads j*G .. j*G+G-1 (G = H // HK), as in transformers' Qwen3.5.
`recurrent` runs it token by token (the oracle); `chunked` computes the same chunk by chunk, as the Triton
kernels do (the fast CPU path).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def l2norm(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """x / sqrt(sum x^2 + eps) over the last dim (the formula of transformers' and flash-linear-attention's l2norm)."""
    return x * torch.rsqrt((x * x).sum(-1, keepdim=True) + eps)


def _prepare(q, k, v, g, beta, norm_qk: bool, initial_state):
    """fp32 copies in [B, H, T, D] / [B, H, T] layout with q/k heads repeated up to the value heads, and the
    starting state [B, H, K, V] fp32 (a copy; zeros without one)."""
    B, _, HK, K = k.shape
    H, V = v.shape[2], v.shape[3]
    q, k = (x.repeat_interleave(H // HK, dim=2) for x in (q, k))
    q, k, v = (x.float().transpose(1, 2) for x in (q, k, v))
    g, beta = (None if x is None else x.float().transpose(1, 2) for x in (g, beta))
    if norm_qk:
        q, k = l2norm(q), l2norm(k)
    S = q.new_zeros(B, H, K, V) if initial_state is None else initial_state.float().clone()
    return q, k, v, g, beta, S


def _finish(o: torch.Tensor, S: torch.Tensor, *, T: int, scale: float, dtype: torch.dtype, keep_state: bool):
    """o [B, H, >= T, V] fp32 -> [B, T, H, V] in `dtype`, scaled; the state when asked for."""
    return (scale * o[:, :, :T]).transpose(1, 2).contiguous().to(dtype), (S if keep_state else None)


def recurrent(q, k, v, *, g, beta, scale: float, initial_state=None, output_final_state: bool = False,
              norm_qk: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Token by token. q, k: [B, T, HK, K]; v: [B, T, H, V]; g (log gates), beta: [B, T, H] or None;
    initial_state [B, H, K, V]; norm_qk: L2-normalise q and k. Returns o [B, T, H, V] in q's dtype and the
    final state [B, H, K, V] fp32 (None unless output_final_state)."""
    dtype, T = q.dtype, q.shape[1]
    q, k, v, g, beta, S = _prepare(q, k, v, g, beta, norm_qk, initial_state)
    o = torch.empty_like(v)
    for t in range(T):
        if g is not None:
            S = S * g[:, :, t].exp()[..., None, None]
        k_t, v_t = k[:, :, t], v[:, :, t]
        if beta is not None:
            v_t = beta[:, :, t, None] * (v_t - torch.einsum("bhk,bhkv->bhv", k_t, S))
        S = S + k_t[..., :, None] * v_t[..., None, :]
        o[:, :, t] = torch.einsum("bhk,bhkv->bhv", q[:, :, t], S)
    return _finish(o, S, T=T, scale=scale, dtype=dtype, keep_state=output_final_state)


def chunked(q, k, v, *, g, beta, scale: float, initial_state=None, output_final_state: bool = False,
            norm_qk: bool = False, chunk_size: int = 64) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The same result chunk by chunk (the Triton kernels' math, vectorised over chunks where it can): within a
    chunk (cumulative log gates b from its start, Γ_ij = exp(b_i - b_j) for j <= i) the delta rule's writes are
    the WY representation w = A (beta e^b K), u = A (beta V) with A = (I + strictly_lower(diag(beta) K K^T ∘ Γ))^-1;
    then a scan over chunks. Same arguments and returns as `recurrent`, plus chunk_size."""
    dtype, T, C = q.dtype, q.shape[1], chunk_size
    q, k, v, g, beta, S = _prepare(q, k, v, g, beta, norm_qk, initial_state)
    B, H = v.shape[:2]
    pad = (C - T % C) % C  # padded steps: q = k = v = 0, g = 0, beta = 0

    def chunks(x: torch.Tensor) -> torch.Tensor:  # [B, H, T(, D)] -> [B, H, N, C(, D)], zero-padded
        return F.pad(x, (0, 0, 0, pad) if x.dim() == 4 else (0, pad)).reshape(B, H, -1, C, *x.shape[3:])

    q, k, v = chunks(q), chunks(k), chunks(v)
    b = q.new_zeros(q.shape[:4]) if g is None else chunks(g).cumsum(-1)  # [B, H, N, C]
    causal = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()
    gamma = (b[..., :, None] - b[..., None, :]).masked_fill(~causal, 0.0).exp().masked_fill(~causal, 0.0)
    u, w = v, None
    if beta is not None:
        beta = chunks(beta)[..., None]
        system = torch.eye(C, device=q.device) + ((beta * k) @ k.transpose(-1, -2) * gamma).tril(-1)
        w = torch.linalg.solve_triangular(system, beta * b.exp()[..., None] * k, upper=False, unitriangular=True)
        u = torch.linalg.solve_triangular(system, beta * v, upper=False, unitriangular=True)
    attn = (q @ k.transpose(-1, -2)) * gamma
    q_in = q * b.exp()[..., None]  # decay from the chunk start to each position
    k_out = k * (b[..., -1:] - b).exp()[..., None]  # decay from each position to the chunk end
    o = torch.empty_like(u)
    for n in range(q.shape[2]):
        v_new = u[:, :, n] if w is None else u[:, :, n] - w[:, :, n] @ S
        o[:, :, n] = q_in[:, :, n] @ S + attn[:, :, n] @ v_new
        S = S * b[:, :, n, -1].exp()[..., None, None] + k_out[:, :, n].transpose(-1, -2) @ v_new
    return _finish(o.flatten(2, 3), S, T=T, scale=scale, dtype=dtype, keep_state=output_final_state)
