"""Our attention kernels: Triton implementations beside plain-PyTorch reference twins.

A leaf package: it imports nothing else of longlens. Tensors are BTHD ([B, T, H, D]); states are fp32.
Triton modules are imported on first use (so TRITON_INTERPRET can still be switched on before then).
"""
from longlens.kernels.dispatch import backend_for, force_backend
from longlens.kernels.ops.block_sparse import block_indices, block_sparse_attention, select_blocks
from longlens.kernels.ops.gated_delta_rule import chunk_gated_delta_rule, recurrent_gated_delta_rule
from longlens.kernels.ops.hybrid import FEATURE_MAPS, HybridCache, hybrid_attention, hybrid_attention_step
from longlens.kernels.ops.linear_attention import linear_attention, linear_attention_step
from longlens.kernels.ops.merge import merge_attention

__all__ = [
    "backend_for",
    "block_indices",
    "block_sparse_attention",
    "chunk_gated_delta_rule",
    "FEATURE_MAPS",
    "force_backend",
    "hybrid_attention",
    "hybrid_attention_step",
    "HybridCache",
    "linear_attention",
    "linear_attention_step",
    "merge_attention",
    "recurrent_gated_delta_rule",
    "select_blocks",
]
