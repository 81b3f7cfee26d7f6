"""Error classes: one per cause, all under LonglensError so the CLI can report them cleanly."""
from __future__ import annotations


class LonglensError(Exception):
    """Base of every error longlens raises on purpose; its message names the problem."""


class InputError(LonglensError, ValueError):
    """A bad argument or input record (empty query, k <= 0, malformed JSONL line, ...)."""


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


class UnsupportedCodecError(VideoError):
    """The video stream uses a codec no available decoder handles."""


class VideoDecodeError(VideoError):
    """The decoder failed: crashed (e.g. a segfault) or hung in its worker process, or raised mid-stream."""


class VideoWarning(UserWarning):
    """Something about a video was off, but frames were still returned."""


class TruncatedVideoWarning(VideoWarning):
    """The file is cut short: only frames before the damage were returned."""
