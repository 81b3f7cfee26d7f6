"""Chunked linear attention and its decode step: Triton (interpreter on CPU, native on CUDA) and the chunked
PyTorch path against the token-by-token PyTorch twin."""
from __future__ import annotations

import pytest
import torch

import longlens.kernels as K
from longlens.kernels.ops.common import naive


def make(target, B, T, H, Kd, V, decay):
    """Random q, k, v, a log decay of the requested kind, and a random initial state."""
    q, k, v = target.randn(B, T, H, Kd), target.randn(B, T, H, Kd), target.randn(B, T, H, V)
    log_decay = {
        "none": None,
        "zero": torch.zeros(B, T, H, device=target.device),  # log decay 0 (no decay) through the gated path
        "per_head": target.rand(H, low=-0.5, high=-0.01),
        "per_token": target.rand(B, T, H, low=-1.0, high=0.0),
        "strong": target.rand(B, T, H, low=-40.0, high=-20.0),
    }[decay]
    return q, k, v, log_decay, target.randn(B, H, Kd, V).float()


def oracle(q, k, v, log_decay, h0, scale=None):
    B, T, H, Kd = q.shape
    g = None if log_decay is None else log_decay.float().expand(B, T, H)
    return naive.recurrent(q.float(), k.float(), v.float(), g=g, beta=None, scale=scale or Kd ** -0.5,
                           initial_state=h0, output_final_state=True)


@pytest.mark.parametrize(
    "B, T, H, Kd, V, decay, chunk_size",
    [
        (1, 63, 3, 16, 32, "per_token", 64),  # T < chunk, not a multiple
        (2, 200, 1, 32, 16, "per_head", 64),  # several chunks, last one partial
        (1, 1, 3, 16, 16, "none", 64),  # a single token
        (1, 77, 2, 24, 24, "per_token", 32),  # head dims that are not powers of two (masked lanes)
        (1, 50, 2, 16, 16, "zero", 16),  # log decay 0 through the gated path
        (1, 70, 1, 16, 16, "strong", 32),  # exp(-40) per step: states vanish, nothing overflows
    ],
)
def test_chunk_matches_recurrence(target, B, T, H, Kd, V, decay, chunk_size):
    q, k, v, log_decay, h0 = make(target, B, T, H, Kd, V, decay)
    o, state = K.linear_attention(q, k, v, log_decay=log_decay, initial_state=h0, output_final_state=True,
                                  chunk_size=chunk_size, backend=target.backend)
    ref_o, ref_state = oracle(q, k, v, log_decay, h0)
    assert o.dtype == q.dtype and state.dtype == torch.float32
    target.check(o, ref_o)
    target.check(state, ref_state)


def test_state_passing_across_a_split(target):
    B, T, H, Kd, V, split = 1, 150, 2, 16, 16, 77  # the split falls inside a chunk
    q, k, v, log_decay, h0 = make(target, B, T, H, Kd, V, "per_token")
    kw = dict(output_final_state=True, backend=target.backend)
    o_full, s_full = K.linear_attention(q, k, v, log_decay=log_decay, initial_state=h0, **kw)
    head, tail = (tuple(x[:, part] for x in (q, k, v, log_decay)) for part in (slice(None, split), slice(split, None)))
    o1, s1 = K.linear_attention(*head[:3], log_decay=head[3], initial_state=h0, **kw)
    o2, s2 = K.linear_attention(*tail[:3], log_decay=tail[3], initial_state=s1, **kw)
    ref_o, ref_s = oracle(q, k, v, log_decay, h0)
    target.check(torch.cat([o1, o2], dim=1), ref_o)
    target.check(s2, ref_s)
    target.check(o_full, ref_o)
    target.check(s_full, ref_s)


@pytest.mark.parametrize("decay", ["per_token", "per_head"])
def test_decode_steps_equal_chunked(target, decay):
    B, T, H, Kd, V = 2, 24, 2, 16, 32
    q, k, v, log_decay, h0 = make(target, B, T, H, Kd, V, decay)
    o_chunk, s_chunk = K.linear_attention(q, k, v, log_decay=log_decay, initial_state=h0, output_final_state=True,
                                          backend=target.backend)
    state, outs = h0, []
    for t in range(T):
        g_t = log_decay if decay == "per_head" else log_decay[:, t]
        o_t, state = K.linear_attention_step(q[:, t], k[:, t], v[:, t], state, log_decay=g_t, backend=target.backend)
        assert o_t.shape == (B, H, V) and state.dtype == torch.float32
        outs.append(o_t)
    ref_o, ref_s = oracle(q, k, v, log_decay, h0)
    target.check(torch.stack(outs, dim=1), ref_o)
    target.check(state, ref_s)
    target.check(o_chunk, ref_o)
    target.check(s_chunk, ref_s)


def test_no_initial_state_and_no_final_state(target):
    q, k, v, log_decay, _ = make(target, 1, 40, 2, 16, 16, "per_token")
    o, state = K.linear_attention(q, k, v, log_decay=log_decay, scale=0.3, backend=target.backend)
    assert state is None
    ref_o, _ = oracle(q, k, v, log_decay, None, scale=0.3)
    target.check(o, ref_o)
    o1, s1 = K.linear_attention_step(q[:, 0], k[:, 0], v[:, 0], None, log_decay=log_decay[:, 0], scale=0.3,
                                     backend=target.backend)
    target.check(o1, ref_o[:, 0])


# ---- the reference path (the CPU default) ---------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [16, 64])
def test_reference_chunked_matches_recurrence(cpu, chunk_size):
    q, k, v, g, h0 = make(cpu, 2, 90, 3, 24, 8, "per_token")
    o, s = K.linear_attention(q, k, v, log_decay=g, initial_state=h0, output_final_state=True, chunk_size=chunk_size,
                              backend="reference")
    ref_o, ref_s = oracle(q, k, v, g, h0)
    cpu.check(o, ref_o, 1e-5)
    cpu.check(s, ref_s, 1e-5)


def test_reference_takes_bf16_with_fp32_state(cpu):
    q, k, v, g, _ = make(cpu, 1, 50, 2, 16, 16, "per_token")
    o, s = K.linear_attention(q.bfloat16(), k.bfloat16(), v.bfloat16(), log_decay=g, output_final_state=True,
                              backend="reference")
    ref_o, ref_s = oracle(q, k, v, g, None)
    assert o.dtype == torch.bfloat16 and s.dtype == torch.float32
    cpu.check(o.float(), ref_o, 1e-2)
    cpu.check(s, ref_s, 1e-2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(k=(1, 8, 2, 8)), "same shape"),
        (dict(v=(1, 9, 2, 16)), "v must be"),
        (dict(log_decay=(1, 8, 3)), "log_decay"),
        (dict(initial_state=(1, 2, 16, 8)), "initial_state"),
        (dict(q=(1, 8, 2, 300), k=(1, 8, 2, 300)), "head dims"),
    ],
)
def test_bad_arguments_are_named(cpu, kwargs, match):
    args = dict(q=cpu.randn(1, 8, 2, 16), k=cpu.randn(1, 8, 2, 16), v=cpu.randn(1, 8, 2, 16))
    args.update({name: cpu.randn(*shape) for name, shape in kwargs.items()})
    q, k, v = args.pop("q"), args.pop("k"), args.pop("v")
    with pytest.raises(ValueError, match=match):
        K.linear_attention(q, k, v, **args)


def test_chunk_size_must_be_a_power_of_two(cpu):
    with pytest.raises(ValueError, match="chunk_size"):
        K.linear_attention(cpu.randn(1, 8, 2, 16), cpu.randn(1, 8, 2, 16), cpu.randn(1, 8, 2, 16), chunk_size=48)
