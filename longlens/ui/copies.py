"""Browser-playable copies made in the background, so the page is usable while a long video converts.

An hour of 1080p at 30 fps takes minutes to turn into WebM; the page must not wait for it. `BrowserCopies` runs
one thread per copy, keyed by the copy's file (the video's content hash and the WebM settings), and is shared by
every session of the server (the explorer keeps one per cache folder with `st.cache_resource`), so reruns and
other sessions find the job already running instead of starting another. The copy is written atomically by
`webm.browser_copy`; the page polls the job's progress and shows the player once it is ready. No Streamlit here.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from longlens.ui.webm import WebmConfig, browser_copy, copy_path

log = logging.getLogger(__name__)

Make = Callable[..., Path]  # browser_copy's signature: (src, cache, *, config, on_progress) -> copy path


@dataclass
class CopyJob:
    """One copy being made: progress in source frames, then its path (ready) or what went wrong (error)."""

    out: Path
    done: int = 0
    total: int | None = None
    path: Path | None = None
    error: str | None = None
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def ready(self) -> bool:
        return self.path is not None

    @property
    def fraction(self) -> float:
        """How far along, 0-1 (0 while the total is unknown)."""
        return min(1.0, self.done / self.total) if self.total else 0.0

    def report(self, done: int, total: int | None) -> None:
        self.done, self.total = done, total


class BrowserCopies:
    """The WebM copies of one folder, each made once in a background thread (thread-safe).

    cache: the folder copies are written to; config: WebM settings; make: the function that makes one copy
    (`webm.browser_copy`; tests pass a slower or blocked one).
    """

    def __init__(self, cache: str | os.PathLike, *, config: WebmConfig | None = None, make: Make = browser_copy):
        self.cache, self.config, self._make = Path(cache), config or WebmConfig(), make
        self._jobs: dict[Path, CopyJob] = {}
        self._lock = threading.Lock()  # two sessions asking at once start one job

    def job(self, video: str | os.PathLike) -> CopyJob:
        """The job of `video`'s copy, started now unless it runs, is done, or the copy is already on disk."""
        out = copy_path(video, self.cache, self.config)
        with self._lock:
            job = self._jobs.get(out)
            if job is not None and not (job.ready and not job.path.exists()):  # a copy deleted since: make it again
                return job
            job = self._jobs[out] = CopyJob(out)
            if out.exists():
                job.path = out
                job.finished.set()
                return job
        threading.Thread(target=self._run, args=(job, Path(video)), name=f"webm-{out.stem[:12]}", daemon=True).start()
        return job

    def wait(self, video: str | os.PathLike, timeout: float | None = None) -> CopyJob:
        """`video`'s job once it has finished (or when `timeout` s have passed)."""
        job = self.job(video)
        job.finished.wait(timeout)
        return job

    def _run(self, job: CopyJob, video: Path) -> None:
        try:
            job.path = self._make(video, self.cache, config=self.config, on_progress=job.report)
        except Exception as e:  # noqa: BLE001 - a job must always end, with its reason shown on the page
            log.warning("browser copy of %s failed: %s", video, e)
            job.error = str(e) or type(e).__name__
        finally:
            job.finished.set()
