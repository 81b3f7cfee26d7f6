"""The library functions behind `longlens index`, `search` and `ground` (the CLI only parses and prints).

`ground_one(retriever, job) -> row` is the per-item step; `ground_jobs` is the simple sequential loop over a
JSONL file (the pipeline's engines reuse ground_one with their own loops, resume and status rows).
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Iterable

from longlens.data.errors import InputError, LonglensError
from longlens.data.io import append_line
from longlens.retrieval.config import RetrievalConfig
from longlens.retrieval.retriever import Retriever
from longlens.retrieval.types import Moment

log = logging.getLogger(__name__)


def index_videos(videos: Iterable[str], *, config: RetrievalConfig | None = None, progress: bool = True) -> list[dict]:
    """Index each video (cached parts are read, not recomputed) -> one summary dict per video:
    video, frames, channels, cached, computed, ocr_calls, seconds (stage -> s), key."""
    r = Retriever(config or RetrievalConfig())
    rows = []
    for video in videos:
        idx = r.index(video, progress=progress)
        s = idx.stats
        rows.append({"video": str(video), "frames": len(idx), "channels": list(idx.channels), "cached": s.get("cached", []),
                     "computed": s.get("computed", []), "ocr_calls": s.get("ocr_calls"), "key": idx.key,
                     "seconds": {k: round(v, 3) for k, v in s.get("seconds", {}).items()}})
    return rows


def search_video(video: str, query: str | None = None, *, image: str | None = None, k: int = 10,
                 config: RetrievalConfig | None = None, retriever: Retriever | None = None) -> list[Moment]:
    """Best k moments of `video` for a text query or a picture (best first)."""
    if not isinstance(k, int) or k <= 0:
        raise InputError(f"k must be a whole number > 0, got {k!r}")
    r = retriever or Retriever(config or RetrievalConfig())
    q = r.prepare(query, image)  # bad queries fail before any decoding
    return r.search(video, q.text, q.image, k=k)


def ground_one(retriever: Retriever, job: dict, *, top: int = 5) -> dict:
    """One grounding job {"id", "video", "query" | "image"} -> {"id", "video", "segments", "status": "ok"}
    or {"id", "video", "status": "error", "error": "..."}. Never raises for a bad job."""
    jid = job.get("id") if isinstance(job, dict) else None
    row: dict = {"id": jid}
    try:
        if not isinstance(job, dict):
            raise InputError(f"a job must be a JSON object, got {type(job).__name__}")
        if jid is None:
            raise InputError("job has no \"id\"")
        video = job.get("video")
        row["video"] = video
        if not video or not isinstance(video, str):
            raise InputError("job has no \"video\" path")
        if ("query" in job) == ("image" in job):
            raise InputError("job needs exactly one of \"query\" and \"image\"")
        segs = retriever.ground(video, job.get("query"), job.get("image"), top=top)
        return {**row, "segments": [s.to_list() for s in segs], "status": "ok"}
    except LonglensError as e:
        return {**row, "status": "error", "error": str(e)}
    except Exception as e:  # a bug must not sink the batch; it is logged with its traceback
        log.exception("job %r failed", jid)
        return {**row, "status": "error", "error": f"{type(e).__name__}: {e}"}


def ground_jobs(input: str | os.PathLike, output: str | os.PathLike, *, top: int = 5,
                config: RetrievalConfig | None = None, retriever: Retriever | None = None) -> dict:
    """Ground every line of a JSONL job file, appending one row per line to `output` (durably, in order).

    A malformed line gets an error row (id "line N") and the loop goes on. Returns {"ok": n, "error": n}."""
    src = Path(input)
    if not src.is_file():
        raise InputError(f"{src}: no such job file")
    r = retriever or Retriever(config or RetrievalConfig())
    counts = {"ok": 0, "error": 0}
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with open(src, encoding="utf-8") as lines, open(output, "a", encoding="utf-8") as out:
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                job = json.loads(line)
            except json.JSONDecodeError as e:
                row = {"id": f"line {n}", "status": "error", "error": f"{src}:{n}: not valid JSON ({e.msg})"}
            else:
                row = ground_one(r, job, top=top)
            counts[row["status"]] += 1
            append_line(out, json.dumps(row, ensure_ascii=False))
    return counts
