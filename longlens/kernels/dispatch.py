"""Pick the implementation of a kernel op: Triton on CUDA tensors, the PyTorch reference elsewhere.

`LONGLENS_KERNELS=triton` or `=reference` forces one path. `triton` on CPU tensors means the Triton
interpreter, which only takes effect if `TRITON_INTERPRET=1` is set before the Triton kernels are
first imported; the kernel modules are imported lazily (on first call) so this module sets it for you
when it decides to interpret.
"""
from __future__ import annotations

import os

import torch

CHOICES = ("auto", "triton", "reference")


def backend_for(*tensors: torch.Tensor) -> str:
    """Return "triton" or "reference" for an op called on `tensors`."""
    choice = os.environ.get("LONGLENS_KERNELS", "auto").strip().lower() or "auto"
    if choice not in CHOICES:
        raise ValueError(f"LONGLENS_KERNELS must be one of {CHOICES}, got {choice!r}")
    on_cuda = all(t.is_cuda for t in tensors if isinstance(t, torch.Tensor))
    if choice == "reference":
        return "reference"
    if choice == "auto":
        return "triton" if on_cuda else "reference"
    if not on_cuda:
        # CPU tensors on the Triton path: only the interpreter can run them.
        os.environ.setdefault("TRITON_INTERPRET", "1")
        if os.environ["TRITON_INTERPRET"] != "1":
            raise RuntimeError("LONGLENS_KERNELS=triton on CPU tensors needs TRITON_INTERPRET=1")
    return "triton"
