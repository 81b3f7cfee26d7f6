"""Synthetic long videos with known content at known times (for tests, the demo and benchmarks).

A video is a moving, scene-changing background with a bouncing ball, captions (on-screen text facts and
distractors), and pictures inserted into part of the frame; written with PyAV (libx264, yuv420p; no system
ffmpeg), at a constant or variable frame rate. `make_video` returns the ground truth: every caption and
picture window, and the exact PTS of every frame written.

Two kinds of footage (`demo_spec` and `hard_spec`):
  easy: smooth colour fields with faint stripes, slowly panning; boxed high-contrast captions;
  hard: dense high-contrast texture (binary noise, cellular-automaton cells, foliage) redrawn every frame,
    film grain and heavy compression; low-contrast, small and box-less captions, a scrolling ticker, slides
    full of text where one line changes; pictures over the texture, rotated, relit, partly hidden, at 1/8
    of the frame. Real footage looks like this wherever there is foliage, gravel, crowds or noise.

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
BACKGROUNDS = ("smooth", "noise", "cells", "foliage", "textures")  # "textures": scenes cycle noise, cells, foliage
MOTIONS = ("pan", "boil", "still")


@dataclass
class Caption:
    """Text shown on frames with PTS in [start, end) (s): in a banner of colour `bg` (box=True), or straight on
    the picture outlined in `bg` (box=False, as subtitles are). Lines split by "\n" are kept as given, left
    aligned (a slide); otherwise a text too wide is shrunk, then wrapped. scroll > 0: a ticker, the text
    running right to left at `scroll` px/s through a band the frame's width (it repeats)."""

    start: float
    end: float
    text: str
    pos: str = "bottom"  # "bottom" | "top" | "middle"; captions sharing a position stack
    fg: tuple[int, int, int] = (255, 255, 255)
    bg: tuple[int, int, int] = (0, 0, 0)
    scale: float = 1.0  # font height as a multiple of frame height / 10
    box: bool = True
    scroll: float = 0.0


@dataclass
class Picture:
    """An image pasted into `box` (x0, y0, x1, y1 as fractions of the frame) on frames with PTS in [start, end)."""

    start: float
    end: float
    image: np.ndarray  # [h, w, 3] uint8 RGB
    box: tuple[float, float, float, float] = (0.62, 0.08, 0.95, 0.58)
    name: str = ""
    angle: float = 0.0  # degrees, counter-clockwise: the picture turned inside its box (corners show the scene)
    light: float = 1.0  # brightness gain
    occlude: float = 0.0  # fraction of its width, on the right, hidden behind a flat grey bar


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
    background: str = "smooth"  # one of BACKGROUNDS
    motion: str = "pan"  # the background: "pan" (slowly, to and fro), "boil" (redrawn every frame) or "still"
    grain: float = 0.0  # film grain: std of the per-frame noise added to every pixel (grey levels)
    crf: int | None = None  # encoder quality (higher: fewer bits); None: libx264 23, libvpx 32
    ball: bool = True  # the bouncing ball (False: nothing moves but what the spec shows)

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
        if self.background not in BACKGROUNDS:
            raise InputError(f"SynthSpec.background must be one of {', '.join(BACKGROUNDS)}, got {self.background!r}")
        if self.motion not in MOTIONS:
            raise InputError(f"SynthSpec.motion must be one of {', '.join(MOTIONS)}, got {self.motion!r}")
        if self.grain < 0:
            raise InputError(f"SynthSpec.grain must be >= 0, got {self.grain!r}")


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


def make_picture(seed: int, size: int | tuple[int, int] = 160, *, detail: int = 0) -> np.ndarray:
    """A distinctive random picture (coloured shapes on a coloured ground): [H, W, 3] uint8, size = W or (W, H).
    detail: as many small shapes again on top (a photo's detail; a few big flat shapes alone leave a picture
    shown on 1/8 of a 270p frame with a dozen corners)."""
    w, h = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (w, h), tuple(int(v) for v in rng.integers(0, 256, 3)))
    d = ImageDraw.Draw(img)
    shapes = [(0.15, 0.5)] * int(rng.integers(5, 10)) + [(0.06, 0.16)] * detail
    for lo, hi in shapes:
        x0, y0 = rng.uniform(-0.1, 0.8) * w, rng.uniform(-0.1, 0.8) * h
        x1, y1 = x0 + rng.uniform(lo, hi) * w, y0 + rng.uniform(lo, hi) * h
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


def _layout(c: Caption, frame_w: int, frame_h: int) -> tuple[list[str], float]:
    """The caption's lines and font size: explicit lines shrunk to fit 92 % of the width; a single text shrunk,
    then wrapped; a ticker's text as it is (it runs through the frame)."""
    base = frame_h / 10 * c.scale
    limit = 0.92 * frame_w
    d = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def width(lines_, px_) -> float:
        return max(d.textlength(s, font=_font(px_)) for s in lines_)

    if c.scroll > 0:
        return [c.text], base
    if "\n" in c.text:
        lines = c.text.split("\n")
        return lines, min(base, base * limit / width(lines, base))
    lines, px = [c.text], base
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
    return lines, px


def caption_patch(c: Caption, frame_w: int, frame_h: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The caption drawn once: (rgb [h, w, 3] uint8, alpha [h, w] bool, or None when the patch is opaque, a
    banner). A ticker's patch is its text plus a gap, as long as it needs (it repeats as it runs)."""
    lines, px = _layout(c, frame_w, frame_h)
    font, text = _font(px), "\n".join(lines)
    spacing, stroke = int(px * 0.2), (0 if c.box else max(1, round(px / 12)))
    d = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    x0, y0, x1, y1 = d.multiline_textbbox((0, 0), text, font=font, spacing=spacing, stroke_width=stroke)
    pad = max(2, int(px * 0.35))
    w, h = int(x1 - x0) + 2 * pad, min(frame_h, int(y1 - y0) + 2 * pad)
    w = w + frame_w // 4 if c.scroll > 0 else min(frame_w, w)  # a ticker: a gap before the text comes round again
    img = Image.new("RGBA", (w, h), (*c.bg, 255 if c.box else 0))
    ImageDraw.Draw(img).multiline_text((pad - x0, pad - y0), text, font=font, fill=(*c.fg, 255), spacing=spacing,
                                       align="left" if "\n" in c.text else "center", stroke_width=stroke,
                                       stroke_fill=(*c.bg, 255))
    rgba = np.asarray(img, dtype=np.uint8)
    return rgba[..., :3].copy(), (None if c.box else rgba[..., 3] > 127)


def render_caption(c: Caption, frame_w: int, frame_h: int) -> np.ndarray:
    """The caption's banner (or outlined text) as an [h, w, 3] uint8 patch: text shrunk (then wrapped) to fit
    92 % of the width."""
    return caption_patch(c, frame_w, frame_h)[0]


def _picture_patch(p: Picture, w: int, h: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The picture resized into a w x h box, relit, turned and partly hidden: (rgb, alpha or None: opaque)."""
    img = Image.fromarray(np.ascontiguousarray(p.image[..., :3])).resize((w, h))
    if p.light != 1.0:
        img = Image.fromarray(np.clip(np.asarray(img, dtype=np.float32) * p.light, 0, 255).astype(np.uint8))
    alpha = None
    if p.angle:
        rgba = np.asarray(img.convert("RGBA").rotate(p.angle, resample=Image.BICUBIC), dtype=np.uint8)
        img, alpha = Image.fromarray(rgba[..., :3].copy()), rgba[..., 3] > 127
    rgb = np.asarray(img, dtype=np.uint8).copy()
    if p.occlude > 0:
        rgb[:, int(round(w * (1 - p.occlude))):] = 128
        if alpha is not None:
            alpha[:, int(round(w * (1 - p.occlude))):] = True
    return rgb, alpha


def _paste(img: np.ndarray, x: int, y: int, rgb: np.ndarray, alpha: np.ndarray | None) -> None:
    region = img[y : y + rgb.shape[0], x : x + rgb.shape[1]]
    if alpha is None:
        region[...] = rgb
    else:
        region[alpha] = rgb[alpha]


def _majority(cells: np.ndarray, steps: int) -> np.ndarray:
    """A cellular automaton on a torus: a cell lives when 5 or more of its 3 x 3 neighbourhood do (blobs of cells)."""
    for _ in range(steps):
        n = sum(np.roll(np.roll(cells, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        cells = n >= 5
    return cells


def texture(kind: str, rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """A dense, high-contrast background of `kind` ("noise": 2-px black and white blocks; "cells": a cellular
    automaton's black and white blobs; "foliage": thousands of overlapping leaves): [h, w, 3] uint8."""
    if kind == "noise":
        b = rng.random((h // 2 + 1, w // 2 + 1)) < 0.5
        grey = np.where(b, 235, 20).astype(np.uint8).repeat(2, 0).repeat(2, 1)[:h, :w]
        return np.repeat(grey[..., None], 3, axis=2)
    if kind == "cells":
        b = _majority(rng.random((h // 4 + 1, w // 4 + 1)) < 0.5, 3)
        grey = np.where(b, 235, 20).astype(np.uint8).repeat(4, 0).repeat(4, 1)[:h, :w]
        return np.repeat(grey[..., None], 3, axis=2)
    if kind == "foliage":
        img = Image.new("RGB", (w, h), (20, 45, 15))
        d = ImageDraw.Draw(img)
        for _ in range(w * h // 40):
            cx, cy, length = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(4, 14)
            a = rng.uniform(0, np.pi)
            ux, uy, vx, vy = np.cos(a) * length, np.sin(a) * length, -np.sin(a) * length * 0.4, np.cos(a) * length * 0.4
            shade = rng.uniform(0.3, 1.0)
            color = (int(60 * shade + rng.integers(0, 40)), int(200 * shade), int(40 * shade))
            d.polygon([(cx - ux, cy - uy), (cx + vx, cy + vy), (cx + ux, cy + uy), (cx - vx, cy - vy)], fill=color)
        return np.asarray(img, dtype=np.uint8).copy()
    raise InputError(f"unknown texture {kind!r}; choose from noise, cells, foliage")


class Painter:
    """Pre-renders everything once; `frame(t)` composes one [H, W, 3] uint8 frame from slices and pastes."""

    VARIANTS = 4  # textures drawn per scene when the background boils (each frame: one of them, shifted)

    def __init__(self, spec: SynthSpec):
        self.spec = spec
        w, h = spec.size
        self.w, self.h, self.pad = w, h, max(8, w // 4)
        rng = np.random.default_rng(spec.seed)
        n_scenes = max(1, min(8, math.ceil(spec.duration / spec.scene)))
        if spec.background == "smooth":
            self.scenes = [[self._texture(rng)] for _ in range(n_scenes)]
        else:
            kinds = ("noise", "cells", "foliage") if spec.background == "textures" else (spec.background,)
            trng = np.random.default_rng([spec.seed, 1])
            self.scenes = [[texture(kinds[i % len(kinds)], trng, w + self.pad, h + self.pad)
                            for _ in range(self.VARIANTS if spec.motion == "boil" else 1)] for i in range(n_scenes)]
        if spec.grain > 0:
            grng = np.random.default_rng([spec.seed, 2])
            self.grain = [np.round(grng.normal(0, spec.grain, (h + self.pad, w + self.pad, 3))).astype(np.int16)
                          for _ in range(2)]
        r = max(4, h // 12)
        yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
        self.ball = (xx**2 + yy**2) <= r * r  # [2r+1, 2r+1] mask
        self.ball_color = np.array([250, 220, 40], np.uint8)
        self.texts = [(c, *caption_patch(c, w, h), kind)
                      for kind, cs in (("caption", spec.captions), ("distractor", spec.distractors)) for c in cs]
        self.order = sorted(range(len(self.texts)), key=lambda i: self.texts[i][0].scroll <= 0)  # tickers stack first
        self.pics = []
        for p in spec.pictures:
            x0, y0, x1, y1 = (int(round(v * s)) for v, s in zip(p.box, (w, h, w, h)))
            x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
            if x1 - x0 < 2 or y1 - y0 < 2:
                raise InputError(f"Picture box {p.box} is empty at {w}x{h}")
            self.pics.append((p, (x0, y0), *_picture_patch(p, x1 - x0, y1 - y0)))

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
        variants = self.scenes[int(t // s.scene) % len(self.scenes)]
        here = np.random.default_rng([s.seed, 3, int(round(t * 1000))])  # what boils and the grain: fixed per time
        if s.motion == "boil":  # a fresh texture every frame: one of the scene's, shifted anywhere
            tex = variants[int(here.integers(len(variants)))]
            ox, oy = int(here.integers(self.pad + 1)), int(here.integers(self.pad + 1))
        elif s.motion == "still":
            tex, ox, oy = variants[0], self.pad // 2, self.pad // 2
        else:
            tex = variants[0]
            phase = (t / 40.0) % 2.0
            tri = phase if phase < 1 else 2 - phase  # ping-pong pan, period 80 s
            ox, oy = int(tri * self.pad), int((1 - tri) * self.pad * 0.5)
        img = tex[oy : oy + self.h, ox : ox + self.w].copy()  # [H, W, 3]
        if s.ball:  # the bouncing ball
            bh, bw = self.ball.shape
            bx = int(abs(((t * 0.07) % 2.0) - 1.0) * (self.w - bw))
            by = int(abs(((t * 0.11) % 2.0) - 1.0) * (self.h - bh))
            img[by : by + bh, bx : bx + bw][self.ball] = self.ball_color
        for p, (x0, y0), patch, alpha in self.pics:
            if p.start <= t < p.end:
                _paste(img, x0, y0, patch, alpha)
        stacks = {"bottom": self.h - max(4, self.h // 30), "top": max(4, self.h // 30), "middle": None}
        for c, patch, alpha, _ in (self.texts[i] for i in self.order):
            if not c.start <= t < c.end:
                continue
            if c.scroll > 0:  # the band the frame's width, the text moved on by the time shown
                cols = (int((t - c.start) * c.scroll) + np.arange(self.w)) % patch.shape[1]
                patch, alpha = patch[:, cols], (None if alpha is None else alpha[:, cols])
            ph, pw = patch.shape[:2]
            x = (self.w - pw) // 2
            gap = 8 if c.scroll > 0 else 2  # a ticker keeps the caption next to it at a distance
            if c.pos == "bottom":
                y = stacks["bottom"] - ph
                stacks["bottom"] = y - gap
            elif c.pos == "top":
                y = stacks["top"]
                stacks["top"] = y + ph + gap
            else:
                y = (self.h - ph) // 2
            y = min(max(0, y), self.h - ph)
            _paste(img, x, y, patch, alpha)
        if s.grain > 0:
            g = self.grain[int(here.integers(len(self.grain)))]
            gx, gy = int(here.integers(self.pad + 1)), int(here.integers(self.pad + 1))
            img = np.clip(img + g[gy : gy + self.h, gx : gx + self.w], 0, 255).astype(np.uint8)
        return img


_Painter = Painter  # the name other modules' tests import


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
    painter = Painter(spec)
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
                stream.options = {"preset": "veryfast", "crf": str(spec.crf or 23), "g": keyint, "keyint_min": keyint,
                                  "sc_threshold": "0"}
            elif codec.startswith("libvpx"):
                stream.options = {"deadline": "realtime", "cpu-used": "8", "g": keyint, "b": "0",
                                  "crf": str(spec.crf or 32)}
            for tick in progress(ticks, desc=f"writing {path.name}", unit="frame", show=show_progress):
                frame = av.VideoFrame.from_ndarray(painter.frame(tick / TIME_BASE.denominator), format="rgb24")
                frame.pts, frame.time_base = int(tick), TIME_BASE
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
    times = [float(t / TIME_BASE.denominator) for t in ticks]
    last = times[-1] + (times[-1] - times[-2] if len(times) > 1 else 1.0 / spec.fps)
    log.info("wrote %s: %d frames, %.1f s", path, len(times), last)
    caps = [{"start": c.start, "end": c.end, "text": c.text, "kind": kind, "pos": c.pos}
            for c, _, _, kind in painter.texts]
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


SLIDES = [  # slides full of text shown back to back, the second with one line changed
    ("PROJECT STATUS\nDESIGN REVIEW DONE\nALL TESTS PASSING\nRELEASE ON MAY 14\nOWNER IS DANA",
     "PROJECT STATUS\nDESIGN REVIEW DONE\nALL TESTS PASSING\nRELEASE ON JUNE 2\nOWNER IS DANA"),
    ("SHIFT ROTA\nMONDAY KIM AND LEE\nTUESDAY ABE AND JO\nWEDNESDAY SAM\nTHURSDAY OFF",
     "SHIFT ROTA\nMONDAY KIM AND LEE\nTUESDAY ABE AND JO\nWEDNESDAY MAX\nTHURSDAY OFF"),
]
TICKER = "RAIN EXPECTED TONIGHT   MARATHON ROUTE ANNOUNCED   SCHOOLS CLOSED FRIDAY   "
# The looks of hard footage, cycled over the facts: low contrast, small, box-less (outlined), small box-less.
HARD_LOOKS = [dict(fg=(175, 175, 175), bg=(105, 105, 105)), dict(scale=0.55), dict(box=False),
              dict(box=False, scale=0.7, fg=(255, 230, 0))]
# 1/8 of a 16:9 frame at the pictures' 4:3 shape: left and right, between the top and bottom captions
EIGHTH = [(0.03, 0.2, 0.336, 0.608), (0.664, 0.2, 0.97, 0.608), (0.03, 0.33, 0.336, 0.738), (0.664, 0.33, 0.97, 0.738)]
HARD_PICTURES = [dict(), dict(angle=12.0, light=1.2), dict(occlude=0.3), dict(angle=-8.0, light=0.8, occlude=0.2)]


def _windows(rng: np.random.Generator, duration: float, n: int, lo: float, hi: float) -> list[tuple[float, float]]:
    """n windows of lo..hi s (at most half a slot), one in each n-th of the video, in random slot order."""
    slot = duration / n
    out = []
    for i in rng.permutation(n):
        length = min(rng.uniform(lo, hi), 0.5 * slot)
        start = i * slot + rng.uniform(0.1, 0.9) * (slot - length)
        out.append((round(float(start), 1), round(float(start + length), 1)))
    return out


def demo_spec(duration: float = 1200.0, seed: int = 0, *, size: tuple[int, int] = (480, 270),
              fps: float = 1.0) -> SynthSpec:
    """A ~20-minute video (by default) with ten text facts (bottom captions), six look-alike distractors (top),
    and four inserted pictures, at times drawn from `seed`; each fact is on screen 10-20 s (less when short)."""
    rng = np.random.default_rng(seed)
    captions = [Caption(s, e, text) for (s, e), text in zip(_windows(rng, duration, len(FACTS), 10, 20), FACTS)]
    distractors = [Caption(s, e, text, pos="top", fg=(255, 255, 0), bg=(40, 40, 40))
                   for (s, e), text in zip(_windows(rng, duration, len(DISTRACTORS), 8, 15), DISTRACTORS)]
    pictures = [Picture(s, e, make_picture(seed * 100 + i, (160, 120)), name=f"picture {i}")
                for i, (s, e) in enumerate(_windows(rng, duration, 4, 15, 30))]
    return SynthSpec(duration=duration, fps=fps, size=size, captions=captions, pictures=pictures,
                     distractors=distractors, seed=seed)


def hard_spec(duration: float = 1200.0, seed: int = 0, *, size: tuple[int, int] = (480, 270),
              fps: float = 1.0) -> SynthSpec:
    """`demo_spec`'s facts, questions and pictures on hard footage: texture redrawn every frame (scenes cycle
    binary noise, cellular-automaton cells, foliage), film grain, heavy compression; the facts in the looks of
    HARD_LOOKS, the distractors small and box-less at the top, a scrolling ticker, the SLIDES pairs (one line
    changes), and the four pictures at 1/8 of the frame, turned, relit and partly hidden (HARD_PICTURES)."""
    rng = np.random.default_rng(seed)
    captions = [Caption(s, e, text, **HARD_LOOKS[i % len(HARD_LOOKS)])
                for i, ((s, e), text) in enumerate(zip(_windows(rng, duration, len(FACTS), 10, 20), FACTS))]
    distractors = [Caption(s, e, text, pos="top", fg=(255, 255, 0), bg=(40, 40, 40), box=False, scale=0.7)
                   for (s, e), text in zip(_windows(rng, duration, len(DISTRACTORS), 8, 15), DISTRACTORS)]
    for (s, e), (first, second) in zip(_windows(rng, duration, len(SLIDES), 16, 24), SLIDES):
        mid = round((s + e) / 2, 1)
        distractors += [Caption(a, b, text, pos="middle", scale=0.6)
                        for a, b, text in ((s, mid, first), (mid, e, second))]
    distractors += [Caption(s, e, TICKER, pos="bottom", bg=(0, 0, 90), scale=0.7, scroll=40.0)
                    for s, e in _windows(rng, duration, 2, 20, 40)]
    pictures = [Picture(s, e, make_picture(seed * 100 + i, (160, 120), detail=12), box=EIGHTH[i], name=f"picture {i}",
                        **HARD_PICTURES[i])
                for i, (s, e) in enumerate(_windows(rng, duration, 4, 15, 30))]
    return SynthSpec(duration=duration, fps=fps, size=size, captions=captions, pictures=pictures,
                     distractors=distractors, seed=seed, background="textures", motion="boil", grain=8.0,
                     crf=35)
