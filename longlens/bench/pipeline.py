"""`longlens bench pipeline`: throughput of grounding batches.

8 synthetic videos x 10 text queries (quick: 4 x 5, shorter videos), each engine on a cold index cache:
local with 1 and 2 workers, and Ray with 2 actors; then the same batch again on the warm cache (queries
only), `--resume` on a finished output (should do no work), and the per-stage seconds of indexing one video.
Every run is also scored (R@1 at IoU 0.5) so a fast wrong engine shows.
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from longlens.core.errors import InputError
from longlens.data.synth import FACTS, QUESTIONS, demo_spec, make_video
from longlens.eval.score import evaluate
from longlens.pipeline.ground import ground_batch
from longlens.retrieval import RetrievalConfig, Retriever


def _videos(root: Path, n: int, duration: float, queries: int) -> Path:
    """n demo-like videos and one job file (which is also the ground truth)."""
    rows = []
    for v in range(n):
        path = root / f"video{v}.mp4"
        truth = make_video(path, demo_spec(duration=duration, seed=v), show_progress=False)
        facts = {c["text"]: (c["start"], c["end"]) for c in truth.captions if c["kind"] == "caption"}
        for i in range(queries):
            rows.append({"id": f"v{v}-q{i}", "video": str(path), "query": QUESTIONS[i],
                         "windows": [list(facts[FACTS[i]])]})
    jobs = root / "jobs.jsonl"
    jobs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return jobs


def _run(label: str, jobs: Path, out: Path, cache: Path, **kw) -> dict:
    s = ground_batch(jobs, out, config=RetrievalConfig(cache_dir=cache, progress=False), **kw)
    m = evaluate(out, jobs, metrics="charades")["charades"]  # points
    return {"run": label, "seconds": s["elapsed_s"], "queries/s": s["queries_per_s"], "videos/min": s["videos_per_min"],
            "processed": s["processed"], "errors": s["error"], "R1@0.5": m["R1@0.5"]}


def run(*, quick: bool = False) -> dict:
    n, queries, duration = (4, 5, 60.0) if quick else (8, 10, 120.0)
    rows, notes = [], []
    with tempfile.TemporaryDirectory(prefix="longlens-bench-") as tmp:
        root = Path(tmp)
        jobs = _videos(root, n, duration, queries)
        for label, kw in (("local, 1 worker, cold", {"engine": "local", "workers": 1}),
                          ("local, 2 workers, cold", {"engine": "local", "workers": 2}),
                          ("ray, 2 actors, cold", {"engine": "ray", "workers": 2})):
            try:
                rows.append(_run(label, jobs, root / f"{label}.jsonl", root / f"cache-{len(rows)}", **kw))
            except InputError as e:  # the ray extra is not installed
                if not isinstance(e.__cause__, ImportError):
                    raise
                notes.append(f"{label}: skipped ({e})")
        warm = root / "cache-0"
        rows.append(_run("local, 2 workers, warm cache", jobs, root / "warm.jsonl", warm, engine="local", workers=2))
        t = time.perf_counter()
        rows.append({**_run("resume a finished output", jobs, root / "warm.jsonl", warm, engine="local", workers=2,
                            resume=True), "seconds": time.perf_counter() - t})
        config = RetrievalConfig(cache_dir=root / "cache-stages", progress=False)
        idx = Retriever(config).index(root / "video0.mp4")
        for stage, sec in idx.stats["seconds"].items():
            rows.append({"run": f"index one {duration:g} s video: {stage}", "seconds": sec})
    notes.append(f"{n} videos x {queries} queries, {duration:g} s each at 1 fps; cold = empty index cache; "
                 "seconds include starting worker processes / Ray and loading models")
    return {"rows": rows, "notes": notes, "meta": {"videos": n, "queries": queries, "duration": duration}}
