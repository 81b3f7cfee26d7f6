"""Shared set-up of the kernel tests: seeded inputs, where the Triton kernels run, output poisoning, spies.

`target` runs a test once per place the Triton kernels can run: on CPU under the Triton interpreter in fp32
(only where CUDA is absent: tests/conftest.py switches the interpreter on for the whole process), and natively
on CUDA in fp32 and bf16 (skipped with "needs CUDA" elsewhere). Tests pass `backend=target.backend` to the ops.
Every test using it has torch.empty filling NaN (deterministic mode), so an output element a kernel never writes
fails the comparison. All random inputs come from the test's `seed` (printed on failure; `pytest --seed` replays).
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from longlens.bench.kernels.common import rel_err

HAS_CUDA = torch.cuda.is_available()
_on_gpu = pytest.mark.skipif(not HAS_CUDA, reason="needs CUDA")
_no_gpu = pytest.mark.skipif(HAS_CUDA, reason="the Triton interpreter runs only where CUDA is absent")

TARGETS = [
    pytest.param(("cpu", torch.float32), id="cpu-fp32-interpreter", marks=_no_gpu),
    pytest.param(("cuda", torch.float32), id="cuda-fp32", marks=[pytest.mark.gpu, _on_gpu]),
    pytest.param(("cuda", torch.bfloat16), id="cuda-bf16", marks=[pytest.mark.gpu, _on_gpu]),
]


@pytest.fixture
def gen(seed) -> torch.Generator:
    """A CPU torch generator seeded by the test's seed (inputs are drawn on CPU, then moved)."""
    return torch.Generator().manual_seed(seed)


@dataclass
class Target:
    device: str
    dtype: torch.dtype
    gen: torch.Generator
    backend: str = "triton"

    @property
    def tol(self) -> float:
        """Relative RMS error allowed against the fp32 reference: 1e-4 in fp32, 1e-2 for bf16 inputs."""
        return 1e-4 if self.dtype == torch.float32 else 1e-2

    def randn(self, *shape: int) -> torch.Tensor:
        """Seeded standard-normal input in the target dtype on the target device."""
        return torch.randn(*shape, generator=self.gen).to(self.device, self.dtype)

    def rand(self, *shape: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
        """Seeded uniform fp32 input in [low, high) (gates stay fp32, as models compute them)."""
        return (low + (high - low) * torch.rand(*shape, generator=self.gen)).to(self.device)

    def check(self, out: torch.Tensor, ref: torch.Tensor, tol: float | None = None) -> None:
        """`out` is fully written (finite) and within the relative RMS tolerance of the fp32 `ref`."""
        assert out.shape == ref.shape, (out.shape, ref.shape)
        assert torch.isfinite(out).all(), "non-finite output: an element was left unwritten (NaN poison) or overflowed"
        err = rel_err(out, ref)
        assert err < (tol or self.tol), f"relative RMS error {err:.3g} >= {tol or self.tol}"


@pytest.fixture(params=TARGETS)
def target(request, gen) -> Target:
    device, dtype = request.param
    torch.use_deterministic_algorithms(True, warn_only=True)  # torch.empty now fills NaN
    assert torch.empty(4, device=device).isnan().all()
    yield Target(device, dtype, gen)
    torch.use_deterministic_algorithms(False)


@pytest.fixture
def cpu(gen) -> Target:
    """Seeded fp32 CPU inputs for the reference-path and argument tests (no NaN poisoning)."""
    return Target("cpu", torch.float32, gen, backend="reference")


@pytest.fixture
def spy(monkeypatch):
    """spy(module, name) -> list that gets `name` appended on every call of module.name (which still runs)."""

    def watch(module, name: str) -> list[str]:
        calls: list[str] = []
        real = getattr(module, name)

        def spied(*args, **kwargs):
            calls.append(name)
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, spied)
        return calls

    return watch
