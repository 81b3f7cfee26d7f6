"""Our attention kernels: Triton implementations beside plain-PyTorch reference twins.

A leaf package: it imports nothing else of longlens. Tensors are BTHD ([B, T, H, D]); states are fp32.
"""
from longlens.kernels.dispatch import backend_for

__all__ = ["backend_for"]
