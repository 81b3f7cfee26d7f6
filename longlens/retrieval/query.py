"""Queries: validation, loading query pictures, and per-channel scoring of a query against a VideoIndex."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from longlens.core.errors import InputError


def load_image(image) -> np.ndarray:
    """A query picture from a path or an array -> [H, W, 3] uint8 RGB. InputError when it is not an image."""
    if isinstance(image, (str, os.PathLike)):
        p = Path(image)
        if not p.is_file():
            raise InputError(f"{p}: no such image file")
        data = np.fromfile(p, dtype=np.uint8)
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if len(data) else None
        if bgr is None:
            raise InputError(f"{p}: not an image (cannot be decoded as PNG, JPEG, ...)")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if isinstance(image, np.ndarray):
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8 or min(image.shape[:2]) < 16:
            raise InputError(f"query image must be an [H, W, 3] uint8 array of at least 16 x 16 pixels, got {image.dtype} {image.shape}")
        return np.ascontiguousarray(image[:, :, :3])
    raise InputError(f"query image must be a file path or an array, not {type(image).__name__}")


def check_query(query, image) -> tuple[str | None, np.ndarray | None]:
    """Exactly one of a non-empty text query or a picture -> (text, picture [H, W, 3] uint8)."""
    if query is not None and image is not None:
        raise InputError("give a text query or an image query, not both")
    if image is not None:
        return None, load_image(image)
    if query is None:
        raise InputError("no query: give a text query or an image")
    if not isinstance(query, str):
        raise InputError(f"query must be text, not {type(query).__name__}")
    if not query.strip():
        raise InputError("empty query: give some words to search for")
    return query.strip(), None


@dataclass
class Query:
    """A prepared query: the text or picture, and its embedding per channel (filled as channels need)."""

    text: str | None
    image: np.ndarray | None
    vectors: dict[str, object] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "text" if self.text is not None else "image"
