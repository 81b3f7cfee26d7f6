"""Parse model outputs: a multiple-choice letter (`longlens.eval.choice.parse_choice`), a time span in seconds,
free text.

Every parser returns None for output it cannot read; none of them raises on any string.
"""
from __future__ import annotations

import re

# Multiple choice (letters, reply cleaning, the letter a reply names) has one home for every layer.
from longlens.eval.choice import clean_reply, parse_choice

TASKS = ("qa", "mc", "ground")


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
            seconds = int(m.group("h")) * 3600 + int(m.group("m")) * 60 + float(m.group("s"))
            out.append((m.start(), m.end(), seconds, 1.0))
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
    body = clean_reply(text)
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


__all__ = ["TASKS", "clean_reply", "parse_answer", "parse_choice", "parse_span"]


def parse_answer(text: str | None, task: str = "qa", options: list[str] | None = None):
    """The parsed value of a reply: the letter (mc), the (start, end) span (ground), or the cleaned
    text (qa); None when unparseable."""
    if task == "mc":
        return parse_choice(text, options)
    if task == "ground":
        return parse_span(text)
    return clean_reply(text) or None
