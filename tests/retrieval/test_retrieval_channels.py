"""Channels are plug-ins: a new one is one module with a CHANNEL plus one registry line, and the Retriever indexes,
caches, scores and fuses it with no other change (run in a child process, so the registry here stays as it is)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from longlens.core.registry import CHANNELS

REPO = Path(__file__).resolve().parents[2]

BRIGHTNESS = textwrap.dedent('''
    """A toy channel: picture queries scored by how close a frame's mean brightness is to the picture's."""
    import numpy as np
    from longlens.retrieval.channels import Channel

    class Brightness(Channel):
        name, queries, kind = "brightness", ("image",), "picture"

        def key(self):
            return "mean-grey-v1"

        def encoder(self):
            return Encoder()

        def attach(self, index, arrays, texts):
            index.embeddings["brightness"] = arrays["mean"]

        def embed(self, query, extra):
            return float(query.image.mean())

        def score(self, index, query, vector):
            return {"brightness": -np.abs(index.embeddings["brightness"][:, 0] - vector)}

    class Encoder:
        def __init__(self):
            self.rows = []

        def add(self, frames):
            self.rows += [[float(f.image.mean())] for f in frames]

        def finish(self):
            return {"mean": np.asarray(self.rows, dtype=np.float32).reshape(-1, 1)}, {}

    CHANNEL = Brightness
''')

CHILD = textwrap.dedent('''
    import json, sys
    from longlens.core.registry import CHANNELS
    CHANNELS.register("brightness", "brightness:CHANNEL")  # the one line a new channel adds
    from longlens.retrieval import RetrievalConfig, Retriever, cache
    video, cache_dir = sys.argv[1:3]
    config = RetrievalConfig(channels=("image", "brightness"), cache_dir=cache_dir)
    index = Retriever(config).index(video, progress=False)
    again = Retriever(config).index(video, progress=False)
    frame = int(len(index) // 2)
    from longlens.data import FixedRate, iter_frames
    picture = [f for batch in iter_frames(video, FixedRate(1.0)) for f in batch][frame].image
    top = Retriever(config).search(video, image=picture, k=1)[0]
    print(json.dumps({"channels": index.channels, "computed": index.stats["computed"], "cached": again.stats["cached"],
                      "entries": sorted(p.name.split("-")[0] for p in cache.root(cache_dir).iterdir() if p.name != "locks"),
                      "scores": sorted(top.scores), "kind": top.kind,
                      "weights": config.weights}))
''')


def test_a_new_channel_is_one_module_and_one_registry_line(tmp_path, seed):
    from longlens.data.synth import SynthSpec, make_video

    video = tmp_path / "tiny.mp4"
    make_video(video, SynthSpec(duration=6, fps=1.0, size=(160, 96), seed=seed % 1000), show_progress=False)
    (tmp_path / "brightness.py").write_text(BRIGHTNESS)
    (tmp_path / "child.py").write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)])}
    proc = subprocess.run([sys.executable, str(tmp_path / "child.py"), str(video), str(tmp_path / "cache")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["channels"] == ["image", "brightness"] and out["computed"] == ["brightness", "frames", "image"]
    assert out["cached"] == ["brightness", "frames", "image"], "its part is cached by its key like any other"
    assert out["entries"] == ["brightness", "frames", "image"]
    assert "brightness" in out["scores"] and out["kind"] == "picture"
    assert out["weights"]["brightness"] == 1.0, "a default weight like every registered channel"
    assert "brightness" not in CHANNELS, "this process's registry is untouched"
