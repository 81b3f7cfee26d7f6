"""The first-use self-check of our Triton kernels (`longlens.kernels.selfcheck`): the real kernels pass it (on CPU
under the Triton interpreter, natively on CUDA); a kernel that computes wrong values, NaNs or fails to compile is
caught, without raising, by injecting such a kernel where the check looks it up."""
from __future__ import annotations

import pytest
import torch

import longlens.kernels as kernels
from longlens.kernels import selfcheck

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
# small head sizes: the interpreter runs every program instance in numpy
SIZES = {
    "block_sparse_attention": dict(group=2, head_dim=32, block_size=16),
    "chunk_gated_delta_rule": dict(group=2, key_dim=32, value_dim=32),
    "recurrent_gated_delta_rule": dict(group=2, key_dim=32, value_dim=32),
}


@pytest.fixture(autouse=True)
def fresh_verdicts():
    selfcheck.forget()
    yield
    selfcheck.forget()


def _injected(real, how: str, calls: list | None = None):
    """`real` with a broken Triton path: backend="triton" raises / returns off values / NaN; other backends as is."""

    def op(*args, backend="auto", **kwargs):
        if calls is not None:
            calls.append(backend)
        if backend != "triton":
            return real(*args, backend=backend, **kwargs)
        if how == "raises":
            raise RuntimeError("PassManager::run failed (injected compile error)")
        out = real(*args, backend="reference", **kwargs)
        o, rest = (out[0], out[1:]) if isinstance(out, tuple) else (out, None)
        scale = {"wrong": 1.05, "nan": float("nan"), "close": 1 + 1e-6}[how]
        o = o * scale
        return (o, *rest) if rest is not None else o

    return op


@pytest.mark.parametrize("op", sorted(selfcheck.CASES))
def test_real_triton_kernels_pass(op):
    verdict = selfcheck.check(op, device=DEVICE, dtype=torch.float32, **SIZES[op])
    assert verdict.ok, verdict.reason
    assert verdict.error is not None and verdict.error < 1e-4 and verdict.reason == ""


@pytest.mark.parametrize("op", ["block_sparse_attention", "chunk_gated_delta_rule"])
@pytest.mark.parametrize("how, why", [("wrong", "relative error"), ("nan", "non-finite"), ("raises", "RuntimeError")])
def test_broken_kernel_fails_the_check_without_raising(monkeypatch, op, how, why):
    monkeypatch.setattr(kernels, op, _injected(getattr(kernels, op), how))
    verdict = selfcheck.check(op, device=DEVICE, dtype=torch.float32, **SIZES[op])
    assert not verdict.ok and why in verdict.reason
    assert verdict in selfcheck.verdicts()


def test_a_kernel_within_tolerance_passes(monkeypatch):
    op = "block_sparse_attention"
    monkeypatch.setattr(kernels, op, _injected(getattr(kernels, op), "close"))
    verdict = selfcheck.check(op, device=DEVICE, dtype=torch.float32, **SIZES[op])
    assert verdict.ok and 0 < verdict.error < selfcheck.TOLERANCE[torch.float32]


def test_each_configuration_is_checked_once(monkeypatch):
    op = "block_sparse_attention"
    calls: list[str] = []
    monkeypatch.setattr(kernels, op, _injected(getattr(kernels, op), "close", calls))
    first = selfcheck.check(op, device=DEVICE, dtype=torch.float32, **SIZES[op])
    again = selfcheck.check(op, device=DEVICE, dtype=torch.float32, **SIZES[op])
    assert again is first and calls == ["reference", "triton"]
    selfcheck.check(op, device=DEVICE, dtype=torch.float32, **{**SIZES[op], "head_dim": 64})  # another kernel build
    assert calls == ["reference", "triton"] * 2
    with pytest.raises(ValueError, match="no self-check"):
        selfcheck.check("merge_attention", device=DEVICE)
