"""Retrieval channels as plug-ins. Each module here defines `CHANNEL`, a `Channel` subclass, and has one line in
core.registry.CHANNELS; the Retriever, fusion, the CLI's `--channels` and the explorer loop over that registry.

A Retriever builds one instance per channel with its RetrievalConfig; models inside are loaded on first use.
The face of a channel:
  key() -> str                  identity of the numbers it stores (cache key), computed without its model library
  reads                         "frames" (its part is made from decoded frames) or "audio" (from the video's audio)
  encoder() -> an encoder       reads "frames": add(frames) per batch of decoded frames; finish() -> (arrays, texts)
  encode_audio(video)           reads "audio": -> (arrays, texts), made from the file (no frames decoded for it)
  attach(index, arrays, texts)  put a cached or fresh entry onto a VideoIndex
  embed(query, extra) -> vector the query in the channel's space (None when its model is unavailable)
  score(index, query, vector)   -> {name: per-frame scores [N]} (a channel may add an extra curve, e.g. "keyword")
  evidence(index, i)            -> (text or None, kind or None): what frame i shows for this channel
  present(index) -> bool        whether the index holds anything of it (a speech part of a silent video does not)
  carry(like, index) -> bool    give an index of extra frames of the same video what `like` holds that does not
                                depend on frames (reads "audio"); True when it then scores that index
  keyword_curve                 the name of its keyword-hit curve in score()'s result (None: it has none); fusion
                                adds the best of these curves (see Retriever.curve)
  strength(curve, i) -> float   how strongly it speaks for row i of a curve (z-score + its keyword boost)
  edges(index, query, vector, curve, segment) -> Segment   a grounded segment it leads, its edges set from
                                its own evidence (default: as given); None: no evidence of it there
  support(curve) -> bool [N] | None   the rows where its evidence for the query stands above its noise (a caption
                                read that matches, a verified picture match); None: it cannot tell evidence
                                from noise (similarities only), and supports every row it scores
  nothing                       what its having no support means, said when nothing is found
"""
from __future__ import annotations

import logging

import numpy as np

from longlens.core.errors import ModelUnavailableError

log = logging.getLogger(__name__)


class Channel:
    """Base of every channel. Subclasses set `name`, `queries`, `kind` and implement the face above."""

    name = ""
    queries: tuple[str, ...] = ()  # the query kinds it scores: "text", "image"
    kind: str | None = None  # what its evidence is (core.types.KINDS)
    reads = "frames"  # what its part is made from: "frames" (encoder) or "audio" (encode_audio)
    keyword_curve: str | None = None  # its keyword-hit curve's name in score()'s result
    nothing = ""  # what no support from it means ("no on-screen text matches it"); default: "no <name> evidence"

    def __init__(self, config) -> None:
        self.config = config
        self.off: ModelUnavailableError | None = None  # why the channel is off (its model cannot be loaded)

    # -- availability ---------------------------------------------------------------------------------
    def turn_off(self, error: ModelUnavailableError) -> None:
        """Drop the channel for this Retriever's life (said once, in the log)."""
        if self.off is None:
            self.off = error
            others = ", ".join(c for c in self.config.channels if c != self.name) or "none"
            log.warning("%s channel off: %s; continuing with the other channels (%s)", self.name.upper(), error, others)

    def ready(self) -> bool:
        """Whether the channel can compute (its model loads); a channel without a model to fail is always ready."""
        return self.off is None

    def applies(self, index, query) -> bool:
        """Whether it scores this query over this index."""
        return query.kind in self.queries and self.name in index.channels

    # -- the face -------------------------------------------------------------------------------------
    def key(self) -> str:
        raise NotImplementedError

    def encoder(self):
        raise NotImplementedError

    def attach(self, index, arrays: dict[str, np.ndarray], texts: dict) -> None:
        raise NotImplementedError

    def embed(self, query, extra: list[str]):
        raise NotImplementedError

    def score(self, index, query, vector) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def evidence(self, index, i: int) -> tuple[str | None, str | None]:
        """(text, kind) of frame i: a picture channel always shows its picture, with no text."""
        return None, self.kind

    def encode_audio(self, video: str) -> tuple[dict[str, np.ndarray], dict]:
        raise NotImplementedError

    def present(self, index) -> bool:
        return True

    def carry(self, like, index) -> bool:
        return False

    def strength(self, curve, i: int) -> float:
        """How strongly this channel speaks for row i of `curve`: its z-score there (the curve's stats), plus
        keyword_weight times its keyword-hit curve; -inf when it did not take part in the fusion."""
        if self.name not in curve.stats:
            return -np.inf
        mean, std = curve.stats[self.name]
        s = (float(curve.channels[self.name][i]) - mean) / max(std, 1e-6)
        if self.keyword_curve in curve.channels:
            s += self.config.keyword_weight * float(curve.channels[self.keyword_curve][i])
        return s

    def edges(self, index, query, vector, curve, segment):
        return segment

    def support(self, curve) -> np.ndarray | None:
        return None


# A text (shown or said) answers a query above the noise at MiniLM cosine >= SUPPORT_COSINE, or cosine + keyword
# hit fraction >= SUPPORT_RELEVANCE: a text without any of the query's words reaches ~0.5 cosine at most on
# unrelated captions and sentences; the one asked for, 0.6-0.9 plus its keywords.
SUPPORT_COSINE, SUPPORT_RELEVANCE = 0.55, 0.75


def text_support(curve, name: str, keyword: str | None) -> np.ndarray:
    """Rows [N] bool where channel `name`'s text answers the query above the noise (rule above); `keyword`: the
    name of its keyword-hit curve."""
    cos = curve.channels[name]
    return (cos >= SUPPORT_COSINE) | (cos + curve.channels.get(keyword, 0.0) >= SUPPORT_RELEVANCE)


def as_float32(x: np.ndarray) -> np.ndarray:
    """Stored (float16) rows -> float32, each L2-normalised; zero rows stay zero."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
