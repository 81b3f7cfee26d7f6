"""First-use self-check of a Triton kernel against its PyTorch reference twin.

Our Triton kernels are tested under the CPU interpreter; a real GPU (another Triton, another driver, another
architecture) can still miscompile or reject them. So before a model trusts a kernel on a device, `check` runs the
op once on a small seeded input at the model's dtype and head sizes (head dims, block size, heads per key
head: what the kernels are compiled and indexed for; one key head, since the head count only sizes the grid),
with backend="triton" and with backend="reference", and compares. The verdict is cached per (op, device, dtype,
sizes): each kernel configuration is checked once per process. Any exception (a compile error, an unsupported
shape, a driver error) is a failed check, not a crash: the caller falls back to stock attention (see
`longlens.lvlm.sparse`).

The op is looked up on `longlens.kernels` at check time, so a test can inject a failing kernel there.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import torch

log = logging.getLogger(__name__)

# Largest relative error (L2 of the difference / L2 of the reference) a kernel may show against its twin:
# fp32 kernels agree to ~1e-6; half precision keeps ~3 significant digits through a softmax / state update.
TOLERANCE = {torch.float32: 1e-3, torch.float16: 2e-2, torch.bfloat16: 3e-2}
SEED = 20260516  # the check's inputs are fixed: a verdict must not depend on luck


@dataclass(frozen=True)
class SelfCheck:
    """The verdict on one kernel configuration: `ok`, the relative error seen (None when it raised), and why not."""

    op: str
    ok: bool
    error: float | None
    reason: str = ""


def _randn(gen, *shape, device, dtype):
    return torch.randn(*shape, generator=gen).to(device=device, dtype=dtype)


def _block_sparse(fn, backend, device, dtype, *, group=2, head_dim=64, block_size=64):
    gen = torch.Generator().manual_seed(SEED)
    T = 4 * block_size + block_size // 2  # a ragged last block; sinks, window and top-k all distinct
    q, k, v = (_randn(gen, 1, T, h, head_dim, device=device, dtype=dtype) for h in (group, 1, 1))
    return fn(q, k, v, block_size=block_size, sink_blocks=1, window_blocks=1, topk_blocks=1, causal=True,
              backend=backend)


def _gated_delta(fn, backend, device, dtype, *, group=2, key_dim=64, value_dim=64, chunk=True):
    gen = torch.Generator().manual_seed(SEED)
    key_heads, value_heads = 1, group
    T = 80 if chunk else 1  # more than one chunk of 64, a ragged tail
    q, k = (_randn(gen, 1, T, key_heads, key_dim, device=device, dtype=dtype) for _ in range(2))
    v = _randn(gen, 1, T, value_heads, value_dim, device=device, dtype=dtype)
    g = -torch.rand(1, T, value_heads, generator=gen).to(device=device, dtype=dtype)  # log gates <= 0
    beta = torch.rand(1, T, value_heads, generator=gen).to(device=device, dtype=dtype)
    h0 = torch.randn(1, value_heads, key_dim, value_dim, generator=gen).to(device) * 0.1
    o, state = fn(q, k, v, g, beta, initial_state=h0, output_final_state=True, use_qk_l2norm_in_kernel=True,
                  backend=backend)
    return torch.cat([o.float().flatten(), state.float().flatten()])


def _chunk(fn, backend, device, dtype, **dims):
    return _gated_delta(fn, backend, device, dtype, chunk=True, **dims)


def _recurrent(fn, backend, device, dtype, **dims):
    return _gated_delta(fn, backend, device, dtype, chunk=False, **dims)


# op name on longlens.kernels -> how to run it on a small input (fn, backend, device, dtype, **sizes) -> tensor
CASES = {
    "block_sparse_attention": _block_sparse,
    "chunk_gated_delta_rule": _chunk,
    "recurrent_gated_delta_rule": _recurrent,
}

_verdicts: dict[tuple, SelfCheck] = {}
_lock = threading.Lock()


def check(op: str, *, device, dtype=torch.float32, **sizes) -> SelfCheck:
    """The verdict on `op`'s Triton kernel at `device`, `dtype` and `sizes` (the case's keyword arguments: `group`
    (query / value heads per key head), head dims, block size), computed on first call and cached."""
    import longlens.kernels as kernels

    if op not in CASES:
        raise ValueError(f"no self-check for {op!r}; checked ops: {sorted(CASES)}")
    key = (op, str(torch.device(device)), dtype, tuple(sorted(sizes.items())))
    with _lock:  # one check per configuration, even when two threads meet the kernel at once
        if key in _verdicts:
            return _verdicts[key]
        fn = getattr(kernels, op)
        try:
            want = CASES[op](fn, "reference", device, dtype, **sizes)
            got = CASES[op](fn, "triton", device, dtype, **sizes)
            want, got = want.float(), got.float()
            finite = bool(torch.isfinite(got).all())
            error = float((got - want).norm() / want.norm().clamp_min(1e-12)) if finite else float("inf")
            ok = finite and got.shape == want.shape and error <= TOLERANCE.get(dtype, 3e-2)
            reason = "" if ok else (f"relative error {error:.3g} > {TOLERANCE.get(dtype, 3e-2):g} against the "
                                    f"PyTorch twin" if finite else "non-finite outputs")
            verdict = SelfCheck(op, ok, error, reason)
        except Exception as e:  # noqa: BLE001 - any failure of an unproven kernel means: do not use it
            verdict = SelfCheck(op, False, None, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        _verdicts[key] = verdict
    log.info("kernel self-check %s on %s %s %s: %s", op, key[1], dtype, sizes, verdict)
    return verdict


def verdicts() -> list[SelfCheck]:
    """Every verdict of this process so far."""
    with _lock:
        return list(_verdicts.values())


def forget() -> None:
    """Drop the cached verdicts (tests; after swapping a kernel)."""
    with _lock:
        _verdicts.clear()
