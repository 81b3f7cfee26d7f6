"""Ask a loaded VLM about frames: answers (free text, multiple choice, grounding) and reflection scores."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import torch

from longlens.core.errors import InputError
from longlens.core.types import Moment
from longlens.lvlm import prompts
from longlens.lvlm.load import VLM
from longlens.lvlm.parse import TASKS, clean_reply, parse_answer, parse_span

log = logging.getLogger(__name__)

STAMPS = ("auto", "native", "text")


@dataclass
class Answer:
    """A model's reply to one request, parsed, with what went into it.

    answerer: "lvlm" (a vision-language model, named in `model`) or "extractive" (on-screen text).
    parsed: the letter (mc), the (start, end) span in s (ground) or the cleaned text (qa); None when
    the reply could not be read. evidence: the retrieval moments whose frames were shown.
    """

    text: str
    answerer: str
    choice: str | None = None
    evidence: list[Moment] = field(default_factory=list)
    parsed: object = None
    model: str | None = None
    task: str = "qa"
    span: tuple[float, float] | None = None  # a time span stated in the reply (always for ground)
    frames: int = 0
    visual_tokens: int = 0
    prompt_tokens: int = 0
    new_tokens: int = 0
    attention: str | None = None  # what ran: "sdpa" / "eager", "sparse" or "sparse→sdpa fallback" (lvlm only)
    visited_fraction: float | None = None  # key blocks visited by the sparse layers / causal blocks
    stamps: str = "text"  # "text" or "native"
    seconds: float = 0.0

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "evidence"}
        d["evidence"] = [m.to_dict() for m in self.evidence]
        d["span"] = list(self.span) if self.span else None
        d["parsed"] = list(self.parsed) if isinstance(self.parsed, tuple) else self.parsed
        return d


def _use_native(vlm: VLM, stamps: str, fmt: str) -> bool:
    if stamps not in STAMPS:
        raise InputError(f"stamps must be one of {STAMPS}, got {stamps!r}")
    if stamps == "native":
        if not vlm.native_video_stamps:
            raise InputError(f"{vlm.name}: its processor does not stamp video frames; use stamps='text'")
        return True
    # auto: the model's own stamps when it has them, unless another text format was asked for
    return stamps == "auto" and vlm.native_video_stamps and fmt == "seconds"


def visual_token_count(vlm: VLM, input_ids: torch.Tensor) -> int:
    """Number of image / video placeholder tokens (what the vision tower's outputs replace) in the prompt."""
    config = vlm.model.config
    ids = {getattr(config, k, None)
           for k in ("image_token_id", "video_token_id", "image_token_index", "video_token_index")}
    ids.discard(None)
    return int(sum((input_ids == i).sum().item() for i in ids))


def _prepare(vlm: VLM, frames, instruction: str, *, duration, fmt, buckets, stamps, frame_pixels, said=(),
             speech_tokens: int = prompts.SPEECH_TOKENS):
    native = _use_native(vlm, stamps, fmt)
    tok = vlm.processor.tokenizer
    prompt = prompts.build_prompt(frames, instruction, duration=duration, fmt=fmt, buckets=buckets, native=native,
                                  said=said, speech_tokens=speech_tokens,
                                  count_tokens=lambda text: len(tok.encode(text, add_special_tokens=False)))
    inputs = prompts.to_inputs(vlm.processor, prompt, frame_pixels=frame_pixels, device=vlm.device)
    for k, v in inputs.items():  # pixel values follow the model's dtype
        if k.startswith("pixel_values") and torch.is_tensor(v):
            inputs[k] = v.to(vlm.dtype)
    return prompt, inputs


def answer(
    vlm: VLM,
    frames,
    question: str,
    *,
    options: list[str] | None = None,
    task: str | None = None,
    layout: str = "videomme",
    duration: float | None = None,
    fmt: str = "seconds",
    buckets: int = 100,
    stamps: str = "auto",
    evidence: list[Moment] | None = None,
    max_new_tokens: int = 64,
    frame_pixels: int | None = None,
    said: list[Moment] | None = None,
    speech_tokens: int = prompts.SPEECH_TOKENS,
) -> Answer:
    """Ask `question` about `frames` (longlens.data.Frame with decoder PTS) and parse the reply.

    task: "qa" (free text), "mc" (needs `options`, formatted per `layout`: videomme | lvbench |
    longvideobench) or "ground" (question = the moment to find; the reply's span in s); default "mc"
    when options are given, else "qa". fmt / buckets: text stamp format (seconds | clock | lita).
    stamps: "auto" = the processor's own video stamps when it has them (Qwen3-VL, Qwen3.5) and fmt is
    "seconds", else text stamps; "native" / "text" to force. Greedy decoding. said: sentences said in the
    video (Moments, most relevant first), put in the prompt as `[speech]` lines within `speech_tokens` tokens.
    """
    task = task or ("mc" if options else "qa")
    if task not in TASKS:
        raise InputError(f"task must be one of {TASKS}, got {task!r}")
    if task == "mc" and not options:
        raise InputError("a multiple-choice question needs options")
    if max_new_tokens < 1:
        raise InputError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if task == "mc":
        instruction = prompts.mc_instruction(question, options, layout)
    elif task == "ground":
        instruction = prompts.grounding_instruction(question)
    else:
        instruction = prompts.qa_instruction(question)
    t0 = time.perf_counter()
    prompt, inputs = _prepare(vlm, frames, instruction, duration=duration, fmt=fmt, buckets=buckets, stamps=stamps,
                              frame_pixels=frame_pixels, said=said or (), speech_tokens=speech_tokens)
    stats = vlm.stats
    if stats is not None:
        stats.reset()
    tok = vlm.processor.tokenizer
    with torch.inference_mode():
        out = vlm.model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
        )
    new = out[0, inputs["input_ids"].shape[1]:]
    text = tok.decode(new, skip_special_tokens=True).strip()
    parsed = parse_answer(text, task, options)
    result = Answer(
        text=text,
        answerer="lvlm",
        model=vlm.name,
        choice=parsed if task == "mc" else None,
        evidence=list(evidence or []),
        parsed=parsed,
        task=task,
        span=parsed if task == "ground" else parse_span(clean_reply(text)),
        frames=len(prompt.times),
        visual_tokens=visual_token_count(vlm, inputs["input_ids"]),
        prompt_tokens=int(inputs["input_ids"].shape[1]),
        new_tokens=int(new.shape[0]),
        attention=vlm.attention,
        visited_fraction=stats.visited_fraction if stats is not None else None,
        stamps="native" if prompt.native else "text",
        seconds=time.perf_counter() - t0,
    )
    log.info("%s answered (%s, %d frames, %d visual tokens, %s attention, visited %s): %r", vlm.name, task,
             result.frames, result.visual_tokens, result.attention, result.visited_fraction, text[:80])
    return result


def ground(vlm: VLM, frames, query: str, **kwargs) -> Answer:
    """`answer(task="ground")`: the reply's (start, end) in seconds is `.span` (None if unreadable)."""
    return answer(vlm, frames, query, task="ground", **kwargs)


# ---------------------------------------------------------------- reflection (TimeSearch)


def _first_token_ids(tok, words: tuple[str, ...]) -> set[int]:
    ids = set()
    for w in words:
        enc = tok.encode(w, add_special_tokens=False)
        if enc:
            ids.add(enc[0])
    return ids


def yes_no_token_ids(tok) -> tuple[list[int], list[int]]:
    """First tokens of the spellings of Yes / No (" Yes", "yes", ...); raises if the two sets overlap."""
    yes = _first_token_ids(tok, ("Yes", " Yes", "yes", " yes", "YES"))
    no = _first_token_ids(tok, ("No", " No", "no", " no", "NO"))
    if not yes or not no or yes & no:
        raise InputError("this tokenizer does not give Yes and No distinct first tokens; reflection cannot score")
    return sorted(yes), sorted(no)


def yes_no_probs(
    vlm: VLM,
    frames,
    question: str,
    *,
    duration: float | None = None,
    fmt: str = "seconds",
    buckets: int = 100,
    stamps: str = "auto",
    frame_pixels: int | None = None,
) -> tuple[float, float]:
    """(P(Yes), P(No)) of the model's next token after "Does this clip contain the answer to ...?",
    each summed over the spellings' first tokens, from the full softmax (so P(Yes) + P(No) <= 1)."""
    instruction = prompts.reflection_instruction(question)
    _, inputs = _prepare(vlm, frames, instruction, duration=duration, fmt=fmt, buckets=buckets, stamps=stamps,
                         frame_pixels=frame_pixels)
    yes, no = yes_no_token_ids(vlm.processor.tokenizer)
    with torch.inference_mode():
        logits = vlm.model(**inputs, use_cache=False).logits[0, -1].float()
    probs = logits.softmax(-1)
    return float(probs[yes].sum()), float(probs[no].sum())


def reflect(vlm: VLM, frames, question: str, **kwargs) -> float:
    """TimeSearch reflection: P(Yes) / (P(Yes) + P(No)) in [0, 1] that the clip's frames answer `question`."""
    p_yes, p_no = yes_no_probs(vlm, frames, question, **kwargs)
    total = p_yes + p_no
    return p_yes / total if total > 0 else 0.5
