"""Multiple-choice accuracy as VideoMME, LVBench and LongVideoBench report it: overall, then per category and
duration bucket, from `longlens answer`'s rows against the questions file.

Answers: JSON lines with an "id" and the letter in "choice" (`longlens answer` writes both the letter and the
raw reply); a row without "choice" has its reply ("answer", "response" or "pred") read by
`longlens.eval.choice.parse_choice` against the question's options. The last row for an id wins (resumed
runs append). A question is correct when the letter is its answer; a question without an answer row, with an
error row or with a reply naming no single option counts as wrong (and is counted), as the benchmarks score
a reply they cannot read. Questions whose answer is hidden (test splits) are not scored.

Breakdowns (`GROUPS`), each a field of the question file:
- VideoMME: duration (short / medium / long), domain, sub_category, task_type;
- LVBench: question_type (a question of several types counts in each), video type;
- LongVideoBench: duration_group (its 15 / 60 / 600 / 3600 s groups), question_category, level;
- ours: category, and duration bucketed on VideoMME's bounds (short <= 2 min, medium <= 15 min, long).
Figures are points (percent) with 2 decimals.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from longlens.core.errors import InputError
from longlens.data.datasets import QASample, detect_mcq_format, iter_jsonl, load_mcq
from longlens.eval.choice import parse_choice
from longlens.eval.score import points

log = logging.getLogger(__name__)

# breakdown name -> the QASample.extra field holding it (None: derived from QASample.duration)
GROUPS = {
    "videomme": {"duration": "duration_category", "domain": "domain", "sub_category": "sub_category",
                 "task_type": "task_type"},
    "lvbench": {"question_type": "question_type", "video_type": "type"},
    "longvideobench": {"duration_group": "duration_group", "question_category": "question_category",
                       "level": "level"},
    "longlens": {"category": "category", "duration": None},
}
DURATION_BUCKETS = (("short", 120.0), ("medium", 900.0), ("long", float("inf")))  # s, upper bounds (inclusive)
_ORDER = {name: i for i, (name, _) in enumerate(DURATION_BUCKETS)}
REPLY_FIELDS = ("answer", "response", "pred")
LAYOUT = 'JSON lines {"id", "choice": letter, "answer": reply, "status"} (longlens answer)'


def duration_bucket(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return next(name for name, top in DURATION_BUCKETS if seconds <= top)


def letter_of(row: dict | None, options: Sequence[str]) -> str:
    """The letter an answer row names, else why none: "missing" (no row), "failed" (an error row) or
    "unparsed" (a reply naming no single option)."""
    if row is None:
        return "missing"
    if row.get("status", "ok") != "ok":
        return "failed"
    if "choice" in row:
        letter = parse_choice(row["choice"], options)
    else:
        letter = parse_choice(next((row[k] for k in REPLY_FIELDS if k in row), None), options)
    return letter or "unparsed"


def mcq_accuracy(predictions: dict[str, Any], samples: Sequence[QASample]) -> float:
    """Fraction of `samples` with a known answer whose prediction (by id: a letter in any usual form, a
    reply, an option's text or its index) names the right letter; a missing prediction is wrong."""
    scored = [s for s in samples if s.answer is not None]
    if not scored:
        return 0.0
    return sum(parse_choice(predictions.get(s.id), s.options) == s.answer for s in scored) / len(scored)


def read_answers(path: str | os.PathLike) -> tuple[dict[str, dict], int]:
    """id -> the last answer row for it, and the number of unreadable lines (logged). InputError when no line
    can be read, naming the layout expected and the first bad line."""
    rows: dict[str, dict] = {}
    bad: list[str] = []
    for n, rec, problem in iter_jsonl(path):
        if not problem and "id" not in rec:
            problem = "missing field 'id'"
        if problem:
            bad.append(f"line {n}: {problem}")
            if len(bad) <= 5:
                log.warning("%s, %s", path, bad[-1])
            continue
        rows[str(rec["id"])] = rec
    if not rows:
        raise InputError(f"{path}: no row could be read as answers ({LAYOUT}); "
                         f"first bad row, {bad[0] if bad else 'the file: no rows'}")
    return rows, len(bad)


def _values(q: QASample, field: str | None) -> list:
    """The group values of question q for one breakdown (several for a list field; none when absent)."""
    v = duration_bucket(q.duration) if field is None else q.extra.get(field)
    if v is None or v == "":
        return []
    return [str(x) for x in v] if isinstance(v, (list, tuple)) else [v]


def _sort_key(v) -> tuple:
    return (v not in _ORDER, _ORDER.get(v, 0), not isinstance(v, (int, float)), v if isinstance(v, (int, float)) else 0,
            str(v))


def evaluate_qa(pred: str | os.PathLike, gt: str | os.PathLike, *, gt_format: str = "auto",
                video_dir: str | os.PathLike | None = None) -> dict:
    """Accuracy of answer file `pred` on question file `gt` (module doc). Returns {"accuracy": points,
    "groups": {breakdown: {value: {"accuracy", "questions"}}}, "counts": {...}}; InputError when the files
    cannot be read or no question has a known answer."""
    layout = detect_mcq_format(gt) if gt_format == "auto" else gt_format
    questions = load_mcq(gt, layout, video_dir)
    rows, malformed = read_answers(pred)
    scored = [q for q in questions if q.answer is not None]
    if not scored:
        raise InputError(f"{gt}: no question has a known answer to score against")
    picked = {q.id: letter_of(rows.get(q.id), q.options) for q in scored}
    right = {q.id: picked[q.id] == q.answer for q in scored}
    groups: dict[str, dict] = {}
    for name, field in GROUPS[layout].items():
        members: dict[Any, list[bool]] = {}
        for q in scored:
            for v in _values(q, field):
                members.setdefault(v, []).append(right[q.id])
        if members:
            groups[name] = {str(v): {"accuracy": points(sum(hits) / len(hits)), "questions": len(hits)}
                            for v, hits in sorted(members.items(), key=lambda kv: _sort_key(kv[0]))}
    known = {q.id for q in questions}
    outcome = list(picked.values())
    counts = {"format": layout, "questions": len(questions), "scored": len(scored), "correct": sum(right.values()),
              **{why: outcome.count(why) for why in ("missing", "failed", "unparsed")},
              "malformed": malformed, "unknown": sum(i not in known for i in rows)}
    return {"accuracy": points(counts["correct"] / len(scored)), "groups": groups, "counts": counts}


def qa_table(result: dict) -> str:
    """An `evaluate_qa` result as text: overall accuracy, each breakdown, then the counts."""
    names = [str(v) for g in result["groups"].values() for v in g]
    width = max([len("accuracy"), *(len(n) + 2 for n in names)])
    lines = [f"{'accuracy':<{width}}  {result['accuracy']:>6.2f}  ({result['counts']['scored']} questions)"]
    for group, values in result["groups"].items():
        lines.append(group)
        lines += [f"  {v:<{width - 2}}  {s['accuracy']:>6.2f}  ({s['questions']})" for v, s in values.items()]
    c = result["counts"]
    lines.append(f"{c['correct']} of {c['scored']} correct ({c['format']} questions); missing {c['missing']}, "
                 f"failed {c['failed']}, unreadable replies {c['unparsed']}, unreadable rows {c['malformed']}, "
                 f"unknown ids {c['unknown']}")
    return "\n".join(lines)
