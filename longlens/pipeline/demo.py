"""`longlens demo`: the offline end-to-end demo on an embedded default video.

Builds the synthetic demo video (captions with facts, distractors, pictures; see
`longlens.data.synth.demo_spec`; and a short talk with a fact that is only said, by espeak-ng) into the
library directory, indexes it, asks three questions (one only the speech can answer), runs a grounding batch
over its facts and pictures, and scores it against the generator's ground truth.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
from PIL import Image

from longlens.core.errors import ModelUnavailableError
from longlens.core.io import atomic_path, atomic_write_json
from longlens.core.paths import default_library
from longlens.core.types import clock
from longlens.data.datasets import write_jsonl
from longlens.data.synth import FACTS, QUESTIONS, demo_spec, make_video
from longlens.data.video import probe
from longlens.eval.score import evaluate
from longlens.pipeline.ask import answer_json, ask
from longlens.pipeline.ground import ground_batch
from longlens.retrieval import RetrievalConfig, Retriever
from longlens.speech.synth import add_audio, make_talk

log = logging.getLogger(__name__)

DEMO_NAME = "longlens-demo"
DEMO_VERSION = 2  # bump when demo_spec or the talk changes what the video holds (2: the spoken fact)
# Said, never shown: (sentence, the question a user would ask). A name, which espeak-ng says clearly enough for
# the offline Whisper (it mishears espeak's "vault", say).
SPOKEN = [("The group will travel to Lisbon next week.", "Which city will the group travel to?")]
TALK_S = (12.0, 20.0)  # filler sentences this long before and after the spoken fact; the rest is silent


def add_talk(silent: Path, out: Path, duration: float, seed: int) -> list[dict]:
    """`silent` with a short talk muxed in as `out`: filler sentences around each SPOKEN fact, said at a time
    drawn from `seed`. Returns the facts' truth: text, question, start, end (s)."""
    rng = np.random.default_rng([seed, 13])
    at = round(float(rng.uniform(0.3, 0.6) * duration), 1)
    quiet = [(0.0, max(0.0, at - TALK_S[0])), (min(duration, at + TALK_S[1]), duration)]
    talk = make_talk(duration, needles=[(at, SPOKEN[0][0])], rng=rng, quiet=quiet)
    add_audio(silent, talk, out)
    return [{"text": x.text, "question": SPOKEN[0][1], "start": x.start, "end": x.end} for x in talk.lines if x.needle]


def build_demo_video(*, out_dir: str | Path | None = None, duration: float = 1200.0, seed: int = 0,
                     force: bool = False) -> tuple[Path, dict]:
    """The demo video and its ground truth (dict), built into `out_dir` (default: core.paths.default_library()).

    An existing video built from the same (duration, seed, version) is reused unless `force`.
    """
    out = Path(out_dir) if out_dir is not None else default_library()
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
    out.mkdir(parents=True, exist_ok=True)
    silent = out / f".{DEMO_NAME}.silent.mp4"
    truth = make_video(silent, demo_spec(duration=duration, seed=seed)).to_dict()
    try:
        truth["speech"] = add_talk(silent, video, duration, seed)
        silent.unlink()
    except ModelUnavailableError as e:  # no espeak-ng: the demo runs on what it shows
        log.warning("the demo video gets no spoken fact: %s", e)
        truth["speech"] = []
        silent.replace(video)
    truth["key"] = key
    atomic_write_json(truth_path, truth)
    return video, truth


def demo_jobs(video: Path, truth: dict, spec_pictures, out: Path) -> Path:
    """The demo's grounding batch, which is also its ground truth: one text query per fact shown or said (asked
    in a user's words) and one image query per inserted picture (saved as PNG beside the video)."""
    rows = []
    for c in sorted((c for c in truth["captions"] if c["kind"] == "caption"), key=lambda c: c["start"]):
        i = FACTS.index(c["text"])
        rows.append({"id": f"fact-{i}", "video": video.name, "query": QUESTIONS[i],
                     "windows": [[c["start"], c["end"]]]})
    for i, said in enumerate(truth.get("speech", [])):
        rows.append({"id": f"spoken-{i}", "video": video.name, "query": said["question"],
                     "windows": [[said["start"], said["end"]]]})
    for p in truth["pictures"]:
        png = out / f"{DEMO_NAME}.picture-{p['index']}.png"
        if not png.is_file():
            with atomic_path(png) as tmp:
                Image.fromarray(spec_pictures[p["index"]].image).save(tmp, format="PNG")
        rows.append({"id": f"picture-{p['index']}", "video": video.name, "image": png.name,
                     "windows": [[p["start"], p["end"]]]})
    path = out / f"{DEMO_NAME}.jobs.jsonl"
    write_jsonl(rows, path)
    return path


# (question, multiple-choice options or None): answered from on-screen text, and the last from what is said
# (nothing on screen tells it), when no VLM is available
DEMO_QUESTIONS = [
    ("What is the vault code?", None),
    ("At which gate does flight BA287 board?", ["Gate 12", "Gate 31", "Gate 7", "Gate 404"]),
    *((question, None) for _, question in SPOKEN),
]


def demo(*, out_dir: str | Path | None = None, duration: float = 1200.0, seed: int = 0, force: bool = False,
         workers: int | None = None, config: RetrievalConfig | None = None) -> dict:
    """The offline end-to-end demo: build (or reuse) the synthetic demo video in `out_dir` (the library folder;
    default core.paths.default_library(), the CLI passes $LONGLENS_LIBRARY's), index it with `config` (cache
    root, progress display), ask three questions (the last answered by what is said), run a grounding batch over
    its facts and pictures with the local engine, and score the batch against the generator's ground truth.
    Prints as it goes; returns what it printed as data."""
    t0 = time.perf_counter()
    config = config or RetrievalConfig()
    out = Path(out_dir) if out_dir is not None else default_library()
    video, truth = build_demo_video(out_dir=out, duration=duration, seed=seed, force=force)
    info = probe(video, backend=config.backend)
    facts = sorted((c for c in truth["captions"] if c["kind"] == "caption"), key=lambda c: c["start"])
    print(f"demo video: {video}")
    print(f"  {clock(info.duration)} at {info.fps:.3g} fps, {info.width}x{info.height} {info.codec}; "
          f"{len(facts)} on-screen facts, {sum(c['kind'] == 'distractor' for c in truth['captions'])} distractor "
          f"captions, {len(truth['pictures'])} inserted pictures, {len(truth.get('speech', []))} spoken fact(s)")

    retriever = Retriever(config)
    t = time.perf_counter()
    index = retriever.index(video)
    print(f"indexed {len(index)} frames in {time.perf_counter() - t:.1f} s (channels: {', '.join(index.channels)}; "
          f"cached: {', '.join(index.stats.get('cached', [])) or 'nothing'})")

    answers = []
    for question, options in DEMO_QUESTIONS:
        ans = ask(video, question, options=options, retriever=retriever)
        answers.append({"question": question, "options": options, **answer_json(ans)})
        print(f"\nQ: {question}" + (f"  options: {', '.join(options)}" if options else ""))
        print(f"A: {ans.text}   [{ans.answerer}]")
        for m in ans.evidence[:3]:
            print(f"   {clock(m.time)}  ({m.time:.1f} s)  score {m.score:.2f}" + (f"  [{m.kind}]" if m.kind else "")
                  + (f"  {m.text!r}" if m.text else ""))

    jobs = demo_jobs(video, truth, demo_spec(duration=duration, seed=seed).pictures, out)
    preds = out / f"{DEMO_NAME}.preds.jsonl"
    print(f"\ngrounding batch: {jobs.name} -> {preds.name} (local engine)")
    summary = ground_batch(jobs, preds, engine="local", workers=workers, overwrite=True, config=config)
    metrics = evaluate(preds, jobs)  # points, as the benchmarks report them
    brief = dict(metrics["brief"], **{"F1@5s": metrics["brief"]["Average Temporal F1 Score"]})
    print(f"  {summary['ok']} ok, {summary['error']} errors in {summary['elapsed_s']:.1f} s")
    print("  " + "  ".join(f"{k} {brief[k]:.2f}" for k in ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU", "F1@5s")))
    print(f"\ndone in {time.perf_counter() - t0:.0f} s. Explore it in the browser: longlens ui")
    return {"video": str(video), "info": info.to_dict(), "answers": answers, "batch": summary, "metrics": metrics,
            "jobs": str(jobs), "preds": str(preds)}
