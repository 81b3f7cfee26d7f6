"""The output of a batch: one JSONL line per job id, appended durably as each item finishes.

Resume: rows already written with status "ok" are kept and their ids skipped; an error row is retried
once (its `attempts` counter says how often it ran); a torn last line (killed mid-write) is discarded.
The file is compacted atomically before appending again, so a finished job has exactly one line per id.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from longlens.core.errors import InputError
from longlens.core.io import append_line, atomic_open

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # an error is retried once on --resume


def read_rows(path: str | Path) -> tuple[list[dict], int]:
    """Complete rows of a JSONL output file, and the number of torn/invalid lines dropped."""
    data = Path(path).read_bytes()
    lines = data.split(b"\n")
    torn = 0
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:  # no trailing newline: the writer was killed mid-line
        lines.pop()
        torn += 1
    rows = []
    for raw in lines:
        try:
            row = json.loads(raw)
            if not isinstance(row, dict) or "id" not in row:
                raise ValueError
            rows.append(row)
        except ValueError:
            torn += 1
    return rows, torn


class ResultLog:
    """Append-only, fsynced JSONL of result rows with resume support."""

    def __init__(self, path: str | Path, *, resume: bool = False, overwrite: bool = False):
        self.path = Path(path)
        self.done: dict[str, dict] = {}  # id -> kept row
        self.attempts: dict[str, int] = {}  # id -> attempts so far, for ids to retry
        if self.path.exists() and self.path.stat().st_size and not (resume or overwrite):
            raise InputError(f"output {self.path} already exists: "
                             "pass --resume to continue it or --overwrite to start over")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if resume and self.path.exists():
                self._load()
            with atomic_open(self.path, "w") as f:  # compacted: kept rows only
                for row in self.done.values():
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
            self._f = open(self.path, "a", encoding="utf-8")
        except OSError as e:
            raise InputError(f"cannot write output {self.path}: {e.strerror or e}") from e

    def _load(self) -> None:
        rows, torn = read_rows(self.path)
        if torn:
            log.warning("%s: discarded %d torn or invalid line(s) from an interrupted run", self.path, torn)
        for row in rows:
            rid = str(row["id"])
            attempts = int(row.get("attempts", 1))
            if row.get("status") == "ok" or attempts >= MAX_ATTEMPTS:
                self.done[rid] = row
                self.attempts.pop(rid, None)
            else:
                self.done.pop(rid, None)
                self.attempts[rid] = attempts

    def pending(self, ids) -> list[str]:
        """The ids among `ids` that still need work."""
        return [i for i in ids if i not in self.done]

    def write(self, row: dict) -> None:
        rid = str(row["id"])
        if rid in self.done:
            log.warning("%s: id %r already has a row; not writing it twice", self.path, rid)
            return
        if row.get("status") != "ok":
            row = {**row, "attempts": self.attempts.get(rid, 0) + 1}
        append_line(self._f, json.dumps(row, ensure_ascii=False))
        self.done[rid] = row

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    def __enter__(self) -> ResultLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
