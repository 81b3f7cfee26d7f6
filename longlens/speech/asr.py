"""Speech recognition: faster-whisper (CTranslate2) over the audio, window by window, Silero VAD first.

The audio arrives in chunks (longlens.data.audio) and is regrouped into windows of about WINDOW_S seconds,
each cut in the quietest tenth of a second near its end, so no word is split and memory stays bounded by a
window. In each window faster-whisper's bundled Silero VAD keeps only speech (silence and music cost nothing),
then Whisper writes segments with word timestamps, which are shifted by the window's start onto the video's
clock. The language is detected once, from the first window with speech, and then kept.
"""
from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterable, Iterator

import numpy as np

from longlens.core.errors import InputError, ModelUnavailableError
from longlens.core.progress import progress
from longlens.data.audio import GAP_S, SAMPLE_RATE, AudioChunk
from longlens.speech.config import SpeechConfig
from longlens.speech.transcript import Utterance, Word

log = logging.getLogger(__name__)

WINDOW_S = 240.0  # audio handed to the recogniser at once
SEARCH_S = 20.0  # a window ends in the quietest 0.1 s of its last SEARCH_S seconds
# Silero VAD settings (faster-whisper's defaults, written out because they are part of the cache key).
VAD = {"threshold": 0.5, "min_speech_duration_ms": 0, "min_silence_duration_ms": 2000, "speech_pad_ms": 400}
# Decoding settings besides beam size and language, also part of the cache key. Each window starts without the
# previous text as prompt: on long talks that prompt is what sends Whisper into repetition loops.
DECODING = {"condition_on_previous_text": False, "word_timestamps": True}


# ---------------------------------------------------------------------------------------------- windows


def quiet_cut(x: np.ndarray, length: float, search: float) -> int:
    """Sample index (in (length - search, length] s) at the middle of x's quietest 0.1 s there."""
    frame = SAMPLE_RATE // 10
    lo, hi = int((length - search) * SAMPLE_RATE), int(length * SAMPLE_RATE)
    k = (hi - lo) // frame
    energy = np.square(x[lo : lo + k * frame].reshape(k, frame)).mean(axis=1)
    return lo + int(np.argmin(energy)) * frame + frame // 2


def windows(chunks: Iterable[AudioChunk], *, length: float = WINDOW_S, search: float = SEARCH_S) -> Iterator[AudioChunk]:
    """Contiguous chunks regrouped into windows of at most `length` s, cut where it is quietest; a gap in the
    chunks' times always ends a window."""
    if not 0 < search < length:
        raise InputError(f"need 0 < search < length, got search={search}, length={length}")
    parts: list[np.ndarray] = []
    start, have = 0.0, 0
    limit = int(length * SAMPLE_RATE)
    for c in chunks:
        if parts and abs(c.start - (start + have / SAMPLE_RATE)) > GAP_S:
            yield AudioChunk(start, np.concatenate(parts))
            parts, have = [], 0
        if not parts:
            start = c.start
        parts.append(c.samples)
        have += len(c.samples)
        while have >= limit:
            x = np.concatenate(parts)
            cut = quiet_cut(x, length, search)
            yield AudioChunk(start, x[:cut])
            parts, start, have = [x[cut:]], start + cut / SAMPLE_RATE, len(x) - cut
    if have:
        yield AudioChunk(start, np.concatenate(parts))


# ---------------------------------------------------------------------------------------------- the model


@functools.lru_cache(maxsize=2)
def load_whisper(path: str, device: str, compute_type: str):
    """A faster_whisper.WhisperModel for the (already checked) folder `path`; kept for reuse in this process."""
    try:
        from faster_whisper import WhisperModel
    except ImportError as e:
        raise ModelUnavailableError("faster-whisper is not installed: pip install 'longlens[speech]'",
                                    summary="faster-whisper missing") from e
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        return WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=threads, local_files_only=True)
    except (RuntimeError, ValueError, OSError) as e:
        raise ModelUnavailableError(f"Whisper model in {path} cannot be loaded on {device} ({compute_type}): {e}",
                                    summary=f"Whisper: cannot load on {device}") from e


def check_language(whisper, language: str | None) -> None:
    if language is not None and language not in whisper.supported_languages:
        langs = whisper.supported_languages
        raise InputError(f"language {language!r} is not one this Whisper model knows "
                         f"({', '.join(langs) if len(langs) < 10 else f'{len(langs)} codes, e.g. en, de, fr, zh'})")


# ---------------------------------------------------------------------------------------------- recognising


def _utterance(seg, offset: float) -> Utterance:
    words = [Word(round(w.start + offset, 3), round(w.end + offset, 3), w.word.strip(), round(float(w.probability), 4))
             for w in (seg.words or []) if w.word.strip()]
    return Utterance(round(seg.start + offset, 3), round(seg.end + offset, 3), seg.text.strip(), words,
                     round(float(seg.avg_logprob), 4))


def recognize(chunks: Iterable[AudioChunk], whisper, config: SpeechConfig, *, total: float | None = None):
    """(utterances, language, language probability, audio seconds, speech seconds) for the audio `chunks`.
    `total`: the audio's expected length in seconds, for the progress bar."""
    language, probability = config.language, 1.0 if config.language else 0.0
    utterances: list[Utterance] = []
    audio = speech = 0.0
    with progress(total=round(total, 1) if total else None, desc="transcribing", unit="s", show=config.progress) as bar:
        for w in windows(chunks):
            segments, info = whisper.transcribe(
                w.samples, language=language, beam_size=config.beam_size, vad_filter=config.vad,
                vad_parameters=dict(VAD) if config.vad else None, **DECODING)
            found = [_utterance(s, w.start) for s in segments if s.text.strip()]
            if found and language is None:
                language, probability = info.language, round(float(info.language_probability), 4)
            utterances += found
            seconds = len(w.samples) / SAMPLE_RATE
            audio += seconds
            speech += float(info.duration_after_vad)
            bar.update(round(seconds, 1))
    return utterances, language, probability, round(audio, 3), round(speech, 3)
