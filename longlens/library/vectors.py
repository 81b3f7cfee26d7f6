"""What a video puts into the library index, per channel space: (times [n], vectors [n, D], texts [n] or None).

clip: every sampled frame's CLIP vector at its time. ocr: each distinct on-screen line of the video once, at the
first frame showing it, with its text (the vectors the OCR channel caches, channels.ocr.TextLines). speech: each
sentence said, at its start, with its text (channels.speech.SpeechTrack). The library finds the videos; the
per-video re-scoring (the Retriever) then scores every frame of them exactly.
"""
from __future__ import annotations

import numpy as np

from longlens.retrieval.index import VideoIndex


def video_vectors(index: VideoIndex) -> dict[str, tuple[np.ndarray, np.ndarray, list | None]]:
    """The library vectors of an indexed video, for each channel space it has."""
    out: dict[str, tuple] = {}
    if "clip" in index.channels and "clip" in index.embeddings:
        out["clip"] = (index.times, index.embeddings["clip"], None)
    lines = index.text_lines if "ocr" in index.channels else None
    if lines is not None and len(lines.vectors):
        # the lines as the OCR encoder numbered them: sorted distinct non-empty lines of the readable texts
        per_row = [[ln for ln in (t or "").splitlines() if ln.strip()] for t in index.texts]
        texts = sorted({ln for row in per_row for ln in row})
        n = len(lines.offsets) - 1
        first = np.full(len(lines.vectors), n, np.int64)
        np.minimum.at(first, lines.ids, np.repeat(np.arange(n), np.diff(lines.offsets)))
        seen = first < n
        names = texts if len(texts) == len(lines.vectors) else [None] * len(lines.vectors)
        out["ocr"] = (index.times[first[seen]], lines.vectors[seen], [names[i] for i in np.flatnonzero(seen)])
    speech = index.speech if "speech" in index.channels else None
    if speech is not None and len(speech):
        out["speech"] = (speech.starts, speech.embeddings, list(speech.texts))
    return out
