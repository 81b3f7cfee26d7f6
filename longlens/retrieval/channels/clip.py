"""The CLIP channel: whole frames and an n x n grid of crops in open_clip's image/text space; text and picture
queries. Stored part "clip": clip [N, D] and clip_regions [N, R, D] (R = clip_regions ** 2; absent when 0),
float16."""
from __future__ import annotations

import hashlib
import json
import threading
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from longlens.core.errors import ModelUnavailableError
from longlens.retrieval.channels import Channel, as_float32
from longlens.retrieval.clip import ClipEmbedder, check_checkpoint


def _open_clip_version() -> str | None:
    try:
        return version("open_clip_torch")
    except PackageNotFoundError:
        return None


class ClipChannel(Channel):
    name = "clip"
    queries = ("text", "image")
    kind = "picture"

    def __init__(self, config) -> None:
        super().__init__(config)
        self._model: ClipEmbedder | None = None
        self._lock = threading.Lock()

    def key(self) -> str:
        """Weights identity + preprocessing + dtype + crop grid, from config values and files only: importing
        open_clip (and the transformers it pulls in) costs seconds that a search on a cached video must not pay.

        A named model: architecture + pretrained tag + the installed open_clip's version (which fixes that tag's
        weights file, image size, mean/std and resize mode). A local checkpoint: its folder, its
        open_clip_config.json (preprocessing included) and the weights file's name, size and mtime."""
        c = self.config
        if c.clip_checkpoint:
            folder, weights = check_checkpoint(c.clip_checkpoint)
            stat = weights.stat() if weights else None
            ident = {"checkpoint": str(folder.resolve()), "config": json.loads((folder / "open_clip_config.json").read_text()),
                     "weights": [weights.name, stat.st_size, stat.st_mtime_ns] if weights else None}
        else:
            ident = {"arch": c.clip_model, "pretrained": c.clip_pretrained}
        ident.update(dtype=c.dtype, regions=c.clip_regions, open_clip=_open_clip_version())
        return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def model(self) -> ClipEmbedder | None:
        """The loaded embedder, or None when its weights cannot be had (the channel is then off)."""
        with self._lock:  # one load, however many threads ask at once
            if self._model is None and self.off is None:
                emb = ClipEmbedder(self.config)
                try:
                    emb.load()
                    self._model = emb
                except ModelUnavailableError as e:
                    self.turn_off(e)
            return self._model

    def ready(self) -> bool:
        return self.model() is not None

    def encoder(self):
        return _Encoder(self.model())

    def attach(self, index, arrays, texts) -> None:
        index.embeddings["clip"] = as_float32(arrays["clip"])
        if "clip_regions" in arrays:
            index.regions = as_float32(arrays["clip_regions"])

    def embed(self, query, extra):
        clip = self.model()
        if clip is None:
            return None
        return clip.embed_text(query.text, extra) if query.text is not None else clip.embed_image(query.image)

    def score(self, index, query, vector):
        s = index.scores("clip", vector)
        if query.image is not None and index.regions is not None:  # a picture may fill only part of a frame
            s = np.maximum(s, (index.regions @ vector).max(axis=1))
        return {"clip": s}


class _Encoder:
    def __init__(self, model: ClipEmbedder) -> None:
        self.model = model
        self.whole: list[np.ndarray] = []
        self.regions: list[np.ndarray] = []

    def add(self, frames) -> None:
        whole, regions = self.model.embed_frames([f.image for f in frames])
        self.whole.append(whole)
        if regions is not None:
            self.regions.append(regions)

    def finish(self):
        dim = self.whole[0].shape[1] if self.whole else 0
        arrays = {"clip": np.concatenate(self.whole).astype(np.float16) if self.whole else np.zeros((0, dim), np.float16)}
        if self.regions:
            arrays["clip_regions"] = np.concatenate(self.regions).astype(np.float16)
        return arrays, {}


CHANNEL = ClipChannel
