"""`longlens ground`: a resumable grounding batch over many videos and queries.

jobs file → (resume: skip ids already done) → group by video → engine (local pool | Ray Data) runs
`GroundTask` per video group → each row appended + fsynced as it finishes → summary JSON beside the output.
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
from longlens.core.registry import ENGINES, GROUNDING_FORMATS
from longlens.pipeline.engines import run_engine
from longlens.pipeline.jobs import Job, error_row, group_by_video, read_jobs
from longlens.pipeline.output import ResultLog
from longlens.retrieval import RetrievalConfig, Retriever

log = logging.getLogger(__name__)

# Called in the worker with each job's id just before the job runs. Tests pass one that kills the worker on a
# chosen id, as a segfaulting native library would; it must pickle (the local engine spawns its workers).
JobHook = Callable[[str], None]


def _error_text(e: BaseException) -> str:
    return str(e) if isinstance(e, LonglensError) else f"{type(e).__name__}: {e}"


@dataclass
class GroundTask:
    """Grounds one video's queries: index once (cached on disk), then each query in turn."""

    config: RetrievalConfig = field(default_factory=RetrievalConfig)
    top: int = 5
    on_job: JobHook | None = None

    def setup(self) -> Retriever:
        return Retriever(self.config)

    def run(self, retriever: Retriever, video: str, jobs: list[Job]) -> Iterator[dict]:
        t0 = time.perf_counter()
        try:
            index = retriever.index(video, progress=False)
        except Exception as e:  # noqa: BLE001 - every failure becomes an error row, the batch goes on
            log.warning("%s: %s", video, _error_text(e))
            for j in jobs:
                yield error_row(j.id, _error_text(e), video=j.video)
            return
        index_s = time.perf_counter() - t0
        for j in jobs:
            t = time.perf_counter()
            if self.on_job is not None:
                self.on_job(j.id)
            try:
                segments = retriever.ground(index, query=j.query, image=j.image, top=self.top)
            except Exception as e:  # noqa: BLE001
                yield error_row(j.id, _error_text(e), video=j.video)
                continue
            yield {
                "id": j.id,
                "video": j.video,
                "segments": [s.to_list() for s in segments],
                "status": "ok",
                "elapsed_s": round(time.perf_counter() - t + index_s, 4),
            }
            index_s = 0.0  # the index cost is charged to the first query of the video


def summary_path(output: str | Path) -> Path:
    return Path(f"{output}.summary.json")


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
    config = config or RetrievalConfig()
    task = GroundTask(config=config, top=top, on_job=on_job)
    counts = {"ok": 0, "error": 0}
    t0 = time.perf_counter()
    interrupted = False
    with ResultLog(output, resume=resume, overwrite=overwrite) as out:
        pending = set(out.pending([j.id for j in jobs] + [r["id"] for r in bad_rows]))
        skipped = len(jobs) + len(bad_rows) - len(pending)
        todo = [j for j in jobs if j.id in pending]
        bar = progress(total=len(pending), desc="grounding", unit="query", show=config.progress)

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
            summary = {
                "input": str(input),
                "output": str(output),
                "engine": engine,
                "workers": workers,
                "total": len(jobs) + len(bad_rows),
                "skipped_done": skipped,
                "processed": counts["ok"] + counts["error"],
                "ok": counts["ok"],
                "error": counts["error"],
                "videos": len({j.video for j in todo}),
                "elapsed_s": round(elapsed, 3),
                "queries_per_s": round((counts["ok"] + counts["error"]) / elapsed, 4) if elapsed > 0 else None,
                "videos_per_min": round(60 * len({j.video for j in todo}) / elapsed, 4) if elapsed > 0 else None,
                "interrupted": interrupted,
            }
            atomic_write_json(summary_path(output), summary)
    return summary
