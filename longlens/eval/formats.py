"""Prediction files in the layouts benchmarks and their baselines write, read into one `Prediction` per query.

Layouts (`PREDICTION_FORMATS`; "auto" detects them from the first lines):
- longlens: JSON lines {"id", "segments": [[start, end, score], ...], "status"} (`longlens ground`);
  a row whose status is not "ok" is a failed query. The last row for an id wins (resumed jobs append).
- qvhighlights: JSON lines {"qid", "query", "vid", "pred_relevant_windows": [[start, end, score], ...],
  "pred_saliency_scores": [one per 2-s clip]} (moment_detr's submission layout, also used for Charades-STA
  by the DETR-style baselines).
- charades: text lines "VIDEO START END##query", the Charades-STA layout, one line per predicted window,
  best first; lines with the same video and query make one ranked list.
- timechat: a JSON object {key: {"timestamp": [[start, end], ...] | [start, end], "query", "vid"}}
  (TimeChat / TimeSuite grounding outputs for Charades-STA and ActivityNet Captions).
- activitynet: a JSON object {"results": {video: [{"sentence", "timestamp" | "segment": [start, end],
  "score"}]}} (the ActivityNet challenge results layout); entries with the same video and sentence make one
  ranked list (by score when every entry has one).
Windows without a score are ranked as listed. A row that cannot be read is counted and logged; a file in
which no row can be read is an InputError naming the layout it expected and the first bad line.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from longlens.core.errors import InputError
from longlens.core.registry import PREDICTION_FORMATS
from longlens.data.datasets import iter_jsonl

log = logging.getLogger(__name__)

LAYOUTS = {  # what each format looks like, for messages
    "longlens": 'JSON lines {"id", "segments": [[start, end, score], ...], "status"}',
    "qvhighlights": 'JSON lines {"qid", "query", "vid", "pred_relevant_windows": [[start, end, score], ...], '
                    '"pred_saliency_scores"}',
    "charades": "text lines 'VIDEO START END##query'",
    "timechat": 'a JSON object {key: {"timestamp": [[start, end], ...], "query", "vid"}}',
    "activitynet": 'a JSON object {"results": {video: [{"sentence", "timestamp": [start, end], "score"}]}}',
}
VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".mov")
_CHARADES = re.compile(r"^(\S+)\s+([-+\d.eE]+)\s+([-+\d.eE]+)\s*##(.*)$")
_LOGGED = 5  # bad rows logged one by one; the rest are only counted


@dataclass
class Prediction:
    """One query's prediction: ranked windows [K, 3] (start, end, score), best first; saliency [C'] per 2-s clip."""

    id: str | None
    windows: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    saliency: np.ndarray | None = None
    video: str | None = None
    query: str | None = None
    failed: bool = False  # an error row: the query was not answered

    @property
    def key(self) -> tuple[str, str] | None:
        return (video_key(self.video), query_key(self.query)) if self.video and self.query else None


def video_key(video: str) -> str:
    """"path/3MSZA.mp4" -> "3MSZA": the id a video is known by across layouts."""
    p = PurePath(str(video))
    return p.stem if p.suffix.lower() in VIDEO_SUFFIXES else p.name


def query_key(query: str) -> str:
    return " ".join(str(query).split()).casefold()


class _Bad(Exception):
    """A row that cannot be read (its message says why)."""


def _number(x: Any) -> float:
    if isinstance(x, bool):
        raise _Bad(f"{x!r} is not a number")
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise _Bad(f"{x!r} is not a number") from None
    if not math.isfinite(v):
        raise _Bad(f"{x!r} is not a finite number")
    return v


def _window(w: Any) -> list[float]:
    if not isinstance(w, (list, tuple)) or len(w) not in (2, 3):
        raise _Bad(f"a window must be [start, end] or [start, end, score], got {w!r}"[:160])
    vals = [_number(x) for x in w]
    if vals[1] < vals[0]:
        raise _Bad(f"window {w!r} ends before it starts")
    return vals


def _ranked(windows: list[list[float]]) -> np.ndarray:
    """[K, 3] rows in the given order; windows without a score get -rank so that score order is list order."""
    if any(len(w) == 2 for w in windows):
        windows = [[w[0], w[1], -float(i)] for i, w in enumerate(windows)]
    return np.array(windows, dtype=np.float64).reshape(-1, 3)


def _windows(raw: Any, name: str) -> np.ndarray:
    if not isinstance(raw, list):
        raise _Bad(f"missing or non-list {name!r}")
    if len(raw) in (2, 3) and not any(isinstance(x, (list, tuple)) for x in raw):
        raw = [raw]  # a single [start, end] (TimeChat writes both forms)
    return _ranked([_window(w) for w in raw])


def _field(rec: dict, key: str) -> Any:
    if key not in rec:
        raise _Bad(f"missing field {key!r}")
    return rec[key]


# ---------------------------------------------------------------- one reader per layout


def _jsonl(path, row: Callable[[dict], Prediction]) -> Iterator[tuple[str, Prediction | str]]:
    for n, rec, problem in iter_jsonl(path):
        if problem:
            yield f"line {n}", problem
            continue
        try:
            yield f"line {n}", row(rec)
        except _Bad as e:
            yield f"line {n}", str(e)


def _longlens_row(rec: dict) -> Prediction:
    rid = str(_field(rec, "id"))
    status = rec.get("status", "ok")
    if status != "ok":
        return Prediction(rid, video=rec.get("video"), query=rec.get("query"), failed=True)
    sal = rec.get("saliency")
    return Prediction(rid, _windows(_field(rec, "segments"), "segments"), _saliency(sal) if sal is not None else None,
                      rec.get("video"), rec.get("query"))


def _saliency(raw: Any) -> np.ndarray:
    if not isinstance(raw, list):
        raise _Bad("pred_saliency_scores must be a list of numbers")
    return np.array([_number(x) for x in raw], dtype=np.float64)


def _qvhighlights_row(rec: dict) -> Prediction:
    qid = str(_field(rec, "qid"))
    if "pred_relevant_windows" not in rec and "pred_saliency_scores" not in rec:
        raise _Bad("neither 'pred_relevant_windows' nor 'pred_saliency_scores'")
    windows = _windows(rec["pred_relevant_windows"], "pred_relevant_windows") if "pred_relevant_windows" in rec \
        else np.zeros((0, 3))
    sal = _saliency(rec["pred_saliency_scores"]) if "pred_saliency_scores" in rec else None
    return Prediction(qid, windows, sal, rec.get("vid"), rec.get("query"))


def _charades(path) -> Iterator[tuple[str, Prediction | str]]:
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            m = _CHARADES.match(line.strip())
            if not m:
                yield f"line {n}", f"expected 'VIDEO START END##query', got {line.strip()[:80]!r}"
                continue
            try:
                s, e = _window(m.group(2, 3))
                yield f"line {n}", Prediction(None, np.array([[s, e, np.nan]]), video=m.group(1),
                                              query=m.group(4).strip())
            except _Bad as e:
                yield f"line {n}", str(e)


def _object(path, key: str | None = None) -> dict:
    """The file's JSON object (or its `key` member); _Bad, naming the line, when it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8", errors="replace"))
    except json.JSONDecodeError as e:
        raise _Bad(f"line {e.lineno}: not valid JSON ({e.msg} at column {e.colno})") from None
    inner = data.get(key) if key is not None and isinstance(data, dict) else data
    if not isinstance(inner, dict):
        raise _Bad(f"expected a JSON object{f' with a {key!r} object' if key else ''}, got {type(data).__name__}")
    return inner


def _document(path, key: str | None, rows: Callable[[dict], Iterator]) -> Iterator[tuple[str, Prediction | str]]:
    """The rows of a whole-file JSON layout (`rows` of its object), or one bad row when it has no object."""
    try:
        data = _object(path, key)
    except _Bad as e:
        yield "the document", str(e)
        return
    yield from rows(data)


def _timechat(data: dict) -> Iterator[tuple[str, Prediction | str]]:
    for key, rec in data.items():
        try:
            if not isinstance(rec, dict):
                raise _Bad(f"expected an object, got {type(rec).__name__}")
            yield f"query {key!r}", Prediction(str(key), _windows(_field(rec, "timestamp"), "timestamp"),
                                               video=rec.get("vid"), query=rec.get("query"))
        except _Bad as e:
            yield f"query {key!r}", str(e)


def _activitynet(results: dict) -> Iterator[tuple[str, Prediction | str]]:
    for vid, entries in results.items():
        for i, e in enumerate(entries if isinstance(entries, list) else [entries]):
            where = f"video {vid!r}, entry {i}"
            try:
                if not isinstance(e, dict):
                    raise _Bad(f"expected an object, got {type(e).__name__}")
                w = _window(e["timestamp"] if "timestamp" in e else _field(e, "segment"))[:2]
                w.append(_number(e["score"]) if "score" in e else np.nan)
                text = e.get("sentence", e.get("query"))
                if not text:
                    raise _Bad("missing field 'sentence'")
                yield where, Prediction(None, np.array([w]), video=vid, query=text)
            except _Bad as err:
                yield where, str(err)


def _merge(rows: list[Prediction]) -> list[Prediction]:
    """Rows of one window each (charades, activitynet; score NaN when the row had none) -> one prediction per
    (video, query): ranked by score when every row has one, else as listed."""
    groups: dict[tuple, list[Prediction]] = {}
    for r in rows:
        groups.setdefault(r.key, []).append(r)
    out = []
    for same in groups.values():
        w = np.concatenate([r.windows for r in same])
        if np.isnan(w[:, 2]).any():
            w[:, 2] = -np.arange(len(w), dtype=np.float64)
        else:
            w = w[np.argsort(-w[:, 2], kind="stable")]
        out.append(Prediction(None, w, video=same[0].video, query=same[0].query))
    return out


_READERS = {
    "longlens": lambda p: _jsonl(p, _longlens_row),
    "qvhighlights": lambda p: _jsonl(p, _qvhighlights_row),
    "charades": _charades,
    "timechat": lambda p: _document(p, None, _timechat),
    "activitynet": lambda p: _document(p, "results", _activitynet),
}
_MERGED = ("charades", "activitynet")


def _kind(rec: Any) -> str | None:
    """The layout one parsed JSON value (a line or the whole document) belongs to, if it tells."""
    if not isinstance(rec, dict) or not rec:
        return None
    if "pred_relevant_windows" in rec or "pred_saliency_scores" in rec:
        return "qvhighlights"
    if "id" in rec and ("segments" in rec or "status" in rec):
        return "longlens"
    if isinstance(rec.get("results"), dict):
        return "activitynet"
    if all(isinstance(v, dict) and "timestamp" in v for v in rec.values()):
        return "timechat"
    return None


def detect_format(path: str | os.PathLike, lines: int = 20) -> str:
    """The prediction layout of a file, from its first `lines` non-empty lines (or the whole JSON document)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    first = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in (raw.strip() for raw in f):
            if not line:
                continue
            first = first or line
            if _CHARADES.match(line):
                return "charades"
            try:
                kind = _kind(json.loads(line))
            except json.JSONDecodeError:
                kind = None
            if kind:
                return kind
            lines -= 1
            if lines == 0:
                break
    if first is None:
        raise InputError(f"{path}: the prediction file is empty")
    if first[0] in "{[":  # a pretty-printed JSON document
        try:
            kind = _kind(json.loads(path.read_text(encoding="utf-8", errors="replace")))
        except json.JSONDecodeError:
            kind = None
        if kind:
            return kind
    raise InputError(f"{path}: cannot tell the prediction format from its first lines (the first: {first[:120]!r}); "
                     f"pass the format, one of: " + "; ".join(f"{k}: {LAYOUTS[k]}"
                                                               for k in PREDICTION_FORMATS))


def read_predictions(path: str | os.PathLike, format: str = "auto") -> tuple[list[Prediction], dict]:
    """The predictions of a file in any layout of PREDICTION_FORMATS ("auto" detects it), plus counts:
    {"format", "rows" (read), "malformed" (unreadable rows, logged), "failed" (error rows)}.
    InputError when the file has no readable row, naming the layout it expected and the first bad line."""
    fmt = detect_format(path) if format == "auto" else PREDICTION_FORMATS.check(format)
    if not Path(path).is_file():
        raise InputError(f"{path}: no such file")
    rows: list[Prediction] = []
    bad: list[tuple[str, str]] = []
    for where, item in _READERS[fmt](path):
        if isinstance(item, Prediction):
            rows.append(item)
            continue
        bad.append((where, item))
        if len(bad) <= _LOGGED:
            log.warning("%s, %s: not a %s prediction: %s", path, where, fmt, item)
    if not rows:
        where, problem = bad[0] if bad else ("the file", "no rows")
        raise InputError(f"{path}: no row could be read as {fmt} predictions ({LAYOUTS[fmt]}); "
                         f"first bad row, {where}: {problem}")
    if len(bad) > _LOGGED:
        log.warning("%s: %d rows in all could not be read as %s predictions", path, len(bad), fmt)
    if fmt in _MERGED:
        rows = _merge(rows)
    counts = {"format": fmt, "rows": len(rows), "malformed": len(bad), "failed": sum(r.failed for r in rows)}
    return rows, counts
