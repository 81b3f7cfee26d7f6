"""Real speech recognition (Whisper base from the wheels, offline) on espeak-ng facts said at known times."""
from __future__ import annotations

import pytest
from speech_helpers import needs_espeak, needs_whisper

from longlens.core.errors import InputError, NoAudioStreamError
from longlens.speech import SpeechConfig, render, transcribe
from longlens.speech import asr as asr_module
from longlens.speech.words import words

pytestmark = [needs_espeak, needs_whisper]

FACT = "The vault code is four seven two."


def find(sequence: list[str], said: list[str]) -> int:
    """Index of `sequence` inside `said` (-1 when absent)."""
    n = len(sequence)
    return next((i for i in range(len(said) - n + 1) if said[i : i + n] == sequence), -1)


@pytest.mark.parametrize("offset", [0.0, 1.5])
def test_a_spoken_fact_is_transcribed_at_its_time(spoken_video, cache_with_models, rng, offset, monkeypatch):
    at = round(float(rng.uniform(3.0, 5.0)), 2)
    path, talk = spoken_video([(at, FACT)], offset=offset)
    config = SpeechConfig(cache_dir=cache_with_models, progress=False)
    t = transcribe(path, config=config)
    print(render(t, "srt"))
    assert t.language == "en" and t.model.startswith("base@")
    said = [(w, x) for x in t.words for w in words(x.text)]
    spoken = [w for w, _ in said]
    i = find(["four", "seven", "two"], spoken)
    assert i >= 0, f"the code is missing from {t.text!r}"
    assert "code" in spoken
    fact = next(line for line in talk.lines if line.needle)
    start, end = offset + fact.start, offset + fact.end
    for _, word in said[i : i + 3]:  # where the words were placed, on the video's clock
        assert start - 1.0 <= word.start <= word.end <= end + 1.0
    code = said[spoken.index("code")][1]
    assert abs(code.start - (start + 0.6)) < 1.0  # "code" is the third word, about 0.6 s in
    for x in t.utterances:
        assert x.start <= x.end and all(x.start - 0.01 <= w.start <= w.end <= x.end + 0.01 for w in x.words)

    # the second call reads the cache: nothing is recognised again
    monkeypatch.setattr(asr_module, "recognize", lambda *a, **k: pytest.fail("recognised again on a cache hit"))
    assert transcribe(path, config=config) == t


def test_no_audio_and_bad_track_fail_before_any_model_loads(silent_video, spoken_video, monkeypatch):
    monkeypatch.setattr(asr_module, "load_whisper", lambda *a, **k: pytest.fail("loaded a model"))
    with pytest.raises(NoAudioStreamError, match="no audio stream"):
        transcribe(silent_video)
    path, _ = spoken_video([(2.0, FACT)], filler=False)
    with pytest.raises(InputError, match="no audio track 1"):
        transcribe(path, config=SpeechConfig(audio_track=1))


def test_a_language_the_model_lacks_is_an_input_error(spoken_video, tmp_path):
    path, _ = spoken_video([(2.0, FACT)], filler=False)
    with pytest.raises(InputError, match="language 'de'"):
        transcribe(path, config=SpeechConfig(model="tiny.en", language="de", cache_dir=tmp_path / "c"))
