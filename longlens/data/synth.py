"""Synthetic long videos with known content at known times (for tests, the demo and benchmarks).

A video is a moving, scene-changing background with a bouncing ball, boxed high-contrast captions
(on-screen text facts and distractors), and pictures inserted into part of the frame; written with PyAV
(libx264, yuv420p; no system ffmpeg), at a constant or variable frame rate. `make_video` returns the ground
truth: every caption and picture window, and the exact PTS of every frame written.

Everything per frame is a slice copy and a few pastes of pre-rendered patches, so a 60-minute 1-fps video
at 480x270 takes seconds.
"""
from __future__ import annotations

import logging
import math
import os
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from longlens.core.errors import InputError
from longlens.core.io import atomic_path
from longlens.core.progress import progress

log = logging.getLogger(__name__)

TIME_BASE = Fraction(1, 90000)  # PTS ticks: fine enough for irregular (VFR) frame times
_FORMATS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}


@dataclass
class Caption:
    """Text shown in a boxed, high-contrast banner on frames with PTS in [start, end) (s)."""

    start: float
    end: float
    text: str
    pos: str = "bottom"  # "bottom" | "top" | "middle"; captions sharing a position stack
    fg: tuple[int, int, int] = (255, 255, 255)
    bg: tuple[int, int, int] = (0, 0, 0)
    scale: float = 1.0  # font height as a multiple of frame height / 10


@dataclass
class Picture:
    """An image pasted into `box` (x0, y0, x1, y1 as fractions of the frame) on frames with PTS in [start, end)."""

    start: float
    end: float
    image: np.ndarray  # [h, w, 3] uint8 RGB
    box: tuple[float, float, float, float] = (0.62, 0.08, 0.95, 0.58)
    name: str = ""


@dataclass
class SynthSpec:
    """What to draw. duration s; fps = frame rate (the mean rate when vfr); size = (W, H) pixels."""

    duration: float
    fps: float = 1.0
    size: tuple[int, int] = (480, 270)
    vfr: bool = False  # irregular frame intervals (0.4 .. 1.6 x 1/fps), PTS on a 1/90000 s time base
    captions: list[Caption] = field(default_factory=list)
    pictures: list[Picture] = field(default_factory=list)
    distractors: list[Caption] = field(default_factory=list)  # captions that do not answer the questions asked
    seed: int = 0
    codec: str | None = None  # PyAV encoder; None: libx264 (libvpx-vp9 for .webm)
    gop: float = 5.0  # s between keyframes
    scene: float = 60.0  # s per background scene
    faststart: bool = True  # MP4: write the index at the front (streamable; a cut file keeps its first frames)

    def __post_init__(self) -> None:
        if not (self.duration > 0 and math.isfinite(self.duration)):
            raise InputError(f"SynthSpec.duration must be > 0 s, got {self.duration!r}")
        if not self.fps > 0:
            raise InputError(f"SynthSpec.fps must be > 0, got {self.fps!r}")
        w, h = self.size
        if w < 32 or h < 32 or w % 2 or h % 2:
            raise InputError(f"SynthSpec.size must be even and at least 32x32 (yuv420p), got {self.size!r}")
        for c in self.captions + self.distractors + self.pictures:
            if not (0 <= c.start < c.end):
                raise InputError(f"{type(c).__name__} window must satisfy 0 <= start < end, got {c.start}..{c.end}")


@dataclass
class SynthTruth:
    """Ground truth of a written video: caption/picture windows (s) and every frame's PTS (s)."""

    path: str
    duration: float
    fps: float
    size: tuple[int, int]
    vfr: bool
    frame_times: list[float]
    captions: list[dict]  # {"start", "end", "text", "kind": "caption" | "distractor", "pos"}
    pictures: list[dict]  # {"start", "end", "box", "name", "index"}: index into SynthSpec.pictures

    def to_dict(self) -> dict:
        return asdict(self)

    def captions_at(self, t: float, *, kind: str | None = None) -> list[str]:
        """Texts on screen at time t (s) (in the frame shown at t), optionally only of one kind."""
        shown = self.frame_times[max(0, int(np.searchsorted(self.frame_times, t + 1e-6, side="right")) - 1)]
        return [c["text"] for c in self.captions
                if c["start"] <= shown < c["end"] and (kind is None or c["kind"] == kind)]

    def pictures_at(self, t: float) -> list[int]:
        shown = self.frame_times[max(0, int(np.searchsorted(self.frame_times, t + 1e-6, side="right")) - 1)]
        return [p["index"] for p in self.pictures if p["start"] <= shown < p["end"]]


# ---------------------------------------------------------------- drawing


def make_picture(seed: int, size: int | tuple[int, int] = 160) -> np.ndarray:
    """A distinctive random picture (coloured shapes on a coloured ground): [H, W, 3] uint8, size = W or (W, H)."""
    w, h = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (w, h), tuple(int(v) for v in rng.integers(0, 256, 3)))
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(5, 10))):
        x0, y0 = rng.uniform(-0.1, 0.8) * w, rng.uniform(-0.1, 0.8) * h
        x1, y1 = x0 + rng.uniform(0.15, 0.5) * w, y0 + rng.uniform(0.15, 0.5) * h
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = int(rng.integers(0, 3))
        if kind == 0:
            d.ellipse([x0, y0, x1, y1], fill=color, outline=(0, 0, 0), width=max(1, w // 60))
        elif kind == 1:
            d.rectangle([x0, y0, x1, y1], fill=color, outline=(0, 0, 0), width=max(1, w // 60))
        else:
            d.polygon([(x0, y1), ((x0 + x1) / 2, y0), (x1, y1)], fill=color, outline=(0, 0, 0))
    return np.asarray(img, dtype=np.uint8).copy()


def _font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=max(8, int(px)))  # Pillow's bundled sans-serif TrueType font


def render_caption(c: Caption, frame_w: int, frame_h: int) -> np.ndarray:
    """The caption's banner as an [h, w, 3] uint8 patch: text shrunk (then wrapped) to fit 92 % of the width."""
    base = frame_h / 10 * c.scale
    limit = 0.92 * frame_w
    lines, px = [c.text], base
    d = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def width(lines_, px_) -> float:
        return max(d.textlength(s, font=_font(px_)) for s in lines_)

    if width(lines, px) > limit:
        px = max(base * 0.6, px * limit / width(lines, px))
    if width(lines, px) > limit:  # wrap words into lines that fit
        px, words, lines = base * 0.7, c.text.split(), [""]
        for word in words:
            trial = f"{lines[-1]} {word}".strip()
            if lines[-1] and width([trial], px) > limit:
                lines.append(word)
            else:
                lines[-1] = trial
        px = min(px, px * limit / width(lines, px))
    font = _font(px)
    text = "\n".join(lines)
    x0, y0, x1, y1 = d.multiline_textbbox((0, 0), text, font=font, spacing=int(px * 0.2))
    pad = max(2, int(px * 0.35))
    w, h = min(frame_w, int(x1 - x0) + 2 * pad), min(frame_h, int(y1 - y0) + 2 * pad)
    img = Image.new("RGB", (w, h), c.bg)
    ImageDraw.Draw(img).multiline_text((pad - x0, pad - y0), text, font=font, fill=c.fg, spacing=int(px * 0.2),
                                       align="center")
    return np.asarray(img, dtype=np.uint8).copy()


class _Painter:
    """Pre-renders everything once; `frame(t)` composes one [H, W, 3] uint8 frame from slices and pastes."""

    def __init__(self, spec: SynthSpec):
        self.spec = spec
        w, h = spec.size
        self.w, self.h, self.pad = w, h, max(8, w // 4)
        rng = np.random.default_rng(spec.seed)
        n_scenes = max(1, min(8, math.ceil(spec.duration / spec.scene)))
        self.scenes = [self._texture(rng) for _ in range(n_scenes)]
        r = max(4, h // 12)
        yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
        self.ball = (xx**2 + yy**2) <= r * r  # [2r+1, 2r+1] mask
        self.ball_color = np.array([250, 220, 40], np.uint8)
        self.texts = [(c, render_caption(c, w, h), kind)
                      for kind, cs in (("caption", spec.captions), ("distractor", spec.distractors)) for c in cs]
        self.pics = []
        for p in spec.pictures:
            x0, y0, x1, y1 = (int(round(v * s)) for v, s in zip(p.box, (w, h, w, h)))
            x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
            if x1 - x0 < 2 or y1 - y0 < 2:
                raise InputError(f"Picture box {p.box} is empty at {w}x{h}")
            patch = np.asarray(Image.fromarray(np.ascontiguousarray(p.image[..., :3])).resize((x1 - x0, y1 - y0)))
            self.pics.append((p, (x0, y0), patch))

    def _texture(self, rng) -> np.ndarray:
        """A smooth random colour field, larger than the frame by `pad` so it can pan: [H+pad, W+pad, 3]."""
        grid = rng.integers(30, 225, (4, 6, 3)).astype(np.uint8)
        big = Image.fromarray(grid).resize((self.w + self.pad, self.h + self.pad), Image.BICUBIC)
        tex = np.asarray(big, dtype=np.uint8).copy()
        step = max(8, self.w // 12)  # faint diagonal stripes make the motion visible
        ii = np.add.outer(np.arange(tex.shape[0]), np.arange(tex.shape[1])) // step % 2 == 0
        tex[ii] = (tex[ii] * 0.85).astype(np.uint8)
        return tex

    def frame(self, t: float) -> np.ndarray:
        s = self.spec
        tex = self.scenes[int(t // s.scene) % len(self.scenes)]
        phase = (t / 40.0) % 2.0
        tri = phase if phase < 1 else 2 - phase  # ping-pong pan, period 80 s
        ox, oy = int(tri * self.pad), int((1 - tri) * self.pad * 0.5)
        img = tex[oy : oy + self.h, ox : ox + self.w].copy()  # [H, W, 3]
        # the bouncing ball
        bh, bw = self.ball.shape
        bx = int(abs(((t * 0.07) % 2.0) - 1.0) * (self.w - bw))
        by = int(abs(((t * 0.11) % 2.0) - 1.0) * (self.h - bh))
        img[by : by + bh, bx : bx + bw][self.ball] = self.ball_color
        for p, (x0, y0), patch in self.pics:
            if p.start <= t < p.end:
                img[y0 : y0 + patch.shape[0], x0 : x0 + patch.shape[1]] = patch
        stacks = {"bottom": self.h - max(4, self.h // 30), "top": max(4, self.h // 30), "middle": None}
        for c, patch, _ in self.texts:
            if not c.start <= t < c.end:
                continue
            ph, pw = patch.shape[:2]
            x = (self.w - pw) // 2
            if c.pos == "bottom":
                y = stacks["bottom"] - ph
                stacks["bottom"] = y - 2
            elif c.pos == "top":
                y = stacks["top"]
                stacks["top"] = y + ph + 2
            else:
                y = (self.h - ph) // 2
            y = min(max(0, y), self.h - ph)
            img[y : y + ph, x : x + pw] = patch
        return img


# ---------------------------------------------------------------- writing


def frame_times(spec: SynthSpec) -> np.ndarray:
    """PTS ticks (1/90000 s) of every frame: [N] int64. CFR: k/fps; VFR: intervals 0.4..1.6 x 1/fps."""
    if not spec.vfr:
        n = max(1, math.ceil(spec.duration * spec.fps - 1e-9))
        return np.round(np.arange(n) * (TIME_BASE.denominator / spec.fps)).astype(np.int64)
    rng = np.random.default_rng(spec.seed + 7919)
    mean = TIME_BASE.denominator / spec.fps
    n_max = int(spec.duration * spec.fps / 0.4) + 2
    steps = np.round(rng.uniform(0.4, 1.6, n_max) * mean).astype(np.int64)
    ticks = np.concatenate([[0], np.cumsum(steps)])
    return ticks[ticks < spec.duration * TIME_BASE.denominator]


def make_video(path: str | os.PathLike, spec: SynthSpec, *, show_progress: bool | None = None) -> SynthTruth:
    """Write the video `spec` describes to `path` (atomically; container from the suffix) and return its truth.

    show_progress: draw a bar (True), never (False), or when stderr is a terminal (None), as
    core.progress.progress's `show`; a `report_progress` listener hears the frames written either way."""
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"{path}: unknown video suffix; use one of {', '.join(_FORMATS)}")
    codec = spec.codec or ("libvpx-vp9" if fmt == "webm" else "libx264")
    import av

    ticks = frame_times(spec)
    painter = _Painter(spec)
    w, h = spec.size
    with atomic_path(path) as tmp:
        options = {"movflags": "+faststart"} if spec.faststart and fmt in ("mp4", "mov") else {}
        with av.open(str(tmp), "w", format=fmt, options=options) as out:
            rate = Fraction(spec.fps).limit_denominator(1001)
            stream = out.add_stream(codec, rate=rate)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            stream.codec_context.time_base = TIME_BASE
            stream.time_base = TIME_BASE
            keyint = str(max(1, round(spec.gop * spec.fps)))
            if codec == "libx264":
                stream.options = {"preset": "veryfast", "crf": "23", "g": keyint, "keyint_min": keyint,
                                  "sc_threshold": "0"}
            elif codec.startswith("libvpx"):
                stream.options = {"deadline": "realtime", "cpu-used": "8", "g": keyint, "b": "0", "crf": "32"}
            for tick in progress(ticks, desc=f"writing {path.name}", unit="frame", show=show_progress):
                frame = av.VideoFrame.from_ndarray(painter.frame(tick / TIME_BASE.denominator), format="rgb24")
                frame.pts, frame.time_base = int(tick), TIME_BASE
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
    times = [float(t / TIME_BASE.denominator) for t in ticks]
    last = times[-1] + (times[-1] - times[-2] if len(times) > 1 else 1.0 / spec.fps)
    log.info("wrote %s: %d frames, %.1f s", path, len(times), last)
    caps = [{"start": c.start, "end": c.end, "text": c.text, "kind": kind, "pos": c.pos}
            for c, _, kind in painter.texts]
    pics = [{"start": p.start, "end": p.end, "box": list(p.box), "name": p.name, "index": i}
            for i, p in enumerate(spec.pictures)]
    return SynthTruth(str(path), spec.duration, spec.fps, tuple(spec.size), spec.vfr, times, caps, pics)


# ---------------------------------------------------------------- the demo video

FACTS = [
    "THE VAULT CODE IS 8142",
    "CHECKOUT LANE 12 CLOSED",
    "FLIGHT BA287 BOARDS AT GATE 31",
    "MEETING MOVED TO ROOM 404",
    "THE RED TRUCK LEAVES AT 4 PM",
    "WIFI PASSWORD IS BLUEFOX77",
    "PLATFORM 9 DELAYED 15 MINUTES",
    "PARCEL 5531 DELIVERED TO DOCK B",
    "THE MUSEUM OPENS AT 7 AM",
    "BRIDGE ON ELM STREET CLOSED",
]
# A question each fact answers, in the words a user would type (not the caption's own words).
QUESTIONS = [
    "What is the vault code?",
    "Which checkout lane is closed?",
    "At which gate does flight BA287 board?",
    "Where was the meeting moved?",
    "When does the red truck leave?",
    "What is the wifi password?",
    "How long is platform 9 delayed?",
    "Where was parcel 5531 delivered?",
    "When does the museum open?",
    "Which bridge is closed?",
]
DISTRACTORS = [
    "THE LOCKER CODE IS 3090",
    "CHECKOUT LANE 7 OPEN",
    "FLIGHT LH410 BOARDS AT GATE 12",
    "MEETING IN ROOM 210 AS PLANNED",
    "THE BLUE VAN LEAVES AT 9 AM",
    "GUEST NETWORK IS OPEN",
]


def demo_spec(duration: float = 1200.0, seed: int = 0, *, size: tuple[int, int] = (480, 270),
              fps: float = 1.0) -> SynthSpec:
    """A ~20-minute video (by default) with ten text facts (bottom captions), six look-alike distractors (top),
    and four inserted pictures, at times drawn from `seed`; each fact is on screen 10-20 s (less when short)."""
    rng = np.random.default_rng(seed)

    def windows(n: int, lo: float, hi: float) -> list[tuple[float, float]]:
        slot = duration / n
        out = []
        for i in rng.permutation(n):
            length = min(rng.uniform(lo, hi), 0.5 * slot)
            start = i * slot + rng.uniform(0.1, 0.9) * (slot - length)
            out.append((round(float(start), 1), round(float(start + length), 1)))
        return out

    captions = [Caption(s, e, text) for (s, e), text in zip(windows(len(FACTS), 10, 20), FACTS)]
    distractors = [Caption(s, e, text, pos="top", fg=(255, 255, 0), bg=(40, 40, 40))
                   for (s, e), text in zip(windows(len(DISTRACTORS), 8, 15), DISTRACTORS)]
    pictures = [Picture(s, e, make_picture(seed * 100 + i, (160, 120)), name=f"picture {i}")
                for i, (s, e) in enumerate(windows(4, 15, 30))]
    return SynthSpec(duration=duration, fps=fps, size=size, captions=captions, pictures=pictures,
                     distractors=distractors, seed=seed)
