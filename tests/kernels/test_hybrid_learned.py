"""Hybrid attention with trained (learned) feature maps and with no linear branch ("none"): the Triton path vs
the explicit twin on odd sizes, decode steps and split prefill vs one pass, gradients, and named errors."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from longlens.kernels import HybridCache, hybrid_attention, hybrid_attention_step
from longlens.kernels.ops.hybrid import HybridRule, LearnedFeatures, naive

D = 24  # not a power of two: the kernel pads the head dim


def learned(target, hq: int, hkv: int, d: int = D, width: int = 20) -> LearnedFeatures:
    """Maps with seeded random parameters (not the identity start), on the target's device."""
    maps = LearnedFeatures(hq, hkv, d, width)
    with torch.no_grad():
        for p in maps.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=target.gen))
    return maps.to(target.device)


def inputs(target, T, hq, hkv):
    return target.randn(1, T, hq, D), target.randn(1, T, hkv, D), target.randn(1, T, hkv, D)


def twin(q, k, v, maps, initial_state=None, *, window, sink):
    rule = HybridRule(window, sink, maps, D ** -0.5)
    return naive.hybrid_attention(q.float(), k.float(), v.float(), rule, initial_state, output_final_state=True)


def check_cache(target, got, want):
    assert got.pos == want.pos
    target.check(got.state, want.state)
    target.check(got.normalizer, want.normalizer)


@pytest.mark.parametrize("heads", [(3, 1), (4, 2)], ids=["gqa3:1", "gqa4:2"])
@pytest.mark.parametrize("T", [37, 201])
def test_learned_maps_triton_matches_naive(target, T, heads):
    q, k, v = inputs(target, T, *heads)
    maps = learned(target, *heads)
    kw = dict(window=21, sink=3)
    o, cache = hybrid_attention(q, k, v, feature_map=maps, output_final_state=True, backend=target.backend, **kw)
    ref_o, ref_cache = twin(q, k, v, maps, **kw)
    assert o.shape == q.shape and o.dtype == q.dtype
    target.check(o, ref_o)
    check_cache(target, cache, ref_cache)
    # the trained maps carry weight: another set of maps gives other outputs past the window
    other, _ = twin(q, k, v, learned(target, *heads), **kw)
    assert (other[:, 30:] - ref_o[:, 30:]).abs().max() > 1e-3


def test_learned_maps_decode_and_split_prefill_equal_one_pass(target):
    T, split = 90, 41
    q, k, v = inputs(target, T, 3, 1)
    maps = learned(target, 3, 1)
    kw = dict(window=16, sink=2, feature_map=maps)
    o_full, c_full = hybrid_attention(q, k, v, output_final_state=True, backend=target.backend, **kw)
    o1, cache = hybrid_attention(q[:, :split], k[:, :split], v[:, :split], output_final_state=True,
                                 backend=target.backend, **kw)
    outs = [o1]
    for t in range(split, T):
        o_t, cache = hybrid_attention_step(q[:, t:t + 1], k[:, t:t + 1], v[:, t:t + 1], cache)
        outs.append(o_t)
    target.check(torch.cat(outs, 1), o_full.float())
    check_cache(target, cache, c_full)
    fresh = HybridCache.empty(1, 1, D, dtype=q.dtype, device=q.device, window=16, sink=2, feature_map=maps)
    steps = [hybrid_attention_step(q[:, t:t + 1], k[:, t:t + 1], v[:, t:t + 1], fresh)[0] for t in range(T)]
    target.check(torch.cat(steps, 1), o_full.float())


def test_no_linear_branch_is_sinks_plus_window_softmax(target):
    T, window, sink = 120, 19, 3
    q, k, v = inputs(target, T, 4, 2)
    o, _ = hybrid_attention(q, k, v, window=window, sink=sink, feature_map="none", backend=target.backend)
    pos = torch.arange(T, device=q.device)
    allowed = (pos[None, :] <= pos[:, None]) & ((pos[None, :] < sink) | (pos[None, :] > pos[:, None] - window))
    qt, kt, vt = (x.float().transpose(1, 2) for x in (q, k, v))
    want = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=allowed, enable_gqa=True).transpose(1, 2)
    target.check(o, want)


def test_learned_maps_train_through_the_reference(cpu):
    """Gradients reach every parameter of both maps, finite, from a loss on the outputs past the window."""
    q, k, v = inputs(cpu, 60, 4, 2)
    maps = learned(cpu, 4, 2)
    o, _ = hybrid_attention(q, k, v, window=10, sink=2, feature_map=maps, backend="reference")
    o[:, 20:].square().mean().backward()
    for name, p in maps.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_learned_maps_errors_are_named(cpu):
    q, k, v = inputs(cpu, 30, 4, 2)
    with pytest.raises(ValueError, match=r"\(Hq, Hkv, D\)"):
        hybrid_attention(q, k, v, window=8, feature_map=learned(cpu, 2, 1))
    maps = learned(cpu, 4, 2)
    _, cache = hybrid_attention(q, k, v, window=8, sink=2, feature_map=maps, output_final_state=True)
    with pytest.raises(ValueError, match="learned"):  # a cache folded with other maps cannot continue
        hybrid_attention(q, k, v, window=8, sink=2, feature_map=learned(cpu, 4, 2), initial_state=cache)
