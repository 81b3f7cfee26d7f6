"""Dataset formats for grounding and multiple-choice QA, read into two small dataclasses and written back.

Grounding: Charades-STA (`vid start end##query` lines), QVHighlights (JSONL, `relevant_windows`),
ActivityNet Captions (JSON: video -> timestamps + sentences), and our own JSONL
(`{"id", "video", "query", "image", "windows": [[s, e], ...], "duration"}`).
Multiple choice: VideoMME (rows with `options` ["A. ..."] and `answer` "A"), LVBench (JSONL, one video per
line, options inside the question as "(A) ..."), LongVideoBench (`candidates` + `correct_choice` index), and our
own JSONL (`{"id", "video", "question", "options": [...], "answer": "B", "duration", ...}`, video paths relative
to the file; other fields, such as a "category", are kept in `extra`).
Times are seconds. Every malformed record raises InputError naming the file and line (or record).
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from longlens.core.errors import InputError
from longlens.core.io import atomic_write_text
from longlens.core.registry import GROUNDING_FORMATS, QA_FORMATS
from longlens.eval.choice import letter_index, letters, option_lines, split_options, strip_letter

log = logging.getLogger(__name__)



def _window(w: Any, where: str) -> tuple[float, float]:
    try:
        s, e = (float(x) for x in w)
    except (TypeError, ValueError):
        raise InputError(f"{where}: a window must be [start, end] in seconds, got {w!r}") from None
    if not (math.isfinite(s) and math.isfinite(e)) or s < 0 or e < s:
        raise InputError(f"{where}: a window needs 0 <= start <= end, got {w!r}")
    return s, e


@dataclass
class GroundingSample:
    """One grounding query: find `query` (text) or `image` (path) in `video`; `windows` are the answers (s)."""

    id: str
    video: str
    query: str | None = None
    image: str | None = None
    windows: list[tuple[float, float]] = field(default_factory=list)
    duration: float | None = None  # s, when the dataset states it

    def __post_init__(self) -> None:
        self.id = str(self.id)
        if not self.query and not self.image:
            raise InputError(f"sample {self.id!r}: needs a text query or an image")
        self.windows = [_window(w, f"sample {self.id!r}") for w in self.windows]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["windows"] = [list(w) for w in self.windows]
        return {k: v for k, v in d.items() if v is not None}


@dataclass
class QASample:
    """One multiple-choice question about `video`; `answer` is a letter ("A", ...) or None when hidden."""

    id: str
    video: str
    question: str
    options: list[str]
    answer: str | None = None
    duration: float | None = None  # s
    windows: list[tuple[float, float]] = field(default_factory=list)  # time references (s), when given
    extra: dict = field(default_factory=dict)  # the layout's other fields (task type, category, ...)

    def __post_init__(self) -> None:
        self.id = str(self.id)
        if not self.question or len(self.options) < 2:
            raise InputError(f"question {self.id!r}: needs a question and at least two options")
        with _at(f"question {self.id!r}"):
            marks = letters(len(self.options))
        if self.answer is not None:
            with _at(f"question {self.id!r}: answer"):  # " b" -> "B"
                self.answer = marks[letter_index(self.answer, len(marks))]

    @property
    def answer_index(self) -> int | None:
        return None if self.answer is None else letter_index(self.answer)


# ---------------------------------------------------------------- JSON lines


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict | None, str | None]]:
    """(line number, record, None) for each JSON-object line, or (line number, None, problem) for a bad one."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    with open(path, encoding="utf-8", errors="replace") as f:  # bad bytes make a bad line, not a crash
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                yield n, None, f"not valid JSON ({e.msg} at column {e.colno})"
                continue
            if not isinstance(rec, dict):
                yield n, None, f"expected a JSON object, got {type(rec).__name__}"
                continue
            yield n, rec, None


def read_jsonl(path: str | os.PathLike, *, strict: bool = True) -> list[dict]:
    """The JSON objects of a JSONL file. strict: raise InputError at the first malformed line (naming it);
    otherwise log each malformed line with its number and skip it."""
    out = []
    for n, rec, problem in iter_jsonl(path):
        if problem:
            if strict:
                raise InputError(f"{path}:{n}: {problem}")
            log.warning("%s:%d: skipped: %s", path, n, problem)
            continue
        out.append(rec)
    return out


def write_jsonl(rows: list[dict], path: str | os.PathLike) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{e.lineno}: not valid JSON ({e.msg} at column {e.colno})") from None


def _video(name: str, video_dir: str | os.PathLike | None, suffix: str = ".mp4") -> str:
    if video_dir is None:
        return name
    return str(Path(video_dir) / (name if Path(name).suffix else name + suffix))


def _stem(video: str) -> str:
    p = Path(video)
    return p.stem if p.suffix.lower() in (".mp4", ".mkv", ".webm", ".avi", ".mov") else video


def _field(rec: dict, key: str):
    if key not in rec:
        raise InputError(f"missing field {key!r}")
    return rec[key]


@contextmanager
def _at(where: str) -> Iterator[None]:
    """Within the block, an InputError gets `where` (file and line, or record) put in front of its message:
    the one place a record's location is added, so the code inside never adds it itself."""
    try:
        yield
    except InputError as err:
        raise InputError(f"{where}: {err}") from None


def _records(path: str | os.PathLike) -> Iterator[tuple[str, dict]]:
    """(where, record) for each line of a JSONL file; InputError naming the line at the first malformed one."""
    for n, rec, problem in iter_jsonl(path):
        if problem:
            raise InputError(f"{path}:{n}: {problem}")
        yield f"{path}:{n}", rec


# ---------------------------------------------------------------- grounding formats


_CHARADES = re.compile(r"^(\S+)\s+([-+\d.eE]+)\s+([-+\d.eE]+)\s*##(.*)$")


def load_charades_sta(path: str | os.PathLike, video_dir: str | os.PathLike | None = None) -> list[GroundingSample]:
    """Charades-STA text: `VIDEO START END##query` per line. id = "VIDEO#LINE" (line number, 1-based)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            with _at(f"{path}:{n}"):
                m = _CHARADES.match(line.strip())
                if not m:
                    raise InputError(f"expected 'VIDEO START END##query', got {line.strip()[:80]!r}")
                vid, s, e, query = m.groups()
                if not query.strip():
                    raise InputError("empty query")
                out.append(GroundingSample(f"{vid}#{n}", _video(vid, video_dir), query.strip(), windows=[(s, e)]))
    return out


def write_charades_sta(samples: list[GroundingSample], path: str | os.PathLike) -> None:
    """One `VIDEO START END##query` line per window (times with 2 decimals, as the dataset has them)."""
    lines = [f"{_stem(s.video)} {a:.2f} {b:.2f}##{s.query}\n" for s in samples for a, b in s.windows]
    atomic_write_text(path, "".join(lines))


def load_qvhighlights(path: str | os.PathLike, video_dir: str | os.PathLike | None = None) -> list[GroundingSample]:
    """QVHighlights JSONL: `qid`, `query`, `vid`, `duration`, `relevant_windows` (absent on the test split)."""
    out = []
    for where, rec in _records(path):
        with _at(where):
            out.append(GroundingSample(str(_field(rec, "qid")), _video(str(_field(rec, "vid")), video_dir),
                                       _field(rec, "query"), windows=rec.get("relevant_windows") or [],
                                       duration=rec.get("duration")))
    return out


def write_qvhighlights(samples: list[GroundingSample], path: str | os.PathLike) -> None:
    rows = [{"qid": int(s.id) if s.id.isdigit() else s.id, "query": s.query, "duration": s.duration,
             "vid": _stem(s.video), "relevant_windows": [list(w) for w in s.windows]} for s in samples]
    write_jsonl(rows, path)


def load_activitynet(path: str | os.PathLike, video_dir: str | os.PathLike | None = None) -> list[GroundingSample]:
    """ActivityNet Captions JSON: {video: {"duration", "timestamps": [[s, e], ...], "sentences": [...]}}.
    One sample per sentence, id = "VIDEO#i"."""
    data = _read_json(path)
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object mapping video ids to annotations")
    out = []
    for vid, ann in data.items():
        with _at(f"{path}: video {vid!r}"):
            if not isinstance(ann, dict):
                raise InputError("expected an object")
            stamps, sents = _field(ann, "timestamps"), _field(ann, "sentences")
            if len(stamps) != len(sents):
                raise InputError(f"{len(stamps)} timestamps but {len(sents)} sentences")
            for i, (w, text) in enumerate(zip(stamps, sents)):
                with _at(f"sentence {i}"):
                    out.append(GroundingSample(f"{vid}#{i}", _video(vid, video_dir), text.strip(), windows=[w],
                                               duration=ann.get("duration")))
    return out


def write_activitynet(samples: list[GroundingSample], path: str | os.PathLike) -> None:
    data: dict[str, dict] = {}
    for s in samples:
        ann = data.setdefault(_stem(s.video), {"duration": s.duration, "timestamps": [], "sentences": []})
        for w in s.windows[:1]:
            ann["timestamps"].append(list(w))
            ann["sentences"].append(s.query)
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def load_grounding_jsonl(path: str | os.PathLike) -> list[GroundingSample]:
    """Our grounding JSONL: {"id", "video", "query" | "image", "windows", "duration"}."""
    out = []
    for where, rec in _records(path):
        with _at(where):
            out.append(GroundingSample(str(_field(rec, "id")), str(_field(rec, "video")), rec.get("query"),
                                       rec.get("image"), rec.get("windows") or [], rec.get("duration")))
    return out


def write_grounding(samples: list[GroundingSample], path: str | os.PathLike) -> None:
    write_jsonl([s.to_dict() for s in samples], path)


def detect_grounding_format(path: str | os.PathLike) -> str:
    """"longlens" | "charades" | "qvhighlights" | "activitynet", from the file's content."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    with open(path, encoding="utf-8") as f:
        first = next((line.strip() for line in f if line.strip()), "")
    if not first:
        raise InputError(f"{path}: the file is empty")
    if _CHARADES.match(first):
        return "charades"
    if first.startswith("{"):
        try:
            rec = json.loads(first)
        except json.JSONDecodeError:
            return "activitynet"  # a pretty-printed JSON document, not JSON lines
        if "relevant_windows" in rec or ("qid" in rec and "vid" in rec):
            return "qvhighlights"
        if "video" in rec and "id" in rec:
            return "longlens"
        if rec and all(isinstance(v, dict) and "timestamps" in v for v in rec.values()):
            return "activitynet"
    raise InputError(f"{path}: cannot tell the grounding format; pass one of {', '.join(GROUNDING_FORMATS)}")


def load_grounding(path: str | os.PathLike, format: str = "auto",
                   video_dir: str | os.PathLike | None = None) -> list[GroundingSample]:
    """Grounding samples from any format of core.registry.GROUNDING_FORMATS ("auto" detects it from the content)."""
    if format != "auto" and format not in GROUNDING_FORMATS:
        raise InputError(f"unknown grounding format {format!r}; choose from auto, {', '.join(GROUNDING_FORMATS)}")
    fmt = detect_grounding_format(path) if format == "auto" else format
    if fmt == "charades":
        return load_charades_sta(path, video_dir)
    if fmt == "qvhighlights":
        return load_qvhighlights(path, video_dir)
    if fmt == "activitynet":
        return load_activitynet(path, video_dir)
    return load_grounding_jsonl(path)  # "longlens"


# ---------------------------------------------------------------- multiple choice


_CLOCK = re.compile(r"(\d+(?::\d+){1,2}(?:\.\d+)?)\s*-\s*(\d+(?::\d+){1,2}(?:\.\d+)?)")


def _clock(s: str) -> float:
    v = 0.0
    for part in s.split(":"):
        v = v * 60 + float(part)
    return v


def _time_windows(ref: str | None) -> list[tuple[float, float]]:
    """Parse "MM:SS-MM:SS" / "HH:MM:SS-HH:MM:SS" references (several allowed); [] when none."""
    out = []
    for a, b in _CLOCK.findall(ref or ""):
        s, e = _clock(a), _clock(b)
        if e >= s:
            out.append((s, e))
    return out


def _rows(path: str | os.PathLike) -> list[dict]:
    """Records of a .json (list), .jsonl or .parquet file."""
    suffix = Path(path).suffix.lower()
    if suffix == ".jsonl":
        return read_jsonl(path)
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
        return pq.read_table(path).to_pylist()
    data = _read_json(path)
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of records")
    return data


def _videomme(rec: dict, video_dir) -> QASample:
    options = [strip_letter(o) for o in _field(rec, "options")]
    extra = {k: rec[k] for k in ("video_id", "domain", "sub_category", "task_type", "url") if k in rec}
    if "duration" in rec:
        extra["duration_category"] = rec["duration"]  # "short" | "medium" | "long", not seconds
    answer = rec.get("answer")
    return QASample(str(_field(rec, "question_id")), _video(str(_field(rec, "videoID")), video_dir),
                    str(_field(rec, "question")), options, answer.strip() if answer else None, extra=extra)


def _lvbench(rec: dict, video_dir) -> list[QASample]:
    key = str(_field(rec, "key"))
    info = rec.get("video_info") or {}
    duration = info.get("duration_minutes") * 60.0 if isinstance(info.get("duration_minutes"), (int, float)) else None
    out = []
    for i, qa in enumerate(_field(rec, "qa")):
        with _at(f"question {i}"):
            question, options = split_options(str(_field(qa, "question")))
            extra = {k: qa[k] for k in ("question_type", "time_reference") if k in qa}
            extra["type"] = rec.get("type")
            answer = qa.get("answer")
            out.append(QASample(str(qa.get("uid", f"{key}#{i}")), _video(key, video_dir), question, options,
                                answer.strip() if answer else None, duration, _time_windows(qa.get("time_reference")),
                                extra))
    return out


def _longvideobench(rec: dict, video_dir) -> QASample:
    options = [str(c) for c in _field(rec, "candidates")]
    choice = rec.get("correct_choice")
    if choice is not None and not (isinstance(choice, int) and 0 <= choice < len(options)):
        raise InputError(f"correct_choice {choice!r} is not an index into {len(options)} candidates")
    extra = {k: rec[k] for k in ("video_id", "subtitle_path", "starting_timestamp_for_subtitles", "position",
                                 "topic_category", "question_category", "level", "duration_group") if k in rec}
    return QASample(str(_field(rec, "id")), _video(str(_field(rec, "video_path")), video_dir),
                    str(_field(rec, "question")), options, None if choice is None else letters(len(options))[choice],
                    rec.get("duration"), extra=extra)


_OURS = ("id", "video", "question", "options", "answer", "duration", "windows")


def _longlens_mcq(rec: dict, base) -> QASample:
    video = str(_field(rec, "video"))
    if base is not None and not Path(video).is_absolute():
        video = str(Path(base) / video)
    options = [str(o) for o in _field(rec, "options")]
    windows = [_window(w, "windows") for w in rec.get("windows") or []]
    return QASample(str(_field(rec, "id")), video, str(_field(rec, "question")), options, rec.get("answer"),
                    rec.get("duration"), windows, {k: v for k, v in rec.items() if k not in _OURS})


def mcq_layout(rec: Any) -> str | None:
    """The layout of core.registry.QA_FORMATS one record belongs to, when its fields tell."""
    if not isinstance(rec, dict):
        return None
    if "qa" in rec and "key" in rec:
        return "lvbench"
    if "candidates" in rec:
        return "longvideobench"
    if "question_id" in rec or "videoID" in rec:
        return "videomme"
    if {"id", "video", "question", "options"} <= rec.keys():
        return "longlens"
    return None


def mcq_record(rec: Any, layout: str, video_dir: str | os.PathLike | None = None) -> list[QASample]:
    """The questions of one record of a question file in `layout` (LVBench: a video's questions; the others:
    one). video_dir: where the benchmarks' videos are; our own paths are relative to it (the file's folder)."""
    if not isinstance(rec, dict):
        raise InputError("expected an object")
    if layout == "videomme":
        return [_videomme(rec, video_dir)]
    if layout == "lvbench":
        return _lvbench(rec, video_dir)
    if layout == "longvideobench":
        return [_longvideobench(rec, video_dir)]
    return [_longlens_mcq(rec, video_dir)]


def _told(path, rows: list) -> str:
    layout = mcq_layout(rows[0]) if rows else None
    if layout is None:
        raise InputError(f"{path}: cannot tell the question layout from its first record; "
                         f"pass it, one of {', '.join(QA_FORMATS)}")
    return layout


def detect_mcq_format(path: str | os.PathLike) -> str:
    """The layout (core.registry.QA_FORMATS) of a question file, told by its first record's fields (in JSON
    lines, its first readable one)."""
    if Path(path).suffix.lower() == ".jsonl":
        return _told(path, [next((rec for _, rec, problem in iter_jsonl(path) if not problem), None)])
    return _told(path, _rows(path))


def load_mcq(path: str | os.PathLike, layout: str = "auto",
             video_dir: str | os.PathLike | None = None) -> list[QASample]:
    """Multiple-choice questions in a layout of core.registry.QA_FORMATS ("auto": told by the first record's
    fields), from .json (a list) / .jsonl / .parquet. Our own layout's video paths are relative to the file
    (or to `video_dir` when given)."""
    rows = _rows(path)
    layout = _told(path, rows) if layout == "auto" else QA_FORMATS.check(layout)
    if layout == "longlens" and video_dir is None:
        video_dir = Path(path).parent
    out: list[QASample] = []
    for i, rec in enumerate(rows):
        with _at(f"{path}: record {i + 1}"):
            out.extend(mcq_record(rec, layout, video_dir))
    return out


def write_mcq(samples: list[QASample], path: str | os.PathLike, layout: str = "videomme") -> None:
    """Write questions back in a layout (JSON list for videomme / longvideobench, JSONL per video for lvbench,
    JSONL per question for ours)."""
    if layout == "videomme":
        rows = [{**{k: v for k, v in s.extra.items() if k != "duration_category"},
                 "duration": s.extra.get("duration_category"), "videoID": _stem(s.video), "question_id": s.id,
                 "question": s.question, "options": option_lines(s.options),
                 "answer": s.answer} for s in samples]
        atomic_write_text(path, json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
    elif layout == "longvideobench":
        rows = [{**s.extra, "id": s.id, "video_path": Path(s.video).name, "duration": s.duration,
                 "question": s.question, "candidates": s.options, "correct_choice": s.answer_index}
                for s in samples]
        atomic_write_text(path, json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
    elif layout == "lvbench":
        videos: dict[str, dict] = {}
        for s in samples:
            v = videos.setdefault(_stem(s.video), {"key": _stem(s.video), "type": s.extra.get("type"), "qa": [],
                                                    "video_info": {"duration_minutes": s.duration / 60.0
                                                                   if s.duration else None}})
            text = s.question + "\n" + "\n".join(option_lines(s.options, "paren"))
            qa = {k: v for k, v in s.extra.items() if k != "type"}
            v["qa"].append({**qa, "uid": s.id, "question": text, "answer": s.answer})
        write_jsonl(list(videos.values()), path)
    elif layout == "longlens":
        write_jsonl([{**s.extra, "id": s.id, "video": s.video, "question": s.question, "options": s.options,
                      "answer": s.answer, "duration": s.duration, "windows": [list(w) for w in s.windows]}
                     for s in samples], path)
    else:
        QA_FORMATS.check(layout)
