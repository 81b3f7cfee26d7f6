"""Which implementation of a kernel op runs: the caller's `backend` ("auto" | "triton" | "reference", the names of
`longlens.core.registry.KERNEL_BACKENDS`), passed down as an argument.

- "reference": the PyTorch twins, on any device.
- "triton": the Triton kernels. On CUDA tensors natively; on CPU tensors only under Triton's interpreter, which
  must have been switched on (TRITON_INTERPRET=1) before the process imported our Triton modules: otherwise a
  clear error. Nothing here switches it on: the interpreter is process-wide (it would also take over every GPU
  kernel) and Triton decides it when a kernel is decorated, so setting it later would not take effect anyway.
- "auto": Triton on CUDA tensors, and on CPU tensors when the interpreter is on; else the reference twins.

The interpreter flag is the one environment variable read here, and only to *detect* what Triton itself does
with it (Triton reads it; we never set it).
"""
from __future__ import annotations

import torch

from longlens.core import env
from longlens.core.errors import InputError
from longlens.core.registry import KERNEL_BACKENDS


def interpreter_on() -> bool:
    """True when Triton's CPU interpreter was switched on for this process (TRITON_INTERPRET, as Triton reads it)."""
    return env.triton_interpreter()


def backend_for(*tensors: torch.Tensor | None, backend: str = "auto") -> str:
    """"triton" or "reference" for an op called on `tensors` (None entries are ignored) with `backend`."""
    KERNEL_BACKENDS.check(backend)
    if backend == "reference":
        return "reference"
    present = [t for t in tensors if isinstance(t, torch.Tensor)]
    runnable = (bool(present) and all(t.is_cuda for t in present)) or interpreter_on()
    if backend == "auto":
        return "triton" if runnable else "reference"
    if not runnable:
        raise InputError(
            "backend='triton' on CPU tensors needs Triton's interpreter: start the process with TRITON_INTERPRET=1 "
            "(slow; on a CUDA machine it interprets the GPU kernels too), move the tensors to CUDA, or use "
            "backend='reference' / 'auto'"
        )
    return "triton"
