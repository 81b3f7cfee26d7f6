"""`longlens ground`: a resumable grounding batch over many videos and queries.

jobs file → `GroundTask` per video group, run by the batch machinery of pipeline.batch (resume, engines,
error rows, Ctrl-C, summary JSON beside the output). A job over a library (no video; a "library" of its own or
the batch's default) is first searched across the library's index (longlens.library.search_library); its best
videos are then grounded one by one exactly as a single-video job, and the first with a segment answers.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from longlens.core.errors import InputError
from longlens.core.registry import ENGINES, GROUNDING_FORMATS
from longlens.pipeline.batch import JobHook, VideoTask, run_batch, summary_path
from longlens.pipeline.jobs import Job, read_jobs
from longlens.pipeline.library import LIBRARY_VIDEOS, best_videos
from longlens.retrieval import RetrievalConfig

__all__ = ["GroundTask", "JobHook", "ground_batch", "summary_path"]


@dataclass
class GroundTask(VideoTask):
    """Grounds one video's queries: index once (cached on disk), then each query in turn. A library's queries:
    search the library, then ground its best `videos` in turn (each as a video's query)."""

    top: int = 5
    videos: int = LIBRARY_VIDEOS

    def item(self, retriever, index, job: Job) -> dict:
        q = retriever.prepare(job.query, job.image)
        curve = retriever.curve(index, prepared=q)  # scored once: for the segments, and for why there are none
        segments = retriever.segments(index, curve, prepared=q, top=self.top)
        row = {"segments": [s.to_list() for s in segments]}
        if not segments:  # not found is an answer: an ok row with no segment, and why
            row["note"] = retriever.nothing_found(index, curve) or "not found"
        return row

    def library_item(self, retriever, job: Job) -> dict:
        notes = []
        hits = best_videos(job.library, job.query, image=job.image, videos=self.videos, config=self.config,
                           retriever=retriever)
        for hit in hits:
            row = self.item(retriever, retriever.index(hit.video, progress=False), replace(job, video=hit.video))
            if row["segments"]:
                return {"library": job.library, "video": hit.video, "library_score": round(float(hit.score), 4),
                        **row}
            notes.append(f"{Path(hit.video).name}: {row['note']}")
        why = (f"the best {len(hits)} video(s) of the library have no segment for it ({'; '.join(notes)})" if hits
               else "no video of the library has evidence for this query")
        return {"library": job.library, "video": None, "segments": [], "note": f"not found: {why}"}


def ground_batch(
    input: str | Path,
    output: str | Path,
    *,
    engine: str = ENGINES.default,
    workers: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    format: str = GROUNDING_FORMATS.default,
    video_dir: str | Path | None = None,
    library: str | Path | None = None,
    top: int = 5,
    videos: int = LIBRARY_VIDEOS,
    ray_address: str | None = None,
    config: RetrievalConfig | None = None,
    on_job: JobHook | None = None,
) -> dict:
    """Ground every job of `input` and write one row per id to `output`; returns the summary.

    engine: core.registry.ENGINES; format: core.registry.GROUNDING_FORMATS (see jobs.read_jobs); library: the
    library searched by lines that name neither a video nor a library (indexed by `longlens index`); videos: how
    many of the library's best videos a library job grounds, best first, until one has a segment; config: the
    retrieval configuration (cache root, progress display, channels, fps); on_job: called in the worker with
    each job's id before it runs (a JobHook: tests use it to crash a worker on a chosen job).

    A library job's row names the library, the video found (None when none) and its segments; not found is an
    ok row with no segment and a note.
    """
    if top < 1:
        raise InputError(f"top must be >= 1, got {top}")
    if videos < 1:
        raise InputError(f"videos must be >= 1, got {videos}")
    ENGINES.check(engine)
    jobs, bad_rows = read_jobs(input, format=format, video_dir=video_dir, library=library)
    task = GroundTask(config=config or RetrievalConfig(), on_job=on_job, top=top, videos=videos)
    return run_batch(task, jobs, bad_rows, input, output, engine=engine, workers=workers, resume=resume,
                     overwrite=overwrite, ray_address=ray_address, desc="grounding", unit="query")
