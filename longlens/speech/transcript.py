"""What was said and when: a Transcript of Utterances of Words, times in seconds on the video's clock, and
its renderings as SRT, WebVTT, JSON (every word with its times) and plain text."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from longlens.core.errors import InputError
from longlens.core.io import atomic_write_text

FORMATS = ("srt", "vtt", "json", "txt")  # what `render` writes; `longlens transcribe --format` offers these


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str  # as written by the recogniser, without surrounding spaces
    probability: float = 1.0


@dataclass
class Utterance:
    """A stretch of speech the recogniser wrote as one segment (about a sentence)."""

    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    avg_logprob: float = 0.0


@dataclass
class Transcript:
    """Everything said in one audio track of `video`. `duration`: seconds of audio read; `speech`: seconds the
    voice-activity detector kept (= duration without VAD); `model`: the recogniser's name and weights hash."""

    video: str
    language: str | None
    language_probability: float
    model: str
    track: int
    duration: float
    speech: float
    utterances: list[Utterance] = field(default_factory=list)

    @property
    def words(self) -> list[Word]:
        return [w for u in self.utterances for w in u.words]

    @property
    def text(self) -> str:
        return " ".join(u.text for u in self.utterances)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Transcript:
        utterances = [Utterance(**{**u, "words": [Word(**w) for w in u["words"]]}) for u in d["utterances"]]
        return cls(**{**d, "utterances": utterances})


# ---------------------------------------------------------------------------------------------- sentences

PAUSE_S = 1.0  # a silence this long between two words ends a sentence even without punctuation
_ENDS = (".", "?", "!", "\u3002", "\uff1f", "\uff01")  # sentence-final marks (also CJK full-width)
# words whose full stop does not end a sentence ("Dr. Patel"); single letters ("J. Smith") neither
_ABBREVIATIONS = frozenset("mr mrs ms dr prof st mt no vs etc e.g i.e jr sr approx".split())


def _ends_sentence(word: str) -> bool:
    if not word.endswith(_ENDS):
        return False
    bare = word.rstrip(".").lower()
    return not (word.endswith(".") and (bare in _ABBREVIATIONS or (len(bare) == 1 and bare.isalpha())))


def sentences(t: Transcript) -> list[Utterance]:
    """The transcript cut into sentences, each spanning its own words: from its first word's start to its last
    word's end. Whisper often writes two sentences as one segment, and a segment's edges can run past its
    words; searching and citing by sentence gives the span of the words said. A sentence ends at a word
    ending in . ? ! (not an abbreviation such as "Dr.") or before a pause of PAUSE_S; an utterance without word times stays whole."""
    out: list[Utterance] = []
    for u in t.utterances:
        if not u.words:
            out.append(Utterance(u.start, u.end, u.text, [], u.avg_logprob))
            continue
        run: list[Word] = []
        for k, w in enumerate(u.words):
            run.append(w)
            nxt = u.words[k + 1] if k + 1 < len(u.words) else None
            if nxt is None or _ends_sentence(w.text) or nxt.start - w.end >= PAUSE_S:
                out.append(Utterance(run[0].start, run[-1].end, " ".join(x.text for x in run), run, u.avg_logprob))
                run = []
    return out


# ---------------------------------------------------------------------------------------------- writers


def _stamp(t: float, sep: str) -> str:
    ms = max(0, int(round(t * 1000)))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_srt(t: Transcript) -> str:
    cues = [f"{i}\n{_stamp(u.start, ',')} --> {_stamp(u.end, ',')}\n{u.text}\n"
            for i, u in enumerate(t.utterances, 1)]
    return "\n".join(cues)


def to_vtt(t: Transcript) -> str:
    cues = [f"{_stamp(u.start, '.')} --> {_stamp(u.end, '.')}\n{u.text.replace('-->', '->')}\n" for u in t.utterances]
    return "\n".join(["WEBVTT\n"] + cues)


def to_json(t: Transcript) -> str:
    return json.dumps(t.to_dict(), indent=2, ensure_ascii=False) + "\n"


def to_txt(t: Transcript) -> str:
    return "".join(f"{u.text}\n" for u in t.utterances)


_WRITERS = {"srt": to_srt, "vtt": to_vtt, "json": to_json, "txt": to_txt}


def render(t: Transcript, fmt: str) -> str:
    """The transcript as text in `fmt` (one of FORMATS)."""
    if fmt not in _WRITERS:
        raise InputError(f"unknown transcript format {fmt!r}; choose from {', '.join(FORMATS)}")
    return _WRITERS[fmt](t)


def save(t: Transcript, path: str | os.PathLike, fmt: str | None = None) -> Path:
    """Write the transcript to `path` atomically, in `fmt` (default: from the suffix, e.g. .srt)."""
    path = Path(path)
    fmt = fmt or path.suffix.lower().lstrip(".")
    atomic_write_text(path, render(t, fmt))
    return path
