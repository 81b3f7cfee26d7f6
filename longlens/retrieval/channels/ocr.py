"""The on-screen text channel: RapidOCR on frames whose text may have changed, the readable text embedded with
MiniLM, plus exact keyword hits. Text queries only. Stored part "ocr": ocr [N, 384] float16 (zero row: no
text), ocr_calls; texts (readable) and raw_texts (as read) per frame."""
from __future__ import annotations

import numpy as np

from longlens.retrieval.channels import Channel, as_float32
from longlens.retrieval.image import change, gray, text_change, text_edges, thumbnail
from longlens.retrieval.text import OcrReader, TextEmbedder, keyword_hits, readable


class OcrChannel(Channel):
    name = "ocr"
    queries = ("text",)
    kind = "screen"
    keyword_curve = "keyword"

    def __init__(self, config) -> None:
        super().__init__(config)
        self.reader = OcrReader()  # both load their models on first use
        self.embedder = TextEmbedder()

    def key(self) -> str:
        c = self.config
        return (f"{OcrReader.version()}|{TextEmbedder.model_key()}|change={c.ocr_change}|edges-v2={c.ocr_text_change}"
                f"|refresh={c.ocr_refresh}|conf=0.5")

    def encoder(self):
        return _Encoder(self)

    def attach(self, index, arrays, texts) -> None:
        index.embeddings["ocr"] = as_float32(arrays["ocr"])
        index.texts, index.raw_texts = list(texts["texts"]), list(texts["raw_texts"])
        index.stats.setdefault("ocr_calls", int(arrays["ocr_calls"]))

    def applies(self, index, query) -> bool:
        # an index without any on-screen text scores zero everywhere: no need to load MiniLM for the query
        return super().applies(index, query) and any(index.texts)

    def embed(self, query, extra):
        v = self.embedder.encode([query.text, *extra]).mean(axis=0)
        return v / max(float(np.linalg.norm(v)), 1e-12)

    def score(self, index, query, vector):
        out = {"ocr": index.scores("ocr", vector)}
        kw = keyword_hits(query.text, index.texts)
        if kw is not None:
            out["keyword"] = kw
        return out

    def evidence(self, index, i: int) -> tuple[str | None, str | None]:
        text = index.texts[i] if index.texts else None
        return text, (self.kind if text else None)


class _Encoder:
    """OCR a frame when its text-like edges changed since the last OCR'd frame (text appeared, went or changed),
    or, as a safety net for text the edge map misses (low contrast), when its thumbnail changed and `ocr_refresh`
    seconds have passed. Panning scenery and moving objects trigger neither; other frames inherit the text."""

    finish_stage = "text"  # finish() is the MiniLM embedding: timed apart from the OCR itself

    def __init__(self, channel: OcrChannel) -> None:
        self.reader, self.embedder, self.config = channel.reader, channel.embedder, channel.config
        self.raw_texts: list[str | None] = []
        self._last_thumb: np.ndarray | None = None
        self._last_edges: np.ndarray | None = None
        self._last_time = -np.inf
        self._last_text: str | None = None
        self.stats = {"ocr_calls": 0}

    def add(self, frames) -> None:
        c = self.config
        for f in frames:
            g = gray(f.image)  # once per frame: both maps start from it
            thumb, edges = thumbnail(g), text_edges(g)
            if (self._last_thumb is None or text_change(edges, self._last_edges) > c.ocr_text_change
                    or (f.time - self._last_time >= c.ocr_refresh and change(thumb, self._last_thumb) > c.ocr_change)):
                self._last_text = self.reader.read(f.image)
                self._last_thumb, self._last_edges, self._last_time = thumb, edges, f.time
                self.stats["ocr_calls"] += 1
            self.raw_texts.append(self._last_text)

    def finish(self):
        nice = [readable(t, self.embedder.vocab) if t else None for t in self.raw_texts]  # no text: no MiniLM load
        unique = sorted({t for t in nice if t})
        emb = self.embedder.encode(unique)
        where = {t: i for i, t in enumerate(unique)}
        rows = np.zeros((len(nice), TextEmbedder.dim), dtype=np.float32)
        for i, t in enumerate(nice):
            if t:
                rows[i] = emb[where[t]]
        arrays = {"ocr": rows.astype(np.float16), "ocr_calls": np.array(self.stats["ocr_calls"])}
        return arrays, {"texts": nice, "raw_texts": self.raw_texts}


CHANNEL = OcrChannel
