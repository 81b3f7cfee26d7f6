"""Our attention kernels: Triton implementations beside plain-PyTorch reference twins.

A leaf package: of longlens it imports only core's name registry (the kernel backends). Tensors are BTHD
([B, T, H, D]); states are fp32. Every op takes `backend` ("auto" | "triton" | "reference"; see `dispatch`).
Triton modules are imported on first use, so importing this package stays cheap.

What runs in a model: `block_sparse_attention` (with `select_blocks`) and the gated delta rule back the VLM's
`attn="sparse"` (longlens.lvlm.sparse). `hybrid_attention` / `hybrid_attention_step` (sinks + window of exact
softmax, evicted tokens folded into a linear state, with fixed or trained `LearnedFeatures` feature maps) back
the linearized model of longlens.lvlm.linearize. `linear_attention` and `merge_attention` are tested and
benchmarked here; no model path uses them.
"""
from longlens.kernels.dispatch import backend_for
from longlens.kernels.ops.block_sparse import block_indices, block_sparse_attention, select_blocks
from longlens.kernels.ops.gated_delta_rule import chunk_gated_delta_rule, recurrent_gated_delta_rule
from longlens.kernels.ops.hybrid import FEATURE_MAPS, HybridCache, hybrid_attention, hybrid_attention_step
from longlens.kernels.ops.hybrid.learned import LearnedFeatures
from longlens.kernels.ops.linear_attention import linear_attention, linear_attention_step
from longlens.kernels.ops.merge import merge_attention

__all__ = [
    "backend_for",
    "block_indices",
    "block_sparse_attention",
    "chunk_gated_delta_rule",
    "FEATURE_MAPS",
    "hybrid_attention",
    "hybrid_attention_step",
    "LearnedFeatures",
    "HybridCache",
    "linear_attention",
    "linear_attention_step",
    "merge_attention",
    "recurrent_gated_delta_rule",
    "select_blocks",
]
