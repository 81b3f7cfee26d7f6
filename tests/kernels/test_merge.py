"""merge_attention: exact merge of softmax partials over disjoint key sets (including empty sides)."""
from __future__ import annotations

import math

import pytest
import torch

from longlens.kernels import block_sparse_attention, merge_attention
from longlens.kernels.ops.block_sparse import naive as block_naive
from longlens.kernels.ops.merge import naive

BS = 16


@pytest.mark.parametrize("heads", [pytest.param((4, 2), id="gqa4:2"), pytest.param((3, 1), id="gqa3:1")])
@pytest.mark.parametrize("Tk,Tq", [(63, 63), (300, 300), (300, 40)])
def test_merge_of_two_halves_equals_the_whole(target, Tk, Tq, heads):
    """Split every causal key block at random into two disjoint sets; merging the two partial
    attentions gives dense causal attention (rows with one side empty included)."""
    hq, hkv = heads
    q, k, v = target.randn(1, Tq, hq, 32), target.randn(1, Tk, hkv, 32), target.randn(1, Tk, hkv, 32)
    nk = math.ceil(Tk / BS)
    nq = nk - (Tk - Tq) // BS
    side = target.rand(1, hq, nq, nk) < 0.5
    side[..., 0] = True  # key block 0 always on side A: the first query block sees nothing on side B
    o1, l1 = block_sparse_attention(q, k, v, block_size=BS, block_mask=side, return_lse=True, backend=target.backend)
    o2, l2 = block_sparse_attention(q, k, v, block_size=BS, block_mask=~side, return_lse=True, backend=target.backend)
    if Tq == Tk:
        assert torch.isneginf(l2[:, :BS]).all()  # the empty side is really there
    o, lse = merge_attention(o1, l1, o2, l2, backend=target.backend)
    everything = torch.ones(1, hq, nq, nk, dtype=torch.bool, device=q.device)
    o_all, l_all = block_naive.block_sparse_attention(q.float(), k.float(), v.float(), everything, block_size=BS,
                                                      causal=True, scale=32 ** -0.5)
    assert o.dtype == q.dtype and lse.dtype == torch.float32
    target.check(o, o_all)
    target.check(lse, l_all)


def test_merge_matches_explicit_softmax(target, cpu):
    """Partials written out by hand (on CPU, fp32) over two disjoint key sets, some rows empty on one or both sides."""
    B, T, H, D, N = 2, 37, 3, 24, 50
    q, k, v = cpu.randn(B, T, H, D), cpu.randn(B, N, H, D), cpu.randn(B, N, H, D)
    s = torch.einsum("bthd,bnhd->bthn", q, k) / math.sqrt(D)
    in_a = cpu.rand(B, T, H, N) < 0.4
    in_b = ~in_a
    in_a[:, 3] = False  # row 3: side A empty
    in_b[:, 5] = False  # row 5: side B empty
    in_a[:, 7] = in_b[:, 7] = False  # row 7: both empty

    def partial(mask):
        sm = s.masked_fill(~mask, -math.inf)
        lse = torch.logsumexp(sm, -1)
        p = torch.exp(sm - torch.where(torch.isfinite(lse), lse, 0.0)[..., None])
        return torch.einsum("bthn,bnhd->bthd", p, v), lse

    (o1, l1), (o2, l2), (o12, l12) = partial(in_a), partial(in_b), partial(in_a | in_b)
    o1[:, 3] = math.nan  # the output of an empty side is garbage and must be ignored
    dev = target.device
    o, lse = merge_attention(o1.to(dev, target.dtype), l1.to(dev), o2.to(dev, target.dtype), l2.to(dev),
                             backend=target.backend)
    assert (o[:, 7] == 0).all() and torch.isneginf(lse[:, 7]).all()
    assert torch.equal(torch.isneginf(lse.cpu()), torch.isneginf(l12))
    target.check(o, o12)
    fin = torch.isfinite(l12)
    target.check(lse.cpu()[fin], l12[fin])
    ref_o, ref_l = naive.merge_attention(o1, l1, o2, l2)  # the twin, same cases
    target.check(ref_o, o12, tol=1e-5)
    assert torch.equal(torch.isneginf(ref_l), torch.isneginf(l12))


def test_bad_shapes_are_named(cpu):
    o, lse = cpu.randn(1, 4, 2, 8), cpu.randn(1, 4, 2)
    with pytest.raises(ValueError, match="lse1, lse2"):
        merge_attention(o, lse, o, cpu.randn(1, 4, 3))
    with pytest.raises(ValueError, match="o1, o2"):
        merge_attention(o, lse, cpu.randn(1, 4, 2, 9), lse)
