"""Helpers of the library tests (imported by name: pytest puts this folder on sys.path)."""
from __future__ import annotations

import numpy as np

from longlens.data.synth import FACTS, Caption, SynthSpec, make_video

DURATION = 20.0


def make_clip(path, fact: int, rng: np.random.Generator) -> dict:
    """A 20-s, 1-fps video showing FACTS[fact] for 7 s from a random start -> {"fact", "window"}."""
    start = float(rng.integers(2, 10))
    spec = SynthSpec(duration=DURATION, fps=1.0, size=(480, 270), seed=int(rng.integers(1000)),
                     captions=[Caption(start, start + 7.0, FACTS[fact])])
    make_video(path, spec, show_progress=False)
    return {"fact": FACTS[fact], "window": (start, start + 7.0)}


def ids_by_video(lib) -> dict[str, set[int]]:
    """Every video's ids in a LibraryIndex."""
    return {name: set(lib.ids_of(name).tolist()) for name in lib.videos}


def shard_ids(lib) -> set[int]:
    """The ids the shards hold, read from the shards themselves."""
    return {int(i) for names in lib.shards.values() for n in names for i in lib.shard(n).ids()}


def texts_of(lib, name: str) -> list[str]:
    """The texts a video's vectors carry in a LibraryIndex."""
    rows = (lib.table["video"] == lib.videos[name]["number"]) & (lib.table["text"] >= 0)
    return [lib.texts[i] for i in lib.table["text"][rows]]
