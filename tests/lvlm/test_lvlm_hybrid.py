"""The `hybrid` backend on real (tiny, random-weight) Qwen3.5 / Qwen3-VL / Qwen2.5-VL models against `sdpa`."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from longlens.lvlm import hybrid_stats, remove_hybrid_attention, use_hybrid_attention
from longlens.lvlm.prompts import build_prompt, to_inputs

KINDS = ["qwen3_5", "qwen3_vl", "qwen2_5_vl"]
ALL_BLOCKS = dict(block_size=16, sink_blocks=1, window_blocks=4096, topk_blocks=4096)
SPARSE = dict(block_size=16, sink_blocks=1, window_blocks=1, topk_blocks=1)
SOFTMAX_LAYERS = {"qwen3_5": 1, "qwen3_vl": 4, "qwen2_5_vl": 4}
LINEAR_LAYERS = {"qwen3_5": 3, "qwen3_vl": 0, "qwen2_5_vl": 0}


def _inputs(spec, proc, frames_at, n_frames=40, native=None):
    rng = np.random.default_rng()
    times = np.sort(rng.uniform(0, 600, n_frames))
    native = spec.kind != "qwen2_5_vl" if native is None else native
    prompt = build_prompt(frames_at(spec, times), "What happens in the video?", duration=600.0, native=native)
    return to_inputs(proc, prompt)


def _rel(a, b) -> float:
    return float((a - b).norm() / b.norm())


@torch.inference_mode()
@pytest.mark.parametrize("kind", KINDS)
def test_all_blocks_selected_matches_sdpa(make_vlm, frames_at, kind):
    spec, dense = make_vlm(kind)
    _, hyb = make_vlm(kind, "hybrid", **ALL_BLOCKS)
    inputs = _inputs(spec, dense.processor, frames_at)
    assert inputs["input_ids"].shape[1] > 8 * 16  # several key blocks
    ref = dense.model(**inputs).logits
    stats = hybrid_stats(hyb.model)
    stats.reset()
    out = hyb.model(**inputs).logits
    assert _rel(out, ref) < 1e-4
    assert stats.visited_fraction == 1.0
    # every language-model layer ran on our kernels, and nothing (e.g. the vision tower) fell back to dense
    assert stats.sparse_calls == SOFTMAX_LAYERS[kind]
    assert stats.linear_calls == LINEAR_LAYERS[kind]
    assert stats.dense_calls == 0


@torch.inference_mode()
@pytest.mark.parametrize("kind", KINDS)
def test_real_sparsity_is_live(make_vlm, frames_at, kind):
    spec, dense = make_vlm(kind)
    _, hyb = make_vlm(kind, "hybrid", **SPARSE)
    inputs = _inputs(spec, dense.processor, frames_at)
    ref = dense.model(**inputs).logits
    out = hyb.model(**inputs).logits
    frac = hybrid_stats(hyb.model).visited_fraction
    assert 0 < frac < 0.6
    assert _rel(out, ref) > 1e-3  # the sparse path changed the result: it really ran


@torch.inference_mode()
@pytest.mark.parametrize("kind", KINDS)
def test_hybrid_decode_matches_sdpa_token_for_token(make_vlm, frames_at, kind):
    spec, dense = make_vlm(kind)
    _, hyb = make_vlm(kind, "hybrid", **ALL_BLOCKS)
    inputs = _inputs(spec, dense.processor, frames_at, n_frames=24)
    pad = dense.processor.tokenizer.pad_token_id
    ref = dense.model.generate(**inputs, max_new_tokens=8, do_sample=False, pad_token_id=pad)
    stats = hybrid_stats(hyb.model)
    stats.reset()
    out = hyb.model.generate(**inputs, max_new_tokens=8, do_sample=False, pad_token_id=pad)
    n = inputs["input_ids"].shape[1]
    assert out[0, n:].tolist() == ref[0, n:].tolist()
    # decode steps (one query each, against the KV cache) went through the sparse kernel too
    assert stats.visited > stats.prefill_visited and stats.dense_calls == 0


@torch.inference_mode()
@pytest.mark.parametrize("kind", ["qwen3_5", "qwen2_5_vl"])
def test_padding_mask_reaches_the_hybrid_layers(make_vlm, kind):
    """Registered with a mask function, the hybrid attention sees padding (a left-padded batch matches sdpa)."""
    spec, dense = make_vlm(kind)
    _, hyb = make_vlm(kind, "hybrid", **ALL_BLOCKS)
    tok = dense.processor.tokenizer
    tok.padding_side = "left"
    rng = np.random.default_rng()
    words = ["the", "video", "door", "red", "car", "code", "seconds", "Yes", "No", "man"]
    texts = [" ".join(rng.choice(words, n)) for n in (40, 90)]
    batch = tok(texts, return_tensors="pt", padding=True)
    assert (batch["attention_mask"] == 0).any()
    ref = dense.model(**batch).logits
    out = hyb.model(**batch).logits
    keep = batch["attention_mask"].bool()
    assert _rel(out[keep], ref[keep]) < 1e-4
    assert hybrid_stats(hyb.model).dense_calls > 0  # padded calls take the dense path, with the mask


@torch.inference_mode()
def test_vision_tower_stays_dense_and_remove_restores(make_vlm, frames_at):
    spec, dense = make_vlm("qwen3_5")
    _, hyb = make_vlm("qwen3_5", "hybrid", **SPARSE)
    net = hyb.model
    assert net.config.text_config._attn_implementation == "longlens_hybrid"
    assert net.config.vision_config._attn_implementation == "sdpa"
    hooked = [n for n, m in net.named_modules() if "longlens_hybrid" in m.__dict__]
    assert hooked and not [n for n in hooked if "visual" in n]

    # another model in the same process keeps transformers' own Gated DeltaNet functions
    inputs = _inputs(spec, dense.processor, frames_at, n_frames=8)
    stats = hybrid_stats(net)
    stats.reset()
    dense.model(**inputs)
    assert stats.linear_calls == 0
    net(**inputs)
    assert stats.linear_calls == 3

    modeling = sys.modules[type(net.model.language_model.layers[0].linear_attn).__module__]
    assert getattr(modeling.torch_chunk_gated_delta_rule, "longlens_original", None) is not None
    remove_hybrid_attention(net)
    assert net.config.text_config._attn_implementation == "sdpa"
    assert not hasattr(modeling.torch_chunk_gated_delta_rule, "longlens_original")
    assert hybrid_stats(net) is None
    torch.testing.assert_close(net(**inputs).logits, dense.model(**inputs).logits, rtol=0, atol=0)
    # and it can be switched on again
    use_hybrid_attention(net, **ALL_BLOCKS)
    assert _rel(net(**inputs).logits, dense.model(**inputs).logits) < 1e-4


@torch.inference_mode()
def test_triton_kernels_inside_the_model(make_vlm, frames_at, monkeypatch):
    """The model's own (strided, GQA, cached) tensors through the Triton kernels: the interpreter on CPU,
    natively on CUDA; same logits and greedy tokens as the PyTorch twins, with real sparsity."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    spec, vlm = make_vlm("qwen3_5", "hybrid", block_size=32, sink_blocks=1, window_blocks=1, topk_blocks=1)
    net = vlm.model.to(device)
    inputs = _inputs(spec, vlm.processor, frames_at, n_frames=8).to(device)
    pad = vlm.processor.tokenizer.pad_token_id
    monkeypatch.setenv("LONGLENS_KERNELS", "reference")
    ref = net(**inputs).logits
    ref_tokens = net.generate(**inputs, max_new_tokens=2, do_sample=False, pad_token_id=pad)
    monkeypatch.setenv("LONGLENS_KERNELS", "triton")
    stats = hybrid_stats(net)
    stats.reset()
    out = net(**inputs).logits
    assert _rel(out, ref) < 1e-4
    assert 0 < stats.visited_fraction < 1 and stats.linear_calls == 3
    tokens = net.generate(**inputs, max_new_tokens=2, do_sample=False, pad_token_id=pad)
    assert tokens.tolist() == ref_tokens.tolist()
