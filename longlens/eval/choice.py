"""Multiple choice in one place: option letters, option lines, and reading the letter a reply names.

Prompts (lvlm.prompts), reply parsing (lvlm.parse), dataset loaders (data.datasets) and metrics all use these,
so a letter means the same thing everywhere. Imports nothing but `re` and core.errors: any layer may use it.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from longlens.core.errors import InputError

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
STYLES = ("dot", "paren")  # "A. text" (VideoMME, LongVideoBench) | "(A) text" (LVBench)


def letters(n: int) -> list[str]:
    """The first n option letters; a question has 2 to 26 options."""
    if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= len(LETTERS):
        raise InputError(f"a multiple-choice question needs 2 to {len(LETTERS)} options, got {n!r}")
    return list(LETTERS[:n])


def letter_index(letter: str, n: int | None = None) -> int:
    """"C" -> 2; InputError when it is not one of the first n letters (n=None: any of the 26)."""
    valid = LETTERS if n is None else LETTERS[:n]
    if not isinstance(letter, str) or len(letter.strip()) != 1 or letter.strip().upper() not in valid:
        raise InputError(f"{letter!r} is not an option letter ({valid[0]}-{valid[-1]})")
    return LETTERS.index(letter.strip().upper())


_LETTERED = re.compile(r"^\s*(?:\(([A-Z])\)|\[([A-Z])\]|([A-Z])[.:)])\s*")


def strip_letter(option: Any) -> str:
    """'A. red car' / '(A) red car' / 'A) red car' / 'A: red car' -> 'red car'. 'A man' keeps its article."""
    return _LETTERED.sub("", str(option), count=1).strip()


def option_lines(options: Sequence[str], style: str = "dot") -> list[str]:
    """The options with fresh letters ("A. text" or "(A) text"); letters already on the options are replaced."""
    if style not in STYLES:
        raise InputError(f"unknown option style {style!r}; choose from {', '.join(STYLES)}")
    marks = letters(len(options))
    form = "{}. {}" if style == "dot" else "({}) {}"
    return [form.format(m, strip_letter(o)) for m, o in zip(marks, options)]


def format_options(options: Sequence[str], style: str = "dot") -> str:
    """`option_lines` as one block of lines, for a prompt or an inline question (LVBench)."""
    return "\n".join(option_lines(options, style))


_INLINE = re.compile(r"\n\s*\(([A-Z])\)\s*")


def split_options(text: str) -> tuple[str, list[str]]:
    """A question with its options inline ("Why?\\n(A) x\\n(B) y", LVBench) -> ("Why?", ["x", "y"])."""
    parts = _INLINE.split("\n" + str(text).strip())
    return parts[0].strip(), [p.strip() for p in parts[2::2]]


# ---------------------------------------------------------------- replies

_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S | re.I)
_LABEL = re.compile(r"^(?:final\s+)?answer\s*[:\-]\s*", re.I)


def clean_reply(text: str | None) -> str:
    """A model reply without <think>...</think> blocks (an unfinished one drops the rest), surrounding
    whitespace and a leading 'Answer:' label."""
    if not text:
        return ""
    return _LABEL.sub("", _THINK.sub("", str(text)).strip()).strip()


# a reply that starts with the letter: "B", "B.", "(C)", "[D]", "**A**", "C) text", "D. text", "B The dog"
_LEAD = re.compile(r"^[(\[]?\**([A-Z])\**[)\]]?(?:[.:,)\]]|\s*$|\s+(?=[A-Z0-9\"'(]))")
# "the answer is B", "Option (C)", "The correct choice would be D"
_PHRASE = re.compile(
    r"(?i:\b(?:the\s+)?(?:best\s+|correct\s+|final\s+)?(?:answer|option|choice)\s*(?:is|would\s+be|should\s+be|:)?)"
    r"\s*[:\-]?\s*[(\[]?\**([A-Z])\**[)\]]?(?!\w)")
_MARKED = re.compile(r"\*\*([A-Z])\*\*|[(\[]([A-Z])[)\]]")  # "**B**", "(B)" anywhere
_LONE = re.compile(r"(?<![A-Za-z'])([A-Z])(?![A-Za-z'])")
_ARTICLE = re.compile(r"\s+[a-z]")  # "A man ...": "A" as an article, not a letter


def _words(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()


def parse_choice(reply: Any, options: Sequence[str] | int | None = None) -> str | None:
    """The option letter a reply names, or None when it names no single valid option. Never raises.

    reply: a model reply or a prediction field: a letter in any usual form ("B", "(C)", "The answer is D.",
    "**A**"), an option's text, or an int option index (0 = "A"). options: the option texts (or their
    count) -- they bound the letters and let a reply that quotes an option's text count.
    """
    n = options if isinstance(options, int) and not isinstance(options, bool) else \
        (len(options) if options else len(LETTERS))
    valid = LETTERS[:max(0, min(n, len(LETTERS)))]
    if isinstance(reply, bool) or reply is None:
        return None
    if isinstance(reply, int):
        return valid[reply] if 0 <= reply < len(valid) else None
    body = clean_reply(reply).strip("*\"' \n\t")
    if not body:
        return None
    texts = [_words(strip_letter(o)) for o in options] if not isinstance(options, int) and options else []
    said = _words(body)
    if said and said in texts and texts.count(said) == 1:  # exactly an option's text
        return valid[texts.index(said)]
    m = _LEAD.match(body)
    if m:
        return m.group(1) if m.group(1) in valid else None
    for rx in (_PHRASE, _MARKED):
        for m in rx.finditer(body):
            letter = next(g for g in m.groups() if g)
            if letter in valid:
                return letter
    hits = [i for i, t in enumerate(texts) if t and t in said]
    if len(hits) == 1:  # quotes one option's text inside a sentence
        return valid[hits[0]]
    lone = {m.group(1) for m in _LONE.finditer(body)
            if m.group(1) in valid and not (m.group(1) == "A" and _ARTICLE.match(body, m.end()))}
    return lone.pop() if len(lone) == 1 else None
