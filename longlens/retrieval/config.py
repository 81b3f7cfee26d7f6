"""Configuration of the retrieval stage (one dataclass, plain values, part of every cache key)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from longlens.core.errors import InputError
from longlens.core.paths import default_cache
from longlens.core.registry import CHANNELS
from longlens.speech.config import SpeechConfig

SCHEMA_VERSION = 1  # bump when the on-disk cache layout or any stored array changes meaning
MAX_FPS = 60.0  # sampling faster than this is refused: no video we index needs it


def check_fps(fps: float) -> float:
    """Validate a sampling rate in frames per second (0 < fps <= 60)."""
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        raise InputError(f"fps must be a number, got {fps!r}") from None
    if not fps > 0:
        raise InputError(f"fps must be > 0, got {fps}")
    if fps > MAX_FPS:
        raise InputError(f"fps {fps} is absurd for indexing (max {MAX_FPS:g} frames per second)")
    return fps


@dataclass
class RetrievalConfig:
    """Everything that decides what gets embedded and how queries are scored.

    Sampling / decoding:
      fps: frames per second sampled for the index (0 < fps <= 60).
      size: short side (pixels) frames are decoded at (OCR and ORB run on these; CLIP resizes to its own).
      backend: decoder backend passed to longlens.data ("auto" | "decord" | "pyav").
    Channels: any names of core.registry.CHANNELS (default all): "clip" (open_clip image/text space), "ocr"
      (on-screen text: RapidOCR + MiniLM), "image" (weight-free region matching with ORB + RANSAC, for image
      queries), "speech" (what is said: Whisper + MiniLM; off for a video without audio); each is a module of
      longlens.retrieval.channels.
    speech: how speech is transcribed (longlens.speech.SpeechConfig: model, language, audio_track, ...); its
      cache_dir and progress are ignored: this config's are used.
    CLIP:
      clip_model / clip_pretrained: open_clip architecture + pretrained tag (hub cache or download).
      clip_pretrained="random" builds the architecture at seeded random weights: for tests and benchmarks
        only (its scores mean nothing, and a warning says so).
      clip_checkpoint: a local folder holding open_clip_config.json and the weights (overrides the two above);
        a bare weights file is refused (its preprocessing would be guessed).
      clip_regions: n -> each frame is also embedded as an n x n grid of crops (image queries match the
        best crop); 0 = whole frames only. Costs (1 + n*n) CLIP passes per frame.
      dtype: compute dtype of the CLIP model ("float32"; "float16"/"bfloat16" on CUDA).
      device: "auto" (CUDA when present) | "cpu" | "cuda".
    orb_features: ORB keypoints kept per frame at most, for picture queries, shared out over a grid of cells
      (retrieval.orb.keypoints; 40 bytes each on disk: smooth footage keeps a few hundred, dense texture all).
    OCR (channels.ocr): the text detector runs where a frame differs from the one before by more than ocr_change
      grey levels (image.changed: shift-tolerant), on the whole frame every ocr_refresh seconds; a line is
      recognised again only when its crop's look changed by more than ocr_text_change grey levels
      (image.same_look), and carried to a frame only while its look is verified unchanged.
    Fusion (see fuse.fuse): weights per channel over per-video z-scores, plus keyword_weight * keyword hits.
    full_hash: hash the whole video file for the cache key (default: size + 16 sampled 64 KiB chunks).
    cache_dir: the cache root (default: core.paths default; the CLI passes $LONGLENS_CACHE).
    progress: draw progress bars (None: when stderr is a terminal; the CLI passes $LONGLENS_PROGRESS).
    rewriter: optional query -> extra phrasings (e.g. a caption-style rewrite); off by default, never networked
      by us. Its outputs are averaged with the query in embedding space.
    """

    fps: float = 1.0
    size: int = 360
    backend: str = "auto"
    channels: tuple[str, ...] = field(default_factory=lambda: CHANNELS.names)
    clip_model: str = "ViT-B-32"
    clip_pretrained: str = "laion2b_s34b_b79k"
    clip_checkpoint: str | None = None
    clip_regions: int = 2
    dtype: str = "float32"
    device: str = "auto"
    batch_size: int = 32
    ocr_change: float = 24.0
    ocr_text_change: float = 6.0
    ocr_refresh: float = 120.0  # a safety net only: appearing text is caught by the change test (see channels.ocr)
    orb_features: int = 3000
    weights: dict[str, float] = field(default_factory=lambda: dict.fromkeys(CHANNELS.names, 1.0))
    keyword_weight: float = 2.0
    full_hash: bool = False
    rewriter: Callable[[str], list[str]] | None = None
    speech: SpeechConfig = field(default_factory=SpeechConfig)
    # Where and how, not what: never part of a cache key.
    cache_dir: Path = field(default_factory=default_cache)
    progress: bool | None = None  # draw progress bars: None = when stderr is a terminal

    def __post_init__(self) -> None:
        self.fps = check_fps(self.fps)
        self.channels = tuple(CHANNELS.check(c) for c in self.channels)
        if not self.channels:
            raise InputError(f"no channels: choose one or more of {', '.join(CHANNELS)}")
        if self.size < 32:
            raise InputError(f"size (short side in pixels) must be >= 32, got {self.size}")
        if self.clip_regions < 0:
            raise InputError(f"clip_regions must be >= 0, got {self.clip_regions}")
        self.cache_dir = Path(self.cache_dir)
        if not isinstance(self.speech, SpeechConfig):
            raise InputError(f"speech must be a longlens.speech.SpeechConfig, not {type(self.speech).__name__}")
        if self.clip_checkpoint and "clip" in self.channels:
            from longlens.retrieval.clip import check_checkpoint

            if Path(self.clip_checkpoint).expanduser().exists():
                check_checkpoint(self.clip_checkpoint)  # refuses a bare weights file now, not mid-indexing
        if self.dtype not in ("float32", "float16", "bfloat16"):
            raise InputError(f"dtype must be float32, float16 or bfloat16, got {self.dtype!r}")
