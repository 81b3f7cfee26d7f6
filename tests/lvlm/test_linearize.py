"""Linearized attention on a tiny random-weight Llama: attention transfer lowers each layer's error against dense
attention, the swapped-in model streams in constant memory with the same outputs as one pass, and trained maps
survive a save / load round trip but refuse another model."""
from __future__ import annotations

import pytest
import torch

from longlens.core.errors import CacheError, InputError
from longlens.lvlm.linearize import (
    LayerMaps,
    LinearStream,
    remove_linearized_attention,
    use_linearized_attention,
)
from longlens.lvlm.transfer import TransferConfig, attention_transfer, load_feature_maps, save_feature_maps

VOCAB = 97
WINDOW, SINK = 12, 2


def tiny_llama(seed: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=VOCAB, hidden_size=48, intermediate_size=96, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=12, max_position_embeddings=512)
    return LlamaForCausalLM(cfg).eval()


def random_maps(model, seed: int) -> LayerMaps:
    maps = LayerMaps.for_model(model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in maps.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=gen))
    return maps


@pytest.fixture
def ids(seed):
    return torch.randint(0, VOCAB, (2, 96), generator=torch.Generator().manual_seed(seed))


def test_attention_transfer_lowers_every_layers_error(seed, ids):
    model = tiny_llama(seed)
    cfg = TransferConfig(window=WINDOW, sink=SINK, steps=40, rows=32, eval_rows=48, seed=seed)
    maps, rows = attention_transfer(model, ids[:1], cfg, eval_ids=ids[1:])
    assert [r["layer"] for r in rows] == [0, 1]
    for r in rows:
        assert r["mse_trained"] < 0.5 * r["mse_untrained"], r
        assert r["mse_trained"] < r["mse_window"], r
    assert not any(p.requires_grad for p in maps.parameters())
    assert not any(p.requires_grad is False and p.grad is not None for p in model.parameters())


def test_stream_equals_one_pass_and_a_long_window_is_dense(seed, ids):
    model = tiny_llama(seed)
    x = ids[:1]
    with torch.no_grad():
        dense = model(x, use_cache=False).logits
        use_linearized_attention(model, random_maps(model, seed), window=WINDOW, sink=SINK, kernels="reference")
        whole = model(x, use_cache=False).logits
        stream = LinearStream(model)
        parts = [stream.feed(x[:, :37])] + [stream.feed(x[:, t:t + 1]) for t in range(37, 96)]
        assert torch.allclose(torch.cat(parts, 1), whole, atol=1e-4)
        assert (whole[:, WINDOW + SINK:] - dense[:, WINDOW + SINK:]).abs().max() > 1e-3  # the linear branch acts
        use_linearized_attention(model, "none", window=200, sink=SINK, kernels="reference")  # window > input
        assert torch.allclose(model(x, use_cache=False).logits, dense, atol=1e-4)
        remove_linearized_attention(model)
        assert torch.equal(model(x, use_cache=False).logits, dense)


def test_decode_memory_stays_flat_while_the_kv_cache_grows(seed, ids):
    from transformers import DynamicCache

    model = tiny_llama(seed)
    x = ids[:1]
    past, dense_bytes = DynamicCache(config=model.config), []
    with torch.no_grad():
        for t in range(96):
            model(x[:, t:t + 1], cache=past, use_cache=True)
            dense_bytes.append(sum(layer.keys.nbytes + layer.values.nbytes for layer in past.layers))
    use_linearized_attention(model, random_maps(model, seed), window=WINDOW, sink=SINK)
    stream, hybrid_bytes = LinearStream(model), []
    for t in range(96):
        stream.feed(x[:, t:t + 1])
        hybrid_bytes.append(stream.cache_bytes())
    assert len(set(hybrid_bytes)) == 1 and hybrid_bytes[0] > 0  # flat from the first token on
    per_token = dense_bytes[1] - dense_bytes[0]
    assert per_token > 0 and dense_bytes == [dense_bytes[0] + i * per_token for i in range(96)]  # linear growth
    assert dense_bytes[-1] > hybrid_bytes[-1]


def test_save_load_round_trip_and_another_model_is_refused(seed, ids, tmp_path):
    model = tiny_llama(seed)
    maps = random_maps(model, seed)
    path = save_feature_maps(maps, tmp_path / "maps.safetensors", model=model, window=WINDOW, sink=SINK,
                             extra={"steps": 3})
    loaded, info = load_feature_maps(path, model=model)
    assert info == {"window": WINDOW, "sink": SINK, "extra": {"steps": 3}}
    for (name, a), (_, b) in zip(maps.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    with torch.no_grad():
        use_linearized_attention(model, maps, window=WINDOW, sink=SINK, kernels="reference")
        want = model(ids[:1], use_cache=False).logits
        use_linearized_attention(model, loaded, window=WINDOW, sink=SINK, kernels="reference")
        assert torch.equal(model(ids[:1], use_cache=False).logits, want)

    with pytest.raises(InputError, match="trained for .*weights_sha256"):
        load_feature_maps(path, model=tiny_llama(seed + 1))  # same shape, other weights
    data = bytearray(path.read_bytes())
    data[-8:] = bytes(8)  # damage the last tensor's bytes
    path.write_bytes(bytes(data))
    with pytest.raises(CacheError, match="hash"):
        load_feature_maps(path, model=model)
    path.write_bytes(b"not safetensors")
    with pytest.raises(CacheError, match="safetensors"):
        load_feature_maps(path, model=model)


def test_kv_cache_calls_are_refused_with_a_pointer_to_the_stream(seed, ids):
    model = tiny_llama(seed)
    use_linearized_attention(model, "elu1", window=WINDOW, sink=SINK)
    with torch.no_grad(), pytest.raises(InputError, match="LinearStream"):
        out = model(ids[:1, :20], use_cache=True)
        model(ids[:1, 20:21], cache=out.past_key_values, use_cache=True)
