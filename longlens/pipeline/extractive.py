"""The extractive answerer: answers from the evidence itself, without a generative model.

On text-bearing video (slides, signs, subtitles, screens) the answer to a question is often written on
screen, and in talk it is often said. We rank the distinct on-screen texts and the sentences said (the
speech channel's transcript) by how well they answer the question — MiniLM's cosine to the question plus the
exact keyword hits — and reply with the best one and where it appears or was said (a sentence is cited at the
time its first word was said). Multiple choice: the option best supported by the top texts.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from longlens.eval.choice import letters, strip_letter
from longlens.lvlm import Answer
from longlens.retrieval import Moment, Retriever, ScoreCurve, VideoIndex
from longlens.retrieval.text import compact, keyword_hits

log = logging.getLogger(__name__)

MIN_RELEVANCE = 0.35  # below this (semantic cosine + keyword hits) no text shown or said answers the question


@dataclass
class TextRun:
    """One distinct line of on-screen text, or one sentence said: where it is, and how well it answers the
    question."""

    text: str
    frames: list[int]  # index rows showing it (or during which it is said)
    relevance: float  # semantic cosine to the question + keyword hit fraction
    best: int  # the most relevant row showing it (the row its first word is said in)
    kind: str = "screen"  # core.types.KINDS: "screen" or "speech"
    time: float | None = None  # when it was said (s); None: the time of row `best`


def text_runs(retriever: Retriever, index: VideoIndex, curve: ScoreCurve, question: str, *,
              frames: int = 64) -> list[TextRun]:
    """Distinct lines of on-screen text, most relevant first.

    A frame may show several texts (a caption and a sign); each OCR line is scored on its own. Candidates
    are the lines of the `frames` rows whose whole text scores best on the curve's OCR channels, so one
    question embeds at most a few hundred short lines."""
    ocr = curve.channels.get("ocr")
    if ocr is None or not index.texts:
        return []
    rel = ocr + curve.channels.get("keyword", np.zeros_like(ocr))
    rows = [int(i) for i in np.argsort(-rel, kind="stable") if index.texts[i]][:frames]
    keyed = [[(compact(line), line) for line in (text or "").splitlines()] for text in index.texts]  # per row
    runs: dict[str, TextRun] = {}  # keyed by the line without spaces and punctuation: OCR re-spaces a caption
    for i in rows:
        for key, line in keyed[i]:
            if key:
                runs.setdefault(key, TextRun(line, [], 0.0, i))
    if not runs:
        return []
    lines = [r.text for r in runs.values()]
    emb = retriever.embed_texts([question, *lines])  # [1 + L, 384]
    hits = keyword_hits(question, lines)
    score = emb[1:] @ emb[0] + (hits if hits is not None else 0.0)  # [L]
    for run, s in zip(runs.values(), score):
        run.relevance = float(s)
    for i, row in enumerate(keyed):  # every row showing a candidate line; the best is the top-scored row
        for key, _ in row:
            if key in runs:
                runs[key].frames.append(i)
    for run in runs.values():
        run.best = max(run.frames, key=lambda i: (rel[i], -i))
    return sorted(runs.values(), key=lambda r: (-r.relevance, r.best))


def spoken_runs(retriever: Retriever, index: VideoIndex, question: str) -> list[TextRun]:
    """The sentences said (the speech channel's), most relevant first, scored as on-screen lines are."""
    track = index.speech
    if "speech" not in index.channels or not len(track):
        return []
    score = retriever.channel("speech").answers(index, question)
    rows_of: dict[int, list[int]] = {}  # sentence -> the rows during which it is said
    for i, us in enumerate(track.at(index.times)):
        for u in us:
            rows_of.setdefault(u, []).append(i)
    runs = []
    for u, text in enumerate(track.texts):
        rows = rows_of.get(u) or [int(np.argmin(np.abs(index.times - track.starts[u])))]
        runs.append(TextRun(text, rows, float(score[u]), rows[0], "speech", float(track.starts[u])))
    return sorted(runs, key=lambda r: (-r.relevance, r.time))


def spoken_evidence(retriever: Retriever, index: VideoIndex, curve: ScoreCurve, question: str) -> list[Moment]:
    """Every sentence said, as evidence (kind "speech", at the time it was said), most relevant first: what a
    VLM's prompt gets as [speech] lines."""
    return [_cited(index, curve, r) for r in spoken_runs(retriever, index, question)]


def _moment(index: VideoIndex, curve: ScoreCurve, i: int, text: str | None = None) -> Moment:
    """Row i as evidence; `text` (the supporting line) replaces the row's whole text when given."""
    m = index.moment(i, float(curve.fused[i]), {c: float(s[i]) for c, s in curve.channels.items()})
    return m if text is None else replace(m, text=text)


def _nothing(indexes: list[VideoIndex]) -> str:
    return "Nothing shown or said" if any("speech" in i.channels for i in indexes) else "No on-screen text"


def _cited(index: VideoIndex, curve: ScoreCurve, run: TextRun) -> Moment:
    """A run as evidence: its text and kind, at the time it was said or at its best row."""
    m = replace(_moment(index, curve, run.best, run.text), kind=run.kind)
    return m if run.time is None else replace(m, time=run.time)


# (the index, the question's curve over it): one video an extractive answer reads
Source = tuple[VideoIndex, ScoreCurve]


def extractive_answer(retriever: Retriever, index: VideoIndex, curve: ScoreCurve, question: str, *,
                      options: list[str] | None = None, evidence: int = 5) -> Answer:
    """Answer `question` from the text shown on screen in `index` or said in it (see module doc).

    The evidence is the supporting text's moment first, then the other most relevant texts' moments.
    """
    return extractive_over(retriever, [(index, curve)], question, options=options, evidence=evidence)


def extractive_over(retriever: Retriever, sources: list[Source], question: str, *, options: list[str] | None = None,
                    evidence: int = 5, nothing: str = "") -> Answer:
    """`extractive_answer` over several videos at once (a library's best, best first): the texts shown or said
    in any of them compete, and each cited moment names its video. nothing: said after "No support found:
    nothing shown or said" (e.g. " in the library's best videos") when no text answers."""
    runs = sorted(((r, index, curve) for index, curve in sources
                   for r in text_runs(retriever, index, curve, question) + spoken_runs(retriever, index, question)),
                  key=lambda x: (-x[0].relevance, x[2].times[x[0].best] if x[0].time is None else x[0].time))
    none = _nothing([index for index, _ in sources])
    if options:
        return _choose(retriever, runs, options, evidence, none)
    if not runs or runs[0][0].relevance < MIN_RELEVANCE:  # not found is an answer: cite nothing rather than noise
        return Answer(text=f"No support found: {none.lower()}{nothing} answers this.", answerer="extractive",
                      evidence=[], parsed=None)
    best = runs[0][0]
    moments = [_cited(index, curve, r) for r, index, curve in runs[:evidence]]
    return Answer(text=best.text, answerer="extractive", evidence=moments, parsed=best.text)


def _choose(retriever, runs: list[tuple[TextRun, VideoIndex, ScoreCurve]], options: list[str], evidence: int,
            nothing: str) -> Answer:
    """Pick the option whose text is best supported by the question's most relevant on-screen texts."""
    marks = letters(len(options))
    bare = [strip_letter(o) for o in options]
    top = [x for x in runs[: max(evidence, 1)] if x[0].relevance > 0]
    if not top:
        return Answer(text=f"{nothing} supports any option.", answerer="extractive", choice=None, evidence=[],
                      parsed=None)
    texts = [r.text for r, _, _ in top]
    opt = retriever.embed_texts(bare)  # [O, 384]
    txt = retriever.embed_texts(texts)  # [R, 384]
    rel = np.array([r.relevance for r, _, _ in top])
    support = (opt @ txt.T) * np.clip(rel, 0, None)[None, :]  # [O, R]
    for o, text in enumerate(bare):
        hits = keyword_hits(text, texts)
        if hits is not None:
            support[o] += hits * np.clip(rel, 0, None)
    o = int(np.argmax(support.max(axis=1)))
    r = int(np.argmax(support[o]))
    cited = [_cited(index, curve, run) for run, index, curve in top]
    moments = [cited[r]] + [m for i, m in enumerate(cited) if i != r]
    return Answer(text=f"{marks[o]}. {bare[o]}", answerer="extractive", choice=marks[o], evidence=moments[:evidence],
                  parsed=marks[o])
