"""The one way into the linear-attention family's implementations: checked arguments in, the backend's code run.

Both ops (linear attention: beta None; the gated delta rule: beta given) and both modes (`chunk_size` given:
chunked prefill; None: token by token, the decode step) end here, on the Triton kernels or on their PyTorch
twins in `naive.py`.
"""
from __future__ import annotations

import torch

from longlens.kernels.dispatch import backend_for
from longlens.kernels.ops.common import naive


def forward(q, k, v, *, g, beta, scale: float, initial_state, output_final_state: bool, chunk_size: int | None,
            norm_qk: bool, backend: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """q, k: [B, T, HK, K]; v: [B, T, H, V]; g (log gates), beta: [B, T, H] or None; initial_state [B, H, K, V].
    Returns o [B, T, H, V] in q's dtype and the final state [B, H, K, V] fp32 (None unless output_final_state)."""
    kw = dict(g=g, beta=beta, scale=scale, initial_state=initial_state, output_final_state=output_final_state,
              norm_qk=norm_qk)
    if backend_for(q, k, v, g, beta, initial_state, backend=backend) == "reference":
        if chunk_size is None:
            return naive.recurrent(q, k, v, **kw)
        return naive.chunked(q, k, v, **kw, chunk_size=chunk_size)
    q, k, v = (x.contiguous() for x in (q, k, v))
    kw.update((name, None if x is None else x.contiguous()) for name, x in
              (("g", g), ("beta", beta), ("initial_state", initial_state)))
    if chunk_size is None:
        from longlens.kernels.ops.common.fused_recurrent import fused_recurrent_fwd

        return fused_recurrent_fwd(q, k, v, **kw)
    from longlens.kernels.ops.common.chunk import chunk_fwd

    return chunk_fwd(q, k, v, **kw, chunk_size=chunk_size)
