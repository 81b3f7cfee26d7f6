"""Evaluation with the benchmarks' own metrics: moment retrieval (QVHighlights, Charades-STA, ActivityNet
Captions), highlight detection (QVHighlights), temporal F1 (LV-Haystack), prediction files in their native
layouts, multiple-choice accuracy (VideoMME, LVBench, LongVideoBench; `longlens.eval.qa`), and the one home of
multiple-choice letters (`longlens.eval.choice`).

Names are imported on first use, so `longlens.eval.choice` stays importable from any layer (data loaders,
prompts) without pulling in the readers.
"""
from __future__ import annotations

import importlib

_NAMES = {
    "evaluate": "score", "table": "score", "METRIC_SETS": "score",
    "read_predictions": "formats", "detect_format": "formats", "Prediction": "formats",
    "PREDICTION_FORMATS": "formats",
    "read_truth": "truth", "Truth": "truth",
    "parse_choice": "choice", "letters": "choice", "format_options": "choice", "strip_letter": "choice",
    "evaluate_qa": "qa", "qa_table": "qa", "mcq_accuracy": "qa",
}
__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name not in _NAMES:
        raise AttributeError(f"module 'longlens.eval' has no attribute {name!r}")
    return getattr(importlib.import_module(f"longlens.eval.{_NAMES[name]}"), name)
