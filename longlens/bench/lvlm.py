"""`longlens bench lvlm`: prefill and decode time and peak memory vs number of frames, attn sparse vs sdpa.

One model, the same weights and inputs for both attentions (switched in place with
`use_sparse_attention` / `remove_sparse_attention`). CPU: the tiny Qwen3.5 (3 Gated DeltaNet + 1 full
attention layer), where our kernels run as their PyTorch twins: only the ratios mean anything. GPU:
Qwen3.5-0.8B's shape at random weights in bf16 (no weights needed for speed).

prefill_ms: one forward over the whole prompt (vision tower included, logits of the last token only).
decode_ms_per_token: median time between consecutive new tokens of a greedy `generate` (read
from a streamer, which gets each token as it is made; the first token, made by the prefill, is
excluded). peak_mib: GPU: peak
allocated during prefill above what was allocated before (weights, inputs); CPU: the same from the
torch profiler's memory events (allocations per op and frees, replayed in time order).
"""
from __future__ import annotations

import logging
import time

import numpy as np
import torch

from longlens.core.types import Frame

log = logging.getLogger(__name__)

DECODE_TOKENS = 8


def _peak_mib(fn) -> float:
    """Peak memory (MiB) fn() allocates above what was live before: the CUDA allocator's peak on GPU;
    on CPU the torch allocator's live bytes replayed from a memory profile (allocations per op, frees)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - before) / 2**20
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    deltas = sorted(
        (e.time_range.start, e.cpu_memory_usage if e.name == "[memory]" else e.self_cpu_memory_usage)
        for e in prof.events()
    )
    live = peak = 0
    for _, d in deltas:
        live += d
        peak = max(peak, live)
    return peak / 2**20


class _TokenClock:
    """A generate() streamer that notes when each batch of tokens arrives (first call: the prompt)."""

    def __init__(self):
        self.times: list[float] = []

    def put(self, value) -> None:
        self.times.append(time.perf_counter())

    def end(self) -> None:
        pass

    def per_token_ms(self) -> list[float]:
        """Intervals between new tokens after the first one (ms)."""
        t = self.times[2:]  # [prompt, token 1 (prefill), token 2, ...]
        return [(b - a) * 1e3 for a, b in zip(t, t[1:])] if len(t) > 1 else []


def _decode_ms(model, inputs, pad: int, *, repeat: int) -> float:
    """Median per-token decode time over `repeat` greedy generations of DECODE_TOKENS + 2 tokens."""
    import statistics

    intervals: list[float] = []
    for i in range(repeat + 1):  # the first is a warm-up
        clock = _TokenClock()
        k = DECODE_TOKENS + 2
        model.generate(**inputs, max_new_tokens=k, min_new_tokens=k, do_sample=False, pad_token_id=pad, streamer=clock)
        if i:
            intervals += clock.per_token_ms()
    return statistics.median(intervals)


def _frames(n: int, side: int, duration: float, rng) -> list[Frame]:
    times = np.sort(rng.uniform(0, duration, n))
    return [Frame(float(t), i, rng.integers(0, 256, (side, side, 3), dtype=np.uint8)) for i, t in enumerate(times)]


def run(*, quick: bool = False, kernels: str = "auto") -> dict:
    """Rows per (frames, attention); sparse rows carry sdpa/sparse ratios (> 1 = sparse faster / smaller).
    `kernels`: which implementation our kernels run (auto | triton | reference)."""
    from longlens.bench.kernels import measure
    from longlens.bench.tiny import TinySpec, qwen35_08b_spec, tiny_model, tiny_processor
    from longlens.lvlm.config import SparsityConfig
    from longlens.lvlm.load import VLM
    from longlens.lvlm.prompts import build_prompt, qa_instruction, to_inputs
    from longlens.lvlm.sparse import remove_sparse_attention, sparse_stats, use_sparse_attention

    gpu = torch.cuda.is_available()
    spec = qwen35_08b_spec() if gpu else TinySpec(kind="qwen3_5")
    side = 256 if gpu else spec.frame  # 64 / 4 visual tokens per frame pair on GPU / CPU
    counts = (([16, 128, 512] if quick else [16, 64, 256, 512, 1024]) if gpu
              else ([16, 64] if quick else [16, 64, 256, 1024]))
    # dense_below=0: the CPU prompts are short, and would run dense by default; sparse anyway, to compare
    sparsity = SparsityConfig() if gpu else SparsityConfig(block_size=16, sink_blocks=1, window_blocks=4, topk_blocks=4,
                                                           dense_below=0)
    warmup, repeat = (2, 5) if gpu else (2, 3)
    device = "cuda" if gpu else "cpu"
    proc = tiny_processor(spec)
    model = tiny_model(spec, proc.tokenizer).to(device=device, dtype=torch.bfloat16 if gpu else torch.float32)
    vlm = VLM(model, proc, "qwen3.5-0.8b-shape (random weights)" if gpu else "tiny qwen3.5 (random weights)")
    rng = np.random.default_rng(0)
    pad = proc.tokenizer.pad_token_id
    rows: list[dict] = []
    for n in counts:
        prompt = build_prompt(_frames(n, side, 3600.0, rng), qa_instruction("What happens?"), duration=3600.0,
                              native=True)
        inputs = to_inputs(proc, prompt, frame_pixels=side * side, device=device)
        if gpu:
            inputs["pixel_values_videos"] = inputs["pixel_values_videos"].to(torch.bfloat16)
        tokens = int(inputs["input_ids"].shape[1])
        visual = int((inputs["input_ids"] == model.config.video_token_id).sum())
        by_attn = {}
        for attn in ("sdpa", "sparse"):
            if attn == "sparse":
                use_sparse_attention(model, sparsity, kernels=kernels)
            with torch.inference_mode():
                prefill = measure(lambda inputs=inputs: model(**inputs, logits_to_keep=1), warmup=warmup,
                                  repeat=repeat)
                decode = _decode_ms(model, inputs, pad, repeat=repeat)
                stats = sparse_stats(model)
                if stats is not None:
                    stats.reset()
                peak = _peak_mib(lambda inputs=inputs: model(**inputs, logits_to_keep=1))
            row = {
                "frames": n,
                "tokens": tokens,
                "visual_tokens": visual,
                "attn": attn,
                "prefill_ms": prefill,
                "decode_ms_per_token": decode,
                "peak_mib": peak,
                "visited_fraction": stats.visited_fraction if stats is not None else None,
            }
            by_attn[attn] = row
            if attn == "sparse":
                remove_sparse_attention(model)
            log.info("lvlm bench %s", row)
        d, h = by_attn["sdpa"], by_attn["sparse"]
        h["prefill_speedup"] = d["prefill_ms"] / h["prefill_ms"]
        h["decode_speedup"] = d["decode_ms_per_token"] / h["decode_ms_per_token"]
        h["memory_ratio"] = h["peak_mib"] / d["peak_mib"] if h["peak_mib"] and d["peak_mib"] else None
        rows += [d, h]
    notes = [
        f"model: {vlm.name}; sparse attention {sparsity}, kernels={kernels}; frames {side}x{side} px, native video "
        "stamps",
        "speedup = sdpa time / sparse time (> 1: sparse faster); memory_ratio = sparse peak / sdpa peak",
    ]
    if not gpu:
        notes.append("CPU: kernels run as their PyTorch reference twins and the model is tiny: ratios only, "
                     "not speed claims; peak_mib from the torch CPU allocator (profiler memory events)")
    else:
        notes.append("sdpa runs transformers' torch Gated DeltaNet (no flash-linear-attention installed); "
                     "sparse runs ours")
    meta = {"spec": spec.__dict__, "sparsity": sparsity.__dict__, "kernels": kernels, "decode_tokens": DECODE_TOKENS}
    return {"rows": rows, "notes": notes, "meta": meta}
