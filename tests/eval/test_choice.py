"""The one multiple-choice module: letters, option lines, and the letter a reply names (real-looking replies)."""
from __future__ import annotations

import string

import pytest

from longlens.core.errors import InputError
from longlens.eval.choice import (
    clean_reply,
    format_options,
    letter_index,
    letters,
    option_lines,
    parse_choice,
    split_options,
    strip_letter,
)

OPTIONS = ["A. A man opens the door.", "B. A dog is barking", "C. The red car leaves", "D. Nobody appears"]

REPLIES = [
    ("B", "B"),
    ("B.", "B"),
    ("(C)", "C"),
    ("[C]", "C"),
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
    ("A man opens the door.", "A"),  # exactly an option's text, starting with the article "A"
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


@pytest.mark.parametrize("reply,letter", REPLIES)
def test_parse_choice_on_replies(reply, letter):
    assert parse_choice(reply, OPTIONS) == letter


def test_parse_choice_on_prediction_fields():
    opts = ["red", "green", "blue", "black"]
    assert [parse_choice(x, opts) for x in ("B", "(C)", "A.", "D) black", "The answer is C.", "green", 3, 0)] == \
        ["B", "C", "A", "D", "C", "B", "D", "A"]
    assert [parse_choice(x, opts) for x in ("E", "", None, "banana", 4, -1, True, "I cannot tell")] == [None] * 8
    assert parse_choice("red car", ["red", "red car"]) == "B"  # the exact text wins over a contained one
    assert parse_choice("C", 3) == "C" and parse_choice("D", 3) is None
    assert parse_choice("Z") == "Z"  # no options: any of the 26 letters


def test_parse_choice_never_raises(rng):
    alphabet = list(string.printable + "–—→<>[](){}:.,�答案*")
    for _ in range(300):
        s = "".join(rng.choice(alphabet, size=int(rng.integers(0, 60))))
        got = parse_choice(s, 4)
        assert got is None or got in "ABCD"
        parse_choice(s, OPTIONS)


def test_letters_and_indices():
    assert letters(4) == ["A", "B", "C", "D"] and len(letters(26)) == 26
    for bad in (1, 27, True, "4"):
        with pytest.raises(InputError, match="2 to 26 options"):
            letters(bad)
    assert letter_index("C") == 2 and letter_index(" d ") == 3
    with pytest.raises(InputError, match="not an option letter"):
        letter_index("E", 4)


def test_option_lines():
    assert strip_letter("A. red car") == strip_letter("(A) red car") == strip_letter("A) red car") == "red car"
    assert strip_letter("A man walks") == "A man walks"
    assert format_options(["A. red", "B. blue"]) == "A. red\nB. blue"
    assert option_lines(["(A) red", "blue"], "paren") == ["(A) red", "(B) blue"]
    assert format_options(["red", "(B) blue", "green"], "paren") == "(A) red\n(B) blue\n(C) green"
    with pytest.raises(InputError, match="option style"):
        format_options(["a", "b"], "roman")
    question = "What colour is the car?\n(A) red\n(B) blue\n(C) a dark (B) green"
    assert split_options(question) == ("What colour is the car?", ["red", "blue", "a dark (B) green"])
    assert split_options(question)[1] == [strip_letter(x) for x in format_options(
        ["red", "blue", "a dark (B) green"], "paren").splitlines()]


def test_clean_reply():
    assert clean_reply("  Answer: The vault code is 8142.  ") == "The vault code is 8142."
    assert clean_reply("<think>hmm</think>red") == "red"
    assert clean_reply("<think>only thinking") == "" and clean_reply(None) == ""
