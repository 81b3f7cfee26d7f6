"""Hybrid attention: exact softmax over sinks + a sliding window, linear attention over the evicted tokens.

A trained model runs it through `longlens.lvlm.linearize.use_linearized_attention` (the VLM's `attn="sparse"`
runs block-sparse softmax and the gated delta rule instead). One normaliser over both branches (see cache.py for
the exact rule and the feature maps). Parts: `hybrid_attention` runs the Triton window-softmax kernel + PyTorch
chunked linear branch + Triton merge (kernel.py) or the explicit PyTorch twin (naive.py), as `backend` says;
`hybrid_attention_step` is PyTorch on every device (step.py). The linear branch's feature map is a fixed one
(`FEATURE_MAPS`) or trained per-head maps (`LearnedFeatures`, learned.py; trained by `longlens.lvlm.transfer`):
both paths compute phi through the one `cache.feature_map` function (the Triton kernels run the exact-softmax
window and the merge only, so they never see the features).
"""
from __future__ import annotations

import torch

from longlens.kernels.dispatch import backend_for
from longlens.kernels.ops.common.attention_checks import check_qkv, default_scale
from longlens.kernels.ops.hybrid import naive
from longlens.kernels.ops.hybrid.cache import FEATURE_MAPS, FeatureKind, HybridCache, HybridRule, check_cache
from longlens.kernels.ops.hybrid.learned import LearnedFeatures
from longlens.kernels.ops.hybrid.step import step

__all__ = ["hybrid_attention", "hybrid_attention_step", "HybridCache", "HybridRule", "FEATURE_MAPS",
           "LearnedFeatures"]


def hybrid_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    window: int = 512,
    sink: int = 4,
    feature_map: FeatureKind = "taylor2",
    scale: float | None = None,
    initial_state: HybridCache | None = None,
    output_final_state: bool = False,
    backend: str = "auto",
) -> tuple[torch.Tensor, HybridCache | None]:
    """Causal hybrid attention of T new tokens.

    q [B, T, Hq, D], k/v [B, T, Hkv, D] (Hq a multiple of Hkv), at absolute positions
    pos .. pos + T - 1 where pos = initial_state.pos (0 without one). Query p attends exactly
    (softmax logits scale * q.k) the first `sink` tokens and the last `window` tokens (p - window, p],
    and linearly (weights phi(q).phi(k), `feature_map` one of `FEATURE_MAPS` or a `LearnedFeatures` made for
    (Hq, Hkv, D)) every other earlier token, all under one normaliser. `scale` defaults to D^-0.5.
    `initial_state` (a HybridCache from an earlier call or `HybridCache.empty`) carries the window,
    sinks and linear state; it must have been made with the same window, sink, feature_map, scale.
    backend: "auto" | "triton" | "reference" (`longlens.kernels.dispatch`).
    Returns o [B, T, Hq, D] (q's dtype) and, with output_final_state, the cache after these tokens
    (else None). Splitting a sequence across calls with the carried cache gives the same outputs.
    """
    B, Tq, Tk, Hq, Hkv, D = check_qkv(q, k, v, op="hybrid_attention")
    if Tq != Tk:
        raise ValueError(f"hybrid_attention: q and k/v must have the same length, got {Tq} and {Tk}")
    rule = HybridRule(window, sink, feature_map, default_scale(scale, D))
    rule.check_heads(Hq, Hkv, D)
    if initial_state is not None:
        check_cache(initial_state, k, rule=rule)
    if backend_for(q, k, v, backend=backend) == "triton":
        from longlens.kernels.ops.hybrid.kernel import hybrid_fwd

        return hybrid_fwd(q, k, v, rule, initial_state, output_final_state)
    return naive.hybrid_attention(q, k, v, rule, initial_state, output_final_state)


def hybrid_attention_step(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cache: HybridCache
) -> tuple[torch.Tensor, HybridCache]:
    """Decode one token: q [B, 1, Hq, D], k/v [B, 1, Hkv, D] at position cache.pos.

    Same rule as `hybrid_attention`; the token leaving the window is folded into the state, the new
    one written into the ring buffer. `cache` is updated in place and returned with o [B, 1, Hq, D].
    PyTorch on every device (the work is O(window + sink + F*D) per head).
    """
    B, Tq, Tk, Hq, Hkv, D = check_qkv(q, k, v, op="hybrid_attention_step")
    if Tq != 1 or Tk != 1:
        raise ValueError(f"hybrid_attention_step takes one token, got q length {Tq} and k/v length {Tk}")
    check_cache(cache, k)
    cache.rule.check_heads(Hq, Hkv, D)
    return step(q, k, v, cache), cache
