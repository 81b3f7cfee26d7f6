"""Spoken facts found, grounded and answered through the speech channel alone (real Whisper base, offline).

Two clips made with this run's seed: three facts each from FACTS at random times among filler sentences, the
second clip's audio starting 1.5 s after its first frame. The visual channels are off: only speech can answer.
"""
from __future__ import annotations

import pytest
from speech_helpers import FACTS, needs_espeak, needs_whisper, says

from longlens.core.types import iou
from longlens.data.synth import SynthSpec, make_video
from longlens.pipeline.ask import answer_json, ask
from longlens.retrieval import RetrievalConfig, Retriever
from longlens.speech.synth import add_audio, make_talk

pytestmark = [needs_espeak, needs_whisper]

CLIP_S = 30.0
OFFSETS = (0.0, 1.5)  # s between the first frame and the first sample of each clip's audio


@pytest.fixture(scope="module")
def clips(tmp_path_factory, module_rng, model_cache):
    """[(path, [(fact, question, answers, start, end)], offset)]: start/end of each fact on the video's clock."""
    folder = tmp_path_factory.mktemp("spoken_facts")
    silent = make_video(folder / "silent.mp4", SynthSpec(duration=CLIP_S, fps=2.0, size=(160, 90)), show_progress=False)
    del silent
    picks = module_rng.permutation(len(FACTS))[: 3 * len(OFFSETS)]
    out = []
    for c, offset in enumerate(OFFSETS):
        chosen = [FACTS[int(k)] for k in picks[3 * c : 3 * c + 3]]
        needles = [(round(float(module_rng.uniform(1.0 + 10 * k, 4.0 + 10 * k)), 2), f[0]) for k, f in enumerate(chosen)]
        talk = make_talk(CLIP_S - offset, needles=needles, rng=module_rng)
        path = add_audio(folder / "silent.mp4", talk, folder / f"facts-{c}.mp4", offset=offset)
        lines = [x for x in talk.lines if x.needle]
        facts = [(f[0], f[1], f[2], offset + x.start, offset + x.end) for f, x in zip(chosen, lines)]
        print(f"{path.name} (offset {offset} s):", [(x.start, x.end, x.text) for x in talk.lines])
        out.append((path, facts, offset))
    return out


@pytest.fixture(scope="module")
def speech_only(model_cache):
    return Retriever(RetrievalConfig(channels=("speech",), cache_dir=model_cache, progress=False))


def test_spoken_queries_ground_to_the_words_said(clips, speech_only):
    hits, rows = 0, []
    for path, facts, _ in clips:
        for _fact, question, _, start, end in facts:
            segs = speech_only.ground(path, question, top=1)
            got = (segs[0].start, segs[0].end) if segs else None
            score = iou(got, (start, end)) if got else 0.0
            hits += score >= 0.5
            rows.append((path.name, question, (round(start, 2), round(end, 2)), got, round(score, 2)))
    print("\n".join(map(str, rows)))
    assert hits / len(rows) >= 0.8, rows  # R1@0.5


def test_ask_answers_from_speech_citing_when_it_was_said(clips, speech_only):
    good, rows = 0, []
    for path, facts, _ in clips:
        for _fact, question, answers, start, _ in facts:
            out = answer_json(ask(path, question, retriever=speech_only, answerer="extractive"))
            first = out["evidence"][0] if out["evidence"] else {}
            ok = says(out["answer"], answers) and first.get("kind") == "speech" and abs(first["time"] - start) <= 5.0
            good += ok
            rows.append((question, out["answer"], first.get("time"), round(start, 2), first.get("kind"), ok))
    print("\n".join(map(str, rows)))
    assert good / len(rows) >= 0.8, rows


def test_the_words_sit_on_the_video_clock(clips, speech_only):
    """The clip whose audio starts 1.5 s late: its sentences are found where they are heard with the frames."""
    path, facts, offset = clips[1]
    assert offset == 1.5
    track = speech_only.index(path).speech
    for fact, _, _, start, end in facts:
        u = max(range(len(track)), key=lambda k: iou((track.starts[k], track.ends[k]), (start, end)))
        assert abs(track.starts[u] - start) < 0.5 and abs(track.ends[u] - end) < 0.5, (fact, track.texts[u])


def test_search_zoom_and_moments_carry_the_words(clips, speech_only):
    path, facts, _ = clips[0]
    fact, question, answers, start, end = facts[0]
    best = speech_only.search(path, question, k=1)[0]
    assert best.kind == "speech" and says(best.text, answers) and start - 1 <= best.time <= end + 1
    zoomed = speech_only.zoom(path, question, budget=4, rounds=1)
    assert zoomed and all(m.kind in ("speech", None) for m in zoomed)
    assert any(m.text and says(m.text, answers) for m in zoomed)  # re-decoded frames hear the same speech
