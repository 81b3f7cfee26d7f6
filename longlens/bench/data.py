"""`longlens bench data`: how fast the video layer writes and samples an hour-long video.

Rows: writing a synthetic 1-fps video (60 min; 10 min with quick), probing it, and sampling it at 1 fps
(every frame, short side 224 px) with each backend in an isolated worker.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from longlens.core.registry import DECODERS
from longlens.data.sampling import FixedRate, Uniform
from longlens.data.synth import SynthSpec, demo_spec, make_video
from longlens.data.video import iter_frames, probe, resolve_backend


def run(*, quick: bool = False) -> dict:
    minutes = 10 if quick else 60
    rows = []
    with tempfile.TemporaryDirectory(prefix="longlens-bench-") as tmp:
        for size in [(480, 270)] if quick else [(320, 180), (480, 270)]:
            path = Path(tmp) / f"synth_{size[0]}x{size[1]}.mp4"
            spec = SynthSpec(duration=minutes * 60.0, fps=1.0, size=size, captions=demo_spec(minutes * 60.0).captions)
            t = time.perf_counter()
            make_video(path, spec, show_progress=False)
            rows.append({"step": "synth write", "video": f"{minutes} min 1 fps {size[0]}x{size[1]}",
                         "seconds": time.perf_counter() - t, "frames": int(minutes * 60),
                         "MB": path.stat().st_size / 2**20})
            for backend in (name for name in DECODERS if name != "auto"):
                if backend == "decord" and resolve_backend("auto") != "decord":
                    continue  # not installed
                t = time.perf_counter()
                probe(path, backend=backend)
                rows.append({"step": "probe", "video": path.stem, "backend": backend,
                             "seconds": time.perf_counter() - t})
                for policy in (FixedRate(1.0), Uniform(64)):
                    t, n = time.perf_counter(), 0
                    for batch in iter_frames(path, policy, backend=backend, size=224, batch_size=64):
                        n += len(batch)
                    dt = time.perf_counter() - t
                    rows.append({"step": f"sample {policy.key()}", "video": path.stem, "backend": backend,
                                 "seconds": dt, "frames": n, "frames/s": n / dt})
    return {"rows": rows, "notes": ["sampling runs in an isolated worker; seconds include starting it",
                                    "synth write includes drawing, libx264 (veryfast) encoding and muxing"],
            "meta": {"minutes": minutes}}
