"""The jobs users run: ask with cited timestamps, resumable grounding and multiple-choice batches, the demo.

Public names load on first use (PEP 562), so that importing the package (the CLI does, to build its parser)
does not import torch and the models' code.
"""
from __future__ import annotations

import importlib

_NAMES = {
    "ask": "longlens.pipeline.ask",
    "ask_library": "longlens.pipeline.ask",
    "best_videos": "longlens.pipeline.library",
    "AskConfig": "longlens.pipeline.config",
    "answer_json": "longlens.pipeline.ask",
    "extractive_answer": "longlens.pipeline.extractive",
    "answer_batch": "longlens.pipeline.answer",
    "AnswerTask": "longlens.pipeline.answer",
    "ground_batch": "longlens.pipeline.ground",
    "GroundTask": "longlens.pipeline.ground",
    "Job": "longlens.pipeline.jobs",
    "read_jobs": "longlens.pipeline.jobs",
    "read_questions": "longlens.pipeline.jobs",
    "run_batch": "longlens.pipeline.batch",
    "VideoTask": "longlens.pipeline.batch",
    "ResultLog": "longlens.pipeline.output",
    "run_engine": "longlens.pipeline.engines",
    "demo": "longlens.pipeline.demo",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'longlens.pipeline' has no attribute {name!r}")
