"""The environment variables longlens reads, and the only code that reads them. Called at the edges (the
CLI, the explorer's launcher and app); everything below takes the values as arguments or config fields.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

from longlens.core.errors import InputError
from longlens.core.paths import Paths
from longlens.core.registry import KERNEL_BACKENDS

# name -> what it does (the README's table is this one)
ENVIRONMENT = {
    "LONGLENS_HOME": "root of longlens's own files (default ~/.cache/longlens)",
    "LONGLENS_CACHE": "the index cache: embeddings, OCR, indexes, browser copies (default $LONGLENS_HOME/cache)",
    "LONGLENS_LIBRARY": "the video folder the explorer browses and the demo writes to (default $LONGLENS_HOME/library)",
    "LONGLENS_PROGRESS": "1 to always draw progress bars, 0 never (default: when stderr is a terminal)",
    "LONGLENS_KERNELS": "auto | triton | reference: which implementation our attention kernels run (default auto)",
    "HF_HUB_OFFLINE": "1: load CLIP / VLM weights from local files only, no hub check (huggingface_hub's own)",
    "TRITON_INTERPRET": "1 before start: run Triton kernels in Triton's CPU interpreter (slow; for tests)",
}

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def paths(env: Mapping[str, str] | None = None) -> Paths:
    return Paths.from_env(_env(env))


def progress(env: Mapping[str, str] | None = None) -> bool | None:
    """LONGLENS_PROGRESS as True / False, or None (decide by the terminal)."""
    v = _env(env).get("LONGLENS_PROGRESS", "").strip().lower()
    return True if v in _TRUE else False if v in _FALSE else None


def triton_interpreter(env: Mapping[str, str] | None = None) -> bool:
    """Whether Triton's CPU interpreter is on in this process (TRITON_INTERPRET, read as Triton's own getenv_bool
    reads it): Triton's state, which the kernel dispatch must detect, not a setting of ours."""
    return _env(env).get("TRITON_INTERPRET", "").strip().lower() in _TRUE


def hub_offline_requested(env: Mapping[str, str] | None = None) -> bool:
    """HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE (huggingface's own variables) set to true."""
    e = _env(env)
    return any(e.get(v, "").strip().lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_url(env: Mapping[str, str] | None = None) -> str:
    """Where the model hub is reached: the HTTPS proxy when one is set, else HF_ENDPOINT, else huggingface.co."""
    e = _env(env)
    return e.get("HTTPS_PROXY") or e.get("https_proxy") or e.get("HF_ENDPOINT") or "https://huggingface.co"


def child_env(path: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a child Python process, with `path` first on its PYTHONPATH."""
    e = dict(_env(env))
    e["PYTHONPATH"] = os.pathsep.join(p for p in (path, e.get("PYTHONPATH")) if p)
    return e


def kernels(env: Mapping[str, str] | None = None) -> str:
    v = _env(env).get("LONGLENS_KERNELS", "").strip().lower() or KERNEL_BACKENDS.default
    if v not in KERNEL_BACKENDS:
        raise InputError(f"LONGLENS_KERNELS={v!r}: choose from {', '.join(KERNEL_BACKENDS)}")
    return v
