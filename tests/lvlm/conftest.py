"""Tiny real VLMs (random weights, local tokenizer/processor), built once per session and copied per test."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from longlens.core.types import Frame


@pytest.fixture(scope="session")
def tiny_parts():
    """kind -> (TinySpec, processor, model): built on first request, shared read-only."""
    from longlens.bench.tiny import TinySpec, tiny_model, tiny_processor

    cache: dict = {}

    def get(kind: str):
        if kind not in cache:
            spec = TinySpec(kind=kind)
            proc = tiny_processor(spec)
            cache[kind] = (spec, proc, tiny_model(spec, proc.tokenizer))
        return cache[kind]

    return get


@pytest.fixture
def make_vlm(tiny_parts):
    """make_vlm(kind, attn="sdpa"|"sparse", kernels="reference", **sparsity) -> (spec, VLM) on a private copy of
    the model. The kernels default to their PyTorch twins: under the tests' Triton interpreter "auto" would
    interpret every layer (the Triton path inside a model has its own test). Tiny prompts are far below the
    default `dense_below`, so the sparse layers are sparse from the first token unless a test says otherwise."""
    from longlens.lvlm import VLM, SparsityConfig, use_sparse_attention

    def make(kind: str, attn: str = "sdpa", kernels: str = "reference", **sparsity):
        spec, proc, model = tiny_parts(kind)
        net = copy.deepcopy(model)
        if attn == "sparse":
            use_sparse_attention(net, SparsityConfig(**{"dense_below": 0, **sparsity}), kernels=kernels)
        return spec, VLM(net, proc, f"tiny-{kind}", attn)

    return make


@pytest.fixture
def frames_at(rng):
    """frames_at(spec, times) -> Frames of seeded random pixels at `times` (s), in the given order."""

    def make(spec, times) -> list[Frame]:
        side = spec.frame
        return [Frame(float(t), i, rng.integers(0, 256, (side, side, 3), dtype=np.uint8)) for i, t in enumerate(times)]

    return make
