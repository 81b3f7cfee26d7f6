"""The speech part of a video's index: a silent video turns the channel off for itself only; adding speech to an
indexed video decodes no frame and re-runs no OCR; the part is reused, and missed when a speech setting changes.
Whisper is replaced by a Recorder here (the real one is in test_speech_search)."""
from __future__ import annotations

import dataclasses
import logging

import pytest
from speech_helpers import needs_espeak, needs_whisper

import longlens.retrieval.retriever as retriever_module
from longlens.cli import main
from longlens.retrieval import RetrievalConfig, Retriever
from longlens.retrieval.text import OcrReader
from longlens.speech import SpeechConfig

pytestmark = [needs_espeak, needs_whisper]


def config(cache, channels, **speech) -> RetrievalConfig:
    return RetrievalConfig(channels=channels, cache_dir=cache, progress=False, speech=SpeechConfig(**speech))


def test_a_silent_video_runs_without_speech_said_once(silent_video, cache_with_models, recorder, caplog, capsys,
                                                       monkeypatch):
    with caplog.at_level(logging.WARNING):
        idx = Retriever(config(cache_with_models, ("image", "speech"))).index(silent_video, progress=False)
    said = [r.getMessage() for r in caplog.records if "SPEECH" in r.getMessage()]
    assert len(said) == 1 and "no audio stream" in said[0] and "\n" not in said[0]
    assert idx.channels == ("image",) and "speech" in idx.stats["computed"] and recorder.calls == []
    r = Retriever(config(cache_with_models, ("image", "speech")))
    assert r.is_indexed(silent_video)  # the silence is cached: nothing to redo
    assert r.index(silent_video).stats["computed"] == []
    monkeypatch.setenv("LONGLENS_CACHE", str(cache_with_models))
    assert main(["index", str(silent_video), "--channels", "image,speech"]) == 0
    assert "channels image;" in capsys.readouterr().out


def test_adding_speech_reads_the_other_parts(spoken_video, cache_with_models, recorder, monkeypatch):
    path, _ = spoken_video([(2.0, "The meeting moved to room nine.")], filler=False)
    first = Retriever(config(cache_with_models, ("ocr",))).index(path, progress=False)
    assert first.stats["computed"] == ["frames", "ocr"]

    def refuse(*a, **k):
        raise AssertionError("frames decoded or OCR run again")

    monkeypatch.setattr(retriever_module, "iter_frames", refuse)
    monkeypatch.setattr(OcrReader, "read", refuse)
    idx = Retriever(config(cache_with_models, ("ocr", "speech"))).index(path, progress=False)
    assert idx.stats["computed"] == ["speech"] and idx.stats["cached"] == ["frames", "ocr"]
    assert idx.channels == ("ocr", "speech") and idx.speech.texts == ["Hello there."] and len(recorder.calls) == 1
    assert set(idx.stats["seconds"]) >= {"speech"} and "decode" not in idx.stats["seconds"]


def test_the_speech_part_is_reused_and_keyed_by_its_settings(spoken_video, cache_with_models, recorder):
    path, _ = spoken_video([(2.0, "The meeting moved to room nine.")], filler=False)
    base = config(cache_with_models, ("speech",))
    assert Retriever(base).index(path, progress=False).stats["computed"] == ["frames", "speech"]
    again = Retriever(base).index(path, progress=False)
    assert again.stats["computed"] == [] and len(recorder.calls) == 1  # nothing transcribed again
    for changed in (SpeechConfig(language="en"), SpeechConfig(beam_size=2), SpeechConfig(audio_track=0)):
        idx = Retriever(dataclasses.replace(base, speech=changed)).index(path, progress=False)
        assert idx.stats["computed"] == ["speech"], changed
    assert [c[:3] for c in recorder.calls[1:]] == [(5, True, "en"), (2, True, None)]  # track 0 = the default: a hit
    # where the cache lives and whether bars are drawn are not settings of the transcript
    quiet = dataclasses.replace(base, speech=SpeechConfig(progress=True, cache_dir=cache_with_models / "elsewhere"))
    assert Retriever(quiet).index(path, progress=False).stats["computed"] == []


def test_the_speech_config_is_checked():
    with pytest.raises(Exception, match="SpeechConfig"):
        RetrievalConfig(speech={"language": "en"})
