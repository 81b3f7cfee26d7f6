"""Argument checks shared by the linear-attention ops (plain PyTorch: no Triton import here)."""
from __future__ import annotations

import torch

from longlens.kernels.ops.common.attention_checks import default_scale  # noqa: F401 - one scale rule for every op

MAX_HEAD_DIM = 256  # one Triton block holds a whole [K, V-block] state; larger heads would spill on a GPU


def check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[int, int, int, int, int, int]:
    """Check q, k: [B, T, HK, K] and v: [B, T, H, V] with H a multiple of HK; return (B, T, HK, H, K, V)."""
    for name, x in (("q", q), ("k", k), ("v", v)):
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            raise ValueError(f"{name} must be a 4-D tensor [B, T, H, D], got {getattr(x, 'shape', type(x))}")
        if not x.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if q.shape != k.shape:
        raise ValueError(f"q and k must have the same shape [B, T, HK, K], got {tuple(q.shape)} and {tuple(k.shape)}")
    B, T, HK, K = k.shape
    if v.shape[:2] != (B, T):
        raise ValueError(f"v must be [B, T, H, V] with B={B}, T={T} like k, got {tuple(v.shape)}")
    H, V = v.shape[2], v.shape[3]
    if H % HK:
        raise ValueError(f"the number of value heads ({H}) must be a multiple of the number of key heads ({HK})")
    if min(B, T, HK, K, V) < 1:
        raise ValueError(f"empty dimension in q/k {tuple(k.shape)} or v {tuple(v.shape)}")
    if K > MAX_HEAD_DIM or V > MAX_HEAD_DIM:
        raise ValueError(f"head dims up to {MAX_HEAD_DIM} are supported, got K={K}, V={V}")
    return B, T, HK, H, K, V


def check_gate(name: str, x: torch.Tensor | None, B: int, T: int, H: int, *, allow_per_head: bool = False):
    """Check a per-token gate [B, T, H] (or, with allow_per_head, a per-head constant [H])."""
    if x is None:
        return
    shapes = [(B, T, H)] + ([(H,)] if allow_per_head else [])
    if not isinstance(x, torch.Tensor) or tuple(x.shape) not in shapes:
        raise ValueError(f"{name} must have shape {' or '.join(map(str, shapes))}, got {getattr(x, 'shape', type(x))}")


def check_state(name: str, s: torch.Tensor | None, B: int, H: int, K: int, V: int) -> None:
    """Check a recurrent state [B, H, K, V] (any float dtype; it is used in fp32)."""
    if s is None:
        return
    if not isinstance(s, torch.Tensor) or tuple(s.shape) != (B, H, K, V):
        raise ValueError(f"{name} must have shape [B, H, K, V] = {(B, H, K, V)}, got {getattr(s, 'shape', type(s))}")


def check_chunk_size(chunk_size: int) -> None:
    """Chunks are Triton blocks: a power of two in [16, 128]."""
    if not isinstance(chunk_size, int) or chunk_size < 16 or chunk_size > 128 or chunk_size & (chunk_size - 1):
        raise ValueError(f"chunk_size must be a power of two in [16, 128], got {chunk_size!r}")
