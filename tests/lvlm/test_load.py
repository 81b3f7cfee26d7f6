"""load_vlm from a local directory (a tiny model saved here) and its errors when weights can't be had."""
from __future__ import annotations

import uuid

import pytest
import torch

from longlens.core.errors import InputError, LonglensError
from longlens.lvlm import ModelUnavailableError, answer, hybrid_stats, load_vlm
from longlens.bench.tiny import TinySpec, save_tiny


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("tiny_qwen3_5"), TinySpec(kind="qwen3_5"))


def test_load_local_directory_hybrid(tiny_dir, frames_at):
    vlm = load_vlm(tiny_dir, attn="hybrid", block_size=16, window_blocks=2, topk_blocks=1)
    assert vlm.name == tiny_dir and vlm.attn == "hybrid"
    assert vlm.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert vlm.dtype == (torch.bfloat16 if torch.cuda.is_available() else torch.float32)
    assert type(vlm.model).__name__ == "Qwen3_5ForConditionalGeneration"
    assert vlm.native_video_stamps  # Qwen3.5 uses Qwen3VLProcessor, which stamps video frames
    state = vlm.model.longlens_hybrid
    assert (state.softmax_layers, state.linear_layers) == (1, 3)
    assert state.config.block_size == 16 and state.config.window_blocks == 2
    ans = answer(vlm, frames_at(TinySpec(kind="qwen3_5"), [0.5, 4.0, 9.0, 12.5]), "What happens?", max_new_tokens=3)
    assert ans.visual_tokens == 8 and ans.stamps == "native"
    assert hybrid_stats(vlm.model).linear_calls > 0


def test_load_local_directory_sdpa(tiny_dir):
    vlm = load_vlm(tiny_dir, attn="sdpa", device="cpu")
    assert vlm.model.config.text_config._attn_implementation == "sdpa"
    assert vlm.stats is None and vlm.dtype == torch.float32


def test_missing_directory_names_it(tmp_path):
    missing = tmp_path / "no_model_here"
    with pytest.raises(ModelUnavailableError, match="no_model_here") as err:
        load_vlm(str(missing))
    assert isinstance(err.value, LonglensError)
    from longlens.retrieval import ModelUnavailableError as RetrievalModelUnavailable

    assert isinstance(err.value, RetrievalModelUnavailable)  # one error class across the layers
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


def test_bad_options():
    with pytest.raises(InputError, match="attn"):
        load_vlm("x/y", attn="flash")
    with pytest.raises(InputError, match="unknown"):
        load_vlm("x/y", sparsity_level=3)
    with pytest.raises(InputError, match="only apply"):
        load_vlm("x/y", attn="sdpa", block_size=32)
    with pytest.raises(InputError, match="power of two"):
        load_vlm("x/y", block_size=24)
    with pytest.raises(InputError, match="window_blocks"):
        load_vlm("x/y", window_blocks=0)
