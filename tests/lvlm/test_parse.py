"""Answer parsers on a table of real-looking model outputs; unreadable output gives None, never an exception."""
from __future__ import annotations

import random
import string

import pytest

from longlens.lvlm.parse import clean, parse_answer, parse_choice, parse_span

OPTIONS = ["A. A man opens the door.", "B. A dog is barking", "C. The red car leaves", "D. Nobody appears"]

CHOICES = [
    ("B", "B"),
    ("B.", "B"),
    ("(C)", "C"),
    ("C) The red car leaves", "C"),
    ("D. Nobody appears", "D"),
    ("The answer is D.", "D"),
    ("Answer: (A) A man opens the door.", "A"),
    ("The best answer is B. The dog barks at the mailman.", "B"),
    ("**C**", "C"),
    ("Option B is correct because the dog barks at 00:41.", "B"),
    ("The correct option is (D).", "D"),
    ("<think>\nThe frames at <12.5s> show a car... maybe A?\n</think>\n\nC", "C"),
    ("a dog is barking", "B"),  # quotes an option's text, no letter
    ("I think it's B", "B"),
    ("答案是 B", "B"),
    ("E", None),  # out of range for 4 options
    ("A man is walking in the park.", None),  # "A" is an article here
    ("I cannot tell from these frames.", None),
    ("", None),
    ("   \n ", None),
    ("<think>unfinished reasoning about A and B", None),
    ("B or C", None),
]


@pytest.mark.parametrize("reply,letter", CHOICES)
def test_parse_choice(reply, letter):
    assert parse_choice(reply, OPTIONS) == letter
    assert parse_answer(reply, "mc", OPTIONS) == letter


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
    assert clean(None) == ""


def test_parsers_never_raise_on_garbage():
    rng = random.Random()
    alphabet = string.printable + "–—→<>[](){}:.,�答案"
    for _ in range(300):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        for task in ("qa", "mc", "ground"):
            parse_answer(s, task, OPTIONS)
        c = parse_choice(s, 4)
        assert c is None or c in "ABCD"
        span = parse_span(s)
        assert span is None or span[0] <= span[1]
