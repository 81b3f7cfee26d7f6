"""What is said goes into a VLM's prompt as [speech] lines, in time order among the frames, within a token budget."""
from __future__ import annotations

import re

import numpy as np

from longlens.core.types import Frame, Moment
from longlens.lvlm.prompts import build_prompt, spoken_lines


def frames(times, rng):
    return [Frame(float(t), i, rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)) for i, t in enumerate(times)]


def said(items):
    """Moments of sentences said, in the order given (most relevant first)."""
    return [Moment("v.mp4", t, 1.0, {}, text, -1, "speech") for t, text in items]


def test_lines_interleave_with_frames_by_time(rng, seed):
    shown = sorted(float(x) for x in rng.uniform(10, 100, 3))
    heard = [(float(t), f"sentence number {k}") for k, t in enumerate(rng.uniform(0, 120, 4))]
    print(f"seed {seed}: frames {shown}, said {heard}")
    prompt = build_prompt(frames(shown, rng)[::-1], "What is said?", duration=130.0, said=said(heard))
    content = prompt.messages[0]["content"]
    stamps = []  # (time, what) in prompt order
    for item in content:
        text = item.get("text", "")
        for stamp, what in re.findall(r"<(\d+\.\d)s>( \[speech\] \"[^\"]*\")?", text):
            stamps.append((float(stamp), "speech" if what else "frame"))
    assert [k for _, k in stamps].count("frame") == 3 and [k for _, k in stamps].count("speech") == 4
    assert [t for t, _ in stamps] == sorted(t for t, _ in stamps)  # one time line for frames and speech
    for t, text in heard:
        assert f'<{t:.1f}s> [speech] "{text}"' in prompt.speech
    assert "[speech]" in content[0]["text"] and "4 lines" in content[0]["text"]  # the header says what they are


def test_the_budget_keeps_the_most_relevant_lines(rng):
    long = "word " * 40
    heard = said([(50.0, "the most relevant"), (5.0, long), (70.0, "short and late"), (30.0, "also short")])
    count = lambda text: len(text.split())  # noqa: E731 - a tokenizer of whitespace words
    lines = spoken_lines(heard, budget=14, count=count)  # 5 + 5 + 4 tokens
    # the long second line does not fit after the first; the short ones after it still do; time order out
    assert [t for t, _ in lines] == [30.0, 50.0, 70.0]
    assert sum(count(line + "\n") for _, line in lines) == 14
    assert spoken_lines(heard, budget=0, count=count) == []
    assert build_prompt(frames([1.0], rng), "Q?", duration=2.0).speech == []  # nothing said: no lines, no header note


def test_native_prompt_puts_the_lines_after_the_video(rng):
    prompt = build_prompt(frames([1.0, 2.0], rng), "Q?", duration=9.0, native=True,
                          said=said([(4.0, "late words"), (0.5, "early words")]))
    kinds = [item["type"] for item in prompt.messages[0]["content"]]
    assert kinds == ["text", "video", "text", "text"]
    assert prompt.messages[0]["content"][2]["text"].strip().splitlines() == [
        '<0.5s> [speech] "early words"', '<4.0s> [speech] "late words"']
