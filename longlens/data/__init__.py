"""Video decoding with true timestamps, synthetic videos, datasets and metrics."""
from longlens.data.errors import InputError, LonglensError
from longlens.data.io import append_line, atomic_open, atomic_write_bytes, atomic_write_json, atomic_write_text
from longlens.data.paths import cache_dir, home, library_dir
from longlens.data.progress import progress
from longlens.data.types import Frame, Segment

__all__ = [
    "Frame",
    "InputError",
    "LonglensError",
    "Segment",
    "append_line",
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "cache_dir",
    "home",
    "library_dir",
    "progress",
]
