"""`longlens ask`: answer a question about a video, citing the moments that support the answer.

index (cached) → score the question on every channel → select frames (TASS by default, zoom-in when
asked) → answer: the VLM fed timestamp-stamped frames ("lvlm"), or the on-screen text itself
("extractive"); "auto" uses the VLM when one can be loaded and says which one answered.
"""
from __future__ import annotations

import functools
import logging
import os

import numpy as np

from longlens.data import AtTimes, read_frames
from longlens.core.errors import InputError
from longlens.lvlm import DEFAULT_MODEL, Answer, load_vlm
from longlens.lvlm import answer as lvlm_answer
from longlens.lvlm import reflect as lvlm_reflect
from longlens.retrieval import ModelUnavailableError
from longlens.pipeline.extractive import extractive_answer
from longlens.retrieval import RetrievalConfig, Retriever, ground_segments
from longlens.retrieval.retriever import METHODS

log = logging.getLogger(__name__)

ANSWERERS = ("auto", "lvlm", "extractive")


@functools.cache
def _say_once(message: str) -> None:
    log.warning("%s", message)


def ask(
    video: str | os.PathLike,
    question: str,
    *,
    frames: int = 32,
    selector: str = "tass",
    answerer: str = "auto",
    options: list[str] | None = None,
    zoom: bool = False,
    reflect: bool = False,
    model: str = DEFAULT_MODEL,
    attn: str = "hybrid",
    retriever: Retriever | None = None,
    config: RetrievalConfig | None = None,
    vlm=None,
) -> Answer:
    """Answer `question` about `video`; the Answer's evidence holds the supporting moments (time, score, text).

    frames: frame budget for the VLM; selector: tass | uniform | topk | mmr; zoom: coarse-to-fine search
    instead of one pass; reflect: rerank candidate windows by the VLM's P(yes) before selecting (lvlm only);
    options: multiple-choice options (the answer then carries the letter in `choice`).
    Pass a loaded `retriever` / `vlm` to reuse models across calls.
    """
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty")
    if answerer not in ANSWERERS:
        raise InputError(f"answerer must be one of {ANSWERERS}, got {answerer!r}")
    if selector not in METHODS:
        raise InputError(f"selector must be one of {METHODS}, got {selector!r}")
    if not isinstance(frames, int) or frames < 1:
        raise InputError(f"frames must be a whole number >= 1, got {frames!r}")
    retriever = retriever or Retriever(config)
    index = retriever.index(video)
    curve = retriever.curve(index, question)

    if answerer != "extractive" and vlm is None:
        try:
            vlm = load_vlm(model, attn=attn)
        except ModelUnavailableError as e:
            if answerer == "lvlm":
                raise
            _say_once(f"no vision-language model ({e}); answering from on-screen text (extractive)")
    if answerer == "extractive" or vlm is None:
        return extractive_answer(retriever, index, curve, question, options=options)

    if reflect:
        curve = _reflected(vlm, retriever, index, curve, question)
    if zoom:
        moments = retriever.zoom(video, question, budget=frames)
    else:
        moments = retriever.select(index, curve, frames, method=selector)
    shown = read_frames(video, AtTimes(tuple(m.time for m in moments)), backend=retriever.config.backend)
    return lvlm_answer(vlm, shown, question, options=options, duration=index.duration, evidence=moments)


def _reflected(vlm, retriever: Retriever, index, curve, question: str, *, windows: int = 4, per_window: int = 4):
    """TimeSearch-style reflection: the best candidate windows are shown to the VLM, which says how likely
    each holds the answer; that probability (in z-score units) is added to the fused curve inside the window."""
    segments = ground_segments(curve.times, curve.fused, top=windows, duration=index.duration)
    fused = curve.fused.copy()
    for seg in segments:
        inside = np.flatnonzero((curve.times >= seg.start) & (curve.times <= seg.end))
        if inside.size == 0:
            continue
        pick = inside[np.linspace(0, inside.size - 1, min(per_window, inside.size)).round().astype(int)]
        clip = read_frames(index.video, AtTimes(tuple(float(curve.times[i]) for i in pick)), backend=retriever.config.backend)
        p = lvlm_reflect(vlm, clip, question)
        log.info("reflection: %.1f-%.1f s P(yes)=%.3f", seg.start, seg.end, p)
        fused[inside] += 2.0 * (p - 0.5)
    return type(curve)(curve.times, fused, curve.channels, curve.stats)


def answer_json(ans: Answer) -> dict:
    """The `longlens ask --json` object."""
    return {
        "answer": ans.text,
        "answerer": ans.answerer,
        "choice": ans.choice,
        "evidence": [{"time": round(float(m.time), 3), "score": round(float(m.score), 4), "text": m.text} for m in ans.evidence],
    }
