"""`longlens bench attention`: what our sparse attention costs a *trained* model (issue 16).

SmolLM2-135M-Instruct (`longlens.lvlm.trained`) reads the same local English text densely (stock SDPA) and with
`use_sparse_attention` at each sparsity setting; per context length and setting: perplexity (and its cost over
dense, in %), KL(dense || sparse) per token, top-1 agreement of the next-token predictions, the fraction of
causally visible key blocks the sparse layers visited (`SparsityStats`) and the seconds of each forward.
The figure "quality" plots the perplexity cost and the KL against the visited fraction.

Full: 2k, 4k and 8k tokens (the model's context); quick: 1k tokens. On CPU the kernels run their PyTorch
twins (the whole T x T score matrix, masked): slower than dense, so the seconds say nothing about GPU speed.
"""
from __future__ import annotations

import io
import logging
import time

log = logging.getLogger(__name__)

# (block_size, sink_blocks, window_blocks, topk_blocks): the three rows first, then the neighbours.
SETTINGS = [
    (64, 1, 8, 8),
    (64, 1, 4, 4),
    (64, 1, 2, 0),
    (64, 1, 16, 16),
    (64, 1, 8, 0),
    (64, 0, 8, 8),
    (128, 1, 4, 4),
]
LENGTHS = (2048, 4096, 8192)
# On CPU an 8k sparse forward takes minutes (the twin computes all T x T scores): there, the default and its
# two neighbours in visited fraction only.
LONG_SETTINGS = {8192: [(64, 1, 8, 8), (64, 1, 16, 16), (64, 1, 8, 0)]}
QUICK_LENGTHS = (1024,)
QUICK_SETTINGS = [(64, 1, 8, 8), (32, 1, 4, 4), (32, 1, 2, 0)]
_CHUNK = 512  # positions per lm_head chunk: [chunk, vocab] logits, never [T, vocab] at once


def sparsity_of(setting):
    """The SparsityConfig of a (block_size, sinks, window, top-k) tuple, sparse at every length."""
    from longlens.lvlm.config import SparsityConfig

    block, sink, window, topk = setting
    return SparsityConfig(sink_blocks=sink, window_blocks=window, topk_blocks=topk, block_size=block, dense_below=0)


def label(cfg) -> str:
    return f"bs{cfg.block_size} s{cfg.sink_blocks} w{cfg.window_blocks} k{cfg.topk_blocks}"


def hidden_states(model, ids, sparsity=None, *, kernels: str = "reference"):
    """(last hidden states [T, H], stats dict or None, seconds): the model on `ids` [1, T], dense when `sparsity`
    is None, else on our sparse attention (removed again afterwards: the model may be shared)."""
    import torch

    from longlens.lvlm.sparse import remove_sparse_attention, sparse_stats, use_sparse_attention

    if sparsity is not None:
        use_sparse_attention(model, sparsity, kernels=kernels)
    try:
        t0 = time.perf_counter()
        with torch.inference_mode():
            h = model.model(input_ids=ids, use_cache=False).last_hidden_state[0]
        seconds = time.perf_counter() - t0
        stats = sparse_stats(model)
        return h, (stats.to_dict() if stats is not None else None), seconds
    finally:
        if sparsity is not None:
            remove_sparse_attention(model)


def compare(model, ids, h_dense, h_other) -> dict:
    """Perplexities of both, KL(dense || other) per token and top-1 agreement, over next-token predictions."""
    import torch

    targets = ids[0, 1:]
    n = targets.shape[0]
    nll_d = nll_o = kl = agree = 0.0
    with torch.inference_mode():
        for i in range(0, n, _CHUNK):
            j = min(n, i + _CHUNK)
            lp_d = model.lm_head(h_dense[i:j]).float().log_softmax(-1)
            lp_o = model.lm_head(h_other[i:j]).float().log_softmax(-1)
            t = targets[i:j, None]
            nll_d -= float(lp_d.gather(-1, t).sum())
            nll_o -= float(lp_o.gather(-1, t).sum())
            kl += float((lp_d.exp() * (lp_d - lp_o)).sum())
            agree += float((lp_d.argmax(-1) == lp_o.argmax(-1)).sum())
    ppl_d, ppl_o = float(torch.tensor(nll_d / n).exp()), float(torch.tensor(nll_o / n).exp())
    return {"ppl_dense": ppl_d, "ppl": ppl_o, "ppl_cost_pct": 100 * (ppl_o / ppl_d - 1), "kl": kl / n,
            "top1": agree / n}


def measure(model, tokenizer, n_tokens: int, settings, *, kernels: str = "reference", show=None) -> list[dict]:
    """One row per sparsity setting (SparsityConfig) at `n_tokens` of local text, plus the dense row first."""
    from longlens.core.progress import progress
    from longlens.lvlm.trained import local_text

    ids = local_text(tokenizer, n_tokens)
    h_dense, _, dense_s = hidden_states(model, ids)
    base = compare(model, ids, h_dense, h_dense)
    rows = [{"tokens": n_tokens, "attention": "dense (sdpa)", "ppl": base["ppl"], "ppl_cost_pct": 0.0, "kl": 0.0,
             "top1": 1.0, "visited": 1.0, "seconds": dense_s}]
    for cfg in progress(settings, desc=f"sparse settings at {n_tokens} tokens", show=show):
        h, stats, seconds = hidden_states(model, ids, cfg, kernels=kernels)
        q = compare(model, ids, h_dense, h)
        row = {"tokens": n_tokens, "attention": label(cfg), "ppl": q["ppl"], "ppl_cost_pct": q["ppl_cost_pct"],
               "kl": q["kl"], "top1": q["top1"], "visited": stats["prefill_visited_fraction"], "seconds": seconds,
               "block_size": cfg.block_size, "sink_blocks": cfg.sink_blocks, "window_blocks": cfg.window_blocks,
               "topk_blocks": cfg.topk_blocks}
        log.info("attention bench: %s", row)
        rows.append(row)
    return rows


def plot(rows: list[dict]) -> bytes:
    """PNG: perplexity cost (%) and KL to dense against the visited fraction, one colour per length."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sparse = [r for r in rows if r.get("block_size")]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for n in sorted({r["tokens"] for r in sparse}):
        part = [r for r in sparse if r["tokens"] == n]
        for ax, key in zip(axes, ("ppl_cost_pct", "kl")):
            ax.scatter([r["visited"] for r in part], [max(r[key], 1e-4) for r in part], label=f"{n} tokens")
            for r in part:
                ax.annotate(r["attention"], (r["visited"], max(r[key], 1e-4)), fontsize=6, alpha=0.7)
    for ax, title in zip(axes, ("perplexity cost over dense (%)", "KL(dense || sparse) per token")):
        ax.set_yscale("log")
        ax.set_xlabel("visited fraction of causal key blocks")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].axhline(1.0, color="grey", ls="--", lw=0.8)
    axes[0].legend()
    fig.suptitle("SmolLM2-135M-Instruct, sparse attention vs dense, local licence text")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return buf.getvalue()


def run(*, quick: bool = False) -> dict:
    from longlens.lvlm.trained import NAME, load_trained_lm

    model, tokenizer = load_trained_lm()
    rows = []
    for n in QUICK_LENGTHS if quick else LENGTHS:
        chosen = QUICK_SETTINGS if quick else LONG_SETTINGS.get(n, SETTINGS)
        rows += measure(model, tokenizer, n, [sparsity_of(s) for s in chosen])
    notes = [
        "ppl over every next-token prediction of the text; ppl_cost_pct relative to dense at the same length",
        "kl: KL(dense || sparse) in nats per token; top1: share of positions where both predict the same token",
        "visited: key blocks the sparse layers computed / causally visible ones (prefill); dense = 1",
        "seconds: one forward on this machine; on CPU the sparse path runs the PyTorch twin (full masked scores)",
    ]
    if not quick:
        notes.append(f"8192 tokens: settings {LONG_SETTINGS[8192]} only (CPU time)")
    if quick:
        notes.append(f"quick: {QUICK_LENGTHS} tokens only, blocks of 32 to have some sparsity there")
    return {"rows": rows, "notes": notes, "figures": {"quality": plot(rows)},
            "meta": {"model": NAME, "lengths": list(QUICK_LENGTHS if quick else LENGTHS),
                     "text": "local_text: /usr/share/common-licenses, then stdlib docstrings"}}
