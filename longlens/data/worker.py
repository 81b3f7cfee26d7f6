"""Decoding in an isolated worker process, so a decoder that segfaults or hangs cannot take us down.

A worker serves one request at a time (a probe, or one video's whole frame iteration) and streams
messages back over a pipe: ("info", dict), ("batch", [Frame, ...]), ("warn", str), ("tick",), ("error", class, str),
("done",). The parent waits at most `timeout` seconds between messages (the worker sends a heartbeat
at least every second while it is busy), so a hung decoder is detected and killed; a worker that dies
(signal or exit) becomes a VideoDecodeError naming the file and the cause. A worker is a fresh
interpreter (`python -m longlens.data.worker_main`), never a fork (the parent may hold CUDA or threads) and
never a multiprocessing child (those re-import the caller's main script, which breaks scripts without an
`if __name__ == "__main__"` guard); it speaks pickled messages over its stdin/stdout pipes.
Healthy workers stay warm for the next request (at most MAX_IDLE idle); a worker that crashed, hung or
was left mid-video is killed, never reused.

Fault injection, for the tests of this module only: when the environment variable
LONGLENS_FAULT_INJECT is "decoder-crash" or "decoder-hang" (optionally "@N": after N batches) when an
isolated request starts, its *worker* kills itself with SIGSEGV or stops responding. Only the worker
obeys it (in-process decoding ignores it), so it can never crash a caller's own process, and the worker
logs a warning when it does.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
import warnings
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Iterator

from longlens.core import errors
from longlens.core.errors import LonglensError, VideoDecodeError
from longlens.data.sampling import select_frames

log = logging.getLogger(__name__)

FAULT_ENV = "LONGLENS_FAULT_INJECT"
_ERRORS = {c.__name__: c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, LonglensError)}


def messages(request: dict, heartbeat=lambda: None) -> Iterator[tuple]:
    """Serve one request in this process: yields the message stream described in the module docstring.

    request: {"op": "probe" | "frames", "path", "backend", "size", "sampling", "batch_size"}.
    """
    from longlens.data.decoders import open_reader

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reader = open_reader(request["path"], request["backend"], request.get("size"), heartbeat)
        for w in caught:
            yield ("warn", str(w.message))
        try:
            info = reader.info
            if info.truncated:
                yield ("warn", f"{info.path}: the file is cut short; only the {info.frames} frames before the "
                               f"damage (up to {info.duration:.2f} s) can be decoded")
            yield ("info", info.to_dict())
            if request["op"] == "probe":
                yield ("done",)
                return
            idx = select_frames(request["sampling"], reader.frame_times, info.duration)
            batch, bs = [], request["batch_size"]
            for frame in reader.read(idx):
                batch.append(frame)
                if len(batch) == bs:
                    yield ("batch", batch)
                    batch = []
            if batch:
                yield ("batch", batch)
            yield ("done",)
        finally:
            reader.close()
    except LonglensError as e:
        yield ("error", type(e).__name__, str(e))
    except Exception as e:  # noqa: BLE001 - any other decoder failure is reported, named, not raised raw
        yield ("error", "VideoDecodeError", f"{request['path']}: decoding failed: {type(e).__name__}: {e}")


def _fault(spec: str | None) -> tuple[str, int] | None:
    spec = spec or ""
    if not spec.startswith("decoder-"):
        return None
    kind, _, after = spec.removeprefix("decoder-").partition("@")
    return kind, int(after or 0)


def _serve(request: dict, conn) -> None:
    """Serve one request inside the worker, sending every message (and heartbeats) to `conn`."""
    last = [time.monotonic()]

    def heartbeat() -> None:
        now = time.monotonic()
        if now - last[0] > 1.0:
            conn.send(("tick",))
            last[0] = now

    fault, batches = _fault(request.get("fault")), 0
    if fault:
        log.warning("%s=%s: injecting a decoder fault (tests only)", FAULT_ENV, request["fault"])
    for msg in messages(request, heartbeat):
        if fault and msg[0] in ("info", "batch", "done") and batches >= fault[1]:
            if fault[0] == "crash":
                os.kill(os.getpid(), signal.SIGSEGV)
            elif fault[0] == "hang":
                time.sleep(10**6)
        batches += msg[0] == "batch"
        conn.send(msg)
        last[0] = time.monotonic()


def _worker_loop(conn) -> None:
    """Serve requests one after another until the pipe closes."""
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        _serve(request, conn)


class _Duplex:
    """A read end and a write end (two pipes) used as one connection."""

    def __init__(self, reader: Connection, writer: Connection) -> None:
        self.reader, self.writer = reader, writer

    def send(self, obj) -> None:
        self.writer.send(obj)

    def recv(self):
        return self.reader.recv()

    def poll(self, timeout: float) -> bool:
        return self.reader.poll(timeout)

    def close(self) -> None:
        for c in (self.reader, self.writer):
            try:
                c.close()
            except OSError:
                pass


def serve_stdio() -> None:
    """Entry point of a worker interpreter: the protocol runs on the original stdin/stdout; the process's
    own stdout goes to stderr so that no library's printing can corrupt the message stream."""
    from longlens.data import decoders

    decoders.IN_WORKER = True
    proto_in, proto_out = os.dup(0), os.dup(1)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    _worker_loop(_Duplex(Connection(proto_in, writable=False), Connection(proto_out, readable=False)))


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


class _Worker:
    """One decoder process and our connection to it."""

    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[2])  # the folder holding the longlens package
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        self.proc = subprocess.Popen([sys.executable, "-m", "longlens.data.worker_main"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, close_fds=True)
        self.conn = _Duplex(Connection(os.dup(self.proc.stdout.fileno()), writable=False),
                            Connection(os.dup(self.proc.stdin.fileno()), readable=False))
        self.proc.stdout.close()
        self.proc.stdin.close()
        self.served = 0
        _started.add(self)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def exitcode(self) -> int | None:
        try:
            return self.proc.wait(5)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        self.exitcode()
        self.conn.close()


# Idle workers, warm (av / decord already imported), reused for later requests. A worker that crashed,
# hung, or was abandoned mid-video is killed, never reused; a healthy one is retired after MAX_SERVED.
_idle: list[_Worker] = []
_lock = threading.Lock()
MAX_IDLE = 2
MAX_SERVED = 200


_started: "weakref.WeakSet[_Worker]" = weakref.WeakSet()


def live_pids() -> set[int]:
    """Process ids of this process's decoder workers that are still running (busy or idle)."""
    return {w.proc.pid for w in list(_started) if w.alive()}


def _acquire() -> _Worker:
    with _lock:
        while _idle:
            w = _idle.pop()
            if w.alive():
                return w
            w.kill()
    return _Worker()


def _release(w: _Worker) -> None:
    w.served += 1
    with _lock:
        if w.alive() and w.served < MAX_SERVED and len(_idle) < MAX_IDLE:
            _idle.append(w)
            return
    w.kill()


def shutdown() -> None:
    """End the idle decoder workers (they also end with this process)."""
    with _lock:
        idle, _idle[:] = list(_idle), []
    for w in idle:
        w.kill()


def run_isolated(request: dict, timeout: float) -> Iterator[tuple]:
    """Serve `request` in a worker process; yields its messages (no ticks). Raises VideoDecodeError when the
    worker dies or sends nothing for `timeout` seconds (it is then killed); other workers are unaffected."""
    path = request["path"]
    request = {**request, "fault": os.environ.get(FAULT_ENV)}  # read now: a warm worker has an older env
    w = _acquire()
    finished = False
    try:
        w.conn.send(request)
        while True:
            if not w.conn.poll(timeout):
                raise VideoDecodeError(f"{path}: the decoder hung (no progress for {timeout:g} s); its worker was killed")
            try:
                msg = w.conn.recv()
            except (EOFError, OSError):
                code = w.exitcode()
                cause = (f"crashed ({_signal_name(code)})" if code is not None and code < 0
                         else f"exited unexpectedly (code {code})")
                raise VideoDecodeError(f"{path}: the decoder process {cause}") from None
            if msg[0] == "tick":
                continue
            if msg[0] in ("done", "error"):
                finished = True
            yield msg
            if finished:
                return
    finally:
        if finished:
            _release(w)
        else:
            w.kill()


def run(request: dict, *, isolated: bool, timeout: float) -> Iterator[tuple]:
    """Serve `request` (in a worker process when `isolated`), raising errors and warnings in this process.

    Yields ("info", dict) then ("batch", frames) messages. With backend "auto", a worker that dies or hangs
    before reporting the video's info (decord crashing on open) is retried once with PyAV.
    """
    if isolated:
        stream = run_isolated(request, timeout)
    else:
        stream = messages(request)
    got_info = False
    try:
        for msg in stream:
            kind = msg[0]
            if kind == "warn":
                log.warning("%s", msg[1])
                warnings.warn(msg[1], errors.TruncatedVideoWarning if "cut short" in msg[1] else errors.VideoWarning,
                              stacklevel=3)
            elif kind == "error":
                raise _ERRORS.get(msg[1], VideoDecodeError)(msg[2])
            elif kind in ("info", "batch"):
                got_info = True
                yield msg
    except VideoDecodeError as e:
        died = "decoder process" in str(e) or "decoder hung" in str(e)
        if not (isolated and request["backend"] == "auto" and not got_info and died):
            raise
        log.warning("%s; retrying with PyAV", e)
        yield from run({**request, "backend": "pyav"}, isolated=True, timeout=timeout)
