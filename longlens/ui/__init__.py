"""The Streamlit explorer: `longlens ui` serves longlens/ui/app.py over a video library.

Pure parts, usable without Streamlit: the library (listing, safe paths, uploads), browser-playable WebM
copies, batch results, and the timeline chart with its click logic (needs Altair, the `ui` extra; imported
on first use so the CLI works without it).
"""
from longlens.ui.batch import BatchItem, library_video, load_batch
from longlens.ui.launch import run_ui, ui_command
from longlens.ui.library import (
    DEFAULT_MAX_UPLOAD,
    LibraryFile,
    UnsafePathError,
    list_files,
    safe_path,
    save_upload,
)
from longlens.ui.webm import TranscodeError, WebmConfig, browser_copy

_TIMELINE = ("Seek", "clock", "seek_from_selection", "selection_params", "timeline_chart")

__all__ = [
    "DEFAULT_MAX_UPLOAD",
    "BatchItem",
    "LibraryFile",
    "Seek",
    "TranscodeError",
    "UnsafePathError",
    "WebmConfig",
    "browser_copy",
    "library_video",
    "list_files",
    "load_batch",
    "clock",
    "run_ui",
    "safe_path",
    "save_upload",
    "seek_from_selection",
    "selection_params",
    "timeline_chart",
    "ui_command",
]


def __getattr__(name: str):
    if name in _TIMELINE:
        from longlens.ui import timeline

        return getattr(timeline, name)
    raise AttributeError(f"module 'longlens.ui' has no attribute {name!r}")
