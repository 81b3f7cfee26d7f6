"""The transcript cache: a second call is a hit; the audio, the model and every decoding setting are in the key."""
from __future__ import annotations

import shutil

from speech_helpers import needs_espeak, needs_whisper

from longlens.speech import SpeechConfig, transcribe
from longlens.speech import cache as cache_module
from longlens.speech import models as models_module
from longlens.speech.transcriber import cache_fields

pytestmark = [needs_espeak, needs_whisper]


def test_hits_and_misses(spoken_video, cache_with_models, recorder, tmp_path, monkeypatch):
    resolved = []
    resolve = models_module.resolve
    monkeypatch.setattr(models_module, "resolve", lambda *a, **k: resolved.append(a) or resolve(*a, **k))
    path, _ = spoken_video([(2.0, "The vault code is four seven two.")], filler=False)
    config = SpeechConfig(cache_dir=cache_with_models)
    first = transcribe(path, config=config)
    assert len(recorder.calls) == 1 and len(resolved) == 1 and first.words[0].text == "Hello"
    entries = sorted((cache_with_models / "speech").iterdir())
    assert len(entries) == 1 and (entries[0] / "manifest.json").is_file()

    # a hit neither recognises nor touches the model files
    assert transcribe(path, config=config) == first
    copy = shutil.copy(path, tmp_path / "same bytes elsewhere.mp4")
    assert transcribe(copy, config=config).video == str(copy)  # keyed by content, not by path
    assert len(recorder.calls) == 1 and len(resolved) == 1

    # every decoding setting misses
    for changed in (SpeechConfig(cache_dir=cache_with_models, beam_size=2),
                    SpeechConfig(cache_dir=cache_with_models, vad=False),
                    SpeechConfig(cache_dir=cache_with_models, language="en"),
                    SpeechConfig(cache_dir=cache_with_models, compute_type="float32")):
        transcribe(path, config=changed)
    assert recorder.calls[1:] == [(2, True, None), (5, False, None), (5, True, "en"), (5, True, None)]
    assert len(list((cache_with_models / "speech").iterdir())) == 5


def test_a_damaged_entry_is_transcribed_again(spoken_video, cache_with_models, recorder):
    path, _ = spoken_video([(2.0, "The vault code is four seven two.")], filler=False)
    config = SpeechConfig(cache_dir=cache_with_models)
    first = transcribe(path, config=config)
    (entry,) = (cache_with_models / "speech").iterdir()
    (entry / cache_module.FILE).write_text('{"cut short')
    assert transcribe(path, config=config) == first
    assert len(recorder.calls) == 2


def test_the_key_names_model_and_audio(spoken_video):
    path, _ = spoken_video([(2.0, "Hello there.")], filler=False)
    other, _ = spoken_video([(3.0, "Hello there.")], filler=False, name="other")
    config = SpeechConfig()
    keys = {cache_module.entry_key(cache_fields(str(p), 0, models_module.identity(m), config, "int8"))
            for p in (path, other) for m in ("base", "tiny.en")}
    assert len(keys) == 4
