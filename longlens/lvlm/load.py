"""Loading a vision-language model (transformers image-text-to-text) as a `VlmConfig` says."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from longlens.core.errors import InputError, ModelUnavailableError
from longlens.core.hub import hub_offline
from longlens.core.registry import ATTENTION, KERNEL_BACKENDS
from longlens.lvlm.config import DEFAULT_MODEL, SparsityConfig, VlmConfig, resolve_attention

log = logging.getLogger(__name__)


@dataclass
class VLM:
    """A loaded model with its processor. `name` is the hub id or directory it came from."""

    model: object  # transformers PreTrainedModel (image-text-to-text)
    processor: object  # transformers ProcessorMixin with a chat template
    name: str
    attn: str = "sdpa"  # as loaded ("auto" already resolved for the device)

    @property
    def device(self):
        return next(self.model.parameters()).device

    @property
    def dtype(self):
        return next(self.model.parameters()).dtype

    @property
    def native_video_stamps(self) -> bool:
        """True when the processor writes each video frame's timestamp itself (Qwen3-VL, Qwen3.5)."""
        return (callable(getattr(self.processor, "_calculate_timestamps", None))
                and hasattr(self.processor, "video_processor"))

    @property
    def stats(self):
        """Sparsity counters (`SparsityStats`) when on `sparse` attention, else None."""
        from longlens.lvlm.sparse import sparse_stats

        return sparse_stats(self.model)

    @property
    def attention(self) -> str:
        """Which attention actually runs: "sdpa" / "eager", "sparse", or "sparse→sdpa fallback" once our kernels
        failed their self-check on this device (`longlens.lvlm.sparse.attention_ran`)."""
        from longlens.lvlm.sparse import attention_ran

        return attention_ran(self.model, self.attn)


def _looks_local(model: str) -> bool:
    """A path rather than a hub id ("owner/name" or "name")."""
    return model.startswith((".", "/", "~")) or model.count("/") > 1 or Path(model).expanduser().exists()


def load_vlm(
    model: str = DEFAULT_MODEL,
    *,
    attn: str = ATTENTION.default,
    kernels: str = KERNEL_BACKENDS.default,
    device: str | None = None,
    dtype=None,
    **sparsity,
) -> VLM:
    """Load `model` (hub id or local directory): `load_vlm_config(VlmConfig(model, attn, kernels, ...))`.

    `sparsity`: the `SparsityConfig` fields (sink_blocks, window_blocks, topk_blocks, block_size), attn="sparse"
    only. See `VlmConfig` for the rest.
    """
    unknown = set(sparsity) - set(SparsityConfig.__dataclass_fields__)
    if unknown:
        raise InputError(f"unknown load_vlm options {sorted(unknown)}; sparsity options are "
                         f"{tuple(SparsityConfig.__dataclass_fields__)}")
    return load_vlm_config(VlmConfig(model, attn, kernels, device, dtype,
                                     SparsityConfig(**sparsity) if sparsity else None))


def load_vlm_config(config: VlmConfig) -> VLM:
    """Load the model `config` names with AutoModelForImageTextToText + AutoProcessor, on its attention.

    Raises ModelUnavailableError naming the model and the directory looked in when the weights are neither local
    nor downloadable (with HF_HUB_OFFLINE=1 nothing is downloaded).
    """
    import torch

    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dtype = config.dtype
    if dtype is None:
        dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    elif isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    name = str(config.model)
    attn = resolve_attention(config.attn, device.type)
    if config.sparsity is not None and attn != "sparse":
        log.warning("attn=%r is %r on %s: the sparsity settings %s go unused", config.attn, attn, device.type,
                    config.sparsity)
    processor, net = _from_pretrained(name, dtype, "sdpa" if attn == "sparse" else attn)
    net = net.to(device).eval()
    if attn == "sparse":
        from longlens.lvlm.sparse import use_sparse_attention

        use_sparse_attention(net, config.sparsity, kernels=config.kernels)
    log.info("loaded %s (%s, %s, attn=%s%s, kernels=%s)", name, device, dtype, attn,
             " (auto)" if config.attn == "auto" else "", config.kernels)
    return VLM(net, processor, name, attn)


def _from_pretrained(name: str, dtype, attn_implementation: str):
    """(processor, model) of the hub id or local directory `name`; ModelUnavailableError when it cannot be had."""
    local_dir = Path(name).expanduser()
    if _looks_local(name):
        if not (local_dir / "config.json").is_file():
            raise ModelUnavailableError(
                f"model {name!r}: no config.json in {local_dir.resolve()} (a local model directory needs the "
                "config, the weights and the processor files)", summary=f"no model in {local_dir}")
        source, where = str(local_dir), str(local_dir.resolve())
    else:
        from huggingface_hub import constants

        source, where = name, constants.HF_HUB_CACHE
    offline = hub_offline()
    from transformers import AutoModelForImageTextToText, AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(source, local_files_only=offline)
        net = AutoModelForImageTextToText.from_pretrained(
            source, dtype=dtype, attn_implementation=attn_implementation, local_files_only=offline)
    except OSError as e:
        why = ("not in the local cache and the hub is offline (HF_HUB_OFFLINE or no network)" if offline
               else "not found locally and not downloadable")
        first = (str(e).splitlines() or [""])[0]
        raise ModelUnavailableError(f"model {name!r} is unavailable: {why}; looked in {where} "
                                    f"({e.__class__.__name__}: {first})",
                                    summary=f"model {name!r} is not available here") from e
    except ValueError as e:
        raise ModelUnavailableError(f"model {name!r} cannot be loaded as an image-text-to-text model from {where}: {e}",
                                    summary=f"model {name!r} is not an image-text-to-text model") from e
    return processor, net
