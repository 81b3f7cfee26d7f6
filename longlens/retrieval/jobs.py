"""The library functions behind `longlens index` and `search` (the CLI only parses and prints).
Grounding batches (`longlens ground`) live in longlens.pipeline.ground."""
from __future__ import annotations

import logging
from collections.abc import Iterable

from longlens.core.errors import InputError
from longlens.core.types import Moment
from longlens.retrieval.config import RetrievalConfig
from longlens.retrieval.retriever import Retriever

log = logging.getLogger(__name__)


def index_videos(videos: Iterable[str], *, config: RetrievalConfig | None = None, progress: bool = True) -> list[dict]:
    """Index each video (cached parts are read, not recomputed) -> one summary dict per video:
    video, frames, channels, cached, computed, ocr_calls, seconds (stage -> s), key."""
    r = Retriever(config or RetrievalConfig())
    return [{"video": str(video), **index_summary(r.index(video, progress=progress))} for video in videos]


def index_summary(idx) -> dict:
    """What indexing a video did (JSON-able): frames, channels, cached, computed, ocr_calls, key, seconds."""
    s = idx.stats
    return {"frames": len(idx), "channels": list(idx.channels), "cached": s.get("cached", []),
            "computed": s.get("computed", []), "ocr_calls": s.get("ocr_calls"), "key": idx.key,
            "seconds": {k: round(v, 3) for k, v in s.get("seconds", {}).items()}}


def search_video(video: str, query: str | None = None, *, image: str | None = None, k: int = 10,
                 config: RetrievalConfig | None = None, retriever: Retriever | None = None) -> list[Moment]:
    """Best k moments of `video` for a text query or a picture (best first)."""
    if not isinstance(k, int) or k <= 0:
        raise InputError(f"k must be a whole number > 0, got {k!r}")
    r = retriever or Retriever(config or RetrievalConfig())
    q = r.prepare(query, image)  # bad queries fail before any decoding
    return r.search(video, q.text, q.image, k=k)
