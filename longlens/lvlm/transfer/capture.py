"""Record each softmax layer's post-RoPE q, k, v during one dense forward of a frozen model.

A capturing attention function is registered with transformers' AttentionInterface (with the sparse
attention's mask function, as every longlens attention), records its inputs, and computes stock SDPA: the
model's outputs are unchanged. The previous attention implementation is restored afterwards.
"""
from __future__ import annotations

import torch

from longlens.core.errors import InputError
from longlens.lvlm.sparse import softmax_attention_modules, sparse_mask, stock_attention, text_config_key

ATTN_NAME = "longlens_capture"


def _capture_forward(module, query, key, value, attention_mask, scaling=None, **kwargs):
    sink = getattr(module, "longlens_capture", None)
    if sink is not None:  # BTHD, detached fp32 copies: training data, not part of any graph
        sink.append(tuple(x.detach().transpose(1, 2).float().contiguous() for x in (query, key, value)))
    return stock_attention(module, query, key, value, attention_mask, scaling, **kwargs)


@torch.no_grad()
def capture_qkv(model, ids: torch.Tensor) -> tuple[list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]], float]:
    """Per layer (by layer_idx) the (q [B, T, Hq, D], k, v [B, T, Hkv, D]) fp32 of `ids` [B, T], and the layers'
    softmax scale. Memory: 4 bytes x T x (Hq + 2 Hkv) x D per layer and sequence."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(ATTN_NAME, _capture_forward)
    AttentionMaskInterface.register(ATTN_NAME, sparse_mask)
    key, text_config = text_config_key(model)
    layers = softmax_attention_modules(model, text_config)
    if not layers:
        raise InputError(f"{type(model).__name__}: no softmax attention layers to capture")
    previous = text_config._attn_implementation
    records = {m.layer_idx: [] for m in layers}
    for m in layers:
        m.longlens_capture = records[m.layer_idx]
    model.set_attn_implementation(ATTN_NAME if key is None else {key: ATTN_NAME})
    try:
        model(input_ids=ids, use_cache=False)
    finally:
        model.set_attn_implementation(previous if key is None else {key: previous})
        for m in layers:
            del m.longlens_capture
    scale = getattr(layers[0], "scaling", None) or layers[0].head_dim ** -0.5
    return [records[i][0] for i in sorted(records)], float(scale)
