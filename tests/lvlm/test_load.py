"""load_vlm from a local directory (a tiny model saved here) and its errors when weights can't be had."""
from __future__ import annotations

import uuid

import pytest
import torch

from longlens.bench.tiny import TinySpec, save_tiny
from longlens.core.errors import InputError, LonglensError, ModelUnavailableError
from longlens.lvlm import DEFAULT_MODEL, VlmConfig, answer, load_vlm, load_vlm_config, sparse_stats


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("tiny_qwen3_5"), TinySpec(kind="qwen3_5"))


def test_load_local_directory_sparse(tiny_dir, frames_at):
    vlm = load_vlm(tiny_dir, attn="sparse", kernels="reference", block_size=16, window_blocks=2, topk_blocks=1,
                   dense_below=0)
    assert vlm.name == tiny_dir and vlm.attn == "sparse"
    assert vlm.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert vlm.dtype == (torch.bfloat16 if torch.cuda.is_available() else torch.float32)
    assert type(vlm.model).__name__ == "Qwen3_5ForConditionalGeneration"
    assert vlm.native_video_stamps  # Qwen3.5 uses Qwen3VLProcessor, which stamps video frames
    state = vlm.model.longlens_sparse
    assert (state.softmax_layers, state.linear_layers) == (1, 3) and state.kernels == "reference"
    assert state.config.block_size == 16 and state.config.window_blocks == 2
    ans = answer(vlm, frames_at(TinySpec(kind="qwen3_5"), [0.5, 4.0, 9.0, 12.5]), "What happens?", max_new_tokens=3)
    assert ans.visual_tokens == 8 and ans.stamps == "native"
    assert sparse_stats(vlm.model).linear_calls > 0


def test_load_local_directory_sdpa(tiny_dir):
    vlm = load_vlm_config(VlmConfig(tiny_dir, attn="sdpa", device="cpu", dtype="bfloat16"))
    assert vlm.model.config.text_config._attn_implementation == "sdpa"
    assert vlm.stats is None and vlm.dtype == torch.bfloat16


def test_auto_attention_is_stock_on_cpu_and_answers_say_what_ran(tiny_dir, frames_at):
    """attn="auto" (the default): our sparse kernels on CUDA, stock SDPA on CPU, where the kernels' PyTorch twins
    are slower than SDPA; the answer records the attention that ran."""
    from longlens.lvlm import resolve_attention

    assert [resolve_attention("auto", d) for d in ("cuda", "cpu", "mps")] == ["sparse", "sdpa", "sdpa"]
    assert resolve_attention("eager", "cuda") == "eager" and resolve_attention("sparse", "cpu") == "sparse"
    vlm = load_vlm_config(VlmConfig(tiny_dir, device="cpu"))
    assert vlm.attn == vlm.attention == "sdpa" and vlm.stats is None
    assert vlm.model.config.text_config._attn_implementation == "sdpa"
    ans = answer(vlm, frames_at(TinySpec(kind="qwen3_5"), [0.5, 4.0]), "What happens?", max_new_tokens=2)
    assert ans.attention == "sdpa" and ans.visited_fraction is None and ans.to_dict()["attention"] == "sdpa"


def test_config_defaults_are_the_registries():
    """What the CLI and the explorer build their defaults and choices from."""
    from longlens.core.registry import ATTENTION, KERNEL_BACKENDS

    cfg = VlmConfig()
    assert (cfg.model, cfg.attn, cfg.kernels) == (DEFAULT_MODEL, ATTENTION.default, KERNEL_BACKENDS.default)
    assert (cfg.attn, cfg.kernels) == ("auto", "auto")
    with pytest.raises(InputError, match="auto, sparse, sdpa, eager"):
        VlmConfig(attn="hybrid")
    with pytest.raises(InputError, match="auto, triton, reference"):
        VlmConfig(kernels="cuda")


def test_missing_directory_names_it(tmp_path):
    missing = tmp_path / "no_model_here"
    with pytest.raises(ModelUnavailableError, match="no_model_here") as err:
        load_vlm(str(missing))
    assert isinstance(err.value, LonglensError) and "no_model_here" in err.value.summary
    assert "\n" not in err.value.summary and len(err.value.summary) < len(str(err.value))
    missing.mkdir()
    with pytest.raises(ModelUnavailableError, match="config.json"):
        load_vlm(str(missing))


def test_offline_hub_id_fails_with_model_and_cache(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    name = f"longlens-test/no-such-vlm-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ModelUnavailableError) as err:
        load_vlm(name)
    msg = str(err.value)
    assert name in msg and constants.HF_HUB_CACHE in msg and "offline" in msg
    assert err.value.summary == f"model {name!r} is not available here"


def test_bad_options():
    with pytest.raises(InputError, match="unknown attention 'flash'"):
        load_vlm("x/y", attn="flash")
    with pytest.raises(InputError, match="kernel backend"):
        load_vlm("x/y", kernels="cuda")
    with pytest.raises(InputError, match="unknown"):
        load_vlm("x/y", sparsity_level=3)
    with pytest.raises(InputError, match="only apply"):
        load_vlm("x/y", attn="sdpa", block_size=32)
    with pytest.raises(InputError, match="power of two"):
        load_vlm("x/y", block_size=24)
    with pytest.raises(InputError, match="window_blocks"):
        load_vlm("x/y", window_blocks=0)
