"""Plain helpers shared by the pipeline tests (fixtures live in conftest.py), and the `on_job` hooks of
grounding batches (pipeline.ground.JobHook): module-level dataclasses, so that they pickle into workers."""
from __future__ import annotations

import json
import os
import selectors
import signal
import threading
import time
from dataclasses import dataclass

from longlens.data.synth import QUESTIONS


def caption_jobs(videos) -> list[dict]:
    """One job per fact of both videos, asked as a user would."""
    return [{"id": f"{name}-{f}", "video": videos[name]["path"], "query": QUESTIONS[f]}
            for name in ("a", "b") for f in videos[name]["windows"] if f != "picture"]


def write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@dataclass(frozen=True)
class KillAt:
    """The worker kills itself (SIGKILL) when it reaches job `id`, as a segfaulting native library would."""

    id: str

    def __call__(self, job_id: str) -> None:
        if job_id == self.id:
            os.kill(os.getpid(), signal.SIGKILL)


HOLDING = "holding job"


@dataclass(frozen=True)
class HoldAt:
    """When the worker reaches job `id` it prints "holding job ID" on stdout and waits, forever: the batch
    is then certainly mid-run, for a test to interrupt or kill."""

    id: str

    def __call__(self, job_id: str) -> None:
        if job_id == self.id:
            print(f"{HOLDING} {job_id}", flush=True)
            threading.Event().wait()


def read_line(stream, timeout: float) -> str:
    """The next line of a child's stdout pipe, waiting at most `timeout` seconds for it."""
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise AssertionError(f"no line on the child's stdout within {timeout} s")
    return stream.readline().decode()


def wait_until(condition, timeout: float, what: str) -> None:
    """Return once `condition()` holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
