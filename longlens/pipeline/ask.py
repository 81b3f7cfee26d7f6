"""`longlens ask`: answer a question about a video, citing the moments that support the answer.

index (cached) → score the question on every channel → select frames (a selector, or zoom-in; optionally
reranked by the VLM's reflection) → answer: the VLM fed timestamp-stamped frames and the sentences said
("lvlm"), or the text shown or said itself ("extractive"); "auto" uses the VLM when one can be loaded and says
which one answered.
The options are an `AskConfig` (pipeline.config), which refuses the combinations it cannot honour.
"""
from __future__ import annotations

import functools
import logging
import os
from dataclasses import replace

import numpy as np

from longlens.core.errors import InputError, ModelUnavailableError
from longlens.data import AtTimes, read_frames
from longlens.lvlm import Answer, load_vlm_config
from longlens.lvlm import answer as lvlm_answer
from longlens.lvlm import reflect as lvlm_reflect
from longlens.pipeline.config import AskConfig
from longlens.pipeline.extractive import extractive_answer, extractive_over, spoken_evidence
from longlens.pipeline.library import LIBRARY_VIDEOS, best_videos
from longlens.retrieval import RetrievalConfig, Retriever, ground_segments

log = logging.getLogger(__name__)


@functools.cache
def _say_once(message: str) -> None:
    log.warning("%s", message)


def ask(
    video: str | os.PathLike,
    question: str,
    *,
    options: list[str] | None = None,
    layout: str = "videomme",
    retriever: Retriever | None = None,
    config: RetrievalConfig | None = None,
    vlm=None,
    ask_config: AskConfig | None = None,
    **choices,
) -> Answer:
    """Answer `question` about `video`; the Answer's evidence holds the supporting moments (time, score, text).

    How it answers: `ask_config` (an AskConfig), and/or its fields as keywords, which override it: answerer,
    frames, selector, zoom, reflect, model, attn, kernels (see AskConfig for their meaning, defaults and the
    combinations refused with an InputError). options: multiple-choice options (the answer then carries the
    letter in `choice`); layout: the benchmark whose prompt the VLM gets for them (longlens.lvlm.LAYOUTS).
    config: the retrieval configuration when no `retriever` is given. Pass a loaded `retriever` / `vlm` (see
    `vlm_for`) to reuse models across calls.
    """
    how = replace(ask_config or AskConfig(), **choices)
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty")
    if how.answerer != "extractive" and vlm is None:
        vlm = vlm_for(how)
    retriever = retriever or Retriever(config)
    index = retriever.index(video)
    curve = retriever.curve(index, question)
    if how.answerer == "extractive" or vlm is None:
        return extractive_answer(retriever, index, curve, question, options=options)

    if how.zoom:
        moments = retriever.zoom(index, question, budget=how.budget)
    else:
        if how.reflect:
            curve = _reflected(vlm, retriever, index, curve, question)
        moments = retriever.select(index, curve, how.budget, method=how.method)
    shown = read_frames(video, AtTimes(tuple(m.time for m in moments)), backend=retriever.config.backend)
    said = spoken_evidence(retriever, index, curve, question)  # the most relevant fit the prompt's speech budget
    return lvlm_answer(vlm, shown, question, options=options, layout=layout, duration=index.duration,
                       evidence=moments, said=said)


def ask_library(
    library: str | os.PathLike,
    question: str,
    *,
    videos: int = LIBRARY_VIDEOS,
    options: list[str] | None = None,
    layout: str = "videomme",
    retriever: Retriever | None = None,
    config: RetrievalConfig | None = None,
    vlm=None,
    ask_config: AskConfig | None = None,
    **choices,
) -> Answer:
    """Answer `question` from a library (a folder indexed by `longlens index`): its `videos` best videos for the
    question first, then the answer over them; each evidence Moment names its video (`Moment.video`).

    The extractive answerer reads the texts shown or said in all of them (the most relevant wins, wherever it
    is); the VLM is asked about the best video as `ask` would (its prompt's timestamps are one video's). No
    video with evidence: an answer saying no support was found, citing nothing. The other arguments: as `ask`.
    """
    how = replace(ask_config or AskConfig(), **choices)
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty")
    if videos < 1:
        raise InputError(f"videos must be >= 1, got {videos}")
    if how.answerer != "extractive" and vlm is None:
        vlm = vlm_for(how)
    retriever = retriever or Retriever(config)
    hits = best_videos(library, question, videos=videos, config=retriever.config, retriever=retriever)
    if not hits:
        return Answer(text="No support found: no video of the library shows or says anything that answers this.",
                      answerer="extractive" if vlm is None else "lvlm", evidence=[], parsed=None)
    if how.answerer == "extractive" or vlm is None:
        sources = []
        for hit in hits:
            index = retriever.index(hit.video, progress=False)
            sources.append((index, retriever.curve(index, question)))
        return extractive_over(retriever, sources, question, options=options,
                               nothing=f" in the library's best {len(hits)} video(s)")
    return ask(hits[0].video, question, options=options, layout=layout, retriever=retriever, vlm=vlm,
               ask_config=how)


def vlm_for(how: AskConfig):
    """The VLM `how` names (loaded now: pass it to `ask` to reuse it), or None when it answers without one
    (extractive, or "auto" when none loads). Under "lvlm" a missing model is an error; under "auto" too when
    VLM-only options were asked for (they would be ignored otherwise)."""
    if how.answerer == "extractive":
        return None
    try:
        return load_vlm_config(how.vlm_config())
    except ModelUnavailableError as e:
        if how.answerer == "lvlm":
            raise
        if how.vlm_options():
            raise InputError(how.extractive_conflicts(e.summary)) from e
        _say_once(f"no vision-language model ({e}); answering from on-screen text (extractive)")
        return None


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
        clip = read_frames(index.video, AtTimes(tuple(float(curve.times[i]) for i in pick)),
                           backend=retriever.config.backend)
        p = lvlm_reflect(vlm, clip, question)
        log.info("reflection: %.1f-%.1f s P(yes)=%.3f", seg.start, seg.end, p)
        fused[inside] += 2.0 * (p - 0.5)
    return type(curve)(curve.times, fused, curve.channels, curve.stats)


def answer_json(ans: Answer, *, videos: bool = False) -> dict:
    """The `longlens ask --json` object; videos: each evidence item names its video (answers over a library)."""
    return {
        "answer": ans.text,
        "answerer": ans.answerer,
        "choice": ans.choice,
        "attention": ans.attention,  # which attention actually ran (None: no VLM answered)
        "visited_fraction": ans.visited_fraction,
        "evidence": [{**({"video": m.video} if videos else {}), "time": round(float(m.time), 3),
                      "score": round(float(m.score), 4), "text": m.text, "kind": m.kind}
                     for m in ans.evidence],
    }
