"""A resumable batch over many videos, shared by `longlens ground` and `longlens answer`.

jobs → (resume: skip ids already done) → group by video → engine (local pool | Ray Data) runs a `VideoTask`
per video group → each row appended + fsynced as it finishes → summary JSON beside the output. Ctrl-C stops
the workers at once and still writes the summary (marked interrupted); a worker that dies costs one error row.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from longlens.core.errors import InputError, LonglensError
from longlens.core.io import atomic_write_json
from longlens.core.progress import progress
from longlens.core.registry import ENGINES
from longlens.pipeline.engines import run_engine
from longlens.pipeline.jobs import Job, error_row, group_by_video
from longlens.pipeline.output import ResultLog
from longlens.retrieval import RetrievalConfig, Retriever

log = logging.getLogger(__name__)

# Called in the worker with each job's id just before the job runs. Tests pass one that kills the worker on a
# chosen id, as a segfaulting native library would; it must pickle (the local engine spawns its workers).
JobHook = Callable[[str], None]


def error_text(e: BaseException) -> str:
    return str(e) if isinstance(e, LonglensError) else f"{type(e).__name__}: {e}"


@dataclass
class VideoTask:
    """One video's jobs: index the video once (cached on disk), then each job in turn, one row per job.

    A subclass says what a job does (`item`: the row's fields besides id, video, status and elapsed_s) and may
    load more per worker in `setup` (its state; `retriever(state)` finds the Retriever in it). A group of jobs
    over a library (jobs.group_by_video) runs `library_item` for each job instead: the row's fields, including
    the video it found ("video", None when none).
    """

    config: RetrievalConfig = field(default_factory=RetrievalConfig)
    on_job: JobHook | None = None

    def setup(self):
        return Retriever(self.config)

    def retriever(self, state) -> Retriever:
        return state

    def item(self, state, index, job: Job) -> dict:
        raise NotImplementedError

    def library_item(self, state, job: Job) -> dict:
        raise InputError(f"{type(self).__name__} needs a video: its jobs cannot be asked of a library")

    def run(self, state, video: str, jobs: list[Job]) -> Iterator[dict]:
        t0 = time.perf_counter()
        index = None
        if not any(j.library is not None for j in jobs):  # a library's group indexes nothing itself
            try:
                index = self.retriever(state).index(video, progress=False)
            except Exception as e:  # noqa: BLE001 - every failure becomes an error row, the batch goes on
                log.warning("%s: %s", video, error_text(e))
                for j in jobs:
                    yield job_error(j, error_text(e))
                return
        index_s = time.perf_counter() - t0
        for j in jobs:
            t = time.perf_counter()
            if self.on_job is not None:
                self.on_job(j.id)
            try:
                fields = self.item(state, index, j) if index is not None else self.library_item(state, j)
            except Exception as e:  # noqa: BLE001
                yield job_error(j, error_text(e))
                continue
            yield {"id": j.id, "video": j.video, **fields, "status": "ok",
                   "elapsed_s": round(time.perf_counter() - t + index_s, 4)}
            index_s = 0.0  # the index cost is charged to the first job of the video


def job_error(job: Job, error: str) -> dict:
    """The error row of `job`: its video, or the library it searched."""
    return error_row(job.id, error, video=job.video, **({"library": job.library} if job.library is not None else {}))


def summary_path(output: str | Path) -> Path:
    return Path(f"{output}.summary.json")


def run_batch(task: VideoTask, jobs: list[Job], bad_rows: list[dict], input: str | Path, output: str | Path, *,
              engine: str = ENGINES.default, workers: int | None = None, resume: bool = False,
              overwrite: bool = False, ray_address: str | None = None, desc: str = "batch",
              unit: str = "job") -> dict:
    """Run `task` over `jobs` (plus `bad_rows`, error rows for input lines that could not be read) into
    `output`, one row per id; returns the summary, also written beside the output (`summary_path`)."""
    ENGINES.check(engine)
    counts = {"ok": 0, "error": 0}
    t0 = time.perf_counter()
    interrupted = False
    with ResultLog(output, resume=resume, overwrite=overwrite) as out:
        pending = set(out.pending([j.id for j in jobs] + [r["id"] for r in bad_rows]))
        skipped = len(jobs) + len(bad_rows) - len(pending)
        todo = [j for j in jobs if j.id in pending]
        bar = progress(total=len(pending), desc=desc, unit=unit, show=task.config.progress)

        def emit(row: dict) -> None:
            out.write(row)
            counts["ok" if row.get("status") == "ok" else "error"] += 1
            bar.update(1)
            bar.set_postfix(errors=counts["error"], refresh=False)

        for row in bad_rows:
            if row["id"] in pending:
                emit(row)
        try:
            run_engine(engine, task, group_by_video(todo), emit, workers=workers, ray_address=ray_address)
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            bar.close()
            elapsed = time.perf_counter() - t0
            done = counts["ok"] + counts["error"]
            videos = len({j.video for j in todo if j.video is not None})
            summary = {
                "input": str(input),
                "output": str(output),
                "engine": engine,
                "workers": workers,
                "total": len(jobs) + len(bad_rows),
                "skipped_done": skipped,
                "processed": done,
                "ok": counts["ok"],
                "error": counts["error"],
                "videos": videos,
                "elapsed_s": round(elapsed, 3),
                "queries_per_s": round(done / elapsed, 4) if elapsed > 0 else None,
                "videos_per_min": round(60 * videos / elapsed, 4) if elapsed > 0 else None,
                "interrupted": interrupted,
            }
            atomic_write_json(summary_path(output), summary)
    return summary
