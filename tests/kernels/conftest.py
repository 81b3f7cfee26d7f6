"""Shared set-up of the kernel tests: where the Triton kernels run, and output poisoning.

`target` runs a test once per place the Triton kernels can run: on CPU under the Triton interpreter in fp32
(only where CUDA is absent: the interpreter is switched on for the whole process), and natively on CUDA in
fp32 and bf16 (skipped with "needs CUDA" elsewhere). Every test using it has torch.empty filling NaN
(deterministic mode), so an output element a kernel never writes fails the comparison.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

HAS_CUDA = torch.cuda.is_available()
_on_gpu = pytest.mark.skipif(not HAS_CUDA, reason="needs CUDA")
_no_gpu = pytest.mark.skipif(HAS_CUDA, reason="the Triton interpreter runs only where CUDA is absent")

TARGETS = [
    pytest.param(("cpu", torch.float32), id="cpu-fp32-interpreter", marks=_no_gpu),
    pytest.param(("cuda", torch.float32), id="cuda-fp32", marks=[pytest.mark.gpu, _on_gpu]),
    pytest.param(("cuda", torch.bfloat16), id="cuda-bf16", marks=[pytest.mark.gpu, _on_gpu]),
]


@dataclass
class Target:
    device: str
    dtype: torch.dtype

    @property
    def tol(self) -> float:
        """Relative RMS error allowed against the fp32 reference: 1e-4 in fp32, 1e-2 for bf16 inputs."""
        return 1e-4 if self.dtype == torch.float32 else 1e-2

    def randn(self, *shape: int) -> torch.Tensor:
        """Fresh standard-normal input in the target dtype on the target device."""
        return torch.randn(*shape, device=self.device).to(self.dtype)

    def rand(self, *shape: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
        """Fresh uniform fp32 input in [low, high) (gates stay fp32, as models compute them)."""
        return low + (high - low) * torch.rand(*shape, device=self.device)

    def check(self, out: torch.Tensor, ref: torch.Tensor, tol: float | None = None) -> None:
        """`out` is fully written (finite) and within the relative RMS tolerance of the fp32 `ref`."""
        assert out.shape == ref.shape, (out.shape, ref.shape)
        assert torch.isfinite(out).all(), "non-finite output: an element was left unwritten (NaN poison) or overflowed"
        err = rel_err(out, ref)
        assert err < (tol or self.tol), f"relative RMS error {err:.3g} >= {tol or self.tol}"


def rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    """||out - ref|| / ||ref|| in fp64."""
    out, ref = out.double().cpu(), ref.double().cpu()
    return ((out - ref).norm() / ref.norm()).item()


@pytest.fixture(params=TARGETS)
def target(request, monkeypatch) -> Target:
    device, dtype = request.param
    monkeypatch.setenv("LONGLENS_KERNELS", "triton")
    torch.use_deterministic_algorithms(True, warn_only=True)  # torch.empty now fills NaN
    assert torch.empty(4, device=device).isnan().all()
    yield Target(device, dtype)
    torch.use_deterministic_algorithms(False)
