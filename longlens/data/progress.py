"""Progress bars on long work: shown when stderr is a terminal (or forced), silent otherwise."""
from __future__ import annotations

import os
import sys
from typing import Iterable, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress_enabled() -> bool:
    force = os.environ.get("LONGLENS_PROGRESS", "").lower()
    if force in ("1", "true", "yes"):
        return True
    if force in ("0", "false", "no"):
        return False
    return sys.stderr.isatty()


def progress(iterable: Iterable[T] | None = None, *, total: int | float | None = None, desc: str = "", unit: str = "it", **kw) -> tqdm:
    """A tqdm bar that is disabled unless attached to a terminal (LONGLENS_PROGRESS=1 forces it)."""
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not progress_enabled(), dynamic_ncols=True, **kw)
