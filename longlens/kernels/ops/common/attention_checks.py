"""Argument checks of the softmax-attention ops (block-sparse, merge, hybrid): q may be shorter than k/v.

Every check raises ValueError with a message naming the argument (callers that catch longlens'
`InputError` for bad input catch these too only as ValueError: the checks stay plain to stay cheap).
"""
from __future__ import annotations

import torch


def check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, op: str) -> tuple[int, int, int, int, int, int]:
    """Check q [B, Tq, Hq, D], k/v [B, Tk, Hkv, D] with Tq <= Tk and Hq a multiple of Hkv.

    Returns (B, Tq, Tk, Hq, Hkv, D).
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{op}: {name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() != 4:
            raise ValueError(f"{op}: {name} must be [B, T, H, D], got shape {tuple(t.shape)}")
        if not t.is_floating_point():
            raise ValueError(f"{op}: {name} must be a floating-point tensor, got {t.dtype}")
    if k.shape != v.shape:
        raise ValueError(f"{op}: k and v must have the same shape, got {tuple(k.shape)} and {tuple(v.shape)}")
    if not (q.dtype == k.dtype == v.dtype):
        raise ValueError(f"{op}: q, k, v must share one dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    if not (q.device == k.device == v.device):
        raise ValueError(f"{op}: q, k, v must be on one device, got {q.device}, {k.device}, {v.device}")
    B, Tq, Hq, D = q.shape
    Bk, Tk, Hkv, Dk = k.shape
    if Bk != B:
        raise ValueError(f"{op}: q has batch {B} but k/v have batch {Bk}")
    if Dk != D:
        raise ValueError(f"{op}: q has head dim {D} but k/v have head dim {Dk}")
    if Tq < 1 or Tk < 1 or D < 1:
        raise ValueError(f"{op}: empty input (Tq={Tq}, Tk={Tk}, D={D})")
    if Tq > Tk:
        raise ValueError(f"{op}: more queries than keys (Tq={Tq} > Tk={Tk}); queries are the last Tq positions")
    if Hkv < 1 or Hq % Hkv != 0:
        raise ValueError(f"{op}: query heads ({Hq}) must be a multiple of key/value heads ({Hkv})")
    return B, Tq, Tk, Hq, Hkv, D


def default_scale(scale: float | None, head_dim: int) -> float:
    """The softmax scale: `scale` if given (must be > 0), else head_dim ** -0.5."""
    if scale is None:
        return head_dim ** -0.5
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    return float(scale)
