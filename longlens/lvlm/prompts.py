"""Prompts: frames in time order, each with one timestamp from its decoder PTS, plus a task instruction.

Two ways to stamp frames, never both for one frame:
- text stamps: each frame goes in as an image preceded by a text stamp (`<12.5s>`, `<01:02>` or
  LITA-style `<t37>`);
- native stamps: processors that stamp video frames themselves (Qwen3-VL / Qwen3.5's
  `Qwen3VLProcessor` writes `<12.5 seconds>` before each temporal patch of 2 frames) get the frames
  as one video whose metadata carries the true times: `frames_indices` are the PTS in milliseconds
  and `fps` is 1000, so the processor's `index / fps` is the decoder time.

What is said (the speech channel's sentences) goes in as text lines stamped the same way, `<125.0s> [speech]
"..."`: between the frames in time order on the text-stamp path, after the video on the native one. The most
relevant lines are kept within a token budget (`spoken_lines`), then put in time order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from longlens.core.errors import InputError
from longlens.eval.choice import format_options, letters

FORMATS = ("seconds", "clock", "lita")
LAYOUTS = ("videomme", "lvbench", "longvideobench")
NATIVE_TIMEBASE = 1000.0  # native-stamp metadata: frame "indices" are PTS in milliseconds


def _clock(t: float, hours: bool) -> str:
    s = int(round(t))
    h, m, sec = s // 3600, (s % 3600) // 60, s % 60
    return f"{h}:{m:02d}:{sec:02d}" if hours else f"{h * 60 + m:02d}:{sec:02d}"


def format_stamp(t: float, *, fmt: str = "seconds", duration: float | None = None, buckets: int = 100) -> str:
    """The text stamp of time `t` (s): "seconds" -> `<12.5s>`, "clock" -> `<01:02>` (`<1:02:03>` for
    videos of an hour or more), "lita" -> `<tK>`, K in [0, buckets) the bucket of t over `duration`."""
    if fmt == "seconds":
        return f"<{t:.1f}s>"
    if fmt == "clock":
        return f"<{_clock(t, (duration or t) >= 3600)}>"
    if fmt == "lita":
        if not duration or duration <= 0:
            raise InputError("LITA time tokens need the video duration (> 0)")
        return f"<t{min(buckets - 1, max(0, int(t / duration * buckets)))}>"
    raise InputError(f"unknown timestamp format {fmt!r}; choose from {FORMATS}")


SPEECH_TOKENS = 512  # default budget of the transcript lines in a prompt


def _estimate_tokens(text: str) -> int:
    """Tokens of `text` when no tokenizer is given: about 4 characters each, as for English with BPE tokenizers."""
    return max(1, math.ceil(len(text) / 4))


def speech_line(t: float, text: str, *, fmt: str = "seconds", duration: float | None = None, buckets: int = 100) -> str:
    """One transcript line: `<125.0s> [speech] "what was said"` (the stamp as the frames' stamps)."""
    return f'{format_stamp(t, fmt=fmt, duration=duration, buckets=buckets)} [speech] "{text.strip()}"'


def spoken_lines(said, *, budget: int = SPEECH_TOKENS, count=None, fmt: str = "seconds",
                 duration: float | None = None, buckets: int = 100) -> list[tuple[float, str]]:
    """(time, line) of the sentences `said` (Moments: time, text; most relevant first) that fit in `budget`
    tokens, taken in that order, returned in time order. count(text) -> tokens (default: an estimate)."""
    count = count or _estimate_tokens
    kept, used = [], 0
    for m in said:
        if not m.text or not m.text.strip():
            continue
        line = speech_line(m.time, m.text, fmt=fmt, duration=duration, buckets=buckets)
        cost = count(line + "\n")
        if used + cost > budget:
            continue  # a shorter line further down may still fit
        kept.append((float(m.time), line))
        used += cost
    return sorted(kept)


def _header(n: int, duration: float, fmt: str, buckets: int, native: bool, spoken: int = 0) -> str:
    head = f"The video is {duration:.1f} seconds long ({_clock(duration, duration >= 3600)}). "
    # no literal stamp in the header: every stamp in the prompt belongs to one frame
    if native:
        how = "each with its timestamp in seconds"
    elif fmt == "seconds":
        how = "each preceded by its time in seconds from the start, in angle brackets"
    elif fmt == "clock":
        how = "each preceded by its time from the start as minutes:seconds, in angle brackets"
    else:
        how = (f"each preceded by a time token <tK>: the video is cut into {buckets} equal parts and <tK> "
               f"marks part K (K = 0 at the start, K = {buckets - 1} at the end)")
    said = (f" Between them, {spoken} lines marked [speech] give what is said in the video, each at the time it "
            "was said." if not native else f" After the video, {spoken} lines marked [speech] give what is said in it, "
            "each with the time it was said.") if spoken else ""
    return (head + f"Here are {n} frames from it in time order, {how}. Timestamps are absolute times in the video."
            + said)


@dataclass
class Prompt:
    """A chat request ready for a processor: messages, the images / video they refer to, the stamps used."""

    messages: list[dict]
    times: list[float]  # frame times (s) in order
    images: list[np.ndarray] = field(default_factory=list)  # text-stamp path: one [H, W, 3] uint8 per frame
    video: np.ndarray | None = None  # native path: [N, H, W, 3] uint8
    video_metadata: dict | None = None
    stamps: list[str] = field(default_factory=list)  # text stamps, one per image (empty on the native path)
    speech: list[str] = field(default_factory=list)  # the [speech] lines put in, in time order

    @property
    def native(self) -> bool:
        return self.video is not None


def _frames_in_order(frames) -> list:
    if not frames:
        raise InputError("no frames given: a video prompt needs at least one frame")
    for f in frames:
        if not math.isfinite(f.time) or f.time < 0:
            raise InputError(f"frame {f.index} has a bad time {f.time!r} (must be a finite PTS >= 0 s)")
        img = np.asarray(f.image)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise InputError(f"frame at {f.time:.3f}s: image must be [H, W, 3] uint8, got {img.shape} {img.dtype}")
    return sorted(frames, key=lambda f: f.time)


def build_prompt(
    frames,
    instruction: str,
    *,
    duration: float | None = None,
    fmt: str = "seconds",
    buckets: int = 100,
    native: bool = False,
    system: str | None = None,
    said=(),
    speech_tokens: int = SPEECH_TOKENS,
    count_tokens=None,
) -> Prompt:
    """Frames (longlens.data.Frame, any order) + instruction -> Prompt, frames sorted by time.

    duration: video length in s (default: the last frame's time). native: hand the frames to the
    processor as one video with their true times (it must stamp them itself; see module doc); every
    frame must then have the same size. Otherwise each frame is an image after its text stamp.
    said: sentences said (Moments with time and text, most relevant first): those that fit in `speech_tokens`
    (count_tokens(text) -> tokens, default an estimate) go in as `[speech]` lines (see module doc).
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown timestamp format {fmt!r}; choose from {FORMATS}")
    if buckets < 1:
        raise InputError(f"buckets must be >= 1, got {buckets}")
    frames = _frames_in_order(frames)
    times = [float(f.time) for f in frames]
    duration = float(duration) if duration is not None else times[-1]
    if duration <= 0 or duration < times[-1] - 1e-6:
        raise InputError(f"duration {duration} s must be > 0 and cover the last frame at {times[-1]:.3f} s")
    lines = spoken_lines(said, budget=speech_tokens, count=count_tokens, fmt=fmt, duration=duration, buckets=buckets)
    header = _header(len(frames), duration, fmt, buckets, native, len(lines))
    content: list[dict] = [{"type": "text", "text": header + "\n"}]
    prompt = Prompt(messages=[], times=times, speech=[line for _, line in lines])
    if native:
        shapes = {np.asarray(f.image).shape for f in frames}
        if len(shapes) != 1:
            raise InputError(f"native video stamps need frames of one size, got {sorted(shapes)}")
        prompt.video = np.stack([np.asarray(f.image) for f in frames])
        idx = [int(round(t * NATIVE_TIMEBASE)) for t in times]
        prompt.video_metadata = {
            "total_num_frames": idx[-1] + 1,
            "fps": NATIVE_TIMEBASE,
            "frames_indices": idx,
            "duration": duration,
            "height": prompt.video.shape[1],
            "width": prompt.video.shape[2],
        }
        content.append({"type": "video"})
        if lines:
            content.append({"type": "text", "text": "\n" + "\n".join(line for _, line in lines)})
    else:
        pending = list(lines)
        for f, t in zip(frames, times):
            while pending and pending[0][0] < t:  # said before this frame is shown
                content.append({"type": "text", "text": pending.pop(0)[1] + "\n"})
            stamp = format_stamp(t, fmt=fmt, duration=duration, buckets=buckets)
            prompt.stamps.append(stamp)
            prompt.images.append(np.asarray(f.image))
            content += [{"type": "text", "text": stamp}, {"type": "image"}]
        content += [{"type": "text", "text": "\n" + line} for _, line in pending]
    content.append({"type": "text", "text": "\n" + instruction})
    if system:
        prompt.messages.append({"role": "system", "content": [{"type": "text", "text": system}]})
    prompt.messages.append({"role": "user", "content": content})
    return prompt


# ---------------------------------------------------------------- task instructions

def qa_instruction(question: str) -> str:
    if not question or not question.strip():
        raise InputError("empty question")
    return f"Question: {question.strip()}\nAnswer the question about the video briefly."


def mc_instruction(question: str, options: list[str], layout: str = "videomme") -> str:
    """Multiple choice in a benchmark's own format.

    videomme: "A. text" lines, VideoMME's instruction, ends with "The best answer is:".
    lvbench: "(A) text" lines after the question, then "Answer with the option's letter ...".
    longvideobench: "A. text" lines, LongVideoBench's instruction. Letters in `options` are replaced.
    """
    if not question or not question.strip():
        raise InputError("empty question")
    if layout == "videomme":
        marks = letters(len(options))
        return ("Select the best answer to the following multiple-choice question based on the video. "
                f"Respond with only the letter ({', '.join(marks[:-1])}, or {marks[-1]}) of the correct option.\n"
                f"{question.strip()}\n{format_options(options)}\nThe best answer is:")
    if layout in ("lvbench", "longvideobench"):
        lines = format_options(options, "paren" if layout == "lvbench" else "dot")
        return f"{question.strip()}\n{lines}\nAnswer with the option's letter from the given choices directly."
    raise InputError(f"unknown multiple-choice layout {layout!r}; choose from {LAYOUTS}")


def grounding_instruction(query: str) -> str:
    if not query or not query.strip():
        raise InputError("empty grounding query")
    return (f'Find the moment in the video that matches: "{query.strip()}". '
            "Give the start and end time in seconds, as: from <start> s to <end> s.")


def reflection_instruction(question: str) -> str:
    if not question or not question.strip():
        raise InputError("empty question")
    return f'Does this clip contain the answer to the question: "{question.strip()}"? Answer Yes or No.'


# ---------------------------------------------------------------- processor inputs


def to_inputs(processor, prompt: Prompt, *, frame_pixels: int | None = None, device=None):
    """Render `prompt` with the processor's chat template and process text + frames -> BatchFeature (pt).

    frame_pixels: pixel budget per frame (the processor rounds to its patch grid); None keeps the
    processor's defaults.
    """
    template = getattr(processor, "chat_template", None)
    # Qwen3.x templates think unless told not to; other templates don't know the switch
    extra = {"enable_thinking": False} if "enable_thinking" in str(template) else {}
    text = processor.apply_chat_template(prompt.messages, tokenize=False, add_generation_prompt=True, **extra)
    kwargs: dict = {"text": [text], "return_tensors": "pt"}
    factor = _patch_factor(processor)
    if prompt.native:
        kwargs["videos"] = [prompt.video]
        videos_kwargs = {"video_metadata": [dict(prompt.video_metadata)], "do_sample_frames": False}
        if frame_pixels:
            n = len(prompt.video) + len(prompt.video) % 2
            videos_kwargs["size"] = {"shortest_edge": factor * factor * n,
                                     "longest_edge": max(frame_pixels, factor * factor) * n}
        kwargs["videos_kwargs"] = videos_kwargs
    else:
        kwargs["images"] = prompt.images
        if frame_pixels:
            kwargs["images_kwargs"] = {"size": {"shortest_edge": factor * factor,
                                                "longest_edge": max(frame_pixels, factor * factor)}}
    inputs = processor(**kwargs)
    return inputs.to(device) if device is not None else inputs


def _patch_factor(processor) -> int:
    ip = getattr(processor, "image_processor", None)
    return int(getattr(ip, "patch_size", 14) or 14) * int(getattr(ip, "merge_size", 1) or 1)
