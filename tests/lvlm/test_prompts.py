"""Timestamp-injected prompts through the real Qwen processors: right stamps, time order, one per frame."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

from longlens.core.errors import InputError
from longlens.lvlm.prompts import (
    build_prompt,
    format_stamp,
    grounding_instruction,
    mc_instruction,
    to_inputs,
)

VSTART, IMG, VID = "<|vision_start|>", "<|image_pad|>", "<|video_pad|>"
TEXT_STAMP = {
    "seconds": r"<\d+\.\ds>",
    "clock": r"<(?:\d+:)?\d{2}:\d{2}>",
    "lita": r"<t\d+>",
}


def _decoded(proc, prompt, **kw) -> str:
    inputs = to_inputs(proc, prompt, **kw)
    return proc.tokenizer.decode(inputs["input_ids"][0])


def _vfr_times(rng, n, duration):
    """n distinct variable-frame-rate times in [0, duration), not on any fixed grid, shuffled."""
    t = np.sort(rng.uniform(0, duration, n))
    t = t + np.arange(n) * 1e-3  # distinct
    rng.shuffle(t)
    return t.tolist()


@pytest.mark.parametrize("fmt", ["seconds", "clock", "lita"])
@pytest.mark.parametrize("kind", ["qwen2_5_vl", "qwen3_5"])
def test_text_stamps_one_per_frame_in_time_order(tiny_parts, frames_at, rng, kind, fmt):
    spec, proc, _ = tiny_parts(kind)
    duration = float(rng.uniform(100, 5000))
    n = int(rng.integers(3, 9))
    frames = frames_at(spec, _vfr_times(rng, n, duration))
    prompt = build_prompt(frames, "What happens?", duration=duration, fmt=fmt, buckets=50)
    text = _decoded(proc, prompt)

    order = sorted(frames, key=lambda f: f.time)
    expected = [format_stamp(f.time, fmt=fmt, duration=duration, buckets=50) for f in order]
    assert prompt.stamps == expected
    # each frame: exactly one stamp right before its image, none anywhere else
    groups = re.findall(rf"({TEXT_STAMP[fmt]}){re.escape(VSTART)}(?:{re.escape(IMG)})+", text)
    assert groups == expected
    assert len(re.findall(TEXT_STAMP[fmt], text)) == n
    assert text.count(VSTART) == n
    assert "seconds>" not in text and VID not in text
    # the images go in the same (time) order as the stamps
    for img, f in zip(prompt.images, order):
        assert img is f.image or np.array_equal(img, f.image)
    # the header states the duration and that stamps are absolute
    assert f"{duration:.1f} seconds" in text and "absolute" in text


def test_stamp_values(rng):
    t = float(rng.uniform(0, 3599))
    assert format_stamp(t) == f"<{t:.1f}s>"
    m, s = divmod(int(round(t)), 60)
    assert format_stamp(t, fmt="clock", duration=3599) == f"<{m:02d}:{s:02d}>"
    h_t = 3600 + t
    assert format_stamp(h_t, fmt="clock", duration=7200) == f"<1:{m:02d}:{s:02d}>"
    d = float(rng.uniform(10, 5000))
    for x in rng.uniform(0, d, 20):
        k = int(format_stamp(float(x), fmt="lita", duration=d, buckets=64)[2:-1])
        assert k == min(63, math.floor(x / d * 64))
    assert format_stamp(d, fmt="lita", duration=d, buckets=64) == "<t63>"
    assert format_stamp(0.0, fmt="lita", duration=d, buckets=64) == "<t0>"


@pytest.mark.parametrize("kind", ["qwen3_vl", "qwen3_5"])
@pytest.mark.parametrize("n", [5, 8])
def test_native_stamps_are_the_true_times_and_never_doubled(tiny_parts, frames_at, rng, kind, n):
    """Qwen3-VL / Qwen3.5 stamp video frames themselves: they must get the decoder PTS, and no text stamps."""
    spec, proc, _ = tiny_parts(kind)
    duration = float(rng.uniform(100, 3000))
    frames = frames_at(spec, _vfr_times(rng, n, duration))
    prompt = build_prompt(frames, "What happens?", duration=duration, native=True)
    assert prompt.native and prompt.stamps == []
    text = _decoded(proc, prompt)

    times = sorted(round(f.time * 1000) / 1000 for f in frames)  # the metadata carries times to the millisecond
    times += times[-1:] * (n % 2)  # the processor pads an odd clip with its last frame
    # one stamp per temporal patch of 2 frames: the mean of the pair's true times
    expected = [f"{(a + b) / 2:.1f}" for a, b in zip(times[::2], times[1::2])]
    stamps = re.findall(r"<(\d+\.\d) seconds>" + re.escape(VSTART), text)
    assert stamps == expected
    assert [float(s) for s in stamps] == sorted(float(s) for s in stamps)
    assert len(re.findall(r"seconds>", text)) == len(expected)
    assert not re.search(r"<\d+\.\ds>|<t\d+>", text), "a second (text) stamp was added"
    assert IMG not in text
    # the video's frames are the sorted frames
    order = sorted(frames, key=lambda f: f.time)
    assert np.array_equal(prompt.video, np.stack([f.image for f in order]))


def test_frame_budget_controls_visual_tokens(tiny_parts, frames_at, rng):
    spec, proc, _ = tiny_parts("qwen2_5_vl")
    big = frames_at(spec, [1.0, 2.0])
    for f in big:
        f.image = rng.integers(0, 256, (4 * spec.frame, 4 * spec.frame, 3), dtype=np.uint8)
    prompt = build_prompt(big, "Q?", duration=3.0)
    small = to_inputs(proc, prompt, frame_pixels=spec.frame * spec.frame)["input_ids"][0].tolist()
    large = to_inputs(proc, prompt, frame_pixels=4 * spec.frame * spec.frame)["input_ids"][0].tolist()
    pad = proc.tokenizer.convert_tokens_to_ids(IMG)
    assert small.count(pad) == 2 * 4 and large.count(pad) == 2 * 16


def test_multiple_choice_layouts():
    q = "What is on the table?"
    opts = ["A. a red cup", "(B) a laptop", "C) keys", "nothing", "E: a phone"]
    vm = mc_instruction(q, opts, "videomme")
    assert "Respond with only the letter (A, B, C, D, or E)" in vm
    assert "\nA. a red cup\nB. a laptop\nC. keys\nD. nothing\nE. a phone\nThe best answer is:" in vm
    lv = mc_instruction(q, opts, "lvbench")
    assert "\n(A) a red cup\n(B) a laptop\n(C) keys\n(D) nothing\n(E) a phone\n" in lv
    lvb = mc_instruction(q, opts, "longvideobench")
    assert lvb.startswith(q) and "\nD. nothing\n" in lvb and lvb.endswith("directly.")
    with pytest.raises(InputError, match="layout"):
        mc_instruction(q, opts, "mvbench")
    with pytest.raises(InputError, match="options"):
        mc_instruction(q, ["only one"])
    assert "start and end time in seconds" in grounding_instruction("a man opens the door")


def test_bad_prompts_are_refused(tiny_parts, frames_at):
    spec, _, _ = tiny_parts("qwen2_5_vl")
    with pytest.raises(InputError, match="no frames"):
        build_prompt([], "Q?")
    with pytest.raises(InputError, match="bad time"):
        build_prompt(frames_at(spec, [1.0, -2.0]), "Q?")
    with pytest.raises(InputError, match="format"):
        build_prompt(frames_at(spec, [1.0]), "Q?", fmt="frames")
    with pytest.raises(InputError, match="duration"):
        build_prompt(frames_at(spec, [1.0, 50.0]), "Q?", duration=10.0)
    mixed = frames_at(spec, [1.0, 2.0])
    mixed[1].image = mixed[1].image[:-2]
    with pytest.raises(InputError, match="one size"):
        build_prompt(mixed, "Q?", native=True)
    with pytest.raises(InputError, match="uint8"):
        bad = frames_at(spec, [1.0])
        bad[0].image = bad[0].image.astype(np.float32)
        build_prompt(bad, "Q?")
