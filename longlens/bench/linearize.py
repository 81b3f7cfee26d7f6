"""`longlens bench linearize`: a trained linear branch for the hybrid layer (issue 16, part 3).

Full run: SmolLM2-135M-Instruct (`longlens.lvlm.trained`, offline) on local English text. (1) Attention
transfer: each layer's feature maps trained to match the frozen model's dense attention (MSE on sampled query
rows past the window), per-layer MSE on held-out text for window-only / untrained / trained maps. (2) The maps
saved beside the results (safetensors, model identity + hash) and loaded back. (3) Perplexity at 2k, 4k, 8k on
held-out text: dense SDPA vs the hybrid layer (sinks + a 512-token window) with trained maps, untrained maps
and no linear branch (window only). The hybrid runs streamed in chunks through `LinearStream` (the same outputs
as one pass), dense in the same chunks with transformers' KV cache, so (4) the cache bytes after each chunk
give the memory curves; then token-by-token decode past the longest length (`hybrid_attention_step`) shows
the hybrid's stays flat. Quick mode: a tiny random-weight Llama, small sizes, same code.
"""
from __future__ import annotations

import io
import logging
import math
import time

import torch

log = logging.getLogger(__name__)

FULL = dict(window=512, sink=4, train_seqs=4, train_len=1024, eval_len=2048, steps=60, rows=32,
            lengths=(2048, 4096), chunk=512, decode=16)
QUICK = dict(window=16, sink=2, train_seqs=2, train_len=160, eval_len=160, steps=40, rows=32,
             lengths=(128, 256), chunk=32, decode=16)


def _tiny_model():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024)
    return LlamaForCausalLM(cfg).eval()


def _text(tokenizer, n: int, offset: int, quick: bool) -> torch.Tensor:
    if quick:
        return torch.randint(0, 256, (1, n), generator=torch.Generator().manual_seed(offset))
    from longlens.lvlm.trained import local_text

    return local_text(tokenizer, n, offset=offset)


def _nll(logits: torch.Tensor, targets: torch.Tensor) -> tuple[float, int]:
    """Summed next-token NLL of logits [1, C, V] against targets [1, C'] (C' <= C: the first C' positions)."""
    n = targets.shape[1]
    if n == 0:
        return 0.0, 0
    lp = torch.log_softmax(logits[0, :n].float(), -1)
    return float(-lp.gather(-1, targets[0, :, None]).sum()), n


def _kv_bytes(cache) -> int:
    total = 0
    for layer in getattr(cache, "layers", []):
        for t in (getattr(layer, "keys", None), getattr(layer, "values", None)):
            if isinstance(t, torch.Tensor):
                total += t.numel() * t.element_size()
    return total


@torch.no_grad()
def _stream_eval(model, ids: torch.Tensor, chunk: int, *, dense: bool, decode: int = 0):
    """Feed ids [1, T] in chunks, then `decode` greedy one-token steps. Returns (perplexity of ids, [(position,
    cache bytes)] after each chunk and each step, seconds of the chunked pass)."""
    from transformers import DynamicCache

    from longlens.lvlm.linearize import LinearStream

    stream = None if dense else LinearStream(model)
    past = DynamicCache(config=model.config) if dense else None

    def feed(part):
        if dense:
            return model(input_ids=part, cache=past, use_cache=True).logits
        return stream.feed(part)

    def held() -> int:
        return _kv_bytes(past) if dense else stream.cache_bytes()

    T = ids.shape[1]
    nll, count, curve = 0.0, 0, []
    t0 = time.perf_counter()
    for s in range(0, T, chunk):
        part = ids[:, s:s + chunk]
        logits = feed(part)
        a, n = _nll(logits, ids[:, s + 1:s + 1 + part.shape[1]])
        nll, count = nll + a, count + n
        curve.append((s + part.shape[1], held()))
    seconds = time.perf_counter() - t0
    for i in range(decode):
        logits = feed(logits[:, -1:].argmax(-1))
        curve.append((T + i + 1, held()))
    return math.exp(nll / count), curve, seconds


def _saved_maps(path, model, recipe: dict):
    """(maps, extra) from `path` when it holds maps trained for `model` with `recipe`, else None."""
    from longlens.core.errors import CacheError, InputError
    from longlens.lvlm.transfer import load_feature_maps

    if not path.is_file():
        return None
    try:
        maps, info = load_feature_maps(path, model=model)
    except (CacheError, InputError) as e:
        log.info("not reusing %s: %s", path, e)
        return None
    extra = info["extra"]
    if any(extra.get(k) != v for k, v in recipe.items()):
        return None
    log.info("reusing the feature maps in %s", path)
    return maps, extra


def _figure(ppl_rows: list[dict], curves: dict[str, list[tuple[int, int]]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for name in dict.fromkeys(r["attention"] for r in ppl_rows):
        rs = [r for r in ppl_rows if r["attention"] == name]
        a.plot([r["tokens"] for r in rs], [r["perplexity"] for r in rs], marker="o", label=name)
    a.set_xlabel("context (tokens)")
    a.set_ylabel("perplexity")
    a.legend()
    for name, curve in curves.items():
        b.plot([p for p, _ in curve], [n / 2**20 for _, n in curve], label=name)
    b.set_xlabel("position (tokens)")
    b.set_ylabel("attention cache (MiB)")
    b.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def run(*, quick: bool = False) -> dict:
    from longlens.lvlm.linearize import LayerMaps, remove_linearized_attention, use_linearized_attention
    from longlens.lvlm.transfer import (
        TransferConfig,
        attention_transfer,
        default_path,
        load_feature_maps,
        save_feature_maps,
    )

    p = QUICK if quick else FULL
    if quick:
        model, tokenizer, name = _tiny_model(), None, "tiny random Llama (2 layers)"
    else:
        from longlens.lvlm.trained import NAME, load_trained_lm

        model, tokenizer = load_trained_lm()
        name = NAME
    window, sink, chunk = p["window"], p["sink"], p["chunk"]
    cfg = TransferConfig(window=window, sink=sink, steps=p["steps"], rows=p["rows"], eval_rows=128)
    # text: training tokens first, then held-out tokens for the layer errors, then for perplexity
    n_train = p["train_seqs"] * p["train_len"]
    train_ids = _text(tokenizer, n_train, 0, quick).view(p["train_seqs"], p["train_len"])
    eval_ids = _text(tokenizer, p["eval_len"], n_train, quick)
    ppl_offset = n_train + p["eval_len"]

    path = default_path(model, window=window, sink=sink)
    recipe = {"steps": cfg.steps, "rows": cfg.rows, "train_tokens": n_train, "lr": cfg.lr}
    saved = _saved_maps(path, model, recipe)
    if saved is not None:  # trained earlier with the same recipe (the maps are deterministic given it)
        maps, extra = saved
        layer_rows, train_s = extra.get("transfer", []), extra.get("train_seconds")
    else:
        t0 = time.perf_counter()
        maps, layer_rows = attention_transfer(model, train_ids, cfg, eval_ids=eval_ids)
        train_s = time.perf_counter() - t0
        save_feature_maps(maps, path, model=model, window=window, sink=sink,
                          extra={**recipe, "transfer": layer_rows, "train_seconds": train_s})
        maps, _ = load_feature_maps(path, model=model)

    variants = {"trained maps": maps, "untrained maps": LayerMaps.for_model(model), "window only": "none"}
    ppl_rows, curves = [], {}
    for T in p["lengths"]:
        ids = _text(tokenizer, T, ppl_offset, quick)
        last = T == p["lengths"][-1]  # the longest text also decodes on, token by token
        for label, fmap in {"dense": None, **variants}.items():
            steps = p["decode"] if last and label in ("dense", "trained maps") else 0
            if fmap is None:
                ppl, curve, secs = _stream_eval(model, ids, chunk, dense=True, decode=steps)
                dense_ppl, label = ppl, "dense (sdpa)"
            else:
                use_linearized_attention(model, fmap, window=window, sink=sink)
                try:
                    ppl, curve, secs = _stream_eval(model, ids, chunk, dense=False, decode=steps)
                finally:
                    remove_linearized_attention(model)
                label = f"hybrid w{window}+s{sink}, {label}"
            row = {"attention": label, "tokens": T, "perplexity": ppl, "vs_dense": ppl / dense_ppl,
                   "cache_mib": curve[-(-T // chunk) - 1][1] / 2**20, "seconds": secs}
            ppl_rows.append(row)
            log.info("linearize: %s", row)
            if steps:
                curves[label] = curve
    dense, hyb = (curve[-p["decode"]:] for curve in curves.values())  # dense first, then the trained hybrid
    decode = {"positions": [q for q, _ in hyb], "hybrid_bytes": [n for _, n in hyb],
              "dense_bytes": [n for _, n in dense]}

    mean = {k: sum(r[k] for r in layer_rows) / max(1, len(layer_rows))
            for k in ("mse_window", "mse_untrained", "mse_trained")}
    notes = [
        f"model: {name}; hybrid = {sink} sinks + a {window}-token window exact, evicted tokens through the maps",
        f"attention transfer: {cfg.steps} Adam steps of {cfg.rows} query rows per layer on {n_train} tokens "
        f"({p['train_seqs']} x {p['train_len']}), {'reused from ' + str(path) if saved else 'trained'} "
        f"({train_s or 0:.0f} s); mean layer MSE vs dense on held-out rows over {len(layer_rows)} layers: window "
        f"only {mean['mse_window']:.3g}, untrained {mean['mse_untrained']:.3g}, trained {mean['mse_trained']:.3g}",
        f"decode: {p['decode']} one-token steps after {p['lengths'][-1]} tokens: hybrid cache "
        f"{hyb[0][1] / 2**20:.3f} -> {hyb[-1][1] / 2**20:.3f} MiB, dense KV cache "
        f"{dense[0][1] / 2**20:.3f} -> {dense[-1][1] / 2**20:.3f} MiB",
        f"maps in {path} (safetensors, model identity + content hash), loaded back before use",
    ]
    return {
        "rows": ppl_rows,
        "notes": notes,
        "meta": {"model": name, "window": window, "sink": sink, "transfer": layer_rows, "train_seconds": train_s,
                 "decode": decode, "curves": {k: list(map(list, v)) for k, v in curves.items()}, "params": p,
                 "maps": str(path)},
        "figures": {"linearize": _figure(ppl_rows, curves)},
    }
