"""Fixtures of the evaluation tests (the sample files themselves are in eval_samples.py)."""
from __future__ import annotations

import pytest


@pytest.fixture
def write(tmp_path):
    def write(name: str, text: str):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path
    return write
