"""Learned feature maps for the hybrid layer's linear branch (Hedgehog / LoLCATs style attention transfer).

A fixed map (taylor2 / elu1 / relu) only approximates exp(q.k); a trained one can mimic each head's softmax
where it matters. `LearnedFeatures` holds one map for the queries (per query head) and one for the keys (per kv
head, so the folded state stays per kv head as with the fixed maps). Each map is Hedgehog's softmax of a linear
projection, both signs, times a learned per-token magnitude:

    phi_h(u) = [softmax(u W_h + b_h), softmax(-(u W_h + b_h))] * exp(clamp(u . g_h + c_h))    (F = 2 M)

on u = sqrt(scale) * x as the fixed maps. The softmax halves alone give phi(q).phi(k) <= 2, while the exact
branch weighs its tokens by exp(scale q.k) under the same normaliser: the magnitude term lets the trained map
set how much the evicted tokens weigh against the window. Initialised as identity projections (W = I, b = 0)
and magnitude 1, i.e. Hedgehog's untrained map. It is an ordinary `torch.nn.Module` (fp32 parameters), so a
layer's maps train with autograd through the reference path (`naive`) and run unchanged in the Triton path,
whose linear branch is PyTorch (linear.py) on the same `feature_map` function.
"""
from __future__ import annotations

import math

import torch

LOG_MAGNITUDE = 30.0  # exp(30) ~ 1e13: fp32 weights stay finite, sums of thousands of them too


class FeatureMap(torch.nn.Module):
    """Per-head Hedgehog map for `heads` heads of size `head_dim` into 2 * `width` features (default width D)."""

    def __init__(self, heads: int, head_dim: int, width: int | None = None):
        super().__init__()
        width = width or head_dim
        self.heads, self.head_dim, self.width = heads, head_dim, width
        eye = torch.eye(head_dim, width)
        self.weight = torch.nn.Parameter(eye.repeat(heads, 1, 1))  # [H, D, M]
        self.bias = torch.nn.Parameter(torch.zeros(heads, width))
        self.gain = torch.nn.Parameter(torch.zeros(heads, head_dim))  # log-magnitude = u . gain + offset
        self.offset = torch.nn.Parameter(torch.zeros(heads))

    @property
    def features(self) -> int:
        return 2 * self.width

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """u [..., H, D] (already sqrt(scale)-scaled) -> phi(u) [..., H, 2M] fp32."""
        u = u.float()
        z = torch.einsum("...hd,hdm->...hm", u, self.weight) + self.bias
        mag = ((u * self.gain).sum(-1) + self.offset).clamp(-LOG_MAGNITUDE, LOG_MAGNITUDE)
        # log-softmax + magnitude in one exp: no overflow from the two factors apart
        pos = torch.log_softmax(z, -1) + mag[..., None]
        neg = torch.log_softmax(-z, -1) + mag[..., None]
        return torch.cat([pos, neg], -1).exp()


class LearnedFeatures(torch.nn.Module):
    """A hybrid layer's trained feature maps: `q` over the Hq query heads, `k` over the Hkv kv heads.

    Pass it as `feature_map=` to `hybrid_attention` / `HybridCache.empty` (in place of a fixed map's name).
    """

    def __init__(self, q_heads: int, kv_heads: int, head_dim: int, width: int | None = None):
        super().__init__()
        if q_heads % kv_heads:
            raise ValueError(f"q_heads ({q_heads}) must be a multiple of kv_heads ({kv_heads})")
        self.q = FeatureMap(q_heads, head_dim, width)
        self.k = FeatureMap(kv_heads, head_dim, width)

    @property
    def features(self) -> int:
        return self.q.features

    @property
    def head_dim(self) -> int:
        return self.q.head_dim

    def shape_name(self) -> str:
        return f"learned(Hq={self.q.heads}, Hkv={self.k.heads}, D={self.q.head_dim}, F={self.features})"

    def check(self, q_heads: int, kv_heads: int, head_dim: int) -> None:
        """The maps must have been made for these head counts and size."""
        have = (self.q.heads, self.k.heads, self.q.head_dim)
        if have != (q_heads, kv_heads, head_dim):
            raise ValueError(f"learned feature maps are for (Hq, Hkv, D) = {have}, inputs have "
                             f"{(q_heads, kv_heads, head_dim)}")

    def forward(self, x: torch.Tensor, role: str, scale: float) -> torch.Tensor:
        """phi of x [..., H, D] as queries (role "q") or keys ("k") -> [..., H, F] fp32."""
        fmap = self.q if role == "q" else self.k
        if x.shape[-2] != fmap.heads:
            raise ValueError(f"the {role} feature map has {fmap.heads} heads, got x with {x.shape[-2]}")
        return fmap(x.float() * math.sqrt(scale))
