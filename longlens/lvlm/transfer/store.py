"""Trained feature maps on disk: one safetensors file, written atomically, with the model's identity and a hash.

The metadata holds what the maps were trained on and for: the model's identity (`model_identity`: the language
model's shape plus a fingerprint of its q/k projection weights, the weights the maps depend on), the hybrid
layer's window and sink, the maps' shape, and the SHA-256 of the tensors (`content_sha256`). Loading checks
both: a file made for another model raises InputError naming the two models, a damaged file CacheError.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import torch

from longlens.core.errors import CacheError, InputError
from longlens.core.io import atomic_write_bytes

log = logging.getLogger(__name__)

FORMAT = "longlens-linearized-maps/1"


def model_identity(model) -> dict:
    """Name, shape and a weight fingerprint (SHA-256 over every layer's q_proj / k_proj weights, fp32)."""
    from longlens.lvlm.sparse import softmax_attention_modules, text_config_key

    _, c = text_config_key(model)
    digest = hashlib.sha256()
    for m in sorted(softmax_attention_modules(model, c), key=lambda m: m.layer_idx):
        for name in ("q_proj", "k_proj"):
            proj = getattr(m, name, None)
            if proj is not None:
                digest.update(proj.weight.detach().float().cpu().contiguous().numpy().tobytes())
    name = getattr(model.config, "name_or_path", "") or type(model).__name__
    return {
        "name": Path(str(name)).name or type(model).__name__,
        "model_type": c.model_type,
        "layers": c.num_hidden_layers,
        "q_heads": c.num_attention_heads,
        "kv_heads": getattr(c, "num_key_value_heads", None) or c.num_attention_heads,
        "hidden": c.hidden_size,
        "weights_sha256": digest.hexdigest(),
    }


def default_path(model, *, window: int, sink: int, cache: str | Path | None = None) -> Path:
    """Where the maps for `model` at `window` / `sink` live by default: <cache>/linearized/<name>-<weights>-w-s."""
    from longlens.core.paths import default_cache

    ident = model_identity(model)
    folder = Path(cache) if cache is not None else default_cache()
    return folder / "linearized" / f"{ident['name']}-{ident['weights_sha256'][:12]}-w{window}s{sink}.safetensors"


def _content_hash(tensors: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def save_feature_maps(maps, path: str | Path, *, model, window: int, sink: int, extra: dict | None = None) -> Path:
    """Write `maps` (LayerMaps trained for `model` at `window` / `sink`) to `path` (.safetensors), atomically."""
    from safetensors.torch import save

    tensors = {k: v.detach().float().cpu().contiguous() for k, v in maps.state_dict().items()}
    first = maps[0]
    meta = {
        "format": FORMAT,
        "model": json.dumps(model_identity(model), sort_keys=True),
        "window": str(window),
        "sink": str(sink),
        "shape": json.dumps({"layers": len(maps), "q_heads": first.q.heads, "kv_heads": first.k.heads,
                             "head_dim": first.head_dim, "width": first.q.width}),
        "content_sha256": _content_hash(tensors),
        "extra": json.dumps(extra or {}, default=str),
    }
    path = Path(path)
    atomic_write_bytes(path, save(tensors, metadata=meta))
    log.info("saved feature maps for %s to %s", json.loads(meta["model"])["name"], path)
    return path


def load_feature_maps(path: str | Path, *, model) -> tuple[object, dict]:
    """(LayerMaps, info with window, sink, extra) from `path`; InputError if the file was made for another model,
    CacheError if it is not such a file or its tensors do not match their hash."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    from longlens.lvlm.linearize import LayerMaps

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except (OSError, SafetensorError) as e:
        raise CacheError(f"{path}: not a readable safetensors file ({e})") from e
    if meta.get("format") != FORMAT:
        raise CacheError(f"{path}: not a longlens feature-map file (format {meta.get('format')!r})")
    if _content_hash(tensors) != meta.get("content_sha256"):
        raise CacheError(f"{path}: the feature maps do not match their recorded hash (damaged file)")
    theirs, mine = json.loads(meta["model"]), model_identity(model)
    if theirs != mine:
        differ = sorted(k for k in set(theirs) | set(mine) if theirs.get(k) != mine.get(k))
        raise InputError(f"{path}: feature maps trained for {theirs.get('name')} ({theirs.get('model_type')}, "
                         f"{theirs.get('layers')} layers), not for this model {mine.get('name')} "
                         f"({mine.get('model_type')}, {mine.get('layers')} layers); differing: {', '.join(differ)}")
    shape = json.loads(meta["shape"])
    maps = LayerMaps(shape["layers"], shape["q_heads"], shape["kv_heads"], shape["head_dim"], shape["width"])
    maps.load_state_dict(tensors)
    maps.requires_grad_(False)
    info = {"window": int(meta["window"]), "sink": int(meta["sink"]), "extra": json.loads(meta.get("extra", "{}"))}
    return maps, info
