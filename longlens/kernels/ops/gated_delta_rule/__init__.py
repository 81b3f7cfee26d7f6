"""The gated delta rule (Gated DeltaNet, as in Qwen3.5 / Qwen3-Next): chunked forward and token recurrence.

Drop-in replacements for transformers' `torch_chunk_gated_delta_rule` / `torch_recurrent_gated_delta_rule`
(models/qwen3_5): same argument names and order, grouped value heads, q scaled by K**-0.5, the same returns.
Per batch and value head (state S [K, V] fp32, log gate g_t <= 0, beta_t in [0, 1]):
    S = exp(g_t) S;  S = S + k_t^T (beta_t (v_t - k_t S));  o_t = scale * q_t S.
The implementations (Triton kernels, PyTorch twins) are the linear-attention family's, in `ops/common`;
`backend` picks one ("auto" | "triton" | "reference", see `longlens.kernels.dispatch`).
"""
from __future__ import annotations

import torch

from longlens.kernels.ops.common.checks import check_chunk_size, check_gate, check_qkv, check_state, default_scale
from longlens.kernels.ops.common.forward import forward

__all__ = ["chunk_gated_delta_rule", "recurrent_gated_delta_rule"]


def _one(query, key, value, g, beta, *, chunk_size, initial_state, output_final_state, norm_qk, scale, backend):
    """Check the arguments of one sequence batch and run it (chunk_size None: token by token)."""
    B, T, HK, H, K, V = check_qkv(query, key, value)
    for name, x in (("g", g), ("beta", beta)):
        if x is None:
            raise ValueError(f"{name} is required: a [B, T, H] = {(B, T, H)} tensor")
        check_gate(name, x, B, T, H)
    check_state("initial_state", initial_state, B, H, K, V)
    if chunk_size is not None:
        check_chunk_size(chunk_size)
    return forward(query, key, value, g=g, beta=beta, scale=default_scale(scale, K), initial_state=initial_state,
                   output_final_state=output_final_state, chunk_size=chunk_size, norm_qk=norm_qk, backend=backend)


def _run(query, key, value, g, beta, cu_seqlens, *, initial_state, output_final_state, **kw):
    """One batch of sequences, or with `cu_seqlens` packed sequences (flash-linear-attention's convention): inputs
    [1, total, ...], cu_seqlens [N + 1] offsets starting at 0 and ending at total, initial/final states
    [N, H, K, V]; the packed sequences run one after another."""
    if cu_seqlens is None:
        return _one(query, key, value, g, beta, initial_state=initial_state, output_final_state=output_final_state,
                    **kw)
    if query.dim() != 4 or query.shape[0] != 1:
        raise ValueError(f"with cu_seqlens the inputs must be packed into batch 1, got query {tuple(query.shape)}")
    offsets = [int(x) for x in torch.as_tensor(cu_seqlens).flatten().tolist()]
    total = query.shape[1]
    if len(offsets) < 2 or offsets[0] != 0 or offsets[-1] != total or any(a > b for a, b in zip(offsets, offsets[1:])):
        raise ValueError(f"cu_seqlens must rise from 0 to the packed length {total}, got {offsets}")
    N = len(offsets) - 1
    H, K, V = value.shape[2], key.shape[3], value.shape[3]
    if initial_state is not None and tuple(initial_state.shape) != (N, H, K, V):
        raise ValueError(f"with cu_seqlens initial_state must be [N, H, K, V] = {(N, H, K, V)}, "
                         f"got {tuple(initial_state.shape)}")
    outs, states = [], []
    for n, (a, b) in enumerate(zip(offsets, offsets[1:])):
        h0 = None if initial_state is None else initial_state[n:n + 1]
        if a == b:  # an empty sequence passes its state through
            states.append(value.new_zeros(1, H, K, V, dtype=torch.float32) if h0 is None else h0.float())
            continue
        o, s = _one(*(x[:, a:b] for x in (query, key, value, g, beta)), initial_state=h0, output_final_state=True,
                    **kw)
        outs.append(o)
        states.append(s)
    o = torch.cat(outs, dim=1) if outs else value.new_empty(1, 0, H, V, dtype=query.dtype)
    return o, (torch.cat(states) if output_final_state else None)


def chunk_gated_delta_rule(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    g: torch.Tensor,
    beta: torch.Tensor,
    chunk_size: int = 64,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    use_qk_l2norm_in_kernel: bool = False,
    *,
    scale: float | None = None,
    backend: str = "auto",
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The gated delta rule over a whole sequence, chunk by chunk (prefill).

    query, key: [B, T, HK, K]; value: [B, T, H, V] with H a multiple of HK (key head j serves value heads
    j*H/HK .. (j+1)*H/HK - 1); g: [B, T, H] log gates <= 0; beta: [B, T, H] in [0, 1]; initial_state:
    [B, H, K, V] (used in fp32); chunk_size: a power of two in [16, 128] (the result does not depend on it);
    use_qk_l2norm_in_kernel: L2-normalise q and k (fp32, eps 1e-6); scale: defaults to K**-0.5;
    backend: "auto" | "triton" | "reference" (`longlens.kernels.dispatch`).
    kwargs: `cu_seqlens` [N + 1] for packed sequences (batch 1, states [N, H, K, V]); others are ignored,
    as transformers' own implementation does.
    Returns o [B, T, H, V] in query's dtype and the final state [B, H, K, V] fp32 (None unless output_final_state).
    """
    return _run(query, key, value, g, beta, kwargs.get("cu_seqlens"), chunk_size=chunk_size,
                initial_state=initial_state, output_final_state=output_final_state,
                norm_qk=use_qk_l2norm_in_kernel, scale=scale, backend=backend)


def recurrent_gated_delta_rule(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    g: torch.Tensor,
    beta: torch.Tensor,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    use_qk_l2norm_in_kernel: bool = False,
    *,
    scale: float | None = None,
    backend: str = "auto",
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The gated delta rule token by token, O(1) per token in the context length (decode: T = 1 with the
    cached state as initial_state). Same arguments and returns as `chunk_gated_delta_rule`, without chunk_size."""
    return _run(query, key, value, g, beta, kwargs.get("cu_seqlens"), chunk_size=None,
                initial_state=initial_state, output_final_state=output_final_state,
                norm_qk=use_qk_l2norm_in_kernel, scale=scale, backend=backend)
