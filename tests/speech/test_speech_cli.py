"""`longlens transcribe` and the audio lines of `longlens probe` (Whisper replaced by a Recorder)."""
from __future__ import annotations

import json

import pytest
from speech_helpers import needs_espeak, needs_whisper

from longlens.cli import build_parser, main
from longlens.speech import FORMATS, SpeechConfig

pytestmark = [needs_espeak, needs_whisper]


def test_transcribe_prints_or_writes_each_format(spoken_video, cache_with_models, recorder, tmp_path, capsys,
                                                 monkeypatch):
    monkeypatch.setenv("LONGLENS_CACHE", str(cache_with_models))
    path, _ = spoken_video([(2.0, "The meeting moved to room nine.")], filler=False)
    capsys.readouterr()
    assert main(["transcribe", str(path), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["utterances"][0]["words"][0] == {"start": 1.0, "end": 1.5, "text": "Hello", "probability": 1.0}
    assert main(["transcribe", str(path)]) == 0 and capsys.readouterr().out == "Hello there.\n"  # txt by default
    assert main(["transcribe", str(path), "--out", str(tmp_path / "talk.srt")]) == 0  # the format from the suffix
    assert (tmp_path / "talk.srt").read_text().startswith("1\n00:00:01,000 --> 00:00:02,000\nHello there.")
    assert "1 lines, 2 words, language en" in capsys.readouterr().err
    assert len(recorder.calls) == 1  # the same transcript each time: cached

    assert main(["transcribe", str(path), "--audio-track", "3"]) == 2
    assert "no audio track 3" in capsys.readouterr().err
    assert main(["transcribe", str(path), "--out", str(tmp_path / "talk.docx")]) == 2
    assert "srt, vtt, json, txt" in capsys.readouterr().err


def test_transcribe_options_are_speech_config_fields():
    parser = build_parser()
    a = parser.parse_args(["transcribe", "v.mp4"])
    d = SpeechConfig()
    assert (a.model, a.language, a.audio_track, a.format) == (d.model, d.language, d.audio_track, None)
    for fmt in FORMATS:
        assert parser.parse_args(["transcribe", "v.mp4", "--format", fmt]).format == fmt
    search = parser.parse_args(["search", "v.mp4", "q", "--language", "de", "--audio-track", "1"])
    assert (search.language, search.audio_track) == ("de", 1)


def test_probe_lists_the_audio_streams(spoken_video, silent_video, capsys):
    path, _ = spoken_video([(2.0, "Hello there.")], filler=False, offset=1.5)
    capsys.readouterr()
    assert main(["probe", str(path)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("audio"))
    assert line.startswith("audio 0:    aac, 22050 Hz, 1 ch, starts at 1.") and line.endswith("(default)")
    assert main(["probe", str(path), "--json"]) == 0
    (stream,) = json.loads(capsys.readouterr().out)["audio"]
    assert (stream["codec"], stream["default"]) == ("aac", True)
    assert stream["start"] == pytest.approx(1.5, abs=0.06)  # an edit list may show the AAC encoder's priming
    assert main(["probe", str(silent_video)]) == 0
    assert "audio:      none" in capsys.readouterr().out
