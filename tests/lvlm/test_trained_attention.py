"""Our attention on models that matter (issue 16): the fallback to stock attention when a Triton kernel fails
(injected), Qwen3.5's Gated DeltaNet layers on our kernels at the real model's layer shapes, and the trained
SmolLM2's quality under sparse attention (a smoke run; `longlens bench attention` is the full one)."""
from __future__ import annotations

import copy
import dataclasses
import logging

import numpy as np
import pytest
import torch

import longlens.kernels as kernels
from longlens.kernels import selfcheck
from longlens.lvlm import FALLBACK, SparsityConfig, answer, attention_ran, sparse_stats, use_sparse_attention

SPARSE = dict(block_size=16, sink_blocks=1, window_blocks=1, topk_blocks=1)


@pytest.fixture(autouse=True)
def fresh_verdicts():
    selfcheck.forget()
    yield
    selfcheck.forget()


def _broken(real, how: str):
    """`real` with a broken Triton path ("wrong": off values; "raises": a compile error; "late": passes the
    self-check's one-KV-head input but raises on the model's own shapes)."""

    def op(*args, backend="auto", **kwargs):
        if backend != "triton":
            return real(*args, backend=backend, **kwargs)
        if how == "raises" or (how == "late" and args[1].shape[2] > 1):
            raise RuntimeError("triton compile error (injected)")
        out = real(*args, backend="reference", **kwargs)
        if how == "wrong":
            return (out[0] * 1.5, *out[1:]) if isinstance(out, tuple) else out * 1.5
        return out

    return op


def _fallback_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "longlens.lvlm.sparse" and r.levelno == logging.WARNING and "falls back" in r.getMessage()]


@torch.inference_mode()
@pytest.mark.parametrize("kind, op, how", [
    ("qwen3_vl", "block_sparse_attention", "wrong"),
    ("qwen3_vl", "block_sparse_attention", "late"),
    ("qwen3_5", "chunk_gated_delta_rule", "raises"),
])
def test_failing_kernel_falls_back_to_stock_attention(make_vlm, frames_at, rng, monkeypatch, caplog, kind, op, how):
    """A Triton kernel that is wrong or fails: the model answers on stock attention, as the dense model does,
    with one warning, and the answer says so."""
    monkeypatch.setattr(kernels, op, _broken(getattr(kernels, op), how))
    spec, dense = make_vlm(kind)
    _, vlm = make_vlm(kind, "sparse", kernels="triton", **SPARSE)
    frames = frames_at(spec, np.sort(rng.uniform(0, 600, 16)))
    caplog.set_level(logging.WARNING, logger="longlens.lvlm.sparse")
    ours = answer(vlm, frames, "What happens?", duration=600.0, max_new_tokens=4)
    stock = answer(dense, frames, "What happens?", duration=600.0, max_new_tokens=4)
    assert ours.text == stock.text and ours.new_tokens == stock.new_tokens
    assert ours.attention == FALLBACK == attention_ran(vlm.model) and stock.attention == "sdpa"
    assert vlm.model.longlens_sparse.fallback.startswith(op)
    assert sparse_stats(vlm.model).sparse_calls == 0 or how == "late"
    answer(vlm, frames, "And then?", duration=600.0, max_new_tokens=2)
    assert len(_fallback_warnings(caplog)) == 1  # one warning per model, not one per layer or call


@torch.inference_mode()
def test_kernels_that_pass_their_check_keep_the_model_sparse(make_vlm, frames_at, rng, caplog):
    spec, vlm = make_vlm("qwen3_vl", "sparse", kernels="triton", **SPARSE)
    caplog.set_level(logging.WARNING, logger="longlens.lvlm.sparse")
    ans = answer(vlm, frames_at(spec, np.sort(rng.uniform(0, 600, 16))), "What happens?", duration=600.0,
                 max_new_tokens=2)
    assert ans.attention == "sparse" and 0 < ans.visited_fraction < 1
    assert [v.op for v in selfcheck.verdicts()] == ["block_sparse_attention"] and selfcheck.verdicts()[0].ok
    assert not _fallback_warnings(caplog)


# ---------------------------------------------------------------- Gated DeltaNet at Qwen3.5's real shapes


def _qwen35_text_model(**heads):
    """Qwen3.5-0.8B's text layers (hidden 1024; Gated DeltaNet 16 key / 16 value heads of 128; attention 8 / 2
    heads of 256) at random weights: two Gated DeltaNet layers and one full attention layer."""
    from transformers import Qwen3_5ForCausalLM

    from longlens.bench.tiny import qwen35_08b_spec, tiny_config

    spec = dataclasses.replace(qwen35_08b_spec(), layers=3, intermediate=1024, **heads)
    text = tiny_config(spec).text_config
    text.layer_types = ["linear_attention", "linear_attention", "full_attention"]
    torch.manual_seed(spec.seed)
    return Qwen3_5ForCausalLM(text).eval()


def _rel(a, b) -> float:
    return float((a.float() - b.float()).norm() / b.float().norm())


@torch.inference_mode()
@pytest.mark.parametrize("kernels_, heads", [
    ("reference", {}),  # the real layer: 16 key / 16 value heads of 128
    ("reference", dict(linear_v_heads=32)),  # transformers' default Qwen3.5 layout: 2 value heads per key head
    ("triton", dict(linear_k_heads=1, linear_v_heads=2)),  # head dims 128 as in the model; few heads (interpreter)
])
def test_gated_deltanet_on_our_kernels_leaves_logits_unchanged(rng, kernels_, heads):
    """Prefill (chunked, two chunks and a ragged tail) and a decode step (recurrent, from the cached state):
    logits as transformers' torch path gives them, fp32 to 1e-5."""
    if kernels_ == "triton" and not (torch.cuda.is_available() or kernels.dispatch.interpreter_on()):
        pytest.skip("Triton needs CUDA or the interpreter")
    stock = _qwen35_text_model(**heads)
    ours = use_sparse_attention(copy.deepcopy(stock), kernels=kernels_)
    ids = torch.as_tensor(rng.integers(0, stock.config.vocab_size, (1, 150)))
    want = stock(ids[:, :-1], use_cache=True)
    got = ours(ids[:, :-1], use_cache=True)
    assert _rel(got.logits, want.logits) < 1e-5
    step_want = stock(ids[:, -1:], past_key_values=want.past_key_values).logits
    step_got = ours(ids[:, -1:], past_key_values=got.past_key_values).logits
    assert _rel(step_got, step_want) < 1e-5
    assert sparse_stats(ours).linear_calls == 4  # two layers x (prefill + decode) ran on our kernels
    assert attention_ran(ours) == "sparse"


# ---------------------------------------------------------------- the trained SmolLM2


@pytest.fixture(scope="module")
def smollm():
    from longlens.lvlm.trained import load_trained_lm

    return load_trained_lm()  # `make test` installs it; missing, this fails with ModelUnavailableError's message


def test_trained_model_quality_under_sparse_attention(smollm):
    """Smoke run of `longlens bench attention` on 512 tokens of local text: the default below its dense_below is
    exact; sink + window + top-k stays close to dense; window alone is measurably worse."""
    from longlens.bench.attention import compare, hidden_states
    from longlens.lvlm.trained import local_text

    model, tok = smollm
    ids = local_text(tok, 512)
    dense, _, _ = hidden_states(model, ids)
    default, stats, _ = hidden_states(model, ids, SparsityConfig())
    assert stats["dense_calls"] == model.config.num_hidden_layers and compare(model, ids, dense, default)["kl"] < 1e-6
    topk = SparsityConfig(block_size=16, sink_blocks=1, window_blocks=8, topk_blocks=8, dense_below=0)
    h, stats, _ = hidden_states(model, ids, topk)
    close = compare(model, ids, dense, h)
    window = SparsityConfig(block_size=16, sink_blocks=1, window_blocks=2, topk_blocks=0, dense_below=0)
    h, window_stats, _ = hidden_states(model, ids, window)
    far = compare(model, ids, dense, h)
    # 512 tokens in blocks of 16 visit about as much as the default blocks of 64 at 2k tokens (0.80)
    assert stats["prefill_visited_fraction"] < 0.85 and window_stats["prefill_visited_fraction"] < 0.3
    assert 5 < close["ppl_dense"] < 50, close  # a trained model reading English (random weights: ~vocabulary size)
    assert abs(close["ppl_cost_pct"]) < 3 and close["top1"] > 0.9, close
    assert far["kl"] > 5 * close["kl"] and far["top1"] < close["top1"] and far["ppl_cost_pct"] > 5, (close, far)


def test_local_text_is_deterministic_english(smollm):
    from longlens.lvlm.trained import local_text

    _, tok = smollm
    a, b = local_text(tok, 300, offset=100), local_text(tok, 300, offset=100)
    assert a.shape == (1, 300) and torch.equal(a, b)
    assert torch.equal(local_text(tok, 400)[:, 100:], a[:, :300])
    words = tok.decode(a[0]).split()
    assert sum(w.lower().strip(".,;:()") in {"the", "of", "to", "and", "or", "a", "any"} for w in words) > 20
