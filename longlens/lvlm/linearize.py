"""Linearized attention: a trained transformers LM's softmax layers on `hybrid_attention` (sinks + a window of
exact softmax, every evicted token folded into a linear state through per-layer feature maps).

- `use_linearized_attention(model, feature_maps, window=, sink=)` registers `ATTN_NAME` with transformers'
  AttentionInterface **together with** the sparse attention's mask function (`longlens.lvlm.sparse.sparse_mask`:
  None for a plain causal mask, so the op is causal by itself and nothing T x T is built; a real mask sends
  the call to SDPA, logged once). `feature_maps` is a `LayerMaps` (trained by `longlens.lvlm.transfer`) or the
  name of a fixed map for every layer (`"none"`: sinks + window only; "elu1", ...).
- `LinearStream(model)`: constant-memory streaming. `feed(ids)` runs the next tokens with each layer's
  `HybridCache` carried between calls (one token: `hybrid_attention_step`; more: chunked prefill), so memory
  is O(window + sink + F x D) per layer however long the stream runs, where a dense KV cache grows with it.
  Chunked feeding gives the same outputs as one pass (the op's state-passing rule).

A plain `model(ids)` without a stream runs each layer over the whole input at once (no transformers KV cache:
a call whose keys outnumber its queries is refused, decode through a `LinearStream`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import torch

from longlens.core.errors import InputError
from longlens.core.registry import KERNEL_BACKENDS
from longlens.lvlm.sparse import softmax_attention_modules, sparse_mask, stock_attention, text_config_key, warn_once

log = logging.getLogger(__name__)

ATTN_NAME = "longlens_linearized"


class LayerMaps(torch.nn.Module):
    """One `LearnedFeatures` per softmax layer of a model (index = the layer's `layer_idx`)."""

    def __init__(self, layers: int, q_heads: int, kv_heads: int, head_dim: int, width: int | None = None):
        from longlens.kernels.ops.hybrid import LearnedFeatures

        super().__init__()
        self.layers = torch.nn.ModuleList(LearnedFeatures(q_heads, kv_heads, head_dim, width) for _ in range(layers))

    @classmethod
    def for_model(cls, model, width: int | None = None) -> LayerMaps:
        """Untrained (identity-start) maps shaped for `model`'s language model."""
        c = model.config.get_text_config()
        head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
        kv = getattr(c, "num_key_value_heads", None) or c.num_attention_heads
        return cls(c.num_hidden_layers, c.num_attention_heads, kv, head_dim, width)

    def __getitem__(self, i: int):
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)


@dataclass
class LinearizedState:
    """What `use_linearized_attention` attached to a model (as `model.longlens_linearized`)."""

    feature_maps: LayerMaps | str
    window: int
    sink: int
    kernels: str
    layers: int
    stream: LinearStream | None = None
    previous_attn: dict = field(default_factory=dict, repr=False)

    def feature_map(self, layer_idx: int):
        return self.feature_maps if isinstance(self.feature_maps, str) else self.feature_maps[layer_idx]


def linearized_attention_forward(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """transformers attention interface: query [B, Hq, Tq, D], key/value [B, Hkv, Tk, D] -> ([B, Tq, Hq, D], None)."""
    from longlens.kernels import HybridCache, hybrid_attention, hybrid_attention_step

    state: LinearizedState = module.longlens_linearized
    causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    if attention_mask is not None or not causal or kwargs.get("softcap") is not None:
        warn_once("linearized-mask", "linearized attention got a materialized mask or a non-causal layer: dense "
                                      "SDPA for such calls")
        return stock_attention(module, query, key, value, attention_mask, scaling, dropout=dropout,
                               is_causal=is_causal, **kwargs)
    q, k, v = (x.transpose(1, 2) for x in (query, key, value))  # BTHD
    fmap = state.feature_map(module.layer_idx)
    rule = dict(window=state.window, sink=state.sink, feature_map=fmap)
    stream = state.stream
    if stream is None:
        if q.shape[1] != k.shape[1]:
            raise InputError("linearized attention keeps no transformers KV cache: call the model with "
                             "use_cache=False, and decode through longlens.lvlm.linearize.LinearStream")
        o, _ = hybrid_attention(q, k, v, scale=scaling, backend=state.kernels, **rule)
        return o, None
    cache = stream.caches.get(module.layer_idx)
    if cache is None:
        cache = HybridCache.empty(k.shape[0], k.shape[2], k.shape[3], scale=scaling, dtype=k.dtype, device=k.device,
                                  **rule)
    if q.shape[1] == 1:
        o, cache = hybrid_attention_step(q, k, v, cache)
    else:
        o, cache = hybrid_attention(q, k, v, scale=scaling, initial_state=cache, output_final_state=True,
                                    backend=state.kernels, **rule)
    stream.caches[module.layer_idx] = cache
    return o, None


def register() -> str:
    """Register `ATTN_NAME` (attention + the sparse attention's mask function, always together). Idempotent."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(ATTN_NAME, linearized_attention_forward)
    AttentionMaskInterface.register(ATTN_NAME, sparse_mask)
    return ATTN_NAME


def use_linearized_attention(model, feature_maps: LayerMaps | str, *, window: int = 512, sink: int = 4,
                             kernels: str = KERNEL_BACKENDS.default):
    """Run `model`'s softmax layers as hybrid layers (sinks + `window` exact, the rest through `feature_maps`), in
    place; returns `model`. `kernels`: "auto" | "triton" | "reference". Undo with `remove_linearized_attention`."""
    from longlens.kernels.ops.hybrid import HybridRule

    KERNEL_BACKENDS.check(kernels)
    HybridRule(window, sink, feature_maps if isinstance(feature_maps, str) else "none", 1.0)  # checks the numbers
    if getattr(model, "longlens_linearized", None) is not None:
        remove_linearized_attention(model)
    register()
    key, text_config = text_config_key(model)
    layers = softmax_attention_modules(model, text_config)
    if not layers:
        raise InputError(f"{type(model).__name__}: found no softmax attention layers to linearize")
    if not isinstance(feature_maps, str):
        need = 1 + max(m.layer_idx for m in layers)
        if len(feature_maps) < need:
            raise InputError(f"feature maps for {len(feature_maps)} layers, {type(model).__name__} has {need}")
        feature_maps.to(next(model.parameters()).device)
    state = LinearizedState(feature_maps, window, sink, kernels, len(layers),
                            previous_attn={key: text_config._attn_implementation})
    model.set_attn_implementation(ATTN_NAME if key is None else {key: ATTN_NAME})
    for m in layers:
        m.longlens_linearized = state
    model.longlens_linearized = state
    log.info("linearized attention on %s: %d layers, window %d, sink %d, feature maps %s", type(model).__name__,
             len(layers), window, sink, feature_maps if isinstance(feature_maps, str) else "learned")
    return model


def remove_linearized_attention(model):
    """Undo `use_linearized_attention` (the previous attention implementation comes back)."""
    state: LinearizedState | None = getattr(model, "longlens_linearized", None)
    if state is None:
        return model
    for m in model.modules():
        if getattr(m, "longlens_linearized", None) is state and m is not model:
            del m.longlens_linearized
    (key, previous), = state.previous_attn.items()
    model.set_attn_implementation(previous if key is None else {key: previous})
    del model.longlens_linearized
    return model


class LinearStream:
    """Token stream through a linearized model with per-layer hybrid caches (constant memory).

    `feed(ids [B, T])` returns the logits [B, T, V] of those tokens given everything fed before.
    """

    def __init__(self, model):
        if getattr(model, "longlens_linearized", None) is None:
            raise InputError("LinearStream needs a model on linearized attention (use_linearized_attention first)")
        self.model = model
        self.caches: dict = {}
        self.pos = 0

    @torch.no_grad()
    def feed(self, ids: torch.Tensor) -> torch.Tensor:
        state: LinearizedState = self.model.longlens_linearized
        T = ids.shape[1]
        positions = torch.arange(self.pos, self.pos + T, device=ids.device)[None].expand(ids.shape[0], -1)
        state.stream = self
        try:
            out = self.model(input_ids=ids, position_ids=positions, use_cache=False)
        finally:
            state.stream = None
        self.pos += T
        return out.logits

    def cache_bytes(self) -> int:
        """Bytes held by the layers' caches (window rings, sinks, linear states)."""
        total = 0
        for c in self.caches.values():
            total += sum(t.numel() * t.element_size()
                         for t in (c.k_ring, c.v_ring, c.k_sink, c.v_sink, c.state, c.normalizer))
        return total
