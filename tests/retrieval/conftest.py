"""Shared fixtures: one synthetic video with captions and pictures at known (freshly drawn) times, made and
indexed once per session with the real OCR + MiniLM + ORB channels (CLIP weights are absent here)."""
from __future__ import annotations

import logging

import numpy as np
import pytest
from retrieval_helpers import FACT_A, FACT_B

from longlens.data.synth import Caption, Picture, SynthSpec, make_picture, make_video


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("retrieval_cache")


@pytest.fixture(scope="session")
def synth(request, tmp_path_factory):
    """72 s, 1 fps, 480x270: two facts (bottom), one look-alike distractor (top), two pictures each filling
    at most a quarter of the frame. Window starts jitter with the run's base seed (--seed replays)."""
    seed = request.config.base_seed
    rng = np.random.default_rng(seed)
    j = lambda: float(rng.integers(0, 3))  # noqa: E731
    a0, d0, p0, b0, q0 = 4 + j(), 20 + j(), 26 + j(), 44 + j(), 58 + j()
    pic1, pic2 = make_picture(seed % 1000 + 1, (160, 120)), make_picture(seed % 1000 + 2, (160, 120))
    spec = SynthSpec(
        duration=72, fps=1.0, size=(480, 270), seed=seed % 1000,
        captions=[Caption(a0, a0 + 12, FACT_A), Caption(b0, b0 + 12, FACT_B)],
        distractors=[Caption(d0, d0 + 6, "THE LOCKER CODE IS 3090", pos="top", fg=(255, 255, 0), bg=(40, 40, 40))],
        pictures=[Picture(p0, p0 + 12, pic1, box=(0.55, 0.08, 0.95, 0.55)),  # 0.40 x 0.47 = 19 % of the frame
                  Picture(q0, q0 + 10, pic2, box=(0.05, 0.05, 0.40, 0.50))],  # 0.35 x 0.45 = 16 %
    )
    path = tmp_path_factory.mktemp("synth") / "facts.mp4"
    truth = make_video(path, spec, show_progress=False)
    logging.getLogger(__name__).info("synthetic video from base seed %d", seed)
    return {"path": str(path), "truth": truth, "spec": spec, "pictures": [pic1, pic2], "seed": seed,
            "fact_a": (a0, a0 + 12), "fact_b": (b0, b0 + 12), "distractor": (d0, d0 + 6),
            "pic1": (p0, p0 + 12), "pic2": (q0, q0 + 10)}


@pytest.fixture(scope="session")
def indexed(synth, session_cache):
    """(Retriever with the default config on the session's cache, VideoIndex of the synthetic video) — built once."""
    from longlens.retrieval import RetrievalConfig, Retriever

    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    try:
        r = Retriever(RetrievalConfig(cache_dir=session_cache))
        idx = r.index(synth["path"], progress=False)
    finally:
        mp.undo()
    return r, idx

