"""Plain helpers shared by the pipeline tests (fixtures live in conftest.py)."""
from __future__ import annotations

import json

from longlens.data.synth import QUESTIONS


def caption_jobs(videos) -> list[dict]:
    """One job per fact of both videos, asked as a user would."""
    return [{"id": f"{name}-{f}", "video": videos[name]["path"], "query": QUESTIONS[f]}
            for name in ("a", "b") for f in videos[name]["windows"] if f != "picture"]


def write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)
