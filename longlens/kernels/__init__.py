"""Our attention kernels: Triton implementations beside plain-PyTorch reference twins.

A leaf package: it imports nothing else of longlens. Tensors are BTHD ([B, T, H, D]); states are fp32.
Triton modules are imported on first use (so TRITON_INTERPRET can still be switched on before then).
"""
from longlens.kernels.dispatch import backend_for, force_backend
from longlens.kernels.ops.gated_delta_rule import chunk_gated_delta_rule, recurrent_gated_delta_rule
from longlens.kernels.ops.linear_attention import linear_attention, linear_attention_step

__all__ = [
    "backend_for",
    "chunk_gated_delta_rule",
    "force_backend",
    "linear_attention",
    "linear_attention_step",
    "recurrent_gated_delta_rule",
]
