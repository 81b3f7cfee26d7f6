"""Every error class longlens raises on purpose: one class per cause, all under LonglensError.

Code decides by class (or by an error's `reason`), never by reading its message; the CLI prints the message
and exits 2.
"""
from __future__ import annotations


class LonglensError(Exception):
    """Base of every error longlens raises on purpose; its message names the problem."""


class InputError(LonglensError, ValueError):
    """A bad argument or input record (empty query, k <= 0, malformed JSONL line, ...)."""


class UnsafePathError(InputError):
    """A name that would reach outside a folder it must stay in (.., absolute path, symlink pointing out)."""


class VideoError(LonglensError):
    """A video could not be read; subclasses name the cause. Messages start with the file's path."""


class VideoNotFoundError(VideoError, FileNotFoundError):
    """The path does not exist (or is not a readable file)."""


class NotAVideoError(VideoError):
    """The file is not a container FFmpeg can read (a text file renamed .mp4, random bytes, ...)."""


class NoVideoStreamError(VideoError):
    """The file is empty, or holds no video stream (audio only), or its video stream has no frames."""


class TruncatedVideoError(VideoError):
    """The file was cut short and no frames can be recovered (e.g. an MP4 whose index was never written).

    When frames up to the damage can be decoded they are returned with a `TruncatedVideoWarning` instead.
    """


class NoAudioStreamError(VideoError):
    """The video has no audio stream (or not the track asked for): nothing can be heard in it."""


class UnsupportedCodecError(VideoError):
    """The video stream uses a codec no available decoder handles."""


class VideoDecodeError(VideoError):
    """The decoder failed. `reason` says how: "crashed" (its worker process died, e.g. a segfault), "hung"
    (no word from its worker within the timeout) or "failed" (it raised mid-stream)."""

    REASONS = ("crashed", "hung", "failed")

    def __init__(self, message: str, *, reason: str = "failed") -> None:
        if reason not in self.REASONS:
            raise ValueError(f"reason must be one of {self.REASONS}, got {reason!r}")
        super().__init__(message)
        self.reason = reason

    def __reduce__(self):  # keep `reason` across pickling (worker processes, Ray)
        return (_decode_error, (str(self), self.reason))


def _decode_error(message: str, reason: str) -> VideoDecodeError:
    return VideoDecodeError(message, reason=reason)


class ModelUnavailableError(LonglensError):
    """A model's weights cannot be loaded (no local file, no hub access). The channel is dropped, never faked.

    `summary` is one short line for display (the message itself may name every path that was tried)."""

    def __init__(self, message: str, *, summary: str | None = None) -> None:
        super().__init__(message)
        self.summary = summary or (message.splitlines()[0] if message else "")

    def __reduce__(self):
        return (_model_error, (str(self), self.summary))


def _model_error(message: str, summary: str) -> ModelUnavailableError:
    return ModelUnavailableError(message, summary=summary)


class CacheError(LonglensError):
    """An index or cache file on disk is truncated, corrupt or of another version; the message names the file."""


class TranscodeError(LonglensError):
    """A video could not be turned into a browser-playable copy (names the file and the cause)."""


class VideoWarning(UserWarning):
    """Something about a video was off, but frames were still returned."""


class TruncatedVideoWarning(VideoWarning):
    """The file is cut short: only frames before the damage were returned."""
