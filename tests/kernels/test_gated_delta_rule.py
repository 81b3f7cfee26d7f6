"""The gated delta rule: Triton (interpreter on CPU, native on CUDA) against transformers' Qwen3.5 PyTorch
functions (the independent oracle) and our token-by-token twin; drop-in use inside a real Qwen3.5 layer."""
from __future__ import annotations

import inspect
from functools import partial

import pytest
import torch
from transformers.models.qwen3_5 import modeling_qwen3_5 as qwen

import longlens.kernels as K


def gate(target, shape, spec):
    """Uniform in [lo, hi) for a (lo, hi) pair, else the constant `spec` (fp32, like the model's gates)."""
    if isinstance(spec, tuple):
        return target.rand(*shape, low=spec[0], high=spec[1])
    return torch.full(shape, float(spec), device=target.device)


def make(target, B, T, HK, H, Kd, V, *, g=(-1.0, 0.0), beta=(0.0, 1.0)):
    """Random q, k, v, log gates g and betas (ranges or constants), and a random fp32 initial state."""
    q, k, v = target.randn(B, T, HK, Kd), target.randn(B, T, HK, Kd), target.randn(B, T, H, V)
    return q, k, v, gate(target, (B, T, H), g), gate(target, (B, T, H), beta), target.randn(B, H, Kd, V).float()


def oracle(q, k, v, g, beta, h0, *, norm=True):
    """transformers' token-by-token Qwen3.5 function on fp32 copies of the inputs."""
    return qwen.torch_recurrent_gated_delta_rule(q.float(), k.float(), v.float(), g=g.float(), beta=beta.float(),
                                                 initial_state=h0, output_final_state=True,
                                                 use_qk_l2norm_in_kernel=norm)


@pytest.mark.parametrize(
    "B, T, HK, H, Kd, V, chunk_size",
    [
        (1, 63, 1, 3, 16, 32, 64),  # T < chunk; one key head serving three value heads
        (2, 200, 1, 1, 32, 16, 64),  # several chunks, the last one partial
        (1, 1, 2, 2, 16, 16, 64),  # a single token
        (1, 77, 2, 4, 24, 24, 32),  # grouped heads, head dims that are not powers of two
        (1, 100, 1, 2, 32, 32, 16),  # the smallest chunk
        (1, 150, 1, 1, 16, 16, 128),  # the largest chunk
    ],
)
def test_chunk_matches_transformers(target, B, T, HK, H, Kd, V, chunk_size):
    q, k, v, g, beta, h0 = make(target, B, T, HK, H, Kd, V)
    o, state = K.chunk_gated_delta_rule(q, k, v, g=g, beta=beta, chunk_size=chunk_size, initial_state=h0,
                                        output_final_state=True, use_qk_l2norm_in_kernel=True, backend=target.backend)
    ref_o, ref_state = oracle(q, k, v, g, beta, h0)
    assert o.dtype == q.dtype and state.dtype == torch.float32
    target.check(o, ref_o)
    target.check(state, ref_state)


def test_chunk_without_l2norm_matches_transformers_chunk(target):
    """Unnormalised keys (scaled down so the delta rule stays stable) against transformers' chunked function."""
    q, k, v, g, beta, h0 = make(target, 1, 90, 2, 2, 16, 16)
    k = (k.float() * 0.2).to(k.dtype)
    o, state = K.chunk_gated_delta_rule(q, k, v, g, beta, 32, h0, True, False, backend=target.backend)
    ref_o, ref_state = qwen.torch_chunk_gated_delta_rule(q.float(), k.float(), v.float(), g=g, beta=beta.float(),
                                                         chunk_size=32, initial_state=h0, output_final_state=True)
    target.check(o, ref_o)
    target.check(state, ref_state)


@pytest.mark.parametrize(
    "T, g, beta",
    [
        (40, 0.0, (0.0, 1.0)),  # zero decay (gate 1)
        (40, (-40.0, -20.0), (0.0, 1.0)),  # strong decay: exp(-40) per step, nothing overflows
        (70, (-1.0, 0.0), 0.0),  # beta 0: no writes, the initial state only decays
        (70, (-1.0, 0.0), 1.0),  # beta 1: each write replaces what the state held for that key
    ],
)
def test_edge_gates(target, T, g, beta):
    q, k, v, g_, beta_, h0 = make(target, 1, T, 1, 2, 16, 16, g=g, beta=beta)
    o, state = K.chunk_gated_delta_rule(q, k, v, g=g_, beta=beta_, initial_state=h0, output_final_state=True,
                                        use_qk_l2norm_in_kernel=True, backend=target.backend)
    ref_o, ref_state = oracle(q, k, v, g_, beta_, h0)
    target.check(o, ref_o)
    target.check(state, ref_state)
    if beta == 0.0:  # nothing written: the final state is the initial one times the total decay
        target.check(state, h0 * g_.sum(1).exp()[..., None, None])


def test_recurrent_matches_transformers(target):
    q, k, v, g, beta, h0 = make(target, 2, 33, 1, 2, 24, 16)
    o, state = K.recurrent_gated_delta_rule(q, k, v, g=g, beta=beta, initial_state=h0, output_final_state=True,
                                            use_qk_l2norm_in_kernel=True, backend=target.backend)
    ref_o, ref_state = oracle(q, k, v, g, beta, h0)
    target.check(o, ref_o)
    target.check(state, ref_state)


def test_state_passing_across_a_split(target):
    T, split = 150, 77  # the split falls inside a chunk
    q, k, v, g, beta, h0 = make(target, 1, T, 1, 2, 16, 16)
    kw = dict(output_final_state=True, use_qk_l2norm_in_kernel=True, backend=target.backend)
    head, tail = (tuple(x[:, part] for x in (q, k, v, g, beta)) for part in (slice(None, split), slice(split, None)))
    _, s1 = K.chunk_gated_delta_rule(*head, initial_state=h0, **kw)
    o2, s2 = K.chunk_gated_delta_rule(*tail, initial_state=s1, **kw)
    ref_o, ref_state = oracle(q, k, v, g, beta, h0)
    target.check(o2, ref_o[:, split:])
    target.check(s2, ref_state)


def test_decode_steps_equal_chunked(target):
    T = 24
    q, k, v, g, beta, h0 = make(target, 1, T, 1, 2, 16, 32)
    kw = dict(output_final_state=True, use_qk_l2norm_in_kernel=True, backend=target.backend)
    o_chunk, s_chunk = K.chunk_gated_delta_rule(q, k, v, g, beta, initial_state=h0, **kw)
    state, outs = h0, []
    for t in range(T):
        o_t, state = K.recurrent_gated_delta_rule(*(x[:, t:t + 1] for x in (q, k, v, g, beta)), initial_state=state,
                                                  **kw)
        outs.append(o_t)
    target.check(torch.cat(outs, dim=1), o_chunk.float())
    target.check(state, s_chunk)


def test_packed_sequences_equal_separate_runs(target):
    """cu_seqlens: each packed sequence starts from its own state and returns its own final state."""
    lengths = [30, 0, 45]
    T = sum(lengths)
    q, k, v, g, beta, _ = make(target, 1, T, 1, 2, 16, 16)
    h0 = target.randn(len(lengths), 2, 16, 16).float()
    cu = torch.tensor([0, 30, 30, 75])
    o, states = K.chunk_gated_delta_rule(q, k, v, g=g, beta=beta, initial_state=h0, output_final_state=True,
                                         use_qk_l2norm_in_kernel=True, cu_seqlens=cu, backend=target.backend)
    assert states.shape == (3, 2, 16, 16)
    target.check(states[1], h0[1])  # the empty sequence passes its state through
    for n, (a, b) in enumerate([(0, 30), (30, 75)]):
        ref_o, ref_s = oracle(q[:, a:b], k[:, a:b], v[:, a:b], g[:, a:b], beta[:, a:b], h0[[0, 2][n]][None])
        target.check(o[:, a:b], ref_o)
        target.check(states[[0, 2][n]][None], ref_s)


def test_qwen35_layer_runs_on_ours(target, monkeypatch, spy):
    """A real Qwen3.5 Gated DeltaNet layer (random weights) gives the same output with our functions swapped
    in for transformers' own, in prefill (chunked) and in cached decode (recurrent)."""
    from transformers import DynamicCache
    from transformers.models.qwen3_5.configuration_qwen3_5 import Qwen3_5TextConfig

    cfg = Qwen3_5TextConfig(hidden_size=64, linear_key_head_dim=16, linear_value_head_dim=16,
                            linear_num_key_heads=2, linear_num_value_heads=4, num_hidden_layers=1,
                            num_attention_heads=2, num_key_value_heads=1, head_dim=16, intermediate_size=64,
                            vocab_size=64, layer_types=["linear_attention"])
    layer = qwen.Qwen3_5GatedDeltaNet(cfg, layer_idx=0).to(target.device, target.dtype).eval()
    x = target.randn(2, 40, 64)

    def run():
        with torch.no_grad():
            cache = DynamicCache(config=cfg)
            return torch.cat([layer(x[:, :39], cache=cache), layer(x[:, 39:], cache=cache)], dim=1)

    ref = run()  # transformers' own functions, same dtype
    monkeypatch.setattr(qwen, "torch_chunk_gated_delta_rule", partial(K.chunk_gated_delta_rule, backend=target.backend))
    monkeypatch.setattr(qwen, "torch_recurrent_gated_delta_rule",
                        partial(K.recurrent_gated_delta_rule, backend=target.backend))
    calls = [spy(qwen, "torch_chunk_gated_delta_rule"), spy(qwen, "torch_recurrent_gated_delta_rule")]
    target.check(run(), ref.float())
    assert [len(c) for c in calls] == [1, 1]  # prefill went through ours, then the decode step


# ---- drop-in signature and the reference path -----------------------------------------------------------


@pytest.mark.parametrize("ours, theirs", [("chunk_gated_delta_rule", "torch_chunk_gated_delta_rule"),
                                          ("recurrent_gated_delta_rule", "torch_recurrent_gated_delta_rule")])
def test_signature_matches_transformers(ours, theirs):
    mine = list(inspect.signature(getattr(K, ours)).parameters.values())
    ref = list(inspect.signature(inspect.unwrap(getattr(qwen, theirs))).parameters.values())
    positional = [p for p in ref if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert [(p.name, p.default) for p in mine[: len(positional)]] == [(p.name, p.default) for p in positional]
    assert mine[-1].kind is inspect.Parameter.VAR_KEYWORD


@pytest.mark.parametrize("chunk_size", [16, 64])
def test_reference_paths_match_transformers(cpu, chunk_size):
    q, k, v, g, beta, h0 = make(cpu, 2, 100, 2, 4, 24, 8)
    ref_o, ref_s = oracle(q, k, v, g, beta, h0)
    for fn, extra in ((K.chunk_gated_delta_rule, dict(chunk_size=chunk_size)), (K.recurrent_gated_delta_rule, {})):
        o, s = fn(q, k, v, g=g, beta=beta, initial_state=h0, output_final_state=True, use_qk_l2norm_in_kernel=True,
                  cu_seqlens=None, backend="reference", **extra)
        cpu.check(o, ref_o, 1e-5)
        cpu.check(s, ref_s, 1e-5)
    o, s = K.chunk_gated_delta_rule(q.bfloat16(), k.bfloat16(), v.bfloat16(), g=g, beta=beta.bfloat16(),
                                    initial_state=h0, use_qk_l2norm_in_kernel=True, backend="reference")
    assert o.dtype == torch.bfloat16 and s is None
    assert (o.float() - ref_o).norm() / ref_o.norm() < 2e-2


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(g=None), "g is required"),
        (dict(beta=lambda x: x.rand(1, 8, 3)), "beta must have shape"),
        (dict(query=lambda x: x.randn(1, 8, 2, 16), key=lambda x: x.randn(1, 8, 2, 16),
              value=lambda x: x.randn(1, 8, 3, 16), g=lambda x: x.rand(1, 8, 3, low=-1.0),
              beta=lambda x: x.rand(1, 8, 3)), "multiple of the number of key heads"),
        (dict(initial_state=lambda x: x.randn(1, 2, 16, 8)), "initial_state"),
        (dict(chunk_size=100), "chunk_size"),
        (dict(cu_seqlens=torch.tensor([0, 5])), "cu_seqlens must rise"),
    ],
)
def test_bad_arguments_are_named(cpu, change, match):
    args = dict(query=cpu.randn(1, 8, 1, 16), key=cpu.randn(1, 8, 1, 16), value=cpu.randn(1, 8, 2, 16),
                g=cpu.rand(1, 8, 2, low=-1.0), beta=cpu.rand(1, 8, 2))
    args.update({name: x(cpu) if callable(x) else x for name, x in change.items()})
    with pytest.raises(ValueError, match=match):
        K.chunk_gated_delta_rule(**args)
