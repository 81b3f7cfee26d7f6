"""Loading a vision-language model (transformers image-text-to-text) with the attention backend asked for."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from longlens.core.errors import InputError
from longlens.core.hub import hub_offline
from longlens.core.errors import ModelUnavailableError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "Qwen/Qwen3.5-0.8B"
ATTNS = ("hybrid", "sdpa", "eager")
SPARSITY_KEYS = ("sink_blocks", "window_blocks", "topk_blocks", "block_size")


@dataclass
class VLM:
    """A loaded model with its processor. `name` is the hub id or directory it came from."""

    model: object  # transformers PreTrainedModel (image-text-to-text)
    processor: object  # transformers ProcessorMixin with a chat template
    name: str
    attn: str = "sdpa"

    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def dtype(self):
        return next(self.model.parameters()).dtype

    @property
    def native_video_stamps(self) -> bool:
        """True when the processor writes each video frame's timestamp itself (Qwen3-VL, Qwen3.5)."""
        return callable(getattr(self.processor, "_calculate_timestamps", None)) and hasattr(self.processor, "video_processor")

    @property
    def stats(self):
        """Sparsity counters (`SparsityStats`) when on `hybrid` attention, else None."""
        from longlens.lvlm.hybrid import hybrid_stats

        return hybrid_stats(self.model)


def _looks_local(model: str) -> bool:
    """A path rather than a hub id ("owner/name" or "name")."""
    return model.startswith((".", "/", "~")) or model.count("/") > 1 or Path(model).expanduser().exists()


def load_vlm(
    model: str = DEFAULT_MODEL,
    *,
    attn: str = "hybrid",
    device: str | None = None,
    dtype=None,
    **sparsity,
) -> VLM:
    """Load `model` (hub id or local directory) with AutoModelForImageTextToText + AutoProcessor.

    attn: "hybrid" (our block-sparse / gated-delta-rule kernels on the language model, see
    `use_hybrid_attention`), "sdpa" or "eager". device: default CUDA if available, else CPU. dtype:
    default bf16 on CUDA, fp32 on CPU. `sparsity`: sink_blocks, window_blocks, topk_blocks, block_size
    (hybrid only). Raises ModelUnavailableError naming the model and the directory looked in when the
    weights are neither local nor downloadable (with HF_HUB_OFFLINE=1 nothing is downloaded).
    """
    import torch

    if attn not in ATTNS:
        raise InputError(f"attn must be one of {ATTNS}, got {attn!r}")
    unknown = set(sparsity) - set(SPARSITY_KEYS)
    if unknown:
        raise InputError(f"unknown load_vlm options {sorted(unknown)}; sparsity options are {SPARSITY_KEYS}")
    if sparsity and attn != "hybrid":
        raise InputError(f"sparsity options {sorted(sparsity)} only apply to attn='hybrid', not {attn!r}")
    from longlens.lvlm.hybrid import SparsityConfig

    SparsityConfig(**sparsity)  # bad settings fail before any loading
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if dtype is None:
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    name = str(model)
    local_dir = Path(name).expanduser()
    if _looks_local(name):
        if not (local_dir / "config.json").is_file():
            raise ModelUnavailableError(
                f"model {name!r}: no config.json in {local_dir.resolve()} (a local model directory needs the "
                "config, the weights and the processor files)"
            )
        source, where = str(local_dir), str(local_dir.resolve())
    else:
        from huggingface_hub import constants

        source, where = name, constants.HF_HUB_CACHE
    offline = hub_offline()
    from transformers import AutoModelForImageTextToText, AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(source, local_files_only=offline)
        net = AutoModelForImageTextToText.from_pretrained(
            source, dtype=dtype, attn_implementation="sdpa" if attn == "hybrid" else attn, local_files_only=offline
        )
    except (OSError, EnvironmentError) as e:
        why = "not in the local cache and the hub is offline (HF_HUB_OFFLINE or no network)" if offline else "not found locally and not downloadable"
        raise ModelUnavailableError(f"model {name!r} is unavailable: {why}; looked in {where} ({e.__class__.__name__}: {(str(e).splitlines() or [''])[0]})") from e
    except ValueError as e:
        raise ModelUnavailableError(f"model {name!r} cannot be loaded as an image-text-to-text model from {where}: {e}") from e
    net = net.to(device).eval()
    if attn == "hybrid":
        from longlens.lvlm.hybrid import use_hybrid_attention

        use_hybrid_attention(net, **sparsity)
    log.info("loaded %s (%s, %s, attn=%s)", name, device, dtype, attn)
    return VLM(net, processor, name, attn)
