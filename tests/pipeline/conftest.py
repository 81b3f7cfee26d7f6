"""Two short synthetic videos with facts at random times (seeded by the run's base seed: `pytest --seed N`
replays them), and one index cache for the session, passed to the library as RetrievalConfig.cache_dir and to
the CLI as $LONGLENS_CACHE."""
from __future__ import annotations

import numpy as np
import pytest

from longlens.data.synth import (
    DISTRACTORS,
    FACTS,
    Caption,
    Picture,
    SynthSpec,
    make_picture,
    make_video,
)
from longlens.retrieval import RetrievalConfig

# hard footage (issue 12): dense texture redrawn every frame, film grain, heavy compression
HARD = dict(background="textures", motion="boil", grain=8.0, crf=35, scene=30.0)


def _spec(rng, facts: list[int], distractors: list[int], picture: np.ndarray | None, duration: float = 90.0,
          footage: dict | None = None):
    """Facts in separate 30 s slots (fresh random offsets); distractors on top at other random times."""
    slot = duration / len(facts)
    caps, windows = [], {}
    for k, f in enumerate(facts):
        start = float(k * slot + rng.integers(1, int(slot) - 14))
        end = start + float(rng.integers(10, 13))
        caps.append(Caption(start, end, FACTS[f]))
        windows[f] = (start, end)
    dis = []
    for d in distractors:
        s = float(rng.integers(0, int(duration) - 8))
        dis.append(Caption(s, s + 6.0, DISTRACTORS[d], pos="top", fg=(255, 255, 0), bg=(40, 40, 40)))
    pics = []
    if picture is not None:
        s = float(rng.integers(5, int(duration) - 20))
        pics.append(Picture(s, s + 12.0, picture, box=(0.55, 0.08, 0.95, 0.55)))
        windows["picture"] = (s, s + 12.0)
    spec = SynthSpec(duration=duration, fps=1.0, size=(480, 270), captions=caps, distractors=dis, pictures=pics,
                     seed=int(rng.integers(1000)), **(footage or {}))
    return spec, windows


@pytest.fixture(scope="session")
def pipeline_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("pipeline_cache")


@pytest.fixture(scope="session")
def videos(tmp_path_factory, request):
    """{"a": {"path", "windows"}, "b": {...}, "picture": array}; video b shows the picture, on hard footage."""
    rng = np.random.default_rng([request.config.base_seed, 1])  # session-wide: the per-test `seed` cannot serve
    root = tmp_path_factory.mktemp("pipeline_videos")
    picture = make_picture(int(rng.integers(1000)), (160, 120), detail=12)
    out = {"picture": picture}
    for name, facts, dis, pic, footage in (("a", [0, 1, 2], [0, 1], None, None),
                                           ("b", [3, 5, 6], [3], picture, HARD)):
        spec, windows = _spec(rng, facts, dis, pic, footage=footage)
        path = root / f"video {name} ünïcode.mp4"
        make_video(path, spec, show_progress=False)
        out[name] = {"path": str(path), "windows": windows}
    return out


@pytest.fixture(scope="session")
def config(pipeline_cache) -> RetrievalConfig:
    """The retrieval config of in-process calls: the session's shared cache, no progress bars."""
    return RetrievalConfig(cache_dir=pipeline_cache, progress=False)


@pytest.fixture
def warm(videos, pipeline_cache, monkeypatch):
    """The videos, with the session's shared index cache also in $LONGLENS_CACHE for the CLI (videos are
    indexed once, by whichever test comes first)."""
    monkeypatch.setenv("LONGLENS_CACHE", str(pipeline_cache))
    return videos
