"""Batch engines: run a task over video groups on local worker processes or on Ray Data.

An engine (core.registry.ENGINES names them: "local" -> LocalEngine, "ray" -> RayEngine) is a small
dataclass of its settings with `run(task, groups, emit)`.

A task is a picklable object with `setup() -> state` (once per worker: load models) and
`run(state, video, jobs) -> Iterator[row]` (one video's queries: exactly one row per job, in order; it
catches per-item errors itself and yields error rows). Engines stream rows to `emit` as items finish; an item
whose worker died while it was running gets an error row, and the rest of the batch goes on.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue as queue_mod
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, fields
from typing import Protocol

from longlens.core.errors import InputError
from longlens.core.registry import ENGINES
from longlens.pipeline.jobs import Job, error_row

log = logging.getLogger(__name__)

Emit = Callable[[dict], None]


class Task(Protocol):
    def setup(self): ...

    def run(self, state, video: str, jobs: list[Job]): ...


def run_engine(engine: str, task: Task, groups: dict[str, list[Job]], emit: Emit, *, workers: int | None = None,
               ray_address: str | None = None) -> None:
    """Run `task` over `groups` on the engine named `engine` (core.registry.ENGINES)."""
    cls = ENGINES.load(engine)
    settings = {"workers": workers}
    if ray_address is not None:
        if "address" not in {f.name for f in fields(cls)}:
            raise InputError(f"a cluster address (--ray-address) needs the ray engine, not {engine!r}")
        settings["address"] = ray_address
    cls(**settings).run(task, groups, emit)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _workers(workers: int | None) -> int:
    workers = workers or default_workers()
    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    return workers


# ---- local: a process pool; one task per video group; rows stream back through a queue ----

_worker: dict = {}


def _init_worker(task: Task, messages) -> None:
    _worker["task"], _worker["state"], _worker["messages"] = task, task.setup(), messages


def _run_group(video: str, jobs: list[Job]) -> None:
    task, state, messages = _worker["task"], _worker["state"], _worker["messages"]
    rows = task.run(state, video, jobs)
    for job in jobs:  # `run` yields exactly one row per job, in order
        messages.put(("start", job.id))
        messages.put(("row", next(rows)))


@dataclass
class LocalEngine:
    """Process pool of `workers` (default: all cores). A crashed worker costs one error row, then a
    fresh pool takes the items that had not started."""

    workers: int | None = None

    def run(self, task: Task, groups: dict[str, list[Job]], emit: Emit) -> None:
        workers = _workers(self.workers)
        todo = {v: list(js) for v, js in groups.items() if js}
        ctx = mp.get_context("spawn")
        with ctx.Manager() as manager:
            while todo:
                todo = _local_round(task, todo, emit, workers, ctx, manager.Queue())


def _local_round(task, todo, emit, workers, ctx, messages) -> dict[str, list[Job]]:
    started: dict[str, Job] = {}
    finished: set[str] = set()
    by_id = {j.id: j for js in todo.values() for j in js}

    def take(timeout: float) -> bool:
        """Handle one message from the workers; False when none came within `timeout`."""
        try:
            kind, payload = messages.get(timeout=timeout) if timeout else messages.get_nowait()
        except queue_mod.Empty:
            return False
        if kind == "start":
            started[payload] = by_id[payload]
        else:
            finished.add(str(payload["id"]))
            emit(payload)
        return True

    pool = ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx, initializer=_init_worker,
                               initargs=(task, messages))
    broken = False
    try:
        futures = [pool.submit(_run_group, video, jobs) for video, jobs in todo.items()]
        while not all(f.done() for f in futures):
            take(0.2)
        while take(0):  # rows put just before the futures finished
            pass
        for f in futures:
            if isinstance(f.exception(), BrokenProcessPool):
                broken = True
            elif f.exception() is not None:  # a bug in the task itself: report, don't hide
                log.error("worker raised: %r", f.exception())
    except BaseException:  # Ctrl-C (KeyboardInterrupt) or a failure of ours: stop the workers now
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.kill()
        raise
    pool.shutdown(wait=True, cancel_futures=True)
    died = [i for i in started if i not in finished]
    for i in died:
        j = by_id[i]
        msg = ("worker process died while processing this item (crash, out of memory or killed)" if broken
               else "worker raised an unexpected error")
        emit(error_row(j.id, msg, video=j.video))
        finished.add(i)
    rest = {v: [j for j in js if j.id not in finished] for v, js in todo.items()}
    rest = {v: js for v, js in rest.items() if js}
    if rest and not broken:  # no crash, yet items left: the task failed outside an item
        for js in rest.values():
            for j in js:
                emit(error_row(j.id, "worker failed before processing this item", video=j.video))
        return {}
    if rest and not finished:  # the pool broke before doing anything (e.g. models failed to load)
        for js in rest.values():
            for j in js:
                emit(error_row(j.id, "worker processes failed to start (see the log above)", video=j.video))
        return {}
    if rest:
        log.warning("a worker process died; restarting the pool for %d remaining item(s)", sum(map(len, rest.values())))
    return rest


# ---- ray: Ray Data, one row per video group, an actor pool holding the models ----


class _RayGroupActor:
    def __init__(self, task: Task):
        self.task, self.state = task, task.setup()

    def __call__(self, batch: dict) -> dict:
        import json

        rows = []
        for video, jobs_json in zip(batch["video"], batch["jobs"]):
            jobs = [Job(**j) for j in json.loads(jobs_json)]
            rows += [json.dumps(r) for r in self.task.run(self.state, str(video), jobs)]
        return {"row": rows}


@dataclass
class RayEngine:
    """Ray Data on the cluster at `address` (default: one started locally with `workers` CPUs)."""

    workers: int | None = None
    address: str | None = None

    def run(self, task: Task, groups: dict[str, list[Job]], emit: Emit) -> None:
        _run_ray(task, groups, emit, workers=_workers(self.workers), address=self.address)


def _run_ray(task: Task, groups: dict[str, list[Job]], emit: Emit, *, workers: int, address: str | None) -> None:
    """Ray Data: `from_items` over video groups → `map_batches` with an actor pool of `workers` actors.
    Actors restart at most once and tasks retry at most once (Ray's defaults can retry forever); groups
    whose actor died anyway become error rows."""
    import json

    try:
        import ray
        import ray.data
    except ImportError as e:
        raise InputError("the ray engine needs Ray: pip install 'longlens[ray]'") from e
    if not ray.is_initialized():
        kw = {"address": address} if address else {"num_cpus": workers}
        ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING, **kw)
    ctx = ray.data.DataContext.get_current()
    ctx.max_errored_blocks = -1  # a group that fails is dropped (and reported below), the job goes on
    ctx.enable_progress_bars = False
    items = [{"video": v, "jobs": json.dumps([asdict(j) for j in js])} for v, js in groups.items() if js]
    if not items:
        return
    with warnings.catch_warnings():
        # Ray 2.60 deprecates **ray_remote_args but has no named parameter for actor restarts yet; we keep
        # them explicit (one restart, one retry) rather than inherit Ray Data's unbounded defaults.
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        ds = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
            _RayGroupActor,
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=min(workers, len(items))),
            fn_constructor_kwargs={"task": task},
            num_cpus=1,
            max_restarts=1,
            max_task_retries=1,
        )
    seen: set[str] = set()
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        for raw in batch["row"]:
            row = json.loads(raw)
            seen.add(str(row["id"]))
            emit(row)
    for js in groups.values():
        for j in js:
            if j.id not in seen:
                emit(error_row(j.id, "Ray worker failed on this video (actor died or task failed twice)",
                               video=j.video))
