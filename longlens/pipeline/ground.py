"""`longlens ground`: a resumable grounding batch over many videos and queries.

jobs file → `GroundTask` per video group, run by the batch machinery of pipeline.batch (resume, engines,
error rows, Ctrl-C, summary JSON beside the output).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from longlens.core.errors import InputError
from longlens.core.registry import ENGINES, GROUNDING_FORMATS
from longlens.pipeline.batch import JobHook, VideoTask, run_batch, summary_path
from longlens.pipeline.jobs import Job, read_jobs
from longlens.retrieval import RetrievalConfig

__all__ = ["GroundTask", "JobHook", "ground_batch", "summary_path"]


@dataclass
class GroundTask(VideoTask):
    """Grounds one video's queries: index once (cached on disk), then each query in turn."""

    top: int = 5

    def item(self, retriever, index, job: Job) -> dict:
        segments = retriever.ground(index, query=job.query, image=job.image, top=self.top)
        row = {"segments": [s.to_list() for s in segments]}
        if not segments:  # not found is an answer: an ok row with no segment, and why
            q = retriever.prepare(job.query, job.image)
            row["note"] = retriever.nothing_found(index, retriever.curve(index, prepared=q)) or "not found"
        return row


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
    top: int = 5,
    ray_address: str | None = None,
    config: RetrievalConfig | None = None,
    on_job: JobHook | None = None,
) -> dict:
    """Ground every job of `input` and write one row per id to `output`; returns the summary.

    engine: core.registry.ENGINES; format: core.registry.GROUNDING_FORMATS (see jobs.read_jobs); config: the
    retrieval configuration (cache root, progress display, channels, fps); on_job: called in the worker with
    each job's id before it runs (a JobHook: tests use it to crash a worker on a chosen job).
    """
    if top < 1:
        raise InputError(f"top must be >= 1, got {top}")
    ENGINES.check(engine)
    jobs, bad_rows = read_jobs(input, format=format, video_dir=video_dir)
    task = GroundTask(config=config or RetrievalConfig(), on_job=on_job, top=top)
    return run_batch(task, jobs, bad_rows, input, output, engine=engine, workers=workers, resume=resume,
                     overwrite=overwrite, ray_address=ray_address, desc="grounding", unit="query")
