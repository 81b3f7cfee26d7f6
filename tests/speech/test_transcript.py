"""Transcript writers (SRT, WebVTT, JSON, text), word normalisation and WER, and SpeechConfig's checks."""
from __future__ import annotations

import json
import re

import pytest

from longlens.core.errors import InputError
from longlens.speech import FORMATS, SpeechConfig, Transcript, Utterance, Word, render, save
from longlens.speech.words import edit_distance, wer, words


def sample(rng) -> Transcript:
    """Two utterances, the second past the one-hour mark at a random millisecond."""
    late = 3600 + float(rng.integers(0, 3_000_000)) / 1000
    first = Utterance(1.5, 3.25, "The vault code is 472.", [Word(1.5, 1.8, "The"), Word(1.8, 2.2, "vault"),
                                                            Word(2.2, 2.6, "code"), Word(2.6, 2.8, "is"),
                                                            Word(2.8, 3.25, "472.", 0.8)], -0.2)
    second = Utterance(late, late + 2.0, "We travel to Lisbon --> soon.", [Word(late, late + 2.0, "Lisbon")])
    return Transcript("talk.mp4", "en", 0.97, "base@905e5bf8336b", 0, late + 5.0, 10.0, [first, second])


def test_srt(rng, seed):
    t = sample(rng)
    print(f"seed {seed}: second cue at {t.utterances[1].start}")
    cues = render(t, "srt").strip().split("\n\n")
    assert len(cues) == 2
    number, times, text = cues[0].split("\n")
    assert (number, times, text) == ("1", "00:00:01,500 --> 00:00:03,250", "The vault code is 472.")
    number, times, _ = cues[1].split("\n")
    s = t.utterances[1].start
    assert number == "2" and re.fullmatch(r"01:\d\d:\d\d,\d{3} --> 01:\d\d:\d\d,\d{3}", times)
    h, m, rest = times.split(" --> ")[0].split(":")
    assert int(h) * 3600 + int(m) * 60 + float(rest.replace(",", ".")) == pytest.approx(s, abs=5e-4)


def test_vtt(rng):
    t = sample(rng)
    out = render(t, "vtt")
    assert out.startswith("WEBVTT\n\n")
    cues = out[len("WEBVTT\n\n"):].strip().split("\n\n")
    assert cues[0] == "00:00:01.500 --> 00:00:03.250\nThe vault code is 472."
    assert "-->" not in cues[1].split("\n")[1]  # a cue's text may not contain the arrow


def test_json_and_txt_and_save(rng, tmp_path):
    t = sample(rng)
    d = json.loads(render(t, "json"))
    assert d["utterances"][0]["words"][4] == {"start": 2.8, "end": 3.25, "text": "472.", "probability": 0.8}
    assert Transcript.from_dict(d) == t
    assert render(t, "txt") == "The vault code is 472.\nWe travel to Lisbon --> soon.\n"
    assert save(t, tmp_path / "out.srt").read_text() == render(t, "srt")
    assert save(t, tmp_path / "out.txt", "vtt").read_text().startswith("WEBVTT")
    with pytest.raises(InputError, match="srt, vtt, json, txt"):
        render(t, "docx")
    assert FORMATS == ("srt", "vtt", "json", "txt")


def test_empty_transcript_renders():
    t = Transcript("x.mp4", None, 0.0, "base", 0, 10.0, 0.0, [])
    assert (render(t, "srt"), render(t, "vtt"), render(t, "txt")) == ("", "WEBVTT\n", "")


def test_words_and_wer():
    assert words("The Vault code is 472.") == ["the", "vault", "code", "is", "four", "seven", "two"]
    assert words("It's   Lisbon, isn’t it?") == ["it's", "lisbon", "isn't", "it"]
    assert wer("the vault code is four seven two", "The Vault Code is 472.") == 0.0
    assert wer("a b c d", "a x c") == pytest.approx(0.5)  # one substitution, one deletion
    assert edit_distance(["a"], ["a", "b", "c"]) == 2
    assert wer("", "") == 0.0 and wer("", "noise") == 1.0


@pytest.mark.parametrize("bad", [
    {"beam_size": 0}, {"beam_size": True}, {"device": "tpu"}, {"compute_type": "int4"}, {"language": "English"},
    {"language": ""}, {"audio_track": -1}, {"audio_track": 1.0}, {"model": " "},
])
def test_config_rejects(bad):
    with pytest.raises(InputError):
        SpeechConfig(**bad)


def test_config_resolves_compute_type(tmp_path):
    c = SpeechConfig(device="cpu", cache_dir=str(tmp_path))
    assert c.cache_dir == tmp_path and c.resolved_device() == "cpu"
    assert c.resolved_compute_type("cpu") == "int8" and c.resolved_compute_type("cuda") == "float16"
    assert SpeechConfig(compute_type="float32").resolved_compute_type("cuda") == "float32"
