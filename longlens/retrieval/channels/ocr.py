"""The on-screen text channel: the text lines on each frame (RapidOCR, lines followed from frame to frame, see
_Encoder), each distinct line embedded with MiniLM, plus exact keyword hits. Text queries only. Stored part
"ocr": ocr_lines [L, 384] float16, ocr_offsets [N + 1] and ocr_ids [K] (which lines each row shows, TextLines),
the encoder's counts (ocr_calls: frames the OCR ran on; ocr_detected_area: frames' worth of pixels the
detector saw; ocr_lines_read: lines recognised); texts (readable) and raw_texts (as read) per frame, lines
joined by newlines."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from longlens.core.types import Segment
from longlens.retrieval.channels import Channel, as_float32, text_support
from longlens.retrieval.ground import evidence_span
from longlens.retrieval.image import (
    busy_boxes,
    crop_signature,
    gray,
    merge,
    regions,
    same_look,
    small_gray,
    text_changes,
)
from longlens.retrieval.text import OcrReader, TextEmbedder, compact, keyword_hits, readable, shows


class OcrChannel(Channel):
    name = "ocr"
    queries = ("text",)
    kind = "screen"
    keyword_curve = "keyword"
    nothing = "no on-screen text matches it"

    def __init__(self, config) -> None:
        super().__init__(config)
        self.reader = OcrReader()  # both load their models on first use
        self.embedder = TextEmbedder()

    def key(self) -> str:
        c = self.config
        # v2: moving things are not text, whole-frame looks only at tiles with edges, longer lines read again
        return (f"{OcrReader.version()}|{TextEmbedder.model_key()}|tracked-lines-v2|line-vectors|change={c.ocr_change}"
                f"|look={c.ocr_text_change}|refresh={c.ocr_refresh}|conf=0.5")

    def encoder(self):
        return _Encoder(self)

    def attach(self, index, arrays, texts) -> None:
        index.text_lines = TextLines(as_float32(arrays["ocr_lines"]), arrays["ocr_offsets"], arrays["ocr_ids"])
        index.texts, index.raw_texts = list(texts["texts"]), list(texts["raw_texts"])
        for k in ("ocr_calls", "ocr_detected_area", "ocr_lines_read"):
            if k in arrays:
                index.stats.setdefault(k, arrays[k].item())

    def applies(self, index, query) -> bool:
        # an index without any on-screen text scores zero everywhere: no need to load MiniLM for the query
        return super().applies(index, query) and any(index.texts)

    def embed(self, query, extra):
        v = self.embedder.encode([query.text, *extra]).mean(axis=0)
        return v / max(float(np.linalg.norm(v)), 1e-12)

    def score(self, index, query, vector):
        out = {"ocr": index.text_lines.scores(vector)}
        kw = keyword_hits(query.text, index.texts)
        if kw is not None:
            out["keyword"] = kw
        return out

    def evidence(self, index, i: int) -> tuple[str | None, str | None]:
        text = index.texts[i] if index.texts else None
        return text, (self.kind if text else None)

    def support(self, curve) -> np.ndarray:
        """Rows whose on-screen text answers the query above the noise (channels.text_support)."""
        return text_support(curve, self.name, self.keyword_curve)

    def edges(self, index, query, vector, curve, segment):
        """A segment on-screen text leads spans the caption itself: the line of the best row inside it that
        answers the query best, from the first to the last row showing that line (`evidence_span`)."""
        sup = self.support(curve)
        rows = np.flatnonzero(sup & (curve.times >= segment.start) & (curve.times <= segment.end))
        if not len(rows) or vector is None:
            return segment
        rel = curve.channels["ocr"] + curve.channels.get("keyword", 0.0)
        peak = int(rows[np.argmax(rel[rows])])
        lines = [ln for ln in (index.texts[peak] or "").splitlines() if compact(ln)]
        if not lines:
            return segment
        score = self.embedder.encode(lines) @ vector
        hits = keyword_hits(query.text, lines)
        line = lines[int(np.argmax(score + (hits if hits is not None else 0.0)))]
        shown = np.array([bool(ok) and shows(line, index.texts[i]) for i, ok in enumerate(sup)])
        span = evidence_span(curve.times, shown, peak, duration=index.duration)
        return segment if span is None else Segment(*span, segment.score)


Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels


@dataclass
class _Line:
    """A text line being followed: where it is, what it reads, and its look when read (to verify it later)."""

    quad: np.ndarray  # [4, 2] frame pixels
    bbox: Box  # x0, y0, x1, y1
    look: np.ndarray  # image.crop_signature of bbox when read
    text: str
    conf: float
    reads: int = 1


def _bbox(quad: np.ndarray, size: tuple[int, int]) -> Box:
    w, h = size
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    return max(0, int(x0)), max(0, int(y0)), min(w, int(x1)), min(h, int(y1))


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _iou(a, b) -> float:
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _longer(box: Box, was: Box) -> bool:
    """Whether a line's box reaches past the box it was read in, on the left or right, by half a line height."""
    grow = max(2, (was[3] - was[1]) // 2)
    return box[0] < was[0] - grow or box[2] > was[2] + grow


class _Encoder:
    """A frame's text is the text on that frame. Every frame is compared with the one before (image.text_changes:
    shift-tolerant, so panning scenery and moving objects do not count; a caption appearing or going on any
    background does); the text detector runs on the regions that changed (every part of the frame that could
    hold text when most of it changed, on the first frame, and every `ocr_refresh` seconds), and a line it finds
    is recognised only when it is new or its look changed since it was read (image.same_look on its crop). A
    line outside the changed regions is carried to the frame only when its crop is verified unchanged since it
    was read; a line the detector no longer finds is gone. Busy footage (texture, grain) changes everywhere: the
    detector then runs on every frame and the cost rises rather than text being missed or kept after it left."""

    finish_stage = "text"  # finish() is the MiniLM embedding: timed apart from the OCR itself
    FULL = 0.5  # when the regions to look at cover more than this share of the frame, look at the whole frame
    MIN_SIDE = 64  # px: a region smaller than this is grown to it (the detector needs some context)
    CONFIDENT = 0.9  # a line read with less confidence is read again on the next frame that shows it (3 reads at most)

    def __init__(self, channel: OcrChannel) -> None:
        self.reader, self.embedder, self.config = channel.reader, channel.embedder, channel.config
        self.raw_texts: list[str | None] = []
        self._prev: np.ndarray | None = None  # the previous frame, image.small_gray
        self._boxes: list[_Line] = []
        self._last_full = -np.inf
        self.stats = {"ocr_calls": 0, "ocr_detected_area": 0.0, "ocr_lines_read": 0}

    def add(self, frames) -> None:
        for f in frames:
            self.raw_texts.append(self._frame(f))

    def _context(self, box: Box, size: tuple[int, int], margin: int = 0) -> Box:
        """A box grown to what the detector should see around it: `margin` px, then MIN_SIDE px at least each
        way, clipped to the frame (W, H)."""
        (w, h), (x0, y0, x1, y1) = size, box
        x0, y0, x1, y1 = x0 - margin, y0 - margin, x1 + margin, y1 + margin
        gx, gy = max(0, self.MIN_SIDE - (x1 - x0)) // 2, max(0, self.MIN_SIDE - (y1 - y0)) // 2
        return max(0, x0 - gx), max(0, y0 - gy), min(w, x1 + gx), min(h, y1 + gy)

    def _line(self, b: _Line, size: tuple[int, int]) -> Box:
        """A known line's region: half a line's height around it (12 px at least), so it never touches the edge."""
        return self._context(b.bbox, size, max(12, (b.bbox[3] - b.bbox[1]) // 2))

    def _regions(self, g: np.ndarray, small: np.ndarray, t: float, size: tuple[int, int]) -> tuple[list[Box], bool]:
        """Where to run the detector on this frame (frame pixels), and whether it is a look at the whole frame:
        what changed since the previous frame (moving and plain things aside), the lines whose look drifted since
        they were read (a slow fade), each with its context and every line it touches. The whole frame first,
        every ocr_refresh s, or when most of it changed: then every part of it that could hold text
        (image.busy_boxes: smooth parts cannot)."""
        c, (w, h) = self.config, size
        full = self._prev is None or self._prev.shape != small.shape or t - self._last_full >= c.ocr_refresh
        if not full:
            out = [self._context(r, size) for r in regions(text_changes(self._prev, small, tol=c.ocr_change), size)]
            full = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in out) > self.FULL * w * h
        if full:
            out = busy_boxes(g)
        out = merge(out + [self._line(b, size) for b in self._boxes
                           if not same_look(crop_signature(g, b.bbox), b.look, tol=c.ocr_text_change)])
        while True:  # a region takes in whole every line it touches
            more = merge(out + [self._line(b, size) for b in self._boxes if any(_overlap(b.bbox, r) for r in out)])
            if more == out:
                break
            out = more
        return out, full

    def _detect(self, image: np.ndarray, region: Box) -> list[np.ndarray]:
        """Text lines found in a region of the frame (quads in frame pixels). A line running into the region's
        edge (not the frame's) may go on beyond it: the region grows that way and is looked at again (once)."""
        h, w = image.shape[:2]
        scale = self.reader.scale(image.shape)
        for attempt in range(2):
            x0, y0, x1, y1 = region
            self.stats["ocr_detected_area"] += (x1 - x0) * (y1 - y0) / (w * h)
            quads = [q + np.float32([x0, y0]) for q in self.reader.detect(image[y0:y1, x0:x1], scale=scale)]
            lo = np.min([q.min(axis=0) for q in quads], axis=0) if quads else None
            hi = np.max([q.max(axis=0) for q in quads], axis=0) if quads else None
            cut = quads and ((x0 > 0 and lo[0] <= x0 + 2) or (y0 > 0 and lo[1] <= y0 + 2)
                             or (x1 < w and hi[0] >= x1 - 2) or (y1 < h and hi[1] >= y1 - 2))
            if not cut or attempt:
                return quads
            grow = 2 * self.MIN_SIDE
            region = (max(0, x0 - grow), max(0, y0 - grow // 2), min(w, x1 + grow), min(h, y1 + grow // 2))
        return quads

    def _frame(self, f) -> str | None:
        c = self.config
        h, w = f.image.shape[:2]
        g = gray(f.image)
        small = small_gray(g)
        todo, full = self._regions(g, small, f.time, (w, h))
        self._prev = small
        if full:
            self._last_full = f.time
        if todo:
            self.stats["ocr_calls"] += 1
        kept = [b for b in self._boxes if not any(_overlap(b.bbox, r) for r in todo)]
        before = [b for b in self._boxes if any(_overlap(b.bbox, r) for r in todo)]
        found = {}  # bbox -> quad: a line found twice (in two regions that grew into each other) counts once
        for region in todo:
            for q in self._detect(f.image, region):
                box = _bbox(q, (w, h))
                if box[2] > box[0] and box[3] > box[1] and not any(_iou(box, o) > 0.8 for o in found):
                    found[box] = q
        fresh, unread = [], []
        for box, q in found.items():
            old = max(before, key=lambda b: _iou(b.bbox, box), default=None)
            old = old if old is not None and _iou(old.bbox, box) >= 0.6 else None
            same = old is not None and same_look(crop_signature(g, old.bbox), old.look, tol=c.ocr_text_change)
            if same and _longer(box, old.bbox):  # found longer than it was read (faint text, partly found): read
                same = False  # it again, whole
            if same and (old.conf >= self.CONFIDENT or old.reads >= 3):
                fresh.append(old)  # seen before, looking as it did when read: its reading stands
            else:
                unread.append((q, box, old if same else None))
        reads = self.reader.recognize(f.image, [q for q, _, _ in unread])
        self.stats["ocr_lines_read"] += len(unread)
        for (q, box, old), (text, conf) in zip(unread, reads):
            if old is not None and old.conf > conf:  # the same look read again, less surely: the first reading stands
                text, conf = old.text, old.conf
            fresh.append(_Line(q, box, crop_signature(g, box), text, conf, 1 if old is None else old.reads + 1))
        self._boxes = kept + fresh
        return self.reader.lines([b.quad for b in self._boxes], [(b.text, b.conf) for b in self._boxes])

    def finish(self):
        nice = [readable(t, self.embedder.vocab) if t else None for t in self.raw_texts]  # no text: no MiniLM load
        per_row = [[ln for ln in (t or "").splitlines() if ln.strip()] for t in nice]
        unique = sorted({ln for row in per_row for ln in row})
        where = {ln: i for i, ln in enumerate(unique)}
        ids = np.array([where[ln] for row in per_row for ln in row], dtype=np.int32)
        offsets = np.concatenate([[0], np.cumsum([len(row) for row in per_row])]).astype(np.int64)
        arrays = {"ocr_lines": self.embedder.encode(unique).astype(np.float16), "ocr_offsets": offsets, "ocr_ids": ids,
                  **{k: np.array(v) for k, v in self.stats.items()}}
        return arrays, {"texts": nice, "raw_texts": self.raw_texts}


@dataclass
class TextLines:
    """The distinct lines of on-screen text of an index and the rows showing them: vectors [L, 384] float32
    (MiniLM, L2-normalised), offsets [N + 1] and ids [K]: row i shows lines ids[offsets[i]:offsets[i + 1]].
    A row is scored by its best line: a caption shown beside a ticker or a slide answers as well as alone."""

    vectors: np.ndarray
    offsets: np.ndarray
    ids: np.ndarray

    def scores(self, vector: np.ndarray) -> np.ndarray:
        """Cosine of the query [D] with the best line of each row -> [N] (0: a row without text)."""
        out = np.zeros(len(self.offsets) - 1, dtype=np.float64)
        shown = np.flatnonzero(np.diff(self.offsets) > 0)
        if len(shown):
            cos = (self.vectors @ np.asarray(vector, dtype=np.float32))[self.ids]
            out[shown] = np.maximum.reduceat(cos, self.offsets[shown])
        return out


CHANNEL = OcrChannel
