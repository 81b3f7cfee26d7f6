"""Block-sparse attention: Triton kernel (interpreter on CPU, native on CUDA) vs the naive twin and SDPA;
the block selection vs an independent one written here."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from longlens.kernels import block_sparse_attention, select_blocks
from longlens.kernels.ops.block_sparse import naive

BS = 16
D = 32
SPARSE = dict(sink_blocks=1, window_blocks=2, topk_blocks=2)
GQA = [pytest.param((4, 2), id="gqa4:2"), pytest.param((3, 1), id="gqa3:1")]


def inputs(target, Tq, Tk, heads, d=D):
    """Fresh random q [1, Tq, Hq, d], k, v [1, Tk, Hkv, d] in the target's device and dtype."""
    hq, hkv = heads
    return target.randn(1, Tq, hq, d), target.randn(1, Tk, hkv, d), target.randn(1, Tk, hkv, d)


def ours(target, q, k, v, **kw):
    """block_sparse_attention with blocks of BS on the target's backend."""
    return block_sparse_attention(q, k, v, block_size=BS, backend=target.backend, **kw)


def twin(q, k, v, mask, causal=True):
    """The naive twin in fp32 on the given block mask."""
    return naive.block_sparse_attention(q.float(), k.float(), v.float(), mask, block_size=BS, causal=causal,
                                        scale=D ** -0.5)


def check_lse(target, lse, ref):
    """Same -inf entries; the finite ones within the tolerance."""
    assert lse.dtype == torch.float32 and torch.equal(torch.isneginf(lse), torch.isneginf(ref))
    fin = torch.isfinite(ref)
    target.check(lse[fin], ref[fin])


def sdpa(q, k, v, mask=None):
    """torch SDPA in fp32, causal with the queries as the last Tq positions (explicit mask if Tq < Tk)."""
    Tq, Tk = q.shape[1], k.shape[1]
    qt, kt, vt = (t.float().transpose(1, 2) for t in (q, k, v))
    if Tq == Tk:
        o = F.scaled_dot_product_attention(qt, kt, vt, is_causal=True, enable_gqa=True)
    else:
        allowed = torch.arange(Tk, device=q.device)[None, :] <= (Tk - Tq + torch.arange(Tq, device=q.device))[:, None]
        o = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=allowed, enable_gqa=True)
    return o.transpose(1, 2)


def explicit_lse(q, k, scale):
    """logsumexp over the causally visible keys of each query, written out in fp64."""
    Tq, Tk = q.shape[1], k.shape[1]
    g = q.shape[2] // k.shape[2]
    s = torch.einsum("bihd,bjhd->bhij", q.double(), k.double().repeat_interleave(g, 2)) * scale
    allowed = torch.arange(Tk, device=q.device)[None, :] <= (Tk - Tq + torch.arange(Tq, device=q.device))[:, None]
    return torch.logsumexp(s.masked_fill(~allowed, -math.inf), -1).transpose(1, 2)


def independent_selection(q, k, bs, sink, window, topk, causal=True):
    """The visited block set, written out block by block in fp64 (no code shared with the library)."""
    B, Tq, Hq, _ = q.shape
    Tk, Hkv = k.shape[1], k.shape[2]
    nK = math.ceil(Tk / bs)
    off = Tk - Tq
    first = off // bs
    nQ = nK - first
    q64, k64 = q.double().cpu(), k.double().cpu()
    mask = torch.zeros(B, Hq, nQ, nK, dtype=torch.bool)
    for b in range(B):
        for h in range(Hq):
            hk = h // (Hq // Hkv)
            for r in range(nQ):
                a = first + r
                rows = [i for i in range(Tq) if (off + i) // bs == a]
                qbar = q64[b, rows, h].mean(0)
                if causal:
                    chosen = {j for j in range(a - window, a + 1) if j >= 0}
                    chosen |= {j for j in range(sink) if j <= a}
                    candidates = [j for j in range(a) if j not in chosen]
                else:
                    chosen = {j for j in range(a - window, a + window + 1) if 0 <= j < nK}
                    chosen |= {j for j in range(min(sink, nK))}
                    candidates = [j for j in range(nK) if j not in chosen]
                score = {j: float(qbar @ k64[b, j * bs:min(Tk, (j + 1) * bs), hk].mean(0)) for j in candidates}
                chosen |= set(sorted(candidates, key=lambda j: -score[j])[:topk])
                mask[b, h, r, sorted(chosen)] = True
    return mask


@pytest.mark.parametrize("heads", GQA)
@pytest.mark.parametrize("T", [63, 200, 300])
def test_sparse_matches_naive(target, T, heads):
    q, k, v = inputs(target, T, T, heads)
    o, lse = ours(target, q, k, v, return_lse=True, **SPARSE)
    mask = select_blocks(q, k, block_size=BS, **SPARSE)
    if T >= 200:  # long enough that the selection actually skips blocks
        assert mask.sum() < torch.ones_like(mask).tril().sum()
    ref_o, ref_lse = twin(q, k, v, mask)
    assert o.dtype == q.dtype and o.shape == q.shape and lse.shape == q.shape[:3]
    target.check(o, ref_o)
    check_lse(target, lse, ref_lse)


@pytest.mark.parametrize("heads", GQA)
@pytest.mark.parametrize("T", [63, 200, 300])
def test_all_blocks_equal_dense_causal(target, T, heads):
    q, k, v = inputs(target, T, T, heads)
    o, lse = ours(target, q, k, v, sink_blocks=0, window_blocks=0, topk_blocks=T, return_lse=True)
    mask = select_blocks(q, k, block_size=BS, sink_blocks=0, window_blocks=0, topk_blocks=T)
    nb = math.ceil(T / BS)
    assert torch.equal(mask, torch.ones(nb, nb, dtype=torch.bool, device=q.device).tril().expand_as(mask))
    target.check(o, sdpa(q, k, v))
    target.check(lse, explicit_lse(q, k, D ** -0.5))


@pytest.mark.parametrize("Tk,Tq", [(200, 1), (300, 1), (300, 37), (200, 57), (63, 20)])
def test_fewer_queries_than_keys(target, Tk, Tq):
    """Decode (Tq = 1) and chunked prefill: the queries are the last Tq positions."""
    q, k, v = inputs(target, Tq, Tk, (4, 2))
    # all blocks: dense causal attention with the position offset
    o_all = ours(target, q, k, v, window_blocks=Tk, topk_blocks=0)
    target.check(o_all, sdpa(q, k, v))
    # sparse: vs the naive twin on the same selection
    o, lse = ours(target, q, k, v, return_lse=True, **SPARSE)
    mask = select_blocks(q, k, block_size=BS, **SPARSE)
    assert mask.shape == (1, 4, math.ceil(Tk / BS) - (Tk - Tq) // BS, math.ceil(Tk / BS))
    ref_o, ref_lse = twin(q, k, v, mask)
    target.check(o, ref_o)
    check_lse(target, lse, ref_lse)


@pytest.mark.parametrize("Tk,Tq", [(200, 200), (200, 30)])
def test_non_causal_matches_naive(target, Tk, Tq):
    q, k, v = inputs(target, Tq, Tk, (4, 2))
    o, lse = ours(target, q, k, v, causal=False, return_lse=True, **SPARSE)
    mask = select_blocks(q, k, block_size=BS, causal=False, **SPARSE)
    ref_o, ref_lse = twin(q, k, v, mask, causal=False)
    target.check(o, ref_o)
    check_lse(target, lse, ref_lse)


@pytest.mark.parametrize("cfg", [dict(sink_blocks=1, window_blocks=2, topk_blocks=2),
                                 dict(sink_blocks=2, window_blocks=1, topk_blocks=3),
                                 dict(sink_blocks=0, window_blocks=0, topk_blocks=4)],
                         ids=["s1w2k2", "s2w1k3", "s0w0k4"])
@pytest.mark.parametrize("heads", GQA)
@pytest.mark.parametrize("Tk,Tq", [(63, 63), (200, 200), (300, 300), (300, 1), (200, 45)])
def test_selection_is_sinks_window_topk(cpu, Tk, Tq, heads, cfg):
    q, k = cpu.randn(1, Tq, heads[0], D), cpu.randn(1, Tk, heads[1], D)
    got = select_blocks(q, k, block_size=BS, **cfg)
    want = independent_selection(q, k, BS, cfg["sink_blocks"], cfg["window_blocks"], cfg["topk_blocks"])
    assert got.dtype == torch.bool and got.shape == want.shape
    assert torch.equal(got, want)


@pytest.mark.parametrize("heads", GQA)
def test_selection_non_causal(cpu, heads):
    q, k = cpu.randn(1, 200, heads[0], D), cpu.randn(1, 200, heads[1], D)
    got = select_blocks(q, k, block_size=BS, sink_blocks=1, window_blocks=1, topk_blocks=2, causal=False)
    assert torch.equal(got, independent_selection(q, k, BS, 1, 1, 2, causal=False))


@pytest.mark.filterwarnings("ignore:All-NaN slice")  # the interpreter's max over the excluded NaN rows
def test_unselected_blocks_are_never_read(target):
    """NaN in key/value blocks outside the mask must not reach the output."""
    T = 200
    q, k, v = inputs(target, T, T, (4, 2))
    nb = math.ceil(T / BS)
    mask = torch.ones(1, 4, nb, nb, dtype=torch.bool, device=q.device)
    mask[..., 3] = False  # key block 3 skipped by every query block ...
    mask[:, :, 3, 3] = True  # ... except its own diagonal
    mask[:, :, 4:, 5] = False
    ref_o, ref_lse = twin(q, k, v, mask)
    k2, v2 = k.clone(), v.clone()
    k2[:, 3 * BS:4 * BS] = math.nan
    v2[:, 3 * BS:4 * BS] = math.nan
    o, lse = ours(target, q, k2, v2, block_mask=mask, return_lse=True)
    rows = torch.ones(T, dtype=torch.bool)
    rows[3 * BS:4 * BS] = False  # the diagonal rows of block 3 do read it
    target.check(o[:, rows], ref_o[:, rows])
    target.check(lse[:, rows], ref_lse[:, rows])


def test_explicit_mask_with_empty_rows(target):
    """A query block whose mask row is empty (or only in the future) gives o = 0 and lse = -inf."""
    T = 100
    q, k, v = inputs(target, T, T, (3, 1))
    nb = math.ceil(T / BS)
    mask = target.rand(1, 3, nb, nb) < 0.5
    mask[:, 0, 2] = False  # head 0, query block 2: nothing
    mask[:, 1, 2] = False
    mask[:, 1, 2, 5] = True  # head 1, query block 2: only a future block
    o, lse = ours(target, q, k, v, block_mask=mask, return_lse=True)
    ref_o, ref_lse = twin(q, k, v, mask)
    for h in (0, 1):
        assert (o[:, 2 * BS:3 * BS, h] == 0).all()
        assert torch.isneginf(lse[:, 2 * BS:3 * BS, h]).all()
    target.check(o, ref_o)
    check_lse(target, lse, ref_lse)


def test_reference_path_is_the_twin(cpu):
    q, k, v = inputs(cpu, 80, 80, (4, 2))
    o = ours(cpu, q, k, v, **SPARSE)
    ref, _ = twin(q, k, v, select_blocks(q, k, block_size=BS, **SPARSE))
    assert torch.equal(o, ref)


@pytest.mark.parametrize(
    "shapes,kw,message",
    [
        (((1, 8, 3, 16), (1, 8, 2, 16)), {}, "multiple"),
        (((1, 9, 4, 16), (1, 8, 2, 16)), {}, "more queries than keys"),
        (((1, 8, 4, 16), (1, 8, 2, 32)), {}, "head dim"),
        (((1, 8, 4, 16), (1, 8, 2, 16)), {"block_size": 24}, "power of two"),
        (((1, 8, 4, 16), (1, 8, 2, 16)), {"block_size": 8}, "power of two"),
        (((1, 8, 4, 16), (1, 8, 2, 16)), {"topk_blocks": -1}, "topk_blocks"),
        (((1, 40, 4, 16), (1, 40, 2, 16)), {"block_mask": torch.ones(1, 4, 2, 2, dtype=torch.bool)}, "block_mask"),
    ],
)
def test_bad_input_is_named(cpu, shapes, kw, message):
    qs, ks = shapes
    q, k = cpu.randn(*qs), cpu.randn(*ks)
    with pytest.raises(ValueError, match=message):
        block_sparse_attention(q, k, k.clone(), **({"block_size": 16} | kw))
