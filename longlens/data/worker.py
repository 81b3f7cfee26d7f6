"""Decoding in an isolated worker process, so a decoder that segfaults or hangs cannot take us down.

A worker serves one request at a time (a probe, or one video's whole frame iteration) and streams
messages back over a pipe: ("info", dict), ("batch", [Frame, ...]), ("warn", warning class name, text),
("tick",), ("error", LonglensError instance), ("done",). The parent waits at most `timeout` seconds between
messages (the worker sends a heartbeat at least every second while it is busy), so a hung decoder is
detected and killed; a worker that dies (signal or exit) becomes a VideoDecodeError naming the file and the
cause, with reason "hung" or "crashed" (callers decide by class and reason, never by a message's text).
A worker is a fresh interpreter (`python -m longlens.data.worker_main`), never a fork (the parent may hold
CUDA or threads) and never a multiprocessing child (those re-import the caller's main script, which breaks
scripts without an `if __name__ == "__main__"` guard); it speaks pickled messages over its stdin/stdout pipes.
Healthy workers stay warm for the next request (at most MAX_IDLE idle); a worker that crashed, hung or
was left mid-video is killed, never reused.

Fault injection, for tests of this isolation: a request may carry a `DecoderFault` (the `fault=` argument
of probe / iter_frames / read_frames), which its *worker* acts out: it kills itself with SIGSEGV or stops
responding after N batches. It travels in the request, so nothing reads it from the environment; only a
worker obeys it (in-process decoding refuses one), so it can never crash a caller's own process.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import ClassVar

from longlens.core import errors
from longlens.core.env import child_env
from longlens.core.errors import InputError, LonglensError, TruncatedVideoWarning, VideoDecodeError, VideoWarning
from longlens.data.sampling import select_frames

log = logging.getLogger(__name__)

# Warning classes a worker may name (by class name: the pipe carries the name, the parent raises the class).
_WARNINGS = {c.__name__: c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, Warning)}


@dataclass(frozen=True)
class DecoderFault:
    """A failure for a decoder worker to act out (tests of isolation): kind "crash" (SIGSEGV) or "hang" (it
    stops answering), once it has sent `after_batches` batches of frames (0: before it reports anything)."""

    kind: str
    after_batches: int = 0

    KINDS: ClassVar[tuple[str, ...]] = ("crash", "hang")

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise InputError(f"DecoderFault.kind must be one of {', '.join(self.KINDS)}, got {self.kind!r}")
        if not isinstance(self.after_batches, int) or self.after_batches < 0:
            raise InputError(f"DecoderFault.after_batches must be an integer >= 0, got {self.after_batches!r}")


def messages(request: dict, heartbeat=lambda: None) -> Iterator[tuple]:
    """Serve one request in this process: yields the message stream described in the module docstring.

    request: {"op": "probe" | "frames", "path", "backend", "size", "sampling", "batch_size", "fault"}.
    """
    from longlens.data.decoders import open_reader

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reader = open_reader(request["path"], request["backend"], request.get("size"), heartbeat)
        for w in caught:
            yield ("warn", w.category.__name__, str(w.message))
        try:
            info = reader.info
            if info.truncated:
                yield ("warn", TruncatedVideoWarning.__name__,
                       f"{info.path}: the file is cut short; only the {info.frames} frames before the "
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
    except LonglensError as e:  # our errors pickle whole (class, message, reason)
        yield ("error", e)
    except Exception as e:  # noqa: BLE001 - any other decoder failure is reported, named, not raised raw
        failure = f"{request['path']}: decoding failed: {type(e).__name__}: {e}"
        yield ("error", VideoDecodeError(failure, reason="failed"))


def _serve(request: dict, conn) -> None:
    """Serve one request inside the worker, sending every message (and heartbeats) to `conn`."""
    last = [time.monotonic()]

    def heartbeat() -> None:
        now = time.monotonic()
        if now - last[0] > 1.0:
            conn.send(("tick",))
            last[0] = now

    fault, batches = request.get("fault"), 0
    if fault is not None:
        log.warning("acting out %s as asked (tests only)", fault)
    for msg in messages(request, heartbeat):
        if fault is not None and msg[0] in ("info", "batch", "done") and batches >= fault.after_batches:
            if fault.kind == "crash":
                os.kill(os.getpid(), signal.SIGSEGV)
            threading.Event().wait()  # "hang" (or a crash signal not yet delivered): never answer again
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
        env = child_env(root)
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


_started: weakref.WeakSet[_Worker] = weakref.WeakSet()


def live_pids() -> set[int]:
    """Process ids of this process's decoder workers that are still running (busy or idle)."""
    return {w.proc.pid for w in list(_started) if w.alive()}


def idle_pids() -> set[int]:
    """Process ids of the idle decoder workers kept warm for the next request."""
    with _lock:
        return {w.proc.pid for w in _idle}


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
    w = _acquire()
    try:
        w.conn.send(request)
        while True:
            if not w.conn.poll(timeout):
                raise VideoDecodeError(f"{path}: the decoder hung (no progress for {timeout:g} s); "
                                       "its worker was killed", reason="hung")
            try:
                msg = w.conn.recv()
            except (EOFError, OSError):
                code = w.exitcode()
                cause = (f"crashed ({_signal_name(code)})" if code is not None and code < 0
                         else f"exited unexpectedly (code {code})")
                raise VideoDecodeError(f"{path}: the decoder process {cause}", reason="crashed") from None
            if msg[0] in ("done", "error"):
                break
            if msg[0] != "tick":
                yield msg
    except BaseException:  # hung, crashed, or abandoned mid-video (GeneratorExit): never reuse it
        w.kill()
        raise
    # Back in the pool before the last message goes out: an error raised from it keeps this generator alive
    # (through its traceback) until the garbage collector runs, which must not decide the worker's fate.
    _release(w)
    yield msg


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
                _, category, text = msg
                log.warning("%s", text)
                warnings.warn(text, _WARNINGS.get(category, VideoWarning), stacklevel=3)
            elif kind == "error":
                raise msg[1]
            elif kind in ("info", "batch"):
                got_info = True
                yield msg
    except VideoDecodeError as e:
        if not (isolated and request["backend"] == "auto" and not got_info and e.reason in ("crashed", "hung")):
            raise
        log.warning("%s; retrying with PyAV", e)
        yield from run({**request, "backend": "pyav"}, isolated=True, timeout=timeout)
