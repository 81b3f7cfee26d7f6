"""Shared fixtures: one synthetic video with captions and pictures at known (freshly drawn) times, made and
indexed once per session and per kind of footage with the real OCR + MiniLM + ORB channels (CLIP weights are
absent here). Kinds: "easy" (smooth panning scenery, boxed high-contrast captions, pictures on a quarter of the
frame or less) and "hard" (dense texture redrawn every frame, film grain, heavy compression; a low-contrast
caption, a box-less one, a small box-less distractor; pictures on 1/8 of the frame, one turned, one partly
hidden)."""
from __future__ import annotations

import logging

import numpy as np
import pytest
from retrieval_helpers import FACT_A, FACT_B

from longlens.data.synth import EIGHTH, Caption, Picture, SynthSpec, make_picture, make_video

KINDS = ("easy", "hard")


def synth_spec(kind: str, seed: int) -> tuple[SynthSpec, dict]:
    """The 72-s, 1-fps, 480x270 test video of `kind` drawn from `seed`: two facts (bottom), one look-alike
    distractor (top), two pictures; returns the spec and its windows by name."""
    rng = np.random.default_rng(seed)
    j = lambda: float(rng.integers(0, 3))  # noqa: E731
    a0, d0, p0, b0, q0 = 4 + j(), 20 + j(), 26 + j(), 44 + j(), 58 + j()
    detail = 6 if kind == "easy" else 12  # flat shapes alone leave some pictures with too few corners to match
    pic1, pic2 = (make_picture(seed % 1000 + i, (160, 120), detail=detail) for i in (1, 2))
    if kind == "easy":
        looks = ({}, {}, dict(fg=(255, 255, 0), bg=(40, 40, 40)))
        boxes = (dict(box=(0.55, 0.08, 0.95, 0.55)), dict(box=(0.05, 0.05, 0.40, 0.50)))  # 19 % and 16 % of the frame
        footage = {}
    else:
        looks = (dict(fg=(175, 175, 175), bg=(105, 105, 105)), dict(box=False),
                 dict(fg=(255, 255, 0), bg=(40, 40, 40), box=False, scale=0.7))
        boxes = (dict(box=EIGHTH[1], occlude=0.2), dict(box=EIGHTH[0], angle=10.0, light=1.15))
        footage = dict(background="textures", motion="boil", grain=8.0, crf=35, scene=24.0)
    spec = SynthSpec(
        duration=72, fps=1.0, size=(480, 270), seed=seed % 1000, **footage,
        captions=[Caption(a0, a0 + 12, FACT_A, **looks[0]), Caption(b0, b0 + 12, FACT_B, **looks[1])],
        distractors=[Caption(d0, d0 + 6, "THE LOCKER CODE IS 3090", pos="top", **looks[2])],
        pictures=[Picture(p0, p0 + 12, pic1, **boxes[0]), Picture(q0, q0 + 10, pic2, **boxes[1])],
    )
    windows = {"fact_a": (a0, a0 + 12), "fact_b": (b0, b0 + 12), "distractor": (d0, d0 + 6), "pic1": (p0, p0 + 12),
               "pic2": (q0, q0 + 10)}
    return spec, windows


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("retrieval_cache")


@pytest.fixture(scope="session", params=KINDS)
def synth(request, tmp_path_factory):
    """The test video of each kind (see `synth_spec`). Window starts jitter with the run's base seed (--seed
    replays)."""
    seed = request.config.base_seed
    spec, windows = synth_spec(request.param, seed)
    path = tmp_path_factory.mktemp(f"synth-{request.param}") / "facts.mp4"
    truth = make_video(path, spec, show_progress=False)
    logging.getLogger(__name__).info("synthetic %s video from base seed %d", request.param, seed)
    return {"kind": request.param, "path": str(path), "truth": truth, "spec": spec, "seed": seed,
            "pictures": [p.image for p in spec.pictures], **windows}


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
