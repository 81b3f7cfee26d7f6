"""Shared fixtures of the explorer's tests: a demo-like video, indexed once per session into a shared cache.

Each test still gets its own longlens home and library (tests/conftest.py); only the retrieval cache
(content-keyed, so copies of the video hit it) is shared, so OCR runs once per session.
"""
import logging
import secrets
import shutil

import pytest

from longlens.data.synth import Caption, SynthSpec, demo_spec, make_video

log = logging.getLogger(__name__)

DEMO_SECONDS = 120.0
VAULT = "THE VAULT CODE IS 8142"


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("ui_cache")


@pytest.fixture(scope="session")
def demo_video(tmp_path_factory, shared_cache):
    """(path, truth) of a 2-minute demo-like video (captions, distractors, pictures; fresh seed), indexed
    at 1 fps with the app's default channels into `shared_cache`."""
    from longlens.retrieval import RetrievalConfig, Retriever

    seed = secrets.randbelow(10_000)
    path = tmp_path_factory.mktemp("videos") / "demo.mp4"
    truth = make_video(path, demo_spec(DEMO_SECONDS, seed=seed), show_progress=False)
    log.warning("ui tests: demo-like video seed %d", seed)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LONGLENS_CACHE", str(shared_cache))
        mp.setenv("HF_HUB_OFFLINE", "1")
        Retriever(RetrievalConfig(fps=1.0)).index(path, progress=False)
    return path, truth


@pytest.fixture(scope="session")
def small_video(tmp_path_factory):
    """(path, caption window) of a 20-second video that nobody indexes in advance."""
    path = tmp_path_factory.mktemp("small") / "small.mp4"
    spec = SynthSpec(duration=20.0, size=(320, 180), seed=secrets.randbelow(10_000),
                     captions=[Caption(8.0, 14.0, "PLATFORM 4 NOW BOARDING")])
    make_video(path, spec, show_progress=False)
    return path, (8.0, 14.0)


@pytest.fixture
def library(tmp_path, monkeypatch, shared_cache):
    """An empty library folder for this test, with the session's shared retrieval cache."""
    lib = tmp_path / "library"
    lib.mkdir()
    monkeypatch.setenv("LONGLENS_LIBRARY", str(lib))
    monkeypatch.setenv("LONGLENS_CACHE", str(shared_cache))
    return lib


@pytest.fixture
def demo_in_library(library, demo_video):
    """The demo-like video copied into the library (a copy: symlinks out of the library are refused);
    returns (path in the library, (start, end) s of the vault-code caption)."""
    video, truth = demo_video
    dst = library / video.name
    shutil.copyfile(video, dst)
    return dst, next((c["start"], c["end"]) for c in truth.captions if c["text"] == VAULT)
