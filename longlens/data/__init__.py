"""Video decoding with true timestamps, synthetic videos, datasets and metrics."""
from longlens.data.decoders import VideoInfo
from longlens.data.errors import (
    InputError,
    LonglensError,
    NotAVideoError,
    NoVideoStreamError,
    TruncatedVideoError,
    TruncatedVideoWarning,
    UnsupportedCodecError,
    VideoDecodeError,
    VideoError,
    VideoNotFoundError,
    VideoWarning,
)
from longlens.data.io import append_line, atomic_open, atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text
from longlens.data.paths import cache_dir, home, library_dir
from longlens.data.progress import progress
from longlens.data.sampling import AtTimes, FixedRate, Sampling, Uniform, Window, select_frames
from longlens.data.synth import Caption, Picture, SynthSpec, SynthTruth, demo_spec, make_picture, make_video
from longlens.data.types import Frame, Segment
from longlens.data.video import decoder_version, iter_frames, probe, read_frames, resolve_backend

__all__ = [
    "AtTimes",
    "Caption",
    "FixedRate",
    "Frame",
    "InputError",
    "LonglensError",
    "NoVideoStreamError",
    "NotAVideoError",
    "Picture",
    "Sampling",
    "Segment",
    "SynthSpec",
    "SynthTruth",
    "TruncatedVideoError",
    "TruncatedVideoWarning",
    "Uniform",
    "UnsupportedCodecError",
    "VideoDecodeError",
    "VideoError",
    "VideoInfo",
    "VideoNotFoundError",
    "VideoWarning",
    "Window",
    "append_line",
    "atomic_open",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "cache_dir",
    "decoder_version",
    "demo_spec",
    "home",
    "iter_frames",
    "library_dir",
    "make_picture",
    "make_video",
    "probe",
    "progress",
    "read_frames",
    "resolve_backend",
    "select_frames",
]
