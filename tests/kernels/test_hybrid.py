"""Hybrid window + linear attention: Triton path vs the explicit twin, vs softmax, decode steps, state passing."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from longlens.bench.kernels.common import rel_err
from longlens.kernels import HybridCache, hybrid_attention, hybrid_attention_step
from longlens.kernels.ops.hybrid import HybridRule, naive

D = 32
GQA = [pytest.param((4, 2), id="gqa4:2"), pytest.param((3, 1), id="gqa3:1")]


def inputs(target, T, heads, d=D):
    """Fresh random q [1, T, Hq, d], k, v [1, T, Hkv, d] in the target's device and dtype."""
    hq, hkv = heads
    return target.randn(1, T, hq, d), target.randn(1, T, hkv, d), target.randn(1, T, hkv, d)


def twin(q, k, v, initial_state=None, *, window, sink, feature_map="taylor2"):
    """The explicit twin in fp32; returns (o, final cache)."""
    rule = HybridRule(window, sink, feature_map, q.shape[-1] ** -0.5)
    return naive.hybrid_attention(q.float(), k.float(), v.float(), rule, initial_state, output_final_state=True)


def masked_softmax(q, k, v, allowed, scale=None):
    """fp32 SDPA with an explicit [T, T] bool mask."""
    qt, kt, vt = (t.float().transpose(1, 2) for t in (q, k, v))
    return F.scaled_dot_product_attention(qt, kt, vt, attn_mask=allowed, enable_gqa=True, scale=scale).transpose(1, 2)


def check_cache(target, got, want, tol=None):
    """Same position; state, normalizer, window ring and sink tokens within tolerance."""
    assert got.pos == want.pos
    target.check(got.state, want.state, tol)
    target.check(got.normalizer, want.normalizer, tol)
    for a, b in zip(got.window_tokens(), want.window_tokens()):
        target.check(a, b.to(a.dtype), tol)
    s = min(want.pos, want.sink)
    if s:
        target.check(got.k_sink[:, :s], want.k_sink[:, :s].to(got.k_sink.dtype), tol)
        target.check(got.v_sink[:, :s], want.v_sink[:, :s].to(got.v_sink.dtype), tol)


@pytest.mark.parametrize("heads", GQA)
@pytest.mark.parametrize("T", [63, 200, 300])
def test_matches_naive(target, T, heads):
    q, k, v = inputs(target, T, heads)
    kw = dict(window=40, sink=4, feature_map="taylor2")
    o, cache = hybrid_attention(q, k, v, output_final_state=True, backend=target.backend, **kw)
    ref_o, ref_cache = twin(q, k, v, **kw)
    assert o.dtype == q.dtype and o.shape == q.shape
    target.check(o, ref_o)
    check_cache(target, cache, ref_cache)


@pytest.mark.parametrize("feature_map", ["taylor2", "elu1", "relu"])
def test_feature_maps_match_naive(target, feature_map):
    q, k, v = inputs(target, 200, (4, 2))
    kw = dict(window=24, sink=3, feature_map=feature_map)
    o, cache = hybrid_attention(q, k, v, output_final_state=True, backend=target.backend, **kw)
    ref_o, ref_cache = twin(q, k, v, **kw)
    target.check(o, ref_o)
    check_cache(target, cache, ref_cache)
    # the linear branch carries weight: dropping it (softmax over sinks + window only) changes the output
    pos = torch.arange(200, device=q.device)
    allowed = (pos[None, :] <= pos[:, None]) & ((pos[None, :] < 3) | (pos[None, :] > pos[:, None] - 24))
    assert rel_err(masked_softmax(q, k, v, allowed)[:, 30:], ref_o[:, 30:]) > 1e-2


@pytest.mark.parametrize("heads", GQA)
@pytest.mark.parametrize("T", [63, 200, 300])
def test_window_longer_than_input_is_exact_softmax(target, T, heads):
    q, k, v = inputs(target, T, heads)
    o, _ = hybrid_attention(q, k, v, window=T + 7, sink=4, backend=target.backend)
    pos = torch.arange(T, device=q.device)
    target.check(o, masked_softmax(q, k, v, pos[None, :] <= pos[:, None]))


def test_taylor2_approximates_softmax_at_small_logits(target):
    """With small logits 1 + z + z²/2 ≈ exp(z): the hybrid tracks full causal softmax closely, while
    softmax over sinks + window alone does not."""
    if target.dtype != torch.float32:
        pytest.skip("the approximation bound is stated for fp32 inputs")
    T, scale = 200, 0.02
    q, k, v = inputs(target, T, (4, 2))
    o, _ = hybrid_attention(q, k, v, window=16, sink=2, scale=scale, backend=target.backend)
    pos = torch.arange(T, device=q.device)
    causal = pos[None, :] <= pos[:, None]
    full = masked_softmax(q, k, v, causal, scale=scale)
    windowed = masked_softmax(q, k, v, causal & ((pos[None, :] < 2) | (pos[None, :] > pos[:, None] - 16)), scale=scale)
    assert rel_err(o, full) < 2e-3
    assert rel_err(windowed, full) > 5e-2


@pytest.mark.parametrize("feature_map", ["taylor2", "elu1", "relu"])
def test_decode_steps_equal_the_full_op(target, feature_map):
    T = 63
    q, k, v = inputs(target, T, (3, 1))
    kw = dict(window=16, sink=3, feature_map=feature_map)
    o_full, c_full = hybrid_attention(q, k, v, output_final_state=True, backend=target.backend, **kw)
    cache = HybridCache.empty(1, 1, D, dtype=q.dtype, device=q.device, **kw)
    outs = []
    for t in range(T):
        o_t, cache = hybrid_attention_step(q[:, t:t + 1], k[:, t:t + 1], v[:, t:t + 1], cache)
        outs.append(o_t)
    target.check(torch.cat(outs, 1), o_full.float())
    check_cache(target, cache, c_full)


def test_prefill_then_decode(target):
    """Chunked prefill with the carried cache, then decode steps: equals one pass over everything."""
    T = 200
    q, k, v = inputs(target, T, (4, 2))
    kw = dict(window=40, sink=4, feature_map="taylor2")
    ref_o, _ = twin(q, k, v, **kw)
    o1, cache = hybrid_attention(*(x[:, :150] for x in (q, k, v)), output_final_state=True, backend=target.backend,
                                 **kw)
    outs = [o1]
    for t in range(150, T):
        o_t, cache = hybrid_attention_step(q[:, t:t + 1], k[:, t:t + 1], v[:, t:t + 1], cache)
        outs.append(o_t)
    target.check(torch.cat(outs, 1), ref_o)


@pytest.mark.parametrize("split", [2, 30, 45, 170])
def test_state_passing_across_a_split(target, split):
    """[0, s) then [s, T) with the carried cache equals [0, T): outputs and final state
    (splits inside the sinks, inside the first window, just past it, and late)."""
    T = 200
    q, k, v = inputs(target, T, (4, 2))
    kw = dict(window=40, sink=4, feature_map="taylor2")
    head, tail = ([x[:, part] for x in (q, k, v)] for part in (slice(None, split), slice(split, None)))
    ours = dict(output_final_state=True, backend=target.backend, **kw)
    o_whole, c_whole = hybrid_attention(q, k, v, **ours)
    o1, c1 = hybrid_attention(*head, **ours)
    o2, c2 = hybrid_attention(*tail, initial_state=c1, **ours)
    target.check(torch.cat([o1, o2], 1), o_whole.float())
    check_cache(target, c2, c_whole)
    # the reference path carries state the same way
    ref_o, ref_c = twin(q, k, v, **kw)
    r1, rc1 = twin(*head, **kw)
    r2, rc2 = twin(*tail, initial_state=rc1, **kw)
    target.check(torch.cat([r1, r2], 1), ref_o, tol=1e-4)
    check_cache(target, rc2, ref_c, tol=1e-4)


def test_reference_path_is_the_twin(cpu):
    q, k, v = inputs(cpu, 50, (4, 2))
    o, _ = hybrid_attention(q, k, v, window=8, sink=2, backend="reference")
    ref, _ = twin(q, k, v, window=8, sink=2)
    assert torch.equal(o, ref)


def test_bad_input_is_named(cpu):
    q, k, v = inputs(cpu, 10, (4, 2))
    with pytest.raises(ValueError, match="window"):
        hybrid_attention(q, k, v, window=0)
    with pytest.raises(ValueError, match="feature_map"):
        hybrid_attention(q, k, v, feature_map="softplus")
    with pytest.raises(ValueError, match="same length"):
        hybrid_attention(q[:, :5], k, v)
    _, cache = hybrid_attention(q, k, v, window=8, sink=2, output_final_state=True)
    with pytest.raises(ValueError, match="window=8"):
        hybrid_attention(q, k, v, window=16, sink=2, initial_state=cache)
    with pytest.raises(ValueError, match="one token"):
        hybrid_attention_step(q[:, :2], k[:, :2], v[:, :2], cache)
    with pytest.raises(ValueError, match="HybridCache"):
        hybrid_attention_step(q[:, :1], k[:, :1], v[:, :1], {"pos": 3})
    with pytest.raises(ValueError, match="multiple"):
        hybrid_attention(q[:, :, :3], k, v)
