"""Shared fixtures of the explorer's tests: the demo video, indexed once per session into a shared cache.

Each test still gets its own longlens home and library (tests/conftest.py); only the retrieval cache
(content-keyed, so copies of the video hit it) is shared, so OCR runs once per session.
"""
import hashlib
import json
import logging
import os
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


def session_seed(request, name: str) -> int:
    """A seed for a session-scoped fixture: from the run's base seed (`pytest --seed N` replays it), logged."""
    digest = hashlib.sha256(f"{request.config.base_seed}:{name}".encode()).digest()
    seed = int.from_bytes(digest[:4], "little") % 10_000
    log.warning("ui tests: %s seed %d (base seed %d)", name, seed, request.config.base_seed)
    return seed


@pytest.fixture(scope="session")
def demo_library(request, tmp_path_factory, shared_cache):
    """(library, video, truth): what `longlens demo --duration 120` leaves in a library (a 2-minute demo
    video: captions, distractors, pictures; seeded from the run's seed), indexed at 1 fps with the app's
    default channels into `shared_cache` (as the explorer's "Index this video" button would)."""
    from longlens.retrieval import RetrievalConfig, Retriever

    seed = session_seed(request, "demo video")
    lib = tmp_path_factory.mktemp("demo_library")
    env = {**os.environ, "LONGLENS_LIBRARY": str(lib), "LONGLENS_HOME": str(tmp_path_factory.mktemp("demo_home")),
           "LONGLENS_CACHE": str(shared_cache), "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "longlens.cli", "demo", "--duration", str(DEMO_SECONDS), "--seed", str(seed)],
                   env=env, check=True, capture_output=True, timeout=300)
    (video,) = lib.glob("*.mp4")
    truth = json.loads(next(lib.glob("*.truth.json")).read_text())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")  # huggingface_hub's own switch: no hub check for CLIP weights
        Retriever(RetrievalConfig(fps=1.0, cache_dir=shared_cache)).index(video, progress=False)
    return lib, video, truth


@pytest.fixture(scope="session")
def small_video(request, tmp_path_factory):
    """(path, caption window) of a 20-second video that nobody indexes in advance."""
    path = tmp_path_factory.mktemp("small") / "small.mp4"
    spec = SynthSpec(duration=20.0, size=(320, 180), seed=session_seed(request, "small video"),
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


@pytest.fixture
def copies(shared_cache):
    """The explorer's background browser copies, into the session's shared cache (copies are content-keyed, so
    each video is transcoded once per session); pass it to `ui_helpers.start` to wait on its jobs."""
    from longlens.ui.copies import BrowserCopies

    return BrowserCopies(shared_cache / "webm")
