"""Spoken videos for the speech tests: a silent synthetic video (made once) plus espeak-ng speech at known times."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
from speech_helpers import DURATION

from longlens.data.synth import SynthSpec, make_video
from longlens.speech import asr as asr_module
from longlens.speech.synth import add_audio, make_talk
from longlens.speech.transcript import Utterance, Word


@pytest.fixture(scope="session")
def silent_video(tmp_path_factory):
    """A DURATION-second 2-fps video without audio."""
    path = tmp_path_factory.mktemp("speech_videos") / "silent.mp4"
    make_video(path, SynthSpec(duration=DURATION, fps=2.0, size=(160, 90)), show_progress=False)
    return path


@pytest.fixture
def spoken_video(silent_video, tmp_path, rng, seed):
    """Factory: (path, talk) of the silent video with a talk whose needles are (start s, text), filler from
    this test's rng between them, audio starting `offset` s after the first frame."""

    def make(needles, *, offset: float = 0.0, suffix: str = ".mp4", filler: bool = True, name: str = "spoken"):
        talk = make_talk(DURATION - offset, needles=needles, rng=rng, filler=filler)
        path = add_audio(silent_video, talk, tmp_path / f"{name}{suffix}", offset=offset)
        print(f"seed {seed}: {path.name} offset {offset}:", [(x.start, x.end, x.text) for x in talk.lines])
        return path, talk

    return make


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    """A cache folder shared by the tests that run Whisper: the base weights are assembled into it once."""
    return tmp_path_factory.mktemp("speech_cache")


@pytest.fixture
def cache_with_models(model_cache, tmp_path):
    """A fresh, empty transcript cache whose models/ is the shared one (no second assembly)."""
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "models").symlink_to(model_cache / "models", target_is_directory=True)
    (model_cache / "models").mkdir(exist_ok=True)
    return cache


@pytest.fixture(scope="module")
def module_rng(request):
    """A generator for a module's shared clips: seeded from the run's base seed (--seed replays) and the module."""
    digest = hashlib.sha256(f"{request.config.base_seed}:{request.module.__name__}".encode()).digest()
    seed = int.from_bytes(digest[:4], "little")
    print(f"{request.module.__name__}: module seed {seed} (base seed {request.config.base_seed})")
    return np.random.default_rng(seed)


class Recorder:
    """Stands in for Whisper: records each recognition, answers a fixed utterance."""

    supported_languages = ["en", "de"]

    def __init__(self):
        self.calls = []

    def recognize(self, chunks, whisper, config, *, total=None):
        audio = sum(len(c.samples) for c in chunks) / 16000
        self.calls.append((config.beam_size, config.vad, config.language))
        return [Utterance(1.0, 2.0, "Hello there.", [Word(1.0, 1.5, "Hello"), Word(1.5, 2.0, "there.")])], "en", 0.9, audio, 1.0


@pytest.fixture
def recorder(monkeypatch):
    """Whisper replaced by a Recorder (its `calls` list every recognition)."""
    rec = Recorder()
    monkeypatch.setattr(asr_module, "recognize", rec.recognize)
    monkeypatch.setattr(asr_module, "load_whisper", lambda *a, **k: rec)
    return rec
