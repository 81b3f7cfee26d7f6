"""The names users choose from, in one place: channels, selectors, job, prediction and question formats, metric
sets, answerers, engines, attention modes, kernel backends, decoders. The CLI's `choices`, the explorer's
options and every validity check read these; nobody restates them.

A `Registry` maps each name to where its implementation lives ("module:attr"), imported on first use, so a
name can be listed or checked without importing anything heavy.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterator

from longlens.core.errors import InputError


class Registry:
    """Names of one kind of plug-in -> "module:attr" (or None for names handled in place)."""

    def __init__(self, kind: str, entries: dict[str, str | None], *, default: str | None = None) -> None:
        self.kind = kind
        self._entries = dict(entries)
        self.default = default if default is not None else next(iter(self._entries), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._entries)})"

    def check(self, name: str) -> str:
        """`name` itself, or InputError naming the choices."""
        if name not in self._entries:
            raise InputError(f"unknown {self.kind} {name!r}; choose from {', '.join(self._entries)}")
        return name

    def register(self, name: str, target: str | None) -> None:
        """Add (or replace) a name: one line per plug-in, beside the others below."""
        self._entries[name] = target

    def load(self, name: str):
        """The object registered under `name` (imported now)."""
        target = self._entries[self.check(name)]
        if target is None:
            raise LookupError(f"{self.kind} {name!r} has no importable implementation")
        module, _, attr = target.partition(":")
        obj = importlib.import_module(module)
        return getattr(obj, attr) if attr else obj


# What is embedded and searched. Each name is one module of longlens.retrieval.channels with a `CHANNEL`.
CHANNELS = Registry("channel", {
    "clip": "longlens.retrieval.channels.clip:CHANNEL",
    "ocr": "longlens.retrieval.channels.ocr:CHANNEL",
    "image": "longlens.retrieval.channels.image:CHANNEL",
    "speech": "longlens.retrieval.channels.speech:CHANNEL",
})

# How frames are chosen for a VLM from a score curve (longlens.retrieval.select).
SELECTORS = Registry("selector", {
    "tass": "longlens.retrieval.select:tass",
    "uniform": "longlens.retrieval.select:uniform",
    "topk": "longlens.retrieval.select:topk",
    "mmr": "longlens.retrieval.select:mmr",
})

# Layouts of grounding files (jobs in, ground truth): ours and the benchmarks' own.
GROUNDING_FORMATS = Registry("grounding format", {
    "longlens": None, "charades": None, "qvhighlights": None, "activitynet": None,
})

# Layouts of prediction files `longlens eval` reads (longlens.eval.formats describes and reads each).
PREDICTION_FORMATS = Registry("prediction format", {
    "longlens": None, "qvhighlights": None, "charades": None, "timechat": None, "activitynet": None,
})

# Which benchmarks' metrics `longlens eval` reports (longlens.eval.score); "all": every one.
METRIC_SETS = Registry("metric set", {"all": None, "qvhighlights": None, "charades": None, "lvhaystack": None})

# Layouts of multiple-choice question files (`longlens answer` in, `longlens eval --qa` ground truth):
# ours and the benchmarks' own (longlens.data.datasets.load_mcq).
QA_FORMATS = Registry("question format", {
    "longlens": None, "videomme": None, "lvbench": None, "longvideobench": None,
})

# Who answers a question: the VLM, or the evidence text itself; auto = the VLM when one loads.
ANSWERERS = Registry("answerer", {"auto": None, "lvlm": None, "extractive": None})

# Where batch jobs run.
ENGINES = Registry("engine", {"local": "longlens.pipeline.engines:LocalEngine",
                              "ray": "longlens.pipeline.engines:RayEngine"})

# The VLM's attention: "sparse" = our kernels (block-sparse softmax in the full-attention layers, our chunked
# gated delta rule in the linear ones); "sdpa" / "eager" = the model's stock attention; "auto" = chosen at load
# time for the device (longlens.lvlm.config.resolve_attention: sparse on CUDA, sdpa on CPU).
ATTENTION = Registry("attention", {"auto": None, "sparse": None, "sdpa": None, "eager": None})

# Which implementation our kernels run: Triton where it can (CUDA, or the interpreter when it was switched on
# before import), else the PyTorch reference twins; "reference" always the twins.
KERNEL_BACKENDS = Registry("kernel backend", {"auto": None, "triton": None, "reference": None})

# Video decoders (longlens.data.decoders).
DECODERS = Registry("decoder", {"auto": None, "decord": None, "pyav": None})
