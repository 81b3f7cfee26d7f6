"""Which key blocks each query block visits: attention sinks + local window + content top-k.

Blocks are aligned to absolute key positions: key block j holds keys [j*bs, (j+1)*bs). The queries are
the last Tq of the Tk positions (query row i sits at absolute position Tk - Tq + i), so query block r of
the returned tensors is absolute block `a = (Tk - Tq) // bs + r` and nQ = ceil(Tk / bs) - (Tk - Tq) // bs.

For query block `a` (causal):
- diagonal: block a itself (always; masked token-wise inside),
- window: the `window_blocks` blocks before it, a-window_blocks .. a-1 (clipped at 0),
- sinks: blocks 0 .. sink_blocks-1 that are not already in the window,
- top-k: `topk_blocks` more among the remaining earlier blocks (sink_blocks <= j < a - window_blocks),
  the ones whose mean-pooled key block (per kv head) has the largest dot product with the
  mean-pooled query block (per query head; the mean over the query rows present in the block).
With causal=False the window is symmetric (a-w .. a+w, clipped to the key blocks) and top-k candidates
are all remaining blocks.

The compact form (`block_indices`) is what the kernel reads: idx [B, Hq, nQ, M] int32 with the visited
key blocks in ascending order in the first counts[b, h, r] slots (the rest 0), counts [B, Hq, nQ] int32.
`select_blocks` is the same set as a dense bool mask [B, Hq, nQ, nK].
"""
from __future__ import annotations

import torch

from longlens.kernels.ops.common.attention_checks import check_qkv

# elements per score chunk of the top-k selection (bounds memory at long T)
_SCORE_CHUNK = 1 << 26


def check_block_size(block_size: int) -> None:
    if not isinstance(block_size, int) or block_size < 16 or block_size & (block_size - 1):
        raise ValueError(f"block_size must be a power of two >= 16, got {block_size!r}")


def block_counts(Tq: int, Tk: int, block_size: int) -> tuple[int, int, int]:
    """(nQ, nK, a0): query blocks, key blocks, absolute block index of query block 0."""
    nK = -(-Tk // block_size)
    a0 = (Tk - Tq) // block_size
    return nK - a0, nK, a0


def pool_blocks(x: torch.Tensor, start: int, block_size: int) -> torch.Tensor:
    """Mean of x [B, T, H, D] over absolute-position blocks; row t sits at absolute position start + t.

    Returns [B, n, H, D] fp32 for the blocks start // bs .. (start + T - 1) // bs, each the mean over
    the rows present in it.
    """
    B, T, H, D = x.shape
    front = start % block_size
    n = -(-(front + T) // block_size)
    back = n * block_size - front - T
    xp = torch.nn.functional.pad(x, (0, 0, 0, 0, front, back))
    sums = xp.view(B, n, block_size, H, D).sum(2, dtype=torch.float32)
    first = torch.arange(n, device=x.device) * block_size
    present = (first + block_size).clamp(max=front + T) - first.clamp(min=front)
    return sums / present.view(1, n, 1, 1).to(torch.float32)


def block_indices(
    q: torch.Tensor,
    k: torch.Tensor,
    *,
    block_size: int,
    sink_blocks: int,
    window_blocks: int,
    topk_blocks: int,
    causal: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The visited key blocks of each (batch, query head, query block), in compact form.

    q [B, Tq, Hq, D], k [B, Tk, Hkv, D]. Returns idx [B, Hq, nQ, M] int32 (ascending, valid first)
    and counts [B, Hq, nQ] int32. See the module docstring for the rule.
    """
    B, Tq, Tk, Hq, Hkv, D = check_qkv(q, k, k, op="select_blocks")
    check_block_size(block_size)
    for name, val in (("sink_blocks", sink_blocks), ("window_blocks", window_blocks), ("topk_blocks", topk_blocks)):
        if not isinstance(val, int) or val < 0:
            raise ValueError(f"{name} must be an int >= 0, got {val!r}")
    nQ, nK, a0 = block_counts(Tq, Tk, block_size)
    dev = q.device
    a = torch.arange(a0, a0 + nQ, device=dev)  # [nQ] absolute query blocks
    w = window_blocks
    lo = (a - w).clamp(min=0)
    hi = a if causal else (a + w).clamp(max=nK - 1)

    # window (and diagonal) slots: a-w .. a (causal) or a-w .. a+w
    offs = torch.arange(-w, (1 if causal else w + 1), device=dev)
    win = a[:, None] + offs[None, :]  # [nQ, nw]
    win_ok = (win >= 0) & (win < nK)

    # sink slots: blocks 0..sink_blocks-1 outside the window (and not in the future)
    s = torch.arange(sink_blocks, device=dev)[None, :].expand(nQ, -1)
    sink_ok = (s < nK) & ((s < lo[:, None]) | (s > hi[:, None]))
    if causal:
        sink_ok &= s <= a[:, None]

    fixed = torch.cat([win, s], 1).expand(B, Hq, nQ, -1)
    fixed_ok = torch.cat([win_ok, sink_ok], 1).expand(B, Hq, nQ, -1)
    parts, oks = [fixed], [fixed_ok]
    kk = min(topk_blocks, nK)
    if kk > 0:
        top, top_ok = _topk_blocks(q, k, a, lo, hi, sink_blocks, kk, block_size, causal)
        parts.append(top)
        oks.append(top_ok)
    cand = torch.cat(parts, -1)
    ok = torch.cat(oks, -1)
    key = torch.where(ok, cand, torch.full_like(cand, nK)).sort(-1).values
    counts = ok.sum(-1, dtype=torch.int32)
    m = max(int(counts.max()), 1)
    idx = key[..., :m]
    idx = torch.where(idx < nK, idx, torch.zeros_like(idx)).to(torch.int32).contiguous()
    return idx, counts.contiguous()


def _topk_blocks(q, k, a, lo, hi, sink_blocks, kk, block_size, causal):
    """Top-kk candidate blocks per (b, h, query block) by pooled-query . pooled-key score."""
    B, Tq, Hq, D = q.shape
    Tk, Hkv = k.shape[1], k.shape[2]
    nK = -(-Tk // block_size)
    pq = pool_blocks(q, Tk - Tq, block_size)  # [B, nQ, Hq, D]
    pk = pool_blocks(k, 0, block_size).repeat_interleave(Hq // Hkv, dim=2)  # [B, nK, Hq, D]
    j = torch.arange(nK, device=q.device)
    nQ = a.shape[0]
    step = max(1, _SCORE_CHUNK // max(1, B * Hq * nK))
    idxs, oks = [], []
    for r0 in range(0, nQ, step):
        r1 = min(nQ, r0 + step)
        sc = torch.einsum("brhd,bjhd->bhrj", pq[:, r0:r1], pk)  # [B, Hq, r, nK]
        cand = (j[None, :] >= sink_blocks) & ((j[None, :] < lo[r0:r1, None]) | (j[None, :] > hi[r0:r1, None]))
        if causal:
            cand &= j[None, :] <= a[r0:r1, None]
        sc = sc.masked_fill(~cand, float("-inf"))
        val, ix = sc.topk(kk, dim=-1)
        idxs.append(ix)
        oks.append(torch.isfinite(val))
    return torch.cat(idxs, 2), torch.cat(oks, 2)


def mask_to_indices(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense bool mask [B, H, nQ, nK] -> (idx [B, H, nQ, M] int32 ascending, counts [B, H, nQ] int32)."""
    nK = mask.shape[-1]
    j = torch.arange(nK, device=mask.device, dtype=torch.int32)
    key = torch.where(mask, j, torch.full_like(j, nK)).sort(-1).values
    counts = mask.sum(-1, dtype=torch.int32)
    m = max(int(counts.max()), 1) if counts.numel() else 1
    idx = key[..., :m]
    idx = torch.where(idx < nK, idx, torch.zeros_like(idx))
    return idx.to(torch.int32).contiguous(), counts.contiguous()


def indices_to_mask(idx: torch.Tensor, counts: torch.Tensor, n_key_blocks: int) -> torch.Tensor:
    """Compact (idx, counts) -> dense bool mask [B, H, nQ, nK]."""
    slot = torch.arange(idx.shape[-1], device=idx.device)
    valid = slot < counts[..., None]
    mask = torch.zeros(*idx.shape[:-1], n_key_blocks + 1, dtype=torch.bool, device=idx.device)
    mask.scatter_(-1, torch.where(valid, idx.long(), torch.full_like(idx.long(), n_key_blocks)), True)
    return mask[..., :n_key_blocks]


def select_blocks(q: torch.Tensor, k: torch.Tensor, **selection) -> torch.Tensor:
    """Bool mask [B, Hq, nQ, nK] of the key blocks `block_sparse_attention` visits (its exact set): the blocks
    of `block_indices(q, k, **selection)` (selection: block_size, sink_blocks, window_blocks, topk_blocks, causal).

    q [B, Tq, Hq, D], k [B, Tk, Hkv, D], queries the last Tq positions. The visited fraction of a causal layer
    is `mask.sum()` over the causal block pairs (`causal_block_mask`).
    """
    return indices_to_mask(*block_indices(q, k, **selection), -(-k.shape[1] // selection["block_size"]))


def causal_block_mask(Tq: int, Tk: int, block_size: int, device=None) -> torch.Tensor:
    """Bool [nQ, nK]: key blocks at or before each query block (what dense causal attention touches)."""
    nQ, nK, a0 = block_counts(Tq, Tk, block_size)
    a = torch.arange(a0, a0 + nQ, device=device)
    return torch.arange(nK, device=device)[None, :] <= a[:, None]


def normalize_block_mask(
    block_mask: torch.Tensor, B: int, Hq: int, Tq: int, Tk: int, block_size: int, causal: bool
) -> torch.Tensor:
    """Check an explicit block mask (broadcastable to [B, Hq, nQ, nK]) and expand it (and causal)."""
    nQ, nK, _ = block_counts(Tq, Tk, block_size)
    if not isinstance(block_mask, torch.Tensor) or block_mask.dim() != 4:
        raise ValueError(f"block_mask must be a 4-d tensor [B, Hq, nQ, nK] = [{B}, {Hq}, {nQ}, {nK}]")
    bm = block_mask.to(torch.bool)
    try:
        bm = bm.expand(B, Hq, nQ, nK)
    except RuntimeError:
        raise ValueError(
            f"block_mask has shape {tuple(block_mask.shape)}; expected [B, Hq, nQ, nK] = [{B}, {Hq}, {nQ}, {nK}] "
            f"(nQ = query blocks of the last {Tq} of {Tk} positions, block {block_size})"
        ) from None
    if causal:
        bm = bm & causal_block_mask(Tq, Tk, block_size, bm.device)
    return bm
