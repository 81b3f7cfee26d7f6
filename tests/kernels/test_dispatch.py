"""Which implementation runs: the `backend` argument alone decides (no environment variable is read but Triton's
own interpreter flag, and none is ever set); every op routes "reference" to its twin and "triton" to Triton."""
from __future__ import annotations

import os

import pytest
import torch

import longlens.kernels as K
from longlens.core.errors import InputError
from longlens.kernels.dispatch import backend_for
from longlens.kernels.ops.block_sparse import kernel as bs_kernel
from longlens.kernels.ops.block_sparse import naive as bs_naive
from longlens.kernels.ops.common import chunk as la_chunk
from longlens.kernels.ops.common import fused_recurrent
from longlens.kernels.ops.common import naive as la_naive
from longlens.kernels.ops.hybrid import kernel as hy_kernel
from longlens.kernels.ops.hybrid import naive as hy_naive
from longlens.kernels.ops.merge import kernel as mg_kernel
from longlens.kernels.ops.merge import naive as mg_naive

needs_interpreter = pytest.mark.skipif(torch.cuda.is_available(), reason="CPU tensors on Triton need the interpreter, "
                                                                         "which runs only where CUDA is absent")


@pytest.mark.parametrize("interpret, backend, expected", [
    ("1", "auto", "triton"), ("1", "triton", "triton"), ("1", "reference", "reference"),
    (None, "auto", "reference"), ("0", "auto", "reference"), (None, "reference", "reference"),
])
def test_backend_choice_on_cpu(monkeypatch, interpret, backend, expected):
    if interpret is None:
        monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    else:
        monkeypatch.setenv("TRITON_INTERPRET", interpret)
    assert backend_for(torch.zeros(2), None, backend=backend) == expected


def test_triton_on_cpu_without_the_interpreter_is_refused_and_nothing_is_switched_on(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(InputError, match="TRITON_INTERPRET=1"):
        backend_for(torch.zeros(2), backend="triton")
    assert "TRITON_INTERPRET" not in os.environ  # the old dispatch switched the interpreter on here


def test_the_environment_does_not_choose(monkeypatch):
    """LONGLENS_KERNELS is the CLI's business: below it only the argument counts."""
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    monkeypatch.setenv("LONGLENS_KERNELS", "triton")
    assert backend_for(torch.zeros(2)) == "reference"
    monkeypatch.setenv("LONGLENS_KERNELS", "reference")
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert backend_for(torch.zeros(2)) == "triton"


def test_unknown_backend_names_the_choices(cpu):
    with pytest.raises(InputError, match="auto, triton, reference"):
        K.linear_attention(cpu.randn(1, 4, 1, 16), cpu.randn(1, 4, 1, 16), cpu.randn(1, 4, 1, 16), backend="cuda")


def _ops(x):
    """name -> (call(backend), [(module, twin function)], [(module, Triton entry)]) on small seeded inputs."""
    q, k, v = x.randn(1, 40, 2, 16), x.randn(1, 40, 2, 16), x.randn(1, 40, 2, 16)
    g, beta = x.rand(1, 40, 2, low=-1.0, high=0.0), x.rand(1, 40, 2)
    o, lse = x.randn(1, 40, 2, 16), x.randn(1, 40, 2)
    return {
        "linear_attention": (lambda b: K.linear_attention(q, k, v, log_decay=g, backend=b),
                             [(la_naive, "chunked")], [(la_chunk, "chunk_fwd")]),
        "linear_attention_step": (lambda b: K.linear_attention_step(q[:, 0], k[:, 0], v[:, 0], None, backend=b),
                                  [(la_naive, "recurrent")], [(fused_recurrent, "fused_recurrent_fwd")]),
        "chunk_gated_delta_rule": (lambda b: K.chunk_gated_delta_rule(q, k, v, g, beta, backend=b),
                                   [(la_naive, "chunked")], [(la_chunk, "chunk_fwd")]),
        "recurrent_gated_delta_rule": (lambda b: K.recurrent_gated_delta_rule(q[:, :1], k[:, :1], v[:, :1], g[:, :1],
                                                                               beta[:, :1], backend=b),
                                       [(la_naive, "recurrent")], [(fused_recurrent, "fused_recurrent_fwd")]),
        "block_sparse_attention": (lambda b: K.block_sparse_attention(q, k, v, block_size=16, backend=b),
                                   [(bs_naive, "block_sparse_attention")], [(bs_kernel, "block_sparse_fwd")]),
        "hybrid_attention": (lambda b: K.hybrid_attention(q, k, v, window=8, sink=2, backend=b),
                             [(hy_naive, "hybrid_attention")], [(hy_kernel, "hybrid_fwd")]),
        "merge_attention": (lambda b: K.merge_attention(o, lse, o, lse, backend=b),
                            [(mg_naive, "merge_attention")], [(mg_kernel, "merge_fwd")]),
    }


@needs_interpreter
@pytest.mark.parametrize("op", ["linear_attention", "linear_attention_step", "chunk_gated_delta_rule",
                                "recurrent_gated_delta_rule", "block_sparse_attention", "hybrid_attention",
                                "merge_attention"])
def test_each_op_routes_by_its_backend_argument(cpu, spy, op):
    call, twins, tritons = _ops(cpu)[op]
    twin_calls = [spy(m, name) for m, name in twins]
    triton_calls = [spy(m, name) for m, name in tritons]
    ref = call("reference")
    assert [len(c) for c in twin_calls] == [1] and [len(c) for c in triton_calls] == [0]
    out = call("triton")
    assert [len(c) for c in twin_calls] == [1] and [len(c) for c in triton_calls] == [1]
    ref, out = (r[0] if isinstance(r, tuple) else r for r in (ref, out))
    assert (out - ref).norm() / ref.norm() < 1e-4
