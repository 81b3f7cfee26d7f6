"""The Streamlit explorer: `longlens ui` serves longlens/ui/app.py over a video library.

Pure parts, usable without Streamlit: the library (listing, safe paths, uploads), browser-playable WebM
copies (made in the background by `BrowserCopies`), batch results, and the timeline chart with its click logic
(needs Altair, the `ui` extra).

Every name below is imported on first use: the app's first lines (the page frame) and the CLI must not wait
for PyAV, pandas or Altair.
"""
from __future__ import annotations

import importlib

_WHERE = {
    "BatchItem": "batch", "library_video": "batch", "load_batch": "batch",
    "BrowserCopies": "copies", "CopyJob": "copies",
    "ExplorerConfig": "config",
    "run_ui": "launch", "ui_command": "launch",
    "DEFAULT_MAX_UPLOAD": "library", "DEFAULT_MAX_UPLOAD_MB": "library", "LibraryFile": "library",
    "list_files": "library", "safe_path": "library", "save_upload": "library",
    "Seek": "timeline", "seek_from_selection": "timeline", "selection_params": "timeline", "timeline_chart": "timeline",
    "WebmConfig": "webm", "browser_copy": "webm",
}

__all__ = [
    "DEFAULT_MAX_UPLOAD",
    "DEFAULT_MAX_UPLOAD_MB",
    "BatchItem",
    "BrowserCopies",
    "CopyJob",
    "ExplorerConfig",
    "LibraryFile",
    "Seek",
    "WebmConfig",
    "browser_copy",
    "library_video",
    "list_files",
    "load_batch",
    "run_ui",
    "safe_path",
    "save_upload",
    "seek_from_selection",
    "selection_params",
    "timeline_chart",
    "ui_command",
]


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"longlens.ui.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'longlens.ui' has no attribute {name!r}")
