"""The speech channel: what is said, transcribed with word times (longlens.speech, Whisper), cut into sentences,
each sentence embedded with the bundled MiniLM; text queries only. Stored part "speech": starts, ends [U] (s,
each sentence's first word start to last word end, on the video's clock), speech [U, 384] float16, words'
starts / ends / sentence [W]; texts: sentences, words, language, model, track, audio (False: the video has no
audio stream, nothing was transcribed).

A query scores each sentence by its MiniLM cosine and, apart, by the fraction of its keywords said in it
(`spoken_hits`, the spoken twin of OCR's keyword hits); each frame takes the best sentence said during its
time cell, so the two curves ("speech", "speech_keyword") join fusion by the same rule as OCR's. When speech
leads a grounded segment, its edges are set to the sentences said (`edges`), not to the frame grid.

The channel reads the audio, not frames (`reads = "audio"`): adding it to an indexed video transcribes and
embeds, nothing else; the other channels' cached parts are read as they are.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import logging
import re
from dataclasses import dataclass, field

import numpy as np

from longlens.core.errors import ModelUnavailableError, NoAudioStreamError
from longlens.core.types import Segment
from longlens.retrieval.channels import Channel, as_float32, text_support
from longlens.retrieval.text import STOPWORDS, TextEmbedder

log = logging.getLogger(__name__)

SENTENCES_VERSION = 1  # bump when how sentences are cut or embedded changes
_TOKEN = re.compile(r"[A-Za-z0-9]+")


# ---------------------------------------------------------------------------------------------- keywords


def _stem(w: str) -> str:
    """A crude English stem, so "travels" / "travelled" / "travelling" meet "travel"."""
    for suffix in ("ling", "ing", "led", "ed", "es", "s"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def spoken_keywords(query: str) -> list[tuple[tuple[str, ...], float]]:
    """The query's keywords as spoken tokens, with weights as OCR's `query_keywords`: a number weighs 2 and
    becomes its digits said one by one ("472" -> four seven two, as speech.words normalises what was said),
    a word of 3+ letters that is not a stop word weighs 1 (stemmed). In query order, without duplicates."""
    from longlens.speech.words import words

    out: dict[tuple[str, ...], float] = {}
    for tok in _TOKEN.findall(query):
        if any(ch.isdigit() for ch in tok):
            out.setdefault(tuple(words(tok)), 2.0)
        elif len(tok) >= 3 and tok.lower() not in STOPWORDS:
            out.setdefault((_stem(tok.lower()),), 1.0)
    return list(out.items())


def spoken_tokens(text: str) -> list[str]:
    """What `spoken_hits` compares: the words of `text` normalised (speech.words) and stemmed."""
    from longlens.speech.words import words

    return [_stem(w) for w in words(text)]


def spoken_hits(query: str, sentences: list[list[str]]) -> np.ndarray | None:
    """Weighted fraction of the query's keywords said in each sentence (its `spoken_tokens`), [U] in [0, 1];
    None when the query has no keywords. A keyword of several tokens (a number) must be said in that order."""
    kws = spoken_keywords(query)
    if not kws:
        return None
    total = sum(w for _, w in kws)
    out = np.zeros(len(sentences), dtype=np.float64)
    for u, toks in enumerate(sentences):
        joined = f" {' '.join(toks)} "
        out[u] = sum(w for kw, w in kws if f" {' '.join(kw)} " in joined) / total
    return out


# ---------------------------------------------------------------------------------------------- the track


@dataclass
class SpeechTrack:
    """What a video's index knows of its speech: sentences with their spans (s, video clock), texts,
    MiniLM embeddings [U, 384] and words (starts, ends, text, sentence). audio False: the video has none."""

    starts: np.ndarray
    ends: np.ndarray
    texts: list[str]
    embeddings: np.ndarray
    word_starts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    word_ends: np.ndarray = field(default_factory=lambda: np.zeros(0))
    word_texts: list[str] = field(default_factory=list)
    word_sentence: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    language: str | None = None
    model: str | None = None
    track: int | None = None
    audio: bool = True

    def __len__(self) -> int:
        return len(self.texts)

    def words_of(self, u: int) -> list[tuple[float, float, str]]:
        """(start, end, text) of sentence u's words."""
        return [(float(self.word_starts[k]), float(self.word_ends[k]), self.word_texts[k])
                for k in np.flatnonzero(self.word_sentence == u)]

    _tokens: list | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def tokens(self) -> list[list[str]]:
        """Each sentence's `spoken_tokens` (computed once)."""
        if self._tokens is None:
            self._tokens = [spoken_tokens(t) for t in self.texts]
        return self._tokens

    def at(self, times: np.ndarray) -> list[list[int]]:
        """For each time of a sorted grid, the sentences said during its cell (`cells`)."""
        lo, hi = cells(times)
        n = len(lo)
        out: list[list[int]] = [[] for _ in range(n)]
        for u in range(len(self)):
            a = int(np.searchsorted(hi, self.starts[u], side="right"))  # first cell ending after the start
            b = int(np.searchsorted(lo, self.ends[u], side="left"))  # cells starting before the end
            for i in range(a, min(b, n)):
                out[i].append(u)
        return out

    def spread(self, times: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per-sentence values [U] -> per-time [N]: the best value among the sentences said in each time's cell
        (0 where nothing is said)."""
        out = np.zeros(len(times), dtype=np.float64)
        for i, us in enumerate(self.at(times)):
            if us:
                out[i] = max(float(values[u]) for u in us)
        return out


def cells(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) of the time cell each sample of a sorted grid stands for: from the midpoint with the previous
    sample to the midpoint with the next one (the ends reach half a spacing out; a lone sample +-0.5 s)."""
    times = np.asarray(times, dtype=np.float64)
    n = len(times)
    if n == 0:
        return times, times
    mids = (times[1:] + times[:-1]) / 2
    first = times[0] - (times[1] - times[0]) / 2 if n > 1 else times[0] - 0.5
    last = times[-1] + (times[-1] - times[-2]) / 2 if n > 1 else times[-1] + 0.5
    return np.r_[first, mids], np.r_[mids, last]


def empty_part() -> tuple[dict, dict]:
    z = np.zeros(0)
    return ({"starts": z, "ends": z, "speech": np.zeros((0, TextEmbedder.dim), np.float16), "word_starts": z,
             "word_ends": z, "word_sentence": np.zeros(0, np.int64)},
            {"sentences": [], "words": [], "language": None, "model": None, "track": None, "audio": False})


# ---------------------------------------------------------------------------------------------- the channel


class SpeechChannel(Channel):
    name = "speech"
    queries = ("text",)
    kind = "speech"
    reads = "audio"
    keyword_curve = "speech_keyword"
    nothing = "nothing said matches it"

    def __init__(self, config) -> None:
        super().__init__(config)
        self.embedder = TextEmbedder()  # loads MiniLM on first use

    def speech_config(self):
        """The SpeechConfig transcription runs with: the retrieval config's, with its cache root and progress."""
        c = self.config
        return dataclasses.replace(c.speech, cache_dir=c.cache_dir, progress=c.progress)

    def key(self) -> str:
        """The recogniser and every setting of the transcript and the sentences, from config values and file
        stats only (no faster-whisper import). A built-in model is named by its weights' SHA-256; a folder by its
        path and model.bin's size and time; a hub id by its name."""
        from pathlib import Path

        from longlens.speech import asr, models

        s = self.config.speech
        model = models.identity(s.model)
        if model is None:
            folder = Path(s.model).expanduser()
            stat = (folder / models.MODEL_BIN).stat() if (folder / models.MODEL_BIN).is_file() else None
            model = [str(folder.resolve()), stat.st_size, stat.st_mtime_ns] if stat else s.model
        ident = {"model": model, "language": s.language, "track": s.audio_track,
                 "vad": dict(asr.VAD) if s.vad else None, "beam": s.beam_size, "compute": s.compute_type,
                 "device": s.device, "decoding": asr.DECODING, "window": [asr.WINDOW_S, asr.SEARCH_S],
                 "text": TextEmbedder.model_key(), "sentences": SENTENCES_VERSION}
        return json.dumps(ident, sort_keys=True, default=str)

    def ready(self) -> bool:
        """Whether speech can be transcribed here: faster-whisper installed and the model's weights at hand
        (a light check: the weights are verified when a video with audio is transcribed, a silent one needs none)."""
        if self.off is None:
            from longlens.speech import models

            try:
                if importlib.util.find_spec("faster_whisper") is None:
                    raise ModelUnavailableError("faster-whisper is not installed: pip install 'longlens[speech]'",
                                                summary="faster-whisper missing")
                models.check_available(self.config.speech.model)
            except ModelUnavailableError as e:
                self.turn_off(e)
        return self.off is None

    def encode_audio(self, video: str) -> tuple[dict, dict]:
        """Transcribe `video` (longlens.speech.transcribe, itself cached), cut into sentences, embed them.
        A video without audio gives an empty part marked audio=False (the channel is then off for it)."""
        from longlens.speech import transcribe
        from longlens.speech.transcript import sentences

        try:
            t = transcribe(video, config=self.speech_config())
        except NoAudioStreamError:
            return empty_part()
        units = sentences(t)
        emb = self.embedder.encode([u.text for u in units]) if units else np.zeros((0, TextEmbedder.dim), np.float32)
        words = [(w, k) for k, u in enumerate(units) for w in u.words]
        arrays = {"starts": np.array([u.start for u in units], np.float64),
                  "ends": np.array([u.end for u in units], np.float64),
                  "speech": emb.astype(np.float16), "word_starts": np.array([w.start for w, _ in words], np.float64),
                  "word_ends": np.array([w.end for w, _ in words], np.float64),
                  "word_sentence": np.array([k for _, k in words], np.int64)}
        texts = {"sentences": [u.text for u in units], "words": [w.text for w, _ in words], "language": t.language,
                 "model": t.model, "track": t.track, "audio": True}
        return arrays, texts

    def attach(self, index, arrays, texts) -> None:
        index.speech = SpeechTrack(
            np.asarray(arrays["starts"], np.float64), np.asarray(arrays["ends"], np.float64), list(texts["sentences"]),
            as_float32(arrays["speech"]).reshape(-1, TextEmbedder.dim), np.asarray(arrays["word_starts"], np.float64),
            np.asarray(arrays["word_ends"], np.float64), list(texts["words"]),
            np.asarray(arrays["word_sentence"], np.int64),
            texts.get("language"), texts.get("model"), texts.get("track"), bool(texts.get("audio", True)))
        if not index.speech.audio:
            log.warning("SPEECH channel off for %s: it has no audio stream; the other channels run", index.video)

    def present(self, index) -> bool:
        return getattr(index, "speech", None) is not None and index.speech.audio

    def carry(self, like, index) -> bool:
        """An index of extra frames of the same video hears the same speech."""
        index.speech = like.speech
        return self.present(index)

    def applies(self, index, query) -> bool:
        return super().applies(index, query) and self.present(index) and len(index.speech) > 0

    def embed(self, query, extra):
        v = self.embedder.encode([query.text, *extra]).mean(axis=0)
        return v / max(float(np.linalg.norm(v)), 1e-12)

    def relevance(self, index, query, vector) -> tuple[np.ndarray, np.ndarray | None]:
        """Per sentence: (MiniLM cosine to the query [U], keyword hit fraction [U] or None)."""
        track = index.speech
        return track.embeddings @ np.asarray(vector, np.float32), spoken_hits(query.text, track.tokens)

    def answers(self, index, text: str) -> np.ndarray:
        """How well each sentence said answers `text` [U]: MiniLM cosine + keyword hit fraction (how the
        extractive answerer ranks them beside on-screen lines; `edges` weighs sentences the same way)."""
        from longlens.retrieval.query import Query

        q = Query(text, None)
        cos, hits = self.relevance(index, q, self.embed(q, []))
        return cos + (hits if hits is not None else 0.0)

    def score(self, index, query, vector):
        cos, hits = self.relevance(index, query, vector)
        out = {"speech": index.speech.spread(index.times, cos)}
        if hits is not None:
            out["speech_keyword"] = index.speech.spread(index.times, hits)
        return out

    def support(self, curve) -> np.ndarray:
        """Rows during a sentence that answers the query above the noise (channels.text_support): a channel
        without this lifted every frame near any words said, so nothing was ever "not found" in a video with
        talk, and unrelated talk outranked the caption that answers (issue 12)."""
        return text_support(curve, self.name, self.keyword_curve)

    def evidence(self, index, i: int) -> tuple[str | None, str | None]:
        """The sentence said longest during frame i's cell (None when nothing is said then)."""
        if not self.present(index) or not len(index.speech):
            return None, None
        lo, hi = cells(index.times)
        t = index.speech
        overlap = np.minimum(t.ends, hi[i]) - np.maximum(t.starts, lo[i])
        u = int(np.argmax(overlap))
        return (t.texts[u], self.kind) if overlap[u] > 0 else (None, None)

    def edges(self, index, query, vector, curve, segment: Segment, *, rel: float = 0.8) -> Segment:
        """A segment speech leads, set to the span of the sentences said: the most relevant sentence said
        inside it, joined by its neighbours inside it that score nearly as well, at least
        median + rel * (best - median) (relevance = cosine + keyword hit fraction, as the extractive answerer
        ranks sentences). A neighbour that merely shares a keyword stays out: a spoken fact is one sentence."""
        if vector is None or not self.applies(index, query):
            return segment
        track = index.speech
        inside = np.flatnonzero((track.ends > segment.start) & (track.starts < segment.end))
        if not len(inside):
            return segment
        cos, hits = self.relevance(index, query, vector)
        score = cos + (hits if hits is not None else 0.0)
        best = int(inside[np.argmax(score[inside])])
        thr = float(np.median(score)) + rel * (score[best] - float(np.median(score)))
        lo = hi = best
        while lo - 1 in inside and score[lo - 1] >= thr:
            lo -= 1
        while hi + 1 in inside and score[hi + 1] >= thr:
            hi += 1
        return Segment(float(track.starts[lo]), float(track.ends[hi]), segment.score)


CHANNEL = SpeechChannel
