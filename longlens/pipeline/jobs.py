"""Batch jobs: read and validate job files, one `Job` per grounding query or multiple-choice question.

A grounding job names a video, or a library (a folder indexed by `longlens index`: the query is then searched
across it first), and either a text `query` or an `image` (a path); a question job names a video, the question
(in `query`) and its `options`. In our own JSON-lines layouts malformed lines do not stop a
batch: each becomes an error row keyed by its id, else `line:N`; duplicate ids are rejected up front with their
line numbers, since "one output line per id" cannot hold otherwise.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from longlens.core.errors import InputError
from longlens.core.registry import GROUNDING_FORMATS, QA_FORMATS
from longlens.data.datasets import detect_mcq_format, iter_jsonl, load_grounding, load_mcq, mcq_record

LIBRARY_GROUP = 8  # library jobs per work item: each searches the whole library, so they spread over workers


@dataclass(frozen=True)
class Job:
    id: str
    video: str | None  # None for a job over a library
    query: str | None = None  # the text query (grounding) or the question
    image: str | None = None
    line: int = 0  # 1-based line number in the input file (0 when made in code)
    options: tuple[str, ...] = ()  # a multiple-choice question's options
    library: str | None = None  # the library folder searched when the job names no video


def error_row(job_id: str, error: str, *, video: str | None = None, **extra) -> dict:
    row = {"id": job_id, "status": "error", "error": error}
    if video is not None:
        row["video"] = video
    return {**row, **extra}


def _job_from_record(rec, n: int, base: Path, library: str | None = None) -> Job:
    if "id" not in rec:
        raise InputError(f"line {n}: missing field 'id'")
    if not isinstance(rec["id"], (str, int)) or isinstance(rec["id"], bool):
        raise InputError(f"line {n}: field 'id' must be a string or integer, got {type(rec['id']).__name__}")
    if "video" in rec and "library" in rec:
        raise InputError(f"line {n}: give 'video' or 'library', not both")
    for name in ("video", "library"):
        if name in rec and (not isinstance(rec[name], str) or not rec[name].strip()):
            raise InputError(f"line {n}: field '{name}' must be a non-empty string")
    if "video" not in rec and "library" not in rec and library is None:
        raise InputError(f"line {n}: no 'video' (and no 'library'): name the video, or the library to search "
                         "(a line's 'library', or --library DIR for every line without one)")
    query, image = rec.get("query"), rec.get("image")
    if (query is None) == (image is None):
        raise InputError(f"line {n}: give exactly one of 'query' or 'image'")
    for name, value in (("query", query), ("image", image)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InputError(f"line {n}: field '{name}' must be a non-empty string")

    def resolve(p: str | None) -> str | None:  # relative paths are relative to the job file
        return None if p is None else str(p if Path(p).is_absolute() else base / p)

    video = resolve(rec.get("video"))
    return Job(id=str(rec["id"]), video=video, query=query, image=resolve(image), line=n,
               library=None if video is not None else resolve(rec["library"]) if "library" in rec else library)


def read_jobs(path: str | Path, *, format: str = GROUNDING_FORMATS.default,
              video_dir: str | Path | None = None, library: str | Path | None = None) -> tuple[list[Job], list[dict]]:
    """Read a job file in one of core.registry.GROUNDING_FORMATS. Returns (jobs, error rows for malformed lines).

    "longlens": ours, `{"id", "video", "query"}` or `{"id", "video", "image"}` per line, or `"library": DIR`
    instead of the video (the query is then searched across that library), or neither when `library` (the
    default library, --library) is given. Paths in a line are relative to the file. Extra fields such as
    "windows" are ground truth for `longlens eval`. Read here rather than by data.datasets.load_grounding
    because a batch goes on past a malformed line: each becomes an error row.
    The benchmarks' own layouts (charades, qvhighlights, activitynet) are read by data.datasets, whole
    (a malformed line is an InputError naming it); `video_dir` is where their videos live.
    Raises InputError if the file is unreadable or ids repeat (naming the lines).
    """
    path = Path(path)
    GROUNDING_FORMATS.check(format)
    if not path.is_file():
        raise InputError(f"job file not found: {path}")
    if format == "longlens":
        default = None if library is None else str(library)
        jobs, errors = _read_lines(path, lambda rec, n: _job_from_record(rec, n, path.parent, default))
    else:
        samples = load_grounding(path, format, video_dir)
        jobs = [Job(id=s.id, video=str(s.video), query=s.query, image=s.image, line=i + 1)
                for i, s in enumerate(samples)]
        errors = []
    _reject_duplicates(jobs)
    return jobs, errors


def _read_lines(path: Path, make: Callable[[dict, int], Job]) -> tuple[list[Job], list[dict]]:
    """A JSON-lines job file read line by line: `make(record, line number)` for each line, and an error row for
    each line that cannot be read or made into a job."""
    jobs, errors = [], []
    for n, rec, problem in iter_jsonl(path):
        try:
            if problem:
                raise InputError(f"line {n}: {problem}")
            jobs.append(make(rec, n))
        except InputError as e:
            rid = rec.get("id") if rec is not None and isinstance(rec.get("id"), (str, int)) else f"line:{n}"
            errors.append(error_row(str(rid), str(e), line=n))
    return jobs, errors


def _question_job(q, line: int) -> Job:
    return Job(id=q.id, video=str(q.video), query=q.question, line=line, options=tuple(q.options))


def read_questions(path: str | Path, *, format: str = "auto",
                   video_dir: str | Path | None = None) -> tuple[list[Job], list[dict], str]:
    """Read a multiple-choice question file in one of core.registry.QA_FORMATS ("auto": told by its first
    record). Returns (jobs, error rows for malformed lines, the format).

    "longlens": ours, `{"id", "video", "question", "options", ...}` per line (video paths relative to the file,
    or to `video_dir`), read line by line so that a malformed line becomes an error row. The benchmarks' own
    layouts are read whole by data.datasets.load_mcq (a malformed record is an InputError naming it); their
    videos are in `video_dir`. Raises InputError if the file is unreadable or ids repeat (naming the lines).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"question file not found: {path}")
    format = detect_mcq_format(path) if format == "auto" else QA_FORMATS.check(format)
    if format == "longlens":
        base = video_dir if video_dir is not None else path.parent

        def make(rec: dict, n: int) -> Job:
            try:
                (q,) = mcq_record(rec, "longlens", base)
            except InputError as e:
                raise InputError(f"line {n}: {e}") from None
            return _question_job(q, n)

        jobs, errors = _read_lines(path, make)
    else:
        jobs, errors = [_question_job(q, i + 1) for i, q in enumerate(load_mcq(path, format, video_dir))], []
    _reject_duplicates(jobs)
    return jobs, errors, format


def _reject_duplicates(jobs: list[Job]) -> None:
    lines = defaultdict(list)
    for j in jobs:
        lines[j.id].append(j.line)
    dups = {i: ls for i, ls in lines.items() if len(ls) > 1}
    if dups:
        shown = "; ".join(f"id {i!r} on lines {', '.join(map(str, ls))}" for i, ls in list(dups.items())[:10])
        more = f" (and {len(dups) - 10} more)" if len(dups) > 10 else ""
        raise InputError(f"duplicate job ids: {shown}{more}")


def group_by_video(jobs: list[Job]) -> dict[str, list[Job]]:
    """Jobs grouped per video (input order kept), so each video is indexed once and one worker takes its queries.

    Jobs over a library go in groups of LIBRARY_GROUP per library (keyed "library:DIR#N", never a video's
    path): each searches the whole library, so a group of them is one work item like a video's."""
    groups: dict[str, list[Job]] = defaultdict(list)
    count: dict[str, int] = defaultdict(int)
    for j in jobs:
        if j.library is None:
            groups[j.video].append(j)
        else:
            groups[f"library:{j.library}#{count[j.library] // LIBRARY_GROUP}"].append(j)
            count[j.library] += 1
    return dict(groups)
