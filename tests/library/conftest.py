"""A small library: three short generated videos, each showing one fact at a random time (seeded by the run's base
seed: `pytest --seed N` replays), indexed once per session into a shared cache with the OCR channel (CLIP weights
are absent here; OCR + MiniLM are the real models)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from library_helpers import make_clip

from longlens.retrieval import RetrievalConfig


@pytest.fixture(scope="session")
def library_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("library_cache")


@pytest.fixture(scope="session")
def lib_config(library_cache) -> RetrievalConfig:
    return RetrievalConfig(cache_dir=library_cache, channels=("ocr",), progress=False)


@pytest.fixture(scope="session")
def source_library(tmp_path_factory, request):
    """{"root": folder, "videos": {name: {"path", "fact", "window"}}}: three videos, one fact each."""
    rng = np.random.default_rng([request.config.base_seed, 14])
    root = tmp_path_factory.mktemp("library_src")
    videos = {}
    for name, fact in (("a.mp4", 0), ("b.mp4", 2), ("c.mp4", 5)):
        path = root / name
        videos[name] = {"path": path, **make_clip(path, fact, rng)}
    return {"root": root, "videos": videos}


@pytest.fixture(scope="session")
def indexed_library(source_library, lib_config, tmp_path_factory):
    """The source library indexed (caches + library index) once, locally; rows of that run."""
    from longlens.library import index_library

    root = tmp_path_factory.mktemp("library_indexed")
    for name in source_library["videos"]:
        shutil.copy2(source_library["root"] / name, root / name)
    rows = list(index_library([root], config=lib_config, workers=2))
    return {"root": root, "rows": rows, "videos": source_library["videos"]}


@pytest.fixture
def library_copy(source_library, tmp_path):
    """A fresh copy of the source library's videos (no library index yet; the caches are shared)."""
    root = tmp_path / "lib"
    root.mkdir()
    for name in source_library["videos"]:
        shutil.copy2(source_library["root"] / name, root / name)
    return root
