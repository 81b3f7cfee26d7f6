"""Chunked linear attention and its decode step: Triton (interpreter on CPU, native on CUDA) against the
token-by-token PyTorch twin."""
from __future__ import annotations

import pytest
import torch

import longlens.kernels as K
import longlens.kernels.ops.linear_attention as la_ops
from longlens.kernels.ops.linear_attention.naive import naive_recurrent_linear_attention


def make(target, B, T, H, Kd, V, decay):
    """Random q, k, v, a log decay of the requested kind, and a random initial state."""
    q, k, v = target.randn(B, T, H, Kd), target.randn(B, T, H, Kd), target.randn(B, T, H, V)
    log_decay = {
        "none": None,
        "zero": torch.zeros(B, T, H, device=target.device),
        "per_head": target.rand(H, low=-0.5, high=-0.01),
        "per_token": target.rand(B, T, H, low=-1.0, high=0.0),
        "strong": target.rand(B, T, H, low=-40.0, high=-20.0),
    }[decay]
    return q, k, v, log_decay, target.randn(B, H, Kd, V).float()


def oracle(q, k, v, log_decay, h0, scale=None):
    B, T, H, Kd = q.shape
    g = None if log_decay is None else log_decay.float().expand(B, T, H)
    return naive_recurrent_linear_attention(q.float(), k.float(), v.float(), g=g, scale=scale or Kd ** -0.5,
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
                                  chunk_size=chunk_size)
    ref_o, ref_state = oracle(q, k, v, log_decay, h0)
    assert o.dtype == q.dtype and state.dtype == torch.float32
    target.check(o, ref_o)
    target.check(state, ref_state)


def test_state_passing_across_a_split(target):
    B, T, H, Kd, V, split = 1, 150, 2, 16, 16, 77  # the split falls inside a chunk
    q, k, v, log_decay, h0 = make(target, B, T, H, Kd, V, "per_token")
    o_full, s_full = K.linear_attention(q, k, v, log_decay=log_decay, initial_state=h0, output_final_state=True)
    o1, s1 = K.linear_attention(q[:, :split], k[:, :split], v[:, :split], log_decay=log_decay[:, :split],
                                initial_state=h0, output_final_state=True)
    o2, s2 = K.linear_attention(q[:, split:], k[:, split:], v[:, split:], log_decay=log_decay[:, split:],
                                initial_state=s1, output_final_state=True)
    ref_o, ref_s = oracle(q, k, v, log_decay, h0)
    target.check(torch.cat([o1, o2], dim=1), ref_o)
    target.check(s2, ref_s)
    target.check(o_full, ref_o)
    target.check(s_full, ref_s)


@pytest.mark.parametrize("decay", ["per_token", "per_head"])
def test_decode_steps_equal_chunked(target, decay):
    B, T, H, Kd, V = 2, 24, 2, 16, 32
    q, k, v, log_decay, h0 = make(target, B, T, H, Kd, V, decay)
    o_chunk, s_chunk = K.linear_attention(q, k, v, log_decay=log_decay, initial_state=h0, output_final_state=True)
    state, outs = h0, []
    for t in range(T):
        g_t = log_decay if decay == "per_head" else log_decay[:, t]
        o_t, state = K.linear_attention_step(q[:, t], k[:, t], v[:, t], state, log_decay=g_t)
        assert o_t.shape == (B, H, V) and state.dtype == torch.float32
        outs.append(o_t)
    ref_o, ref_s = oracle(q, k, v, log_decay, h0)
    target.check(torch.stack(outs, dim=1), ref_o)
    target.check(state, ref_s)
    target.check(o_chunk, ref_o)
    target.check(s_chunk, ref_s)


def test_no_initial_state_and_no_final_state(target):
    q, k, v, log_decay, _ = make(target, 1, 40, 2, 16, 16, "per_token")
    o, state = K.linear_attention(q, k, v, log_decay=log_decay, scale=0.3)
    assert state is None
    ref_o, _ = oracle(q, k, v, log_decay, None, scale=0.3)
    target.check(o, ref_o)
    o1, s1 = K.linear_attention_step(q[:, 0], k[:, 0], v[:, 0], None, log_decay=log_decay[:, 0], scale=0.3)
    target.check(o1, ref_o[:, 0])


# ---- the reference path (the CPU default) --------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [16, 64])
def test_reference_chunked_matches_recurrence(chunk_size):
    q, k, v = torch.randn(2, 90, 3, 24), torch.randn(2, 90, 3, 24), torch.randn(2, 90, 3, 8)
    g, h0 = -torch.rand(2, 90, 3), torch.randn(2, 3, 24, 8)
    o, s = K.linear_attention(q, k, v, log_decay=g, initial_state=h0, output_final_state=True, chunk_size=chunk_size)
    ref_o, ref_s = naive_recurrent_linear_attention(q, k, v, g=g, scale=24 ** -0.5, initial_state=h0,
                                                    output_final_state=True)
    assert (o - ref_o).norm() / ref_o.norm() < 1e-5 and (s - ref_s).norm() / ref_s.norm() < 1e-5


def test_reference_takes_bf16_with_fp32_state():
    q, k, v = (torch.randn(1, 50, 2, 16) for _ in range(3))
    g = -torch.rand(1, 50, 2)
    o, s = K.linear_attention(q.bfloat16(), k.bfloat16(), v.bfloat16(), log_decay=g, output_final_state=True)
    ref_o, ref_s = naive_recurrent_linear_attention(q, k, v, g=g, scale=0.25, output_final_state=True)
    assert o.dtype == torch.bfloat16 and s.dtype == torch.float32
    assert (o.float() - ref_o).norm() / ref_o.norm() < 1e-2 and (s - ref_s).norm() / ref_s.norm() < 1e-2


# ---- routing ------------------------------------------------------------------------------------------


def _spy(monkeypatch, module, name):
    calls = []
    real = getattr(module, name)

    def spy(*args, **kwargs):
        calls.append(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


@pytest.mark.skipif(torch.cuda.is_available(), reason="the Triton interpreter runs only where CUDA is absent")
@pytest.mark.parametrize("env, expected", [(None, "reference"), ("reference", "reference"), ("triton", "triton")])
def test_routing_on_cpu(monkeypatch, env, expected):
    import longlens.kernels.ops.linear_attention.chunk as la_chunk

    if env is None:
        monkeypatch.delenv("LONGLENS_KERNELS", raising=False)
    else:
        monkeypatch.setenv("LONGLENS_KERNELS", env)
    ref_calls = _spy(monkeypatch, la_ops, "naive_chunk_linear_attention")
    tri_calls = _spy(monkeypatch, la_chunk, "chunk_linear_attention_fwd")
    step_ref = _spy(monkeypatch, la_ops, "naive_linear_attention_step")
    step_tri = _spy(monkeypatch, la_chunk, "linear_attention_step_fwd")
    q, k, v = torch.randn(1, 20, 1, 16), torch.randn(1, 20, 1, 16), torch.randn(1, 20, 1, 16)
    assert K.backend_for(q, k, v) == expected
    o, _ = K.linear_attention(q, k, v)
    K.linear_attention_step(q[:, 0], k[:, 0], v[:, 0], None)
    assert (len(tri_calls), len(step_tri)) == ((1, 1) if expected == "triton" else (0, 0))
    assert (len(ref_calls), len(step_ref)) == ((1, 1) if expected == "reference" else (0, 0))
    ref_o, _ = naive_recurrent_linear_attention(q, k, v, g=None, scale=0.25)
    assert (o - ref_o).norm() / ref_o.norm() < 1e-4


def test_unknown_backend_is_refused(monkeypatch):
    monkeypatch.setenv("LONGLENS_KERNELS", "cuda-please")
    with pytest.raises(ValueError, match="LONGLENS_KERNELS"):
        K.linear_attention(torch.randn(1, 4, 1, 16), torch.randn(1, 4, 1, 16), torch.randn(1, 4, 1, 16))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(k=torch.randn(1, 8, 2, 8)), "same shape"),
        (dict(v=torch.randn(1, 9, 2, 16)), "v must be"),
        (dict(log_decay=torch.randn(1, 8, 3)), "log_decay"),
        (dict(initial_state=torch.randn(1, 2, 16, 8)), "initial_state"),
        (dict(chunk_size=48), "chunk_size"),
        (dict(q=torch.randn(1, 8, 2, 300), k=torch.randn(1, 8, 2, 300)), "head dims"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    args = dict(q=torch.randn(1, 8, 2, 16), k=torch.randn(1, 8, 2, 16), v=torch.randn(1, 8, 2, 16))
    args.update(kwargs)
    q, k, v = args.pop("q"), args.pop("k"), args.pop("v")
    with pytest.raises(ValueError, match=match):
        K.linear_attention(q, k, v, **args)


def test_dispatch_refuses_a_switched_off_interpreter(monkeypatch):
    monkeypatch.setenv("LONGLENS_KERNELS", "triton")
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(RuntimeError, match="TRITON_INTERPRET=1"):
        K.backend_for(torch.randn(2))
    monkeypatch.setenv("LONGLENS_KERNELS", "auto")
    assert K.backend_for(torch.randn(2), None) == "reference"
