"""`longlens demo`: the offline end-to-end demo on an embedded default video.

Today it builds the synthetic demo video (captions with facts, distractors, pictures; see
`longlens.data.synth.demo_spec`) into the library directory and probes it. Later stages (index, ask,
ground) extend this function.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from longlens.data.io import atomic_write_json
from longlens.data.paths import library_dir
from longlens.data.synth import demo_spec, make_video
from longlens.data.video import probe

log = logging.getLogger(__name__)

DEMO_NAME = "longlens-demo"
DEMO_VERSION = 1  # bump when demo_spec changes what it draws


def build_demo_video(*, out_dir: str | Path | None = None, duration: float = 1200.0, seed: int = 0,
                     force: bool = False) -> tuple[Path, dict]:
    """The demo video and its ground truth (dict), built into `out_dir` (default: the library directory).

    An existing video built from the same (duration, seed, version) is reused unless `force`.
    """
    out = Path(out_dir) if out_dir is not None else library_dir()
    video, truth_path = out / f"{DEMO_NAME}.mp4", out / f"{DEMO_NAME}.truth.json"
    key = {"duration": duration, "seed": seed, "version": DEMO_VERSION}
    if not force and video.is_file() and truth_path.is_file():
        try:
            truth = json.loads(truth_path.read_text())
            if truth.get("key") == key:
                log.info("reusing %s", video)
                return video, truth
        except (OSError, json.JSONDecodeError):
            pass
    truth = make_video(video, demo_spec(duration=duration, seed=seed)).to_dict()
    truth["key"] = key
    atomic_write_json(truth_path, truth)
    return video, truth


def _clock(t: float) -> str:
    m, s = divmod(int(round(t)), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}"


def demo(*, out_dir: str | Path | None = None, duration: float = 1200.0, seed: int = 0, force: bool = False) -> dict:
    """Build (or reuse) the demo video, probe it, print a summary; returns {"video", "info", "truth"}."""
    t0 = time.perf_counter()
    video, truth = build_demo_video(out_dir=out_dir, duration=duration, seed=seed, force=force)
    built = time.perf_counter() - t0
    info = probe(video)
    facts = sorted((c for c in truth["captions"] if c["kind"] == "caption"), key=lambda c: c["start"])
    print(f"demo video: {video}")
    print(f"  {_clock(info.duration)} ({info.duration:.0f} s), {info.frames} frames at {info.fps:.3g} fps, "
          f"{info.width}x{info.height} {info.codec}, decoded with {info.backend}  [ready in {built:.1f} s]")
    print(f"  {len(facts)} on-screen facts, "
          f"{sum(c['kind'] == 'distractor' for c in truth['captions'])} distractor captions, "
          f"{len(truth['pictures'])} inserted pictures; ground truth in {video.with_suffix('').name}.truth.json")
    for c in facts:
        print(f"  {_clock(c['start'])}-{_clock(c['end'])}  {c['text']}")
    return {"video": str(video), "info": info.to_dict(), "truth": truth}
