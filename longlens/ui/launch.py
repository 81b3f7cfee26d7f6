"""Start the explorer: `streamlit run app.py` in a child process, headless, on one port."""
from __future__ import annotations

import importlib.util
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from longlens.core.errors import InputError, LonglensError
from longlens.ui.config import ExplorerConfig
from longlens.ui.library import DEFAULT_MAX_UPLOAD_MB

log = logging.getLogger(__name__)

APP = Path(__file__).with_name("app.py")
DEFAULT_PORT = 8501
__all__ = ["APP", "DEFAULT_MAX_UPLOAD_MB", "DEFAULT_PORT", "run_ui", "ui_command"]


def ui_command(config: ExplorerConfig, port: int, *, host: str = "localhost") -> list[str]:
    """The `streamlit run` command line that serves the explorer with `config` on host:port."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(port),
        "--server.address", host,
        "--server.headless", "true",
        "--server.maxUploadSize", str(config.max_upload_mb),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--", "--library", str(config.library), "--cache", str(config.cache),
        "--max-upload-mb", str(config.max_upload_mb),
    ]


def run_ui(library: str | os.PathLike | None = None, port: int = DEFAULT_PORT, *, host: str = "localhost",
           max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB, cache: str | os.PathLike | None = None) -> int:
    """Serve the explorer until interrupted; returns Streamlit's exit status.

    library: the folder of videos to browse (default $LONGLENS_LIBRARY, else the home's; created if missing).
    port: TCP port; host: interface to listen on (localhost by default: the library is yours).
    max_upload_mb: upload size limit in MB (default 2048). cache: the index cache (default $LONGLENS_CACHE, else
    the home's); browser copies go to its webm folder.
    """
    if not 0 < int(port) < 65536:
        raise InputError(f"port must be in 1..65535, not {port}")
    if int(max_upload_mb) <= 0:
        raise InputError(f"max_upload_mb must be positive, not {max_upload_mb}")
    if importlib.util.find_spec("streamlit") is None:
        raise LonglensError("the explorer needs Streamlit: pip install 'longlens[ui]'")
    config = ExplorerConfig.from_env(library=library, cache=cache, max_upload_mb=max_upload_mb)
    if config.library.exists() and not config.library.is_dir():
        raise InputError(f"the library {config.library} is a file, not a folder")
    config.library.mkdir(parents=True, exist_ok=True)
    print(f"longlens ui: library {config.library} at http://{host}:{port}", file=sys.stderr)
    return _serve(ui_command(config, port, host=host))


def _serve(cmd: list[str]) -> int:
    """Run the server; a SIGTERM/SIGHUP to us is passed on, and the server never outlives us."""
    proc = subprocess.Popen(cmd)
    forwarded = {}
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            forwarded[sig] = signal.signal(sig, lambda signum, _frame: proc.send_signal(signum))
    except ValueError:  # not the main thread: no handlers, the finally below still cleans up
        pass
    try:
        return proc.wait()
    finally:
        for sig, old in forwarded.items():
            signal.signal(sig, old)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                log.warning("the Streamlit server did not stop in 15 s: killing it")
                proc.kill()
                proc.wait()
