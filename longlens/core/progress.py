"""Progress bars on long work: shown when stderr is a terminal, silent otherwise, unless the caller says
(`show=True/False`; the CLI passes LONGLENS_PROGRESS down as the config field `progress`).

A caller that draws its own bar (the explorer's page) wraps the work in `report_progress(callback)`: every
bar created inside the block then also calls `callback(done, total, desc)` on each update, shown or not.
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
Listener = Callable[[float, "float | None", str], None]  # (done, total or None, description)

_listener: ContextVar[Listener | None] = ContextVar("longlens_progress_listener", default=None)


def progress_enabled(show: bool | None = None) -> bool:
    """`show` when given, else whether stderr is a terminal."""
    return sys.stderr.isatty() if show is None else bool(show)


@contextlib.contextmanager
def report_progress(callback: Listener) -> Iterator[None]:
    """Within the block (same thread or context), every progress bar also reports to `callback`."""
    token = _listener.set(callback)
    try:
        yield
    finally:
        _listener.reset(token)


class _Bar(tqdm):
    """tqdm that also tells the listener that was active when it was made (even while disabled)."""

    def __init__(self, iterable=None, *, listener: Listener, total=None, desc: str = "", **kw):
        self._listener, self._done, self._total, self._desc = listener, 0.0, total, desc
        super().__init__(iterable, total=total, desc=desc, **kw)

    def update(self, n: float | None = 1):
        self._done += 1 if n is None else n
        self._listener(self._done, self._total, self._desc)
        return super().update(n)

    def __iter__(self):
        for item in self.iterable:  # tqdm's own loop bypasses update(): count here instead
            yield item
            self.update(1)


def progress(iterable: Iterable[T] | None = None, *, total: int | float | None = None, desc: str = "", unit: str = "it",
             show: bool | None = None, **kw) -> tqdm:
    """A tqdm bar, drawn when `show` (default: when stderr is a terminal); a `report_progress` listener hears
    it either way."""
    listener = _listener.get()
    if listener is None:
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not progress_enabled(show), dynamic_ncols=True,
                    **kw)
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    return _Bar(iterable, total=total, desc=desc, unit=unit, disable=not progress_enabled(show), dynamic_ncols=True,
                listener=listener, **kw)
