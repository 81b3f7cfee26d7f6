"""Answer parsers on a table of real-looking model outputs; unreadable output gives None, never an exception."""
from __future__ import annotations

import string

import pytest

from longlens.lvlm.parse import clean_reply, parse_answer, parse_choice, parse_span

OPTIONS = ["A. A man opens the door.", "B. A dog is barking", "C. The red car leaves", "D. Nobody appears"]


@pytest.mark.parametrize("reply,letter", [("The answer is D.", "D"), ("<think>maybe A?</think>\n\nC", "C"),
                                          ("a dog is barking", "B"), ("B or C", None)])
def test_mc_answers_are_the_choice_modules(reply, letter):
    """Multiple choice is read by longlens.eval.choice (its own tests hold the full table of replies)."""
    assert parse_answer(reply, "mc", OPTIONS) == parse_choice(reply, OPTIONS) == letter


SPANS = [
    ("from 12.5 s to 30 s", (12.5, 30.0)),
    ("The event happens from 12.5s to 30.0s.", (12.5, 30.0)),
    ("00:12–00:30", (12.0, 30.0)),
    ("00:12 - 00:30", (12.0, 30.0)),
    ("[12.5, 30.0]", (12.5, 30.0)),
    ("[12, 30]s", (12.0, 30.0)),
    ("1:02:03 - 1:02:10", (3723.0, 3730.0)),
    ("0:59:58 – 1:00:04", (3598.0, 3604.0)),
    ("<12.5s> to <30.0s>", (12.5, 30.0)),
    ("The man opens the door between 2 and 3 minutes into the video.", (120.0, 180.0)),
    ("from 1.5 min to 2 min", (90.0, 120.0)),
    ("start time: 12.5 s, end time: 30 s", (12.5, 30.0)),
    ('{"start": 3.0, "end": 9.5}', (3.0, 9.5)),
    ("Answer: 2 people, seen from 10 s to 20 s", (10.0, 20.0)),
    ("The 2nd clip, from 30s to 12s", (12.0, 30.0)),  # reversed ends are ordered
    ("12.5-30", (12.5, 30.0)),
    ("It happens at 45 seconds.", None),  # a single time is not a span
    ("I could not find it.", None),
    ("", None),
    ("version 1.5.2 of the video", None),
]


@pytest.mark.parametrize("reply,span", SPANS)
def test_parse_span(reply, span):
    got = parse_span(reply)
    assert got == (pytest.approx(span) if span else None)
    assert parse_answer(reply, "ground") == got


def test_free_text():
    assert parse_answer("  Answer: The vault code is 8142.  ", "qa") == "The vault code is 8142."
    assert parse_answer("<think>hmm</think>red", "qa") == "red"
    assert parse_answer("<think>only thinking", "qa") is None
    assert clean_reply(None) == ""


def test_parsers_never_raise_on_garbage(rng):
    alphabet = list(string.printable + "–—→<>[](){}:.,�答案")
    for _ in range(300):
        s = "".join(rng.choice(alphabet, rng.integers(0, 61)))
        for task in ("qa", "mc", "ground"):
            parse_answer(s, task, OPTIONS)
        c = parse_choice(s, 4)
        assert c is None or c in "ABCD"
        span = parse_span(s)
        assert span is None or span[0] <= span[1]
