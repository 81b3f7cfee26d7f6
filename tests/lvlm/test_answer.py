"""generate() with frames on CPU through `answer`, per-request figures, and TimeSearch reflection."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from longlens.core.errors import InputError
from longlens.core.types import Moment
from longlens.lvlm import answer, ground, reflect, yes_no_probs
from longlens.lvlm.infer import yes_no_token_ids
from longlens.lvlm.prompts import build_prompt, reflection_instruction, to_inputs

KINDS = ["qwen3_5", "qwen3_vl", "qwen2_5_vl"]


@pytest.fixture
def times(rng):
    """times(n) -> n sorted seeded times in a 900-s video."""
    return lambda n: np.sort(rng.uniform(0, 900, n)).tolist()


@pytest.mark.parametrize("kind", KINDS)
def test_answer_generates_from_frames(make_vlm, frames_at, kind, times):
    spec, vlm = make_vlm(kind, "sparse", block_size=16, sink_blocks=1, window_blocks=2, topk_blocks=1)
    frames = frames_at(spec, times(12))
    opts = ["a red car", "a dog", "a door", "nobody"]
    ans = answer(vlm, frames, "What is shown?", options=opts, duration=900.0, max_new_tokens=6)
    assert ans.task == "mc" and ans.answerer == "lvlm" and ans.model == f"tiny-{kind}"
    assert 1 <= ans.new_tokens <= 6
    assert ans.choice == ans.parsed and (ans.choice is None or ans.choice in "ABCD")
    # per-request figures: visual tokens as placed in the prompt, and the sparse layers' visited fraction
    per_unit = 4  # a 2x2 merged grid per frame (text stamps) or per frame pair (native video stamps)
    units = 12 if ans.stamps == "text" else 6
    assert ans.visual_tokens == per_unit * units
    assert ans.stamps == ("text" if kind == "qwen2_5_vl" else "native")
    assert 0 < ans.visited_fraction < 1
    assert ans.prompt_tokens > ans.visual_tokens
    d = ans.to_dict()
    assert d["visual_tokens"] == ans.visual_tokens and d["evidence"] == []


def test_answer_text_stamps_on_a_native_model_and_evidence(make_vlm, frames_at, times):
    """A text format other than seconds switches a natively stamping model to text stamps (never both)."""
    spec, vlm = make_vlm("qwen3_5", "sdpa")
    frames = frames_at(spec, times(6))
    moments = [Moment("talk.mp4", f.time, 0.5, {"clip": 0.5}, None, i) for i, f in enumerate(frames)]
    ans = answer(vlm, frames, "Where is the car?", fmt="lita", duration=900.0, max_new_tokens=4, evidence=moments)
    assert ans.stamps == "text" and ans.visual_tokens == 6 * 4 and ans.visited_fraction is None
    assert ans.evidence == moments
    assert [m["time"] for m in ans.to_dict()["evidence"]] == [round(f.time, 3) for f in frames]
    with pytest.raises(InputError, match="does not stamp"):
        spec2, other = make_vlm("qwen2_5_vl")
        answer(other, frames_at(spec2, [1.0]), "Q?", stamps="native")


def test_ground_returns_a_span_or_none(make_vlm, frames_at, times):
    spec, vlm = make_vlm("qwen2_5_vl", "sparse", block_size=16)
    ans = ground(vlm, frames_at(spec, times(4)), "the man opens the door", duration=900.0, max_new_tokens=8)
    assert ans.task == "ground" and ans.parsed == ans.span
    assert ans.span is None or ans.span[0] <= ans.span[1]


def test_bad_requests(make_vlm, frames_at):
    spec, vlm = make_vlm("qwen2_5_vl")
    frames = frames_at(spec, [1.0, 2.0])
    with pytest.raises(InputError, match="options"):
        answer(vlm, frames, "Q?", task="mc")
    with pytest.raises(InputError, match="task"):
        answer(vlm, frames, "Q?", task="caption")
    with pytest.raises(InputError, match="empty question"):
        answer(vlm, frames, "  ")
    with pytest.raises(InputError, match="no frames"):
        answer(vlm, [], "Q?")


@pytest.mark.parametrize("kind", ["qwen3_5", "qwen2_5_vl"])
def test_reflection_is_a_probability(make_vlm, frames_at, kind, times):
    spec, vlm = make_vlm(kind, "sparse", block_size=16)
    frames = frames_at(spec, times(6))
    q = "What is the vault code?"
    p_yes, p_no = yes_no_probs(vlm, frames, q, duration=900.0)
    assert 0 < p_yes < 1 and 0 < p_no < 1 and p_yes + p_no <= 1 + 1e-6
    r = reflect(vlm, frames, q, duration=900.0)
    assert 0 <= r <= 1
    assert r == pytest.approx(p_yes / (p_yes + p_no))

    # the same number from the model's next-token logits, computed independently
    tok = vlm.processor.tokenizer
    yes, no = yes_no_token_ids(tok)
    assert {tok.decode([i]).strip().lower() for i in yes} <= {"yes", "y", "ye"}
    prompt = build_prompt(frames, reflection_instruction(q), duration=900.0, native=vlm.native_video_stamps)
    inputs = to_inputs(vlm.processor, prompt)
    assert re.search(r"Does this clip contain the answer to the question: \"What is the vault code\?\"",
                     tok.decode(inputs["input_ids"][0]))
    with torch.inference_mode():
        logits = vlm.model(**inputs).logits[0, -1]
    logp = logits.log_softmax(-1)
    yes_mass, no_mass = torch.logsumexp(logp[yes], 0).exp(), torch.logsumexp(logp[no], 0).exp()
    expect = yes_mass / (yes_mass + no_mass)
    assert r == pytest.approx(float(expect), rel=1e-4)
