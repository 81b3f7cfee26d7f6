"""The hybrid layer's state: feature maps, the decode cache, and its bookkeeping.

Query at absolute position p attends, under one softmax normaliser,
- exactly (weight exp(scale q.k_s)): sink tokens s < `sink` and the window p - window < s <= p;
- linearly (weight phi(q).phi(k_s) >= 0): every other earlier token, sink <= s <= p - window, whose
  keys/values were folded into state = sum phi(k_s) v_s^T [F, D] and normalizer = sum phi(k_s) [F]
  when they left the window.
Feature maps act on u = sqrt(scale) * x, so phi(q).phi(k) is a function of the softmax logit
scale * q.k for taylor2:
- taylor2: phi(u) = [1, u, vec(u u^T) / sqrt(2)] (F = 1 + D + D^2), phi(q).phi(k) = 1 + z + z^2/2 with
  z = scale * q.k: the 2nd-order Taylor expansion of exp(z), as in BASED (always >= 1/2);
- elu1: phi(u) = elu(u) + 1 (F = D);  relu: phi(u) = relu(u) (F = D);
- none: phi = 0 (F = 1): no linear branch, i.e. sinks + sliding window only (the baseline a trained map must beat);
- a `LearnedFeatures` module (learned.py): trained per-head maps, one for queries and one for keys.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

from longlens.kernels.ops.hybrid.learned import LearnedFeatures

FEATURE_MAPS = ("taylor2", "elu1", "relu", "none")
FeatureKind = str | LearnedFeatures  # a fixed map's name or trained maps


def feature_dim(kind: FeatureKind, head_dim: int) -> int:
    """F, the size of phi(x) for head dim D."""
    if isinstance(kind, LearnedFeatures):
        return kind.features
    if kind == "none":
        return 1
    return 1 + head_dim + head_dim * head_dim if kind == "taylor2" else head_dim


def feature_name(kind: FeatureKind) -> str:
    """A short printable name of a feature map (messages, logs)."""
    return kind.shape_name() if isinstance(kind, LearnedFeatures) else repr(kind)


def same_feature_map(a: FeatureKind, b: FeatureKind) -> bool:
    """Fixed maps by name, learned ones by identity (the same trained module)."""
    if isinstance(a, LearnedFeatures) or isinstance(b, LearnedFeatures):
        return a is b
    return a == b


def feature_map(x: torch.Tensor, kind: FeatureKind, scale: float, role: str = "k") -> torch.Tensor:
    """phi(sqrt(scale) * x) in fp32: x [..., H, D] -> [..., H, F]; `role` ("q" | "k") picks a learned map's half
    (fixed maps treat queries and keys alike)."""
    if isinstance(kind, LearnedFeatures):
        return kind(x, role, scale)
    if kind == "none":
        return x.new_zeros(*x.shape[:-1], 1, dtype=torch.float32)
    u = x.float() * math.sqrt(scale)
    if kind == "taylor2":
        outer = (u[..., :, None] * u[..., None, :]).flatten(-2) * math.sqrt(0.5)
        return torch.cat([torch.ones_like(u[..., :1]), u, outer], dim=-1)
    if kind == "elu1":
        return torch.nn.functional.elu(u) + 1.0
    if kind == "relu":
        return torch.relu(u)
    raise ValueError(f"feature_map must be one of {FEATURE_MAPS} or a LearnedFeatures, got {kind!r}")


@dataclass(frozen=True)
class HybridRule:
    """What a hybrid layer computes: the first `sink` and the last `window` tokens exactly, every other earlier one
    through `feature_map`, logits scaled by `scale`. Checked on construction."""

    window: int
    sink: int
    feature_map: FeatureKind
    scale: float

    def __post_init__(self) -> None:
        if not isinstance(self.window, int) or self.window < 1:
            raise ValueError(f"window must be an int >= 1, got {self.window!r}")
        if not isinstance(self.sink, int) or self.sink < 0:
            raise ValueError(f"sink must be an int >= 0, got {self.sink!r}")
        if not isinstance(self.feature_map, LearnedFeatures) and self.feature_map not in FEATURE_MAPS:
            raise ValueError(f"feature_map must be one of {FEATURE_MAPS} or a LearnedFeatures, "
                             f"got {self.feature_map!r}")
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")

    def matches(self, other: HybridRule) -> bool:
        """Same rule (the scales equal up to float rounding)."""
        same = (self.window, self.sink) == (other.window, other.sink)
        same = same and same_feature_map(self.feature_map, other.feature_map)
        return same and math.isclose(self.scale, other.scale, rel_tol=1e-6)

    def check_heads(self, q_heads: int, kv_heads: int, head_dim: int) -> None:
        """Learned maps must fit the inputs' head counts and size (fixed maps fit any)."""
        if isinstance(self.feature_map, LearnedFeatures):
            self.feature_map.check(q_heads, kv_heads, head_dim)


@dataclass
class HybridCache:
    """Everything a hybrid layer keeps between calls: O(window + sink + F*D) per (batch, kv head).

    k_ring, v_ring [B, window, Hkv, D] (input dtype): the last `window` tokens, token at position p in
    slot p % window; k_sink, v_sink [B, sink, Hkv, D]: the first min(sink, pos) tokens;
    state [B, Hkv, F, D] and normalizer [B, Hkv, F] (fp32): sum phi(k) v^T and sum phi(k) over the
    tokens that have left the window (sink <= s <= pos - 1 - window); pos: tokens seen so far.
    `hybrid_attention_step` updates a cache in place (and returns it).
    """

    window: int
    sink: int
    feature_map: FeatureKind
    scale: float
    k_ring: torch.Tensor
    v_ring: torch.Tensor
    k_sink: torch.Tensor
    v_sink: torch.Tensor
    state: torch.Tensor
    normalizer: torch.Tensor
    pos: int = 0

    @classmethod
    def empty(
        cls,
        batch: int,
        kv_heads: int,
        head_dim: int,
        *,
        window: int = 512,
        sink: int = 4,
        feature_map: FeatureKind = "taylor2",
        scale: float | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> HybridCache:
        """A cache before the first token (state zero, pos 0)."""
        rule = HybridRule(window, sink, feature_map, head_dim ** -0.5 if scale is None else float(scale))
        F = feature_dim(feature_map, head_dim)
        kv = dict(dtype=dtype, device=device)
        return cls(
            window=rule.window, sink=rule.sink, feature_map=rule.feature_map, scale=rule.scale,
            k_ring=torch.zeros(batch, window, kv_heads, head_dim, **kv),
            v_ring=torch.zeros(batch, window, kv_heads, head_dim, **kv),
            k_sink=torch.zeros(batch, sink, kv_heads, head_dim, **kv),
            v_sink=torch.zeros(batch, sink, kv_heads, head_dim, **kv),
            state=torch.zeros(batch, kv_heads, F, head_dim, dtype=torch.float32, device=device),
            normalizer=torch.zeros(batch, kv_heads, F, dtype=torch.float32, device=device),
        )

    @property
    def rule(self) -> HybridRule:
        return HybridRule(self.window, self.sink, self.feature_map, self.scale)

    def window_tokens(self) -> tuple[torch.Tensor, torch.Tensor]:
        """k, v [B, n, Hkv, D] of positions max(0, pos - window) .. pos - 1, in order."""
        first = max(0, self.pos - self.window)
        slots = torch.arange(first, self.pos, device=self.k_ring.device) % self.window
        return self.k_ring[:, slots], self.v_ring[:, slots]


def check_cache(cache: HybridCache, k: torch.Tensor, *, rule: HybridRule | None = None) -> None:
    """The cache must fit k [B, T, Hkv, D] and, if given, the call's rule."""
    if not isinstance(cache, HybridCache):
        raise ValueError(f"the cache must be a HybridCache, got {type(cache).__name__}")
    if rule is not None and not cache.rule.matches(rule):
        mine = cache.rule
        raise ValueError(
            f"initial_state was made with window={mine.window}, sink={mine.sink}, "
            f"feature_map={feature_name(mine.feature_map)}, scale={mine.scale:.6g}; "
            f"this call has window={rule.window}, sink={rule.sink}, "
            f"feature_map={feature_name(rule.feature_map)}, scale={rule.scale:.6g}"
        )
    window = cache.window
    B, _, Hkv, D = k.shape
    if cache.k_ring.shape != (B, window, Hkv, D):
        raise ValueError(f"initial_state holds [B, window, Hkv, D] = {tuple(cache.k_ring.shape)}, "
                         f"inputs need {(B, window, Hkv, D)}")
    if cache.k_ring.device != k.device or cache.k_ring.dtype != k.dtype:
        raise ValueError(f"initial_state is {cache.k_ring.dtype} on {cache.k_ring.device}, "
                         f"inputs are {k.dtype} on {k.device}")


@dataclass
class Context:
    """The keys a call of T new tokens needs besides the state (all [B, n, Hkv, D])."""

    k: torch.Tensor  # cached window tokens then the new ones: positions k_pos0 .. pos + T - 1
    v: torch.Tensor
    k_sink: torch.Tensor  # positions 0 .. n_sink - 1, n_sink = min(sink, pos + T)
    v_sink: torch.Tensor
    pos: int  # absolute position of the first new token
    k_pos0: int  # absolute position of k[:, 0]


def context(cache: HybridCache | None, k: torch.Tensor, v: torch.Tensor, sink: int) -> Context:
    """Join the cached window and sinks with the new tokens k, v [B, T, Hkv, D]."""
    if cache is None or cache.pos == 0:
        n = min(sink, k.shape[1])
        return Context(k, v, k[:, :n], v[:, :n], 0, 0)
    P = cache.pos
    k_old, v_old = cache.window_tokens()
    old = min(sink, P)
    new = max(0, min(sink, P + k.shape[1]) - P)
    return Context(
        torch.cat([k_old, k], 1), torch.cat([v_old, v], 1),
        torch.cat([cache.k_sink[:, :old], k[:, :new]], 1), torch.cat([cache.v_sink[:, :old], v[:, :new]], 1),
        P, P - k_old.shape[1],
    )


def start_state(cache: HybridCache | None, rule: HybridRule, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(state [B, Hkv, F, D], normalizer [B, Hkv, F]) fp32 before the new tokens k [B, T, Hkv, D]: the cache's,
    or zeros without one."""
    if cache is not None:
        return cache.state, cache.normalizer
    B, _, Hkv, D = k.shape
    F = feature_dim(rule.feature_map, D)
    return k.new_zeros(B, Hkv, F, D, dtype=torch.float32), k.new_zeros(B, Hkv, F, dtype=torch.float32)


def advance(cache: HybridCache | None, k: torch.Tensor, v: torch.Tensor, rule: HybridRule,
            state: torch.Tensor, normalizer: torch.Tensor) -> HybridCache:
    """The cache after the new tokens k, v [B, T, Hkv, D], holding the given (already updated) state."""
    B, T, Hkv, D = k.shape
    window, sink = rule.window, rule.sink
    if cache is None:
        cache = HybridCache.empty(B, Hkv, D, window=window, sink=sink, feature_map=rule.feature_map,
                                  scale=rule.scale, dtype=k.dtype, device=k.device)
    P = cache.pos
    first = max(P, P + T - window)
    slots = torch.arange(first, P + T, device=k.device) % window
    k_ring, v_ring = cache.k_ring.clone(), cache.v_ring.clone()
    k_ring[:, slots] = k[:, first - P:]
    v_ring[:, slots] = v[:, first - P:]
    k_sink, v_sink = cache.k_sink.clone(), cache.v_sink.clone()
    n = max(0, min(sink, P + T) - P)
    k_sink[:, P:P + n] = k[:, :n]
    v_sink[:, P:P + n] = v[:, :n]
    return replace(
        cache, k_ring=k_ring, v_ring=v_ring, k_sink=k_sink, v_sink=v_sink, state=state, normalizer=normalizer, pos=P + T
    )
