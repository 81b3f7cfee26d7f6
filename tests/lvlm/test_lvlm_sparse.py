"""attn="sparse" on real (tiny, random-weight) Qwen3.5 / Qwen3-VL / Qwen2.5-VL models against `sdpa`."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from longlens.kernels import selfcheck
from longlens.lvlm import SparsityConfig, attention_ran, remove_sparse_attention, sparse_stats, use_sparse_attention
from longlens.lvlm.prompts import build_prompt, to_inputs

KINDS = ["qwen3_5", "qwen3_vl", "qwen2_5_vl"]
ALL_BLOCKS = dict(block_size=16, sink_blocks=1, window_blocks=4096, topk_blocks=4096)
SPARSE = dict(block_size=16, sink_blocks=1, window_blocks=1, topk_blocks=1)
SOFTMAX_LAYERS = {"qwen3_5": 1, "qwen3_vl": 4, "qwen2_5_vl": 4}
LINEAR_LAYERS = {"qwen3_5": 3, "qwen3_vl": 0, "qwen2_5_vl": 0}


@pytest.fixture
def pair(make_vlm, frames_at, rng):
    """pair(kind, n_frames, **sparsity) -> (dense VLM, sparse VLM, prompt inputs of seeded frames), the two
    models with the same weights."""

    def make(kind: str, n_frames: int = 40, **sparsity):
        spec, dense = make_vlm(kind)
        _, sparse = make_vlm(kind, "sparse", **sparsity)
        times = np.sort(rng.uniform(0, 600, n_frames))
        prompt = build_prompt(frames_at(spec, times), "What happens in the video?", duration=600.0,
                              native=spec.kind != "qwen2_5_vl")
        return dense, sparse, to_inputs(dense.processor, prompt)

    return make


def _rel(a, b) -> float:
    return float((a - b).norm() / b.norm())


@torch.inference_mode()
@pytest.mark.parametrize("kind", KINDS)
def test_all_blocks_selected_matches_sdpa(pair, kind):
    dense, sparse, inputs = pair(kind, **ALL_BLOCKS)
    assert inputs["input_ids"].shape[1] > 8 * 16  # several key blocks
    ref = dense.model(**inputs).logits
    stats = sparse_stats(sparse.model)
    stats.reset()
    out = sparse.model(**inputs).logits
    assert _rel(out, ref) < 1e-4
    assert stats.visited_fraction == 1.0
    # every language-model layer ran on our kernels, and nothing (e.g. the vision tower) fell back to dense
    assert stats.sparse_calls == SOFTMAX_LAYERS[kind]
    assert stats.linear_calls == LINEAR_LAYERS[kind]
    assert stats.dense_calls == 0


@torch.inference_mode()
@pytest.mark.parametrize("kind", KINDS)
def test_real_sparsity_is_live(pair, kind):
    dense, sparse, inputs = pair(kind, **SPARSE)
    ref = dense.model(**inputs).logits
    out = sparse.model(**inputs).logits
    assert 0 < sparse_stats(sparse.model).visited_fraction < 0.6
    assert _rel(out, ref) > 1e-3  # the sparse path changed the result: it really ran


@torch.inference_mode()
@pytest.mark.parametrize("kind", KINDS)
def test_sparse_decode_matches_sdpa_token_for_token(pair, kind):
    dense, sparse, inputs = pair(kind, n_frames=24, **ALL_BLOCKS)
    pad = dense.processor.tokenizer.pad_token_id
    ref = dense.model.generate(**inputs, max_new_tokens=8, do_sample=False, pad_token_id=pad)
    stats = sparse_stats(sparse.model)
    stats.reset()
    out = sparse.model.generate(**inputs, max_new_tokens=8, do_sample=False, pad_token_id=pad)
    n = inputs["input_ids"].shape[1]
    assert out[0, n:].tolist() == ref[0, n:].tolist()
    # decode steps (one query each, against the KV cache) went through the sparse kernel too
    assert stats.visited > stats.prefill_visited and stats.dense_calls == 0


@torch.inference_mode()
@pytest.mark.parametrize("kind", ["qwen3_5", "qwen2_5_vl"])
def test_padding_mask_reaches_the_sparse_layers(make_vlm, rng, kind):
    """Registered with a mask function, the sparse attention sees padding (a left-padded batch matches sdpa)."""
    _, dense = make_vlm(kind)
    _, sparse = make_vlm(kind, "sparse", **ALL_BLOCKS)
    tok = dense.processor.tokenizer
    tok.padding_side = "left"
    words = ["the", "video", "door", "red", "car", "code", "seconds", "Yes", "No", "man"]
    texts = [" ".join(rng.choice(words, n)) for n in (40, 90)]
    batch = tok(texts, return_tensors="pt", padding=True)
    assert (batch["attention_mask"] == 0).any()
    ref = dense.model(**batch).logits
    out = sparse.model(**batch).logits
    keep = batch["attention_mask"].bool()
    assert _rel(out[keep], ref[keep]) < 1e-4
    assert sparse_stats(sparse.model).dense_calls > 0  # padded calls take the dense path, with the mask


@torch.inference_mode()
def test_vision_tower_stays_dense_and_remove_restores(pair):
    dense, sparse, inputs = pair("qwen3_5", n_frames=8, **SPARSE)
    net = sparse.model
    assert net.config.text_config._attn_implementation == "longlens_sparse"
    assert net.config.vision_config._attn_implementation == "sdpa"
    hooked = [n for n, m in net.named_modules() if "longlens_sparse" in m.__dict__]
    assert hooked and not [n for n in hooked if "visual" in n]

    # another model in the same process keeps transformers' own Gated DeltaNet functions
    stats = sparse_stats(net)
    stats.reset()
    dense.model(**inputs)
    assert stats.linear_calls == 0
    net(**inputs)
    assert stats.linear_calls == 3

    modeling = sys.modules[type(net.model.language_model.layers[0].linear_attn).__module__]
    assert getattr(modeling.torch_chunk_gated_delta_rule, "longlens_original", None) is not None
    remove_sparse_attention(net)
    assert net.config.text_config._attn_implementation == "sdpa"
    assert not hasattr(modeling.torch_chunk_gated_delta_rule, "longlens_original")
    assert sparse_stats(net) is None
    torch.testing.assert_close(net(**inputs).logits, dense.model(**inputs).logits, rtol=0, atol=0)
    # and it can be switched on again
    use_sparse_attention(net, SparsityConfig(**ALL_BLOCKS), kernels="reference")
    assert _rel(net(**inputs).logits, dense.model(**inputs).logits) < 1e-4


@torch.inference_mode()
def test_triton_kernels_inside_the_model(make_vlm, frames_at, monkeypatch):
    """The model's own (strided, GQA, cached) tensors through the Triton kernels: the interpreter on CPU,
    natively on CUDA; same logits and greedy tokens as the PyTorch twins, with real sparsity. The backend is
    the one `use_sparse_attention` was given, in the softmax and in the Gated DeltaNet layers."""
    from longlens.kernels.ops.block_sparse import kernel as bs_kernel
    from longlens.kernels.ops.common import chunk as la_chunk

    device = "cuda" if torch.cuda.is_available() else "cpu"
    sparsity = SparsityConfig(block_size=32, sink_blocks=1, window_blocks=1, topk_blocks=1, dense_below=0)
    spec, vlm = make_vlm("qwen3_5", "sparse", **sparsity.__dict__)
    net = vlm.model.to(device)
    prompt = build_prompt(frames_at(spec, [1.0, 30.0, 65.5, 90.0, 130.0, 200.0, 260.0, 300.0]), "What happens?",
                          duration=600.0, native=True)
    inputs = to_inputs(vlm.processor, prompt).to(device)
    pad = vlm.processor.tokenizer.pad_token_id
    triton_calls = []  # calls of the Triton entries of the softmax and the Gated DeltaNet layers
    for module, name in ((bs_kernel, "block_sparse_fwd"), (la_chunk, "chunk_fwd")):
        calls, real = [], getattr(module, name)
        monkeypatch.setattr(module, name,
                            lambda *a, _calls=calls, _real=real, **kw: _calls.append(1) or _real(*a, **kw))
        triton_calls.append(calls)
    ref = net(**inputs).logits
    ref_tokens = net.generate(**inputs, max_new_tokens=2, do_sample=False, pad_token_id=pad)
    assert [len(c) for c in triton_calls] == [0, 0]  # kernels="reference": the twins only
    use_sparse_attention(net, sparsity, kernels="triton")
    stats = sparse_stats(net)
    net(**inputs)  # the first Triton use of each kernel configuration runs its self-check against the twin
    assert selfcheck.verdicts() and all(v.ok for v in selfcheck.verdicts())
    assert attention_ran(net) == "sparse"
    for calls in triton_calls:
        calls.clear()
    stats.reset()
    out = net(**inputs).logits
    assert [len(c) for c in triton_calls] == [1, 3]  # one softmax layer, three Gated DeltaNet layers
    assert _rel(out, ref) < 1e-4
    assert 0 < stats.visited_fraction < 1 and stats.linear_calls == 3
    tokens = net.generate(**inputs, max_new_tokens=2, do_sample=False, pad_token_id=pad)
    assert tokens.tolist() == ref_tokens.tolist()
