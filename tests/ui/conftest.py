"""Shared fixtures of the explorer's tests: the demo video, indexed once per session into a shared cache.

Each test still gets its own longlens home and library (tests/conftest.py); only the retrieval cache
(content-keyed, so copies of the video hit it) is shared, so OCR runs once per session.
"""
import json
import logging
import os
import secrets
import shutil
import subprocess
import sys

import pytest

from longlens.data.synth import Caption, SynthSpec, make_video

log = logging.getLogger(__name__)

DEMO_SECONDS = 120.0
VAULT = "THE VAULT CODE IS 8142"


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("ui_cache")


@pytest.fixture(scope="session")
def demo_library(tmp_path_factory, shared_cache):
    """(library, video, truth): what `longlens demo --duration 120` leaves in a library (a 2-minute demo
    video: captions, distractors, pictures; fresh seed), indexed at 1 fps with the app's default channels
    into `shared_cache` (as the explorer's "Index this video" button would)."""
    from longlens.retrieval import RetrievalConfig, Retriever

    seed = secrets.randbelow(10_000)
    lib = tmp_path_factory.mktemp("demo_library")
    env = {**os.environ, "LONGLENS_LIBRARY": str(lib), "LONGLENS_HOME": str(tmp_path_factory.mktemp("demo_home")),
           "LONGLENS_CACHE": str(shared_cache), "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "longlens.cli", "demo", "--duration", str(DEMO_SECONDS), "--seed", str(seed)],
                   env=env, check=True, capture_output=True, timeout=300)
    log.warning("ui tests: demo video seed %d", seed)
    (video,) = lib.glob("*.mp4")
    truth = json.loads(next(lib.glob("*.truth.json")).read_text())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LONGLENS_CACHE", str(shared_cache))
        mp.setenv("HF_HUB_OFFLINE", "1")
        Retriever(RetrievalConfig(fps=1.0)).index(video, progress=False)
    return lib, video, truth


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


def vault_window(truth: dict) -> tuple[float, float]:
    """(start, end) s of the demo's "vault code" caption."""
    return next((c["start"], c["end"]) for c in truth["captions"] if c["text"] == VAULT)


@pytest.fixture
def demo_in_library(library, demo_library):
    """The demo video copied into this test's library (a copy: symlinks out of the library are refused);
    returns (path in the library, (start, end) s of the vault-code caption)."""
    _, video, truth = demo_library
    dst = library / "demo.mp4"
    shutil.copyfile(video, dst)
    return dst, vault_window(truth)
