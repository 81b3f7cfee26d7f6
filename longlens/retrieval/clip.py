"""The CLIP model (open_clip): frames, frame crops, text and image queries in one space. The channel around it
(cache key, scoring) is longlens.retrieval.channels.clip.

Weights come from an architecture + pretrained tag (hub cache, or a download on machines that may) or a
local folder holding open_clip_config.json beside the weights. A bare weights file is refused: its image
size, mean/std and resize mode live in the config, and guessing them silently gives wrong embeddings.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from longlens.core.errors import InputError, ModelUnavailableError
from longlens.core.hub import hub_mode
from longlens.retrieval.config import RetrievalConfig

log = logging.getLogger(__name__)

TEMPLATES = ("{}", "a photo of {}.", "a video frame showing {}.", "a screenshot of {}.")
RANDOM = "random"  # clip_pretrained value: seeded random weights (tests, benchmarks)
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt")


def check_checkpoint(path: str | Path) -> tuple[Path, Path | None]:
    """Resolve a local CLIP checkpoint to (folder with open_clip_config.json, weights file or None).

    Raises InputError for a bare weights file or a folder without open_clip_config.json (its preprocessing
    would have to be guessed), ModelUnavailableError when the path does not exist."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelUnavailableError(f"CLIP checkpoint {p} does not exist", summary="the CLIP checkpoint does not exist")
    folder = p if p.is_dir() else p.parent
    if not (folder / "open_clip_config.json").is_file():
        raise InputError(
            f"CLIP checkpoint {p} has no open_clip_config.json beside it; refusing a bare weights file: its "
            "preprocessing (image size, mean/std, resize mode) would be guessed and the embeddings silently "
            "wrong. Give a folder with open_clip_config.json + weights, or clip_model + clip_pretrained."
        )
    if p.is_file():
        return folder, p
    found = sorted((f for f in folder.iterdir() if f.suffix in _WEIGHT_SUFFIXES), key=lambda f: (f.suffix != ".safetensors", f.name))
    return folder, (found[0] if found else None)


class _DropOpenClipLogs(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:  # open_clip logs its failures on the root logger
        return "open_clip" not in record.pathname


@contextlib.contextmanager
def _quiet_open_clip() -> Iterator[None]:
    root = logging.getLogger()
    f = _DropOpenClipLogs()
    root.addFilter(f)
    try:
        yield
    finally:
        root.removeFilter(f)


class ClipEmbedder:
    """open_clip model, loaded on first use (`load()`); embeddings are L2-normalised float32.

    embed_frames(images) -> (frames [B, D], crops [B, R, D] or None) with R = clip_regions ** 2;
    embed_text(query) -> [D] (prompt templates averaged); embed_image(image) -> [D].
    """

    def __init__(self, config: RetrievalConfig) -> None:
        self.config = config
        self.regions = config.clip_regions
        self._model = None
        self._preprocess = None
        self._tokenizer = None
        self._lock = threading.Lock()
        self.device = "cpu"

    @property
    def name(self) -> str:
        c = self.config
        return f"checkpoint {c.clip_checkpoint}" if c.clip_checkpoint else f"{c.clip_model}/{c.clip_pretrained}"

    # -- loading ---------------------------------------------------------------------------------------
    def load(self) -> None:
        """Build the model. Raises ModelUnavailableError when weights cannot be had, InputError when the
        configuration is wrong (unknown architecture or tag, bare weights file)."""
        with self._lock:
            if self._model is None:
                self._load()

    def _load(self) -> None:
        import open_clip
        import torch

        c = self.config
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if c.device == "auto" else c.device
        dtype = getattr(torch, c.dtype)
        with _quiet_open_clip(), hub_mode():
            if c.clip_checkpoint:
                folder, weights = check_checkpoint(c.clip_checkpoint)
                if weights is None:
                    raise ModelUnavailableError(f"CLIP checkpoint folder {folder} has a config but no weights file "
                                                f"(*{', *'.join(_WEIGHT_SUFFIXES)})", summary="the CLIP checkpoint has no weights file")
                name = f"local-dir:{folder}"
                try:
                    model, _, preprocess = open_clip.create_model_and_transforms(name, device=self.device, precision="fp32")
                    open_clip.load_checkpoint(model, str(weights))  # exactly this file, whatever open_clip found
                except (OSError, RuntimeError, ValueError, KeyError) as e:
                    raise ModelUnavailableError(f"CLIP checkpoint {folder} could not be loaded: {e}",
                                                summary="the CLIP checkpoint could not be loaded") from e
                tokenizer = open_clip.get_tokenizer(name)
            else:
                if c.clip_model not in open_clip.list_models():
                    raise InputError(f"unknown open_clip architecture {c.clip_model!r}")
                if c.clip_pretrained == RANDOM:
                    log.warning("CLIP %s built at random weights (clip_pretrained='random'): its scores mean nothing", c.clip_model)
                    with torch.random.fork_rng(devices=[]):
                        torch.manual_seed(0)
                        model, _, preprocess = open_clip.create_model_and_transforms(c.clip_model, pretrained=None, device="cpu")
                    model = model.to(self.device)
                else:
                    if c.clip_pretrained not in open_clip.list_pretrained_tags_by_model(c.clip_model):
                        raise InputError(f"unknown pretrained tag {c.clip_pretrained!r} for {c.clip_model} "
                                         f"(known: {open_clip.list_pretrained_tags_by_model(c.clip_model)})")
                    try:
                        model, _, preprocess = open_clip.create_model_and_transforms(c.clip_model, pretrained=c.clip_pretrained, device=self.device)
                    except (OSError, RuntimeError, ValueError) as e:
                        log.debug("open_clip could not load %s/%s: %s", c.clip_model, c.clip_pretrained, e)
                        raise ModelUnavailableError(
                            f"CLIP weights {c.clip_model}/{c.clip_pretrained} are neither in the local hub cache nor "
                            f"downloadable ({type(e).__name__}); give a local copy with --clip-checkpoint DIR (a folder "
                            f"with open_clip_config.json)",
                            summary=f"CLIP weights {c.clip_model}/{c.clip_pretrained} are not available on this machine") from e
                tokenizer = open_clip.get_tokenizer(c.clip_model)
        model = model.to(dtype=dtype).eval()
        self._model, self._preprocess, self._tokenizer = model, preprocess, tokenizer

    @property
    def dim(self) -> int:
        self.load()
        return int(self._model.text_projection.shape[1]) if getattr(self._model, "text_projection", None) is not None else int(self._encode_text(["x"]).shape[1])

    # -- embedding -------------------------------------------------------------------------------------
    def _encode_pixels(self, pil_images: list) -> np.ndarray:
        import torch

        x = torch.stack([self._preprocess(im) for im in pil_images]).to(self.device, dtype=getattr(torch, self.config.dtype))
        with torch.inference_mode():
            f = self._model.encode_image(x).float()
        f = torch.nn.functional.normalize(f, dim=-1)
        return f.cpu().numpy()

    def _encode_text(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        tok = self._tokenizer(list(texts)).to(self.device)
        with torch.inference_mode():
            f = (_encode_text_trimmed if _trimmable(self._model) else type(self._model).encode_text)(self._model, tok).float()
        return torch.nn.functional.normalize(f, dim=-1).cpu().numpy()

    def embed_frames(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """Frames [B] of [H, W, 3] uint8 -> (whole frames [B, D], crops [B, R, D] or None), float32."""
        from PIL import Image

        self.load()
        pil = [Image.fromarray(np.ascontiguousarray(im)) for im in images]
        n = self.regions
        crops = []
        if n > 0:
            for im in pil:
                w, h = im.size
                crops += [im.crop((round(j * w / n), round(i * h / n), round((j + 1) * w / n), round((i + 1) * h / n)))
                          for i in range(n) for j in range(n)]
        with self._lock:
            emb = self._encode_pixels(pil + crops)
        whole = emb[: len(pil)]
        regions = emb[len(pil):].reshape(len(pil), n * n, -1) if n > 0 else None
        return whole, regions

    def embed_text(self, query: str, extra: Sequence[str] = ()) -> np.ndarray:
        """A text query -> [D]: the query (and any rewrites in `extra`) in every prompt template, averaged."""
        self.load()
        texts = [t.format(q) for q in (query, *extra) for t in TEMPLATES]
        with self._lock:
            emb = self._encode_text(texts)
        v = emb.mean(axis=0)
        return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)

    def embed_image(self, image: np.ndarray) -> np.ndarray:
        """A query picture [H, W, 3] uint8 -> [D]."""
        from PIL import Image

        self.load()
        with self._lock:
            return self._encode_pixels([Image.fromarray(np.ascontiguousarray(image))])[0]


def _trimmable(model) -> bool:
    """open_clip's own text tower with a causal mask and end-of-text pooling: the padding after the last
    end-of-text token cannot change the pooled feature, so it need not be computed."""
    import open_clip

    return (isinstance(model, open_clip.model.CLIP) and getattr(model, "attn_mask", None) is not None
            and getattr(model, "text_pool_type", None) == "argmax")


def _encode_text_trimmed(model, text):
    """`CLIP.encode_text` over tokens [B, L'] cut after the longest prompt's end-of-text token (L' ~ 10 instead
    of 77 for a query: ~6x less text-tower work, the same features, checked in the tests)."""
    import torch
    from open_clip.transformer import text_global_pool

    n = int(text.argmax(dim=-1).max()) + 1  # argmax pooling: the end-of-text token has the highest id
    text = text[:, :n]
    cast = model.transformer.get_cast_dtype()
    x = model.token_embedding(text).to(cast) + model.positional_embedding[:n].to(cast)  # [B, n, D]
    x = model.ln_final(model.transformer(x, attn_mask=model.attn_mask[:n, :n]))
    x = text_global_pool(x, text, "argmax")  # [B, D]
    if model.text_projection is None:
        return x
    return model.text_projection(x) if isinstance(model.text_projection, torch.nn.Linear) else x @ model.text_projection
