"""Public video API: probe a file, iterate sampled frames with their decoder timestamps.

    info = probe("talk.mp4")                                   # VideoInfo
    for batch in iter_frames("talk.mp4", FixedRate(1.0), size=224):
        for f in batch: f.time, f.index, f.image               # s (decoder PTS), frame number, [H, W, 3] uint8

Decoding runs in a worker process by default (`isolated=True`): a decoder crash or hang raises
VideoDecodeError (reason "crashed" / "hung") here instead of killing the caller. Frames are sampled by
seeking, so memory is bounded by `batch_size`, not by the video's length. `fault=DecoderFault(...)` makes
that worker crash or hang on purpose, for tests of this isolation.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
from collections.abc import Iterator
from itertools import chain

from longlens.core.errors import InputError
from longlens.core.registry import DECODERS
from longlens.core.types import Frame
from longlens.data.decoders import VideoInfo, check_path
from longlens.data.sampling import AtTimes, FixedRate, Sampling, Uniform, Window
from longlens.data.worker import DecoderFault, run

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 120.0  # s without any progress from the decoder before it counts as hung


def resolve_backend(backend: str = "auto") -> str:
    """"decord" or "pyav": the backend a name of core.registry.DECODERS selects ("auto" picks decord when it
    is installed)."""
    DECODERS.check(backend)
    if backend == "auto":
        return "decord" if importlib.util.find_spec("decord") is not None else "pyav"
    return backend


# Which frames count and what times they get (decoders.py); part of decoder_version, so cached indexes made
# under older rules are not reused. 2: frames an MP4 edit list cuts away are dropped (stream-copy cuts).
FRAME_RULES = 2


def decoder_version(backend: str = "auto") -> str:
    """A string naming the decoder build and FRAME_RULES, for cache keys: e.g. "decord-3.4.0/frames-2" or
    "pyav-18.1.0/lavc-62.28.102/frames-2"."""
    name = resolve_backend(backend)
    if name == "decord":  # from the metadata: importing decord here could break torch (decoders.import_decord)
        return f"decord-{importlib.metadata.version('decord2')}/frames-{FRAME_RULES}"
    import av

    lavc = ".".join(map(str, av.library_versions["libavcodec"]))
    return f"pyav-{av.__version__}/lavc-{lavc}/frames-{FRAME_RULES}"


def _request(op: str, path: str | os.PathLike, *, backend: str, size: int | None, batch_size: int, timeout: float,
             isolated: bool, fault: DecoderFault | None, sampling: Sampling | None = None) -> dict:
    """The checked request a decoder serves (see worker.messages); InputError for a bad argument."""
    name = resolve_backend(backend)
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size <= 0):
        raise InputError(f"size must be a positive number of pixels or None, got {size!r}")
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not timeout > 0:
        raise InputError(f"timeout must be > 0 seconds, got {timeout!r}")
    if fault is not None and not isinstance(fault, DecoderFault):
        raise InputError(f"fault must be a DecoderFault or None, not {type(fault).__name__}")
    if fault is not None and not isolated:
        raise InputError("a DecoderFault is acted out by a worker process only: pass isolated=True")
    return {"op": op, "path": check_path(path), "backend": backend if backend == "auto" and name == "decord" else name,
            "size": size, "sampling": sampling, "batch_size": batch_size, "fault": fault}


def probe(path: str | os.PathLike, *, backend: str = "auto", isolated: bool = True,
          timeout: float = DEFAULT_TIMEOUT, fault: DecoderFault | None = None) -> VideoInfo:
    """Open a video and describe it: duration (s), average fps, VFR or not, frames, size, codec, and the
    decoder PTS (s) of its first 1000 frames. Raises a VideoError subclass naming what is wrong."""
    request = _request("probe", path, backend=backend, size=None, batch_size=1, timeout=timeout, isolated=isolated,
                       fault=fault)
    info = None
    for kind, payload in run(request, isolated=isolated, timeout=timeout):  # to the end: a worker left mid-request
        if kind == "info" and info is None:                                  # is killed, not kept warm
            info = VideoInfo.from_dict(payload)
    if info is None:  # pragma: no cover
        raise AssertionError("the decoder finished without describing the video")
    return info


def iter_frames(path: str | os.PathLike, sampling: Sampling, *, backend: str = "auto", size: int | None = None,
                batch_size: int = 64, isolated: bool = True, timeout: float = DEFAULT_TIMEOUT,
                fault: DecoderFault | None = None) -> Iterator[list[Frame]]:
    """Batches (at most `batch_size` frames, in time order) of the frames `sampling` picks.

    Each Frame has `time` (s, the decoder's presentation timestamp), `index` (frame number) and `image`
    ([H, W, 3] uint8 RGB; short side `size` px, or native when None). `timeout`: seconds the decoder may go
    without progress before it is declared hung. Stopping early ends the worker. `fault`: a failure for the
    worker to act out (tests only).
    """
    if not isinstance(sampling, (FixedRate, Uniform, AtTimes, Window)):
        raise InputError(f"sampling must be FixedRate, Uniform, AtTimes or Window, not {type(sampling).__name__}")
    request = _request("frames", path, backend=backend, size=size, batch_size=batch_size, timeout=timeout,
                       isolated=isolated, fault=fault, sampling=sampling)
    return _batches(request, isolated, timeout)  # arguments are checked now, decoding starts on first next()


def _batches(request: dict, isolated: bool, timeout: float) -> Iterator[list[Frame]]:
    for kind, payload in run(request, isolated=isolated, timeout=timeout):
        if kind == "batch":
            yield payload


def read_frames(path: str | os.PathLike, sampling: Sampling, **kwargs) -> list[Frame]:
    """All frames `sampling` picks, as one list (for small samples); same arguments as `iter_frames`."""
    return list(chain.from_iterable(iter_frames(path, sampling, **kwargs)))
