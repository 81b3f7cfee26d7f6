"""Decoding in an isolated worker process, so a decoder that segfaults or hangs cannot take us down.

One worker serves one request (a probe, or one video's whole frame iteration) and streams messages back
over a pipe: ("info", dict), ("batch", [Frame, ...]), ("warn", str), ("tick",), ("error", class, str),
("done",). The parent waits at most `timeout` seconds between messages (the worker sends a heartbeat
at least every second while it is busy), so a hung decoder is detected and killed; a worker that dies
(signal or exit) becomes a VideoDecodeError naming the file and the cause. Workers start with the
"forkserver" method on Linux ("spawn" elsewhere), never "fork": the parent may hold CUDA or threads.

Fault injection, for the tests of this module only: when the environment variable
LONGLENS_FAULT_INJECT is "decoder-crash" or "decoder-hang" (optionally "@N": after N batches) when an
isolated request starts, its *worker* kills itself with SIGSEGV or stops responding. Only the worker
obeys it (in-process decoding ignores it), so it can never crash a caller's own process, and the worker
logs a warning when it does.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import time
import warnings
from typing import Iterator

from longlens.data import errors
from longlens.data.errors import LonglensError, VideoDecodeError
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
            yield ("info", info.to_dict())
            if info.truncated:
                yield ("warn", f"{info.path}: the file is cut short; only the {info.frames} frames before the "
                               f"damage (up to {info.duration:.2f} s) can be decoded")
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


def _worker_main(request: dict, conn) -> None:
    """Entry point of the worker process: serve `request`, send every message to `conn`."""
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
        if fault and msg[0] in ("batch", "done") and batches >= fault[1]:
            if fault[0] == "crash":
                os.kill(os.getpid(), signal.SIGSEGV)
            elif fault[0] == "hang":
                time.sleep(10**6)
        batches += msg[0] == "batch"
        conn.send(msg)
        last[0] = time.monotonic()
    conn.close()


def _context():
    method = "forkserver" if sys.platform.startswith("linux") else "spawn"
    return multiprocessing.get_context(method)


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def run_isolated(request: dict, timeout: float) -> Iterator[tuple]:
    """Serve `request` in a fresh worker process; yields its messages (no ticks). Raises VideoDecodeError
    when the worker dies or sends nothing for `timeout` seconds; the worker is always reaped."""
    path = request["path"]
    request = {**request, "fault": os.environ.get(FAULT_ENV)}  # read now: a forkserver child has stale env
    ctx = _context()
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker_main, args=(request, send), daemon=True, name="longlens-decoder")
    try:
        proc.start()
    except AssertionError:  # inside a daemonic process (e.g. a multiprocessing pool): cannot have children
        send.close()
        recv.close()
        log.warning("cannot start a decoder process from a daemonic process; decoding %s in-process", path)
        yield from messages(request)
        return
    send.close()
    try:
        while True:
            if not recv.poll(timeout):
                raise VideoDecodeError(f"{path}: the decoder hung (no progress for {timeout:g} s); its worker was killed")
            try:
                msg = recv.recv()
            except EOFError:
                proc.join(5)
                code = proc.exitcode
                cause = (f"crashed ({_signal_name(code)})" if code is not None and code < 0
                         else f"exited unexpectedly (code {code})")
                raise VideoDecodeError(f"{path}: the decoder process {cause}") from None
            if msg[0] == "tick":
                continue
            yield msg
            if msg[0] in ("done", "error"):
                return
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        recv.close()


def run(request: dict, *, isolated: bool, timeout: float) -> Iterator[tuple]:
    """Serve `request` (in a worker process when `isolated`), raising errors and warnings in this process.

    Yields ("info", dict) then ("batch", frames) messages. With backend "auto", a worker that dies before
    reporting the video's info (decord crashing on open) is retried once with PyAV.
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
        if not (isolated and request["backend"] == "auto" and not got_info and "decoder process" in str(e)):
            raise
        log.warning("%s; retrying with PyAV", e)
        yield from run({**request, "backend": "pyav"}, isolated=True, timeout=timeout)
