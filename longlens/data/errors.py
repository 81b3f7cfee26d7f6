"""Error classes: one per cause, all under LonglensError so the CLI can report them cleanly."""
from __future__ import annotations


class LonglensError(Exception):
    """Base of every error longlens raises on purpose; its message names the problem."""


class InputError(LonglensError, ValueError):
    """A bad argument or input record (empty query, k <= 0, malformed JSONL line, ...)."""
