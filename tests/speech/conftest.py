"""Spoken videos for the speech tests: a silent synthetic video (made once) plus espeak-ng speech at known times."""
from __future__ import annotations

import pytest
from speech_helpers import DURATION

from longlens.data.synth import SynthSpec, make_video
from longlens.speech.synth import add_audio, make_talk


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
