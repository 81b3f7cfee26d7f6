"""Pick the implementation of a kernel op: Triton on CUDA tensors, the PyTorch reference elsewhere.

`LONGLENS_KERNELS=triton` or `=reference` forces one path. `triton` on CPU tensors means the Triton
interpreter, which only takes effect if `TRITON_INTERPRET=1` is set before the Triton kernels are
first imported; the kernel modules are imported lazily (on first call) so this module sets it for you
when it decides to interpret. On a machine with CUDA it refuses instead: the interpreter is process-wide
and would also take over the GPU kernels. `force_backend(name)` sets the variable for a `with` block.
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator

import torch

CHOICES = ("auto", "triton", "reference")


def backend_for(*tensors: torch.Tensor | None) -> str:
    """Return "triton" or "reference" for an op called on `tensors` (None entries are ignored)."""
    choice = os.environ.get("LONGLENS_KERNELS", "auto").strip().lower() or "auto"
    if choice not in CHOICES:
        raise ValueError(f"LONGLENS_KERNELS must be one of {CHOICES}, got {choice!r}")
    present = [t for t in tensors if isinstance(t, torch.Tensor)]
    on_cuda = bool(present) and all(t.is_cuda for t in present)
    if choice == "reference":
        return "reference"
    if choice == "auto":
        return "triton" if on_cuda else "reference"
    if not on_cuda:
        _use_interpreter()
    return "triton"


def _use_interpreter() -> None:
    """CPU tensors on the Triton path: only the interpreter can run them, and it is process-wide."""
    interpret = os.environ.get("TRITON_INTERPRET")
    if interpret == "1":
        return
    if interpret is not None or torch.cuda.is_available():
        # On a CUDA machine the interpreter would also take over every GPU kernel of this process.
        raise RuntimeError(
            "LONGLENS_KERNELS=triton on CPU tensors needs the Triton interpreter: set TRITON_INTERPRET=1 before "
            "the process starts (on a CUDA machine this interprets GPU calls too), or move the tensors to CUDA"
        )
    os.environ["TRITON_INTERPRET"] = "1"


@contextlib.contextmanager
def force_backend(name: str) -> Iterator[None]:
    """Within the block, LONGLENS_KERNELS=`name` ("triton", "reference" or "auto"); restored afterwards."""
    if name not in CHOICES:
        raise ValueError(f"backend must be one of {CHOICES}, got {name!r}")
    before = os.environ.get("LONGLENS_KERNELS")
    os.environ["LONGLENS_KERNELS"] = name
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("LONGLENS_KERNELS", None)
        else:
            os.environ["LONGLENS_KERNELS"] = before
