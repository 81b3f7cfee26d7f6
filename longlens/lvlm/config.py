"""What loading a VLM takes, in one place: `VlmConfig` (its field defaults are the CLI's and the explorer's
defaults) and `SparsityConfig` (which key blocks the sparse attention visits). Pure Python: importing this
module imports neither torch nor transformers."""
from __future__ import annotations

from dataclasses import dataclass

from longlens.core.errors import InputError
from longlens.core.registry import ATTENTION, KERNEL_BACKENDS

DEFAULT_MODEL = "Qwen/Qwen3.5-0.8B"


@dataclass(frozen=True)
class SparsityConfig:
    """Which key blocks each query block visits: `sink_blocks` first + `window_blocks` last + `topk_blocks` best,
    in blocks of `block_size` tokens; below `dense_below` keys a layer runs exact (dense) attention.

    The defaults are measured, not guessed (`longlens bench attention`: the trained SmolLM2-135M-Instruct on local
    English text; perplexity, KL and top-1 agreement against dense). The rule:
    - the block selection: the sparsest measured setting whose perplexity cost stays below 1% at every measured
      length. Sink 1 + window 8 + top-k 8 blocks of 64: +0.85% at 2k tokens (KL 0.004, top-1 agreement 0.98),
      +0.15% at 4k (KL 0.016, top-1 0.955); halving window and top-k (4 + 4) already costs +5.0% / +3.1%, a
      window alone (2, no top-k) +24% / +21% (KL 0.20 / 0.22, top-1 0.81 / 0.80): top-k is what keeps quality.
    - exact attention below `dense_below` = 4096 keys: there the default still visits most causal key blocks
      (80% at 2k tokens), so sparsity saves little of the time and costs the most quality per block skipped.
      From 4096 keys on it visits at most 18 blocks per query block (48% at 4k, 26% at 8k).
    """

    sink_blocks: int = 1
    window_blocks: int = 8
    topk_blocks: int = 8
    block_size: int = 64
    dense_below: int = 4096

    def __post_init__(self):
        for name in ("sink_blocks", "window_blocks", "topk_blocks", "dense_below"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.block_size < 16 or self.block_size & (self.block_size - 1):
            raise InputError(f"block_size must be a power of two >= 16, got {self.block_size}")
        if self.window_blocks < 1:
            raise InputError("window_blocks must be >= 1 (a query block always sees its own block)")


@dataclass(frozen=True)
class VlmConfig:
    """A vision-language model to load, and how it runs.

    model: hub id or local directory. attn: a name of `core.registry.ATTENTION`: "sparse" (our kernels on the
    language model: block-sparse softmax + our chunked gated delta rule, see `longlens.lvlm.sparse`), "sdpa" or
    "eager" (the model's stock attention), "auto" (sparse on CUDA, sdpa on CPU: `resolve_attention`). kernels: a
    name of `core.registry.KERNEL_BACKENDS`, which implementation our kernels run ("auto": Triton on CUDA, else
    the PyTorch twins). device: default CUDA when available, else CPU. dtype: a torch dtype or its name
    ("bfloat16"); default bf16 on CUDA, fp32 on CPU.
    sparsity: the sparse attention's block selection (attn="sparse", or "auto" where it resolves to sparse; None:
    `SparsityConfig()`).
    Checked on construction (InputError naming the choices).
    """

    model: str = DEFAULT_MODEL
    attn: str = ATTENTION.default
    kernels: str = KERNEL_BACKENDS.default
    device: str | None = None
    dtype: object = None
    sparsity: SparsityConfig | None = None

    def __post_init__(self):
        ATTENTION.check(self.attn)
        KERNEL_BACKENDS.check(self.kernels)
        if self.sparsity is not None and self.attn not in ("sparse", "auto"):
            raise InputError(f"sparsity settings only apply to attn='sparse' (or 'auto'), not {self.attn!r}")


def resolve_attention(attn: str, device_type: str) -> str:
    """The attention `attn` means on a device of `device_type` ("cuda", "cpu", ...): "auto" is "sparse" on CUDA
    (our Triton kernels, each self-checked on first use) and "sdpa" elsewhere: on CPU our kernels run their
    PyTorch twins, which compute every masked score and are slower than stock SDPA (`longlens bench attention`
    times both), so sparsity would cost time there for nothing. Other names are themselves."""
    ATTENTION.check(attn)
    if attn != "auto":
        return attn
    return "sparse" if device_type == "cuda" else "sdpa"
