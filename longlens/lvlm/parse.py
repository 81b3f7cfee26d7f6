"""Parse model outputs: a multiple-choice letter, a time span in seconds, free text.

Every parser returns None for output it cannot read; none of them raises on any string.
"""
from __future__ import annotations

import re

TASKS = ("qa", "mc", "ground")

_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S | re.I)


def clean(text: str | None) -> str:
    """Drop <think>...</think> blocks, surrounding whitespace and a leading 'Answer:' label."""
    if not text:
        return ""
    text = _THINK.sub("", str(text)).strip()
    return re.sub(r"^(?:final\s+)?answer\s*[:\-]\s*", "", text, flags=re.I).strip()


# ---------------------------------------------------------------- multiple choice

_LEAD = re.compile(r"^[\(\[]?\**([A-Z])\**[\)\]]?(?:[.:,)\]]|\s*$|\s+(?=[A-Z0-9\"'(]))")
_PHRASE = re.compile(
    r"(?i:\b(?:the\s+)?(?:best\s+|correct\s+|final\s+)?(?:answer|option|choice)\s*(?:is|would\s+be|should\s+be|:)?)"
    r"\s*[:\-]?\s*[\(\[]?\**([A-Z])\**[\)\]]?(?![\w])"
)
_LONE = re.compile(r"(?<![A-Za-z'])([A-Z])(?![A-Za-z'])")
_ARTICLE = re.compile(r"\s+[a-z]")
_MARKED = re.compile(r"\*\*([A-Z])\*\*|[\(\[]([A-Z])[\)\]]")


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()


def parse_choice(text: str | None, options: list[str] | int | None = None) -> str | None:
    """The option letter a model chose ("B", "(C)", "The answer is D.", "**A**", or the option's text).

    options: the option texts (or their count) to bound the letters and to match a reply that quotes
    an option instead of its letter. Returns None when no single valid letter can be read.
    """
    from longlens.lvlm.prompts import strip_letter

    body = clean(text).strip("*\"' \n\t")
    if not body:
        return None
    n = options if isinstance(options, int) else (len(options) if options else 26)
    valid = {chr(ord("A") + i) for i in range(max(0, min(n, 26)))}
    m = _LEAD.match(body)
    if m:
        return m.group(1) if m.group(1) in valid else None
    for rx in (_PHRASE, _MARKED):
        for m in rx.finditer(body):
            letter = next(g for g in m.groups() if g)
            if letter in valid:
                return letter
    if isinstance(options, list) and options:
        said = _norm(body)
        hits = [i for i, o in enumerate(options) if _norm(strip_letter(o)) and _norm(strip_letter(o)) in said]
        if len(hits) == 1:
            return chr(ord("A") + hits[0])
    # a single stand-alone capital letter ("I think it's B"); "A" as an article ("A man ...") doesn't count
    lone = {m.group(1) for m in _LONE.finditer(body)
            if m.group(1) in valid and not (m.group(1) == "A" and _ARTICLE.match(body, m.end()))}
    return lone.pop() if len(lone) == 1 else None


# ---------------------------------------------------------------- time spans

_UNITS = {"h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
          "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
          "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0}
_TIME = re.compile(
    r"(?<![\w.:])(?:"
    r"(?P<h>\d+):(?P<m>[0-5]?\d):(?P<s>[0-5]?\d(?:\.\d+)?)"  # h:mm:ss
    r"|(?P<mm>\d+):(?P<ss>[0-5]?\d(?:\.\d+)?)"  # mm:ss
    r"|(?P<num>\d+(?:\.\d+)?)(?:\s*(?P<unit>hours?|hrs?|h|minutes?|mins?|seconds?|secs?|s)\b)?"
    r")(?![\w:]|\.\d)",
    re.I,
)
_JOIN = re.compile(r"\s*(?:-{1,2}|–|—|~|→|->|to|until|till|through|and|,)\s*", re.I)
_LABELED = re.compile(r"(?i:\bstart(?:s|ing)?(?:\s+time)?\b)(?P<a>.{0,24}?)(?i:\bend(?:s|ing)?(?:\s+time)?\b)", re.S)


def _times(text: str) -> list[tuple[int, int, float, float | None]]:
    """(start, end, number, unit scale in s or None when no unit) of each time expression in text."""
    out = []
    for m in _TIME.finditer(text):
        if m.group("h") is not None:
            out.append((m.start(), m.end(), int(m.group("h")) * 3600 + int(m.group("m")) * 60 + float(m.group("s")), 1.0))
        elif m.group("mm") is not None:
            out.append((m.start(), m.end(), int(m.group("mm")) * 60 + float(m.group("ss")), 1.0))
        else:
            unit = (m.group("unit") or "").lower()
            out.append((m.start(), m.end(), float(m.group("num")), _UNITS[unit] if unit else None))
    return out


def _pair(a: tuple, b: tuple) -> tuple[float, float]:
    """Seconds of two joined times; a unit stated on one side only applies to both ("2 and 3 minutes")."""
    sa, sb = a[3], b[3]
    sa, sb = sa or sb or 1.0, sb or sa or 1.0
    x, y = a[2] * sa, b[2] * sb
    return (min(x, y), max(x, y))


def parse_span(text: str | None) -> tuple[float, float] | None:
    """A time span in seconds from text like "from 12.5 s to 30 s", "00:12–00:30", "[12.5, 30.0]",
    "1:02:03 - 1:02:10", "between 2 and 3 minutes", "start: 12 s, end: 30 s". (start, end), start <= end,
    or None when no span is stated."""
    body = clean(text)
    if not body:
        return None
    times = _times(body)
    for a, b in zip(times, times[1:]):
        gap = re.sub(r"[<>\[\]()\"']", " ", body[a[1]:b[0]])
        if _JOIN.fullmatch(gap):
            return _pair(a, b)
    m = _LABELED.search(body)
    if m:  # "start time: 12 s ... end time: 30 s"
        start = [t for t in times if m.start("a") <= t[0] < m.end("a")]
        end = [t for t in times if t[0] >= m.end()]
        if start and end:
            return _pair(start[0], end[0])
    return None


def parse_answer(text: str | None, task: str = "qa", options: list[str] | None = None):
    """The parsed value of a reply: the letter (mc), the (start, end) span (ground), or the cleaned
    text (qa); None when unparseable."""
    if task == "mc":
        return parse_choice(text, options)
    if task == "ground":
        return parse_span(text)
    body = clean(text)
    return body or None
