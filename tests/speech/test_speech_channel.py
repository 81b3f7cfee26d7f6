"""The speech channel's pieces without a recogniser: sentences from word times, spoken keyword hits, sentences
spread onto a time grid, and segment edges set to the words said."""
from __future__ import annotations

import numpy as np
import pytest

from longlens.core.types import Segment
from longlens.retrieval import RetrievalConfig
from longlens.retrieval.channels.speech import (
    SpeechChannel,
    SpeechTrack,
    cells,
    spoken_hits,
    spoken_keywords,
    spoken_tokens,
)
from longlens.retrieval.query import Query
from longlens.retrieval.types import ScoreCurve
from longlens.speech import Transcript, Utterance, Word
from longlens.speech.transcript import sentences


def words_at(start: float, text: str, step: float = 0.3) -> list[Word]:
    return [Word(round(start + k * step, 3), round(start + k * step + 0.25, 3), w) for k, w in enumerate(text.split())]


def test_sentences_are_cut_at_full_stops_and_pauses_not_abbreviations(rng, seed):
    t0 = round(float(rng.uniform(0, 100)), 2)
    print(f"seed {seed}: first word at {t0}")
    one = words_at(t0, "Dr. Patel spoke. The code is 472! Then")
    late = words_at(one[-1].end + 1.5, "silence came")  # a pause of 1.5 s without punctuation
    t = Transcript("v.mp4", "en", 1.0, "m", 0, 200.0, 20.0,
                   [Utterance(t0 - 0.5, late[-1].end + 0.4, "...", one + late), Utterance(150.0, 152.0, "No words.", [])])
    got = sentences(t)
    assert [u.text for u in got] == ["Dr. Patel spoke.", "The code is 472!", "Then", "silence came", "No words."]
    assert got[0].start == one[0].start and got[0].end == one[2].end  # the words' span, not the segment's
    assert (got[2].start, got[2].end) == (one[-1].start, one[-1].end)
    assert (got[4].start, got[4].end) == (150.0, 152.0)


def test_spoken_keywords_and_hits():
    assert spoken_keywords("Which room is 9, and the travels?") == [(("room",), 1.0), (("nine",), 2.0), (("travel",), 1.0)]
    said = [spoken_tokens(s) for s in ("The meeting moved to room 9.", "Room nineteen is free.", "We travelled far.")]
    hits = spoken_hits("room 9 travels", said)
    assert hits.tolist() == pytest.approx([3 / 4, 1 / 4, 1 / 4])  # "nine" is a word: "nineteen" does not hit it
    assert spoken_hits("four seven two", [spoken_tokens("The code is 472.")]).tolist() == [1.0]
    assert spoken_hits("what is it", said) is None


def track(spans, texts=None) -> SpeechTrack:
    n = len(spans)
    emb = np.eye(n, 384, dtype=np.float32)  # sentence k points along axis k
    return SpeechTrack(np.array([a for a, _ in spans]), np.array([b for _, b in spans]), texts or [f"s{k}" for k in range(n)], emb)


def test_sentences_spread_over_their_cells(rng):
    times = np.sort(rng.uniform(0, 20, 12)) + np.arange(12) * 1e-3  # uneven sampling
    lo, hi = cells(times)
    assert np.allclose(hi[:-1], lo[1:]) and lo[0] < times[0] < hi[0] and lo[-1] < times[-1] < hi[-1]
    spans = [(float(lo[3]) + 0.01, float(hi[5]) - 0.01), (float(hi[8]) + 0.001, float(hi[8]) + 0.002)]
    t = track(spans)
    assert t.at(times)[3:6] == [[0], [0], [0]] and t.at(times)[9] == [1] and t.at(times)[0] == []
    spread = t.spread(times, np.array([0.7, 0.2]))
    assert spread.tolist() == pytest.approx([0, 0, 0, 0.7, 0.7, 0.7, 0, 0, 0, 0.2, 0, 0])


def test_edges_become_the_span_of_the_best_sentence(rng, seed):
    """A 1-fps window around a sentence shrinks to that sentence's words; a neighbour that only shares the
    keywords stays out, one nearly as relevant in meaning too joins."""
    start = round(float(rng.uniform(3, 5)), 2)
    spans = [(start - 2.8, start - 0.5), (start, start + 2.1), (start + 2.5, start + 4.0), (30.0, 32.0), (40.0, 41.0)]
    t = track(spans, ["The museum opened.", "The pool opens on Friday.", "The pool opens at noon.", "Rain fell.", "Hello."])
    print(f"seed {seed}: sentence at {start}")

    class Index:  # what edges reads of a VideoIndex
        speech, channels, times = t, ("speech",), np.arange(0.0, 12.0)

    ch = SpeechChannel(RetrievalConfig(channels=("speech",)))
    q = Query("When does the pool open?", None)
    vector = np.zeros(384, np.float32)
    vector[1] = 1.0  # the query means sentence 1
    curve = ScoreCurve(Index.times, np.zeros(12), {})
    got = ch.edges(Index, q, vector, curve, Segment(np.floor(start) - 0.5, start + 4.5, 3.0))
    assert (got.start, got.end, got.score) == (spans[1][0], spans[1][1], 3.0)
    vector[2] = 0.95  # sentence 2 nearly as relevant: the two are one answer
    got = ch.edges(Index, q, vector / np.linalg.norm(vector), curve, Segment(start - 1, start + 4.5, 3.0))
    assert (got.start, got.end) == (spans[1][0], spans[2][1])
    nothing = Segment(20.0, 21.0, 1.0)  # nothing said inside: as given
    assert ch.edges(Index, q, vector, curve, nothing) == nothing
