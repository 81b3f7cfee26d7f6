import json
import os

import pytest

from longlens.core.io import atomic_open, atomic_write_json


def test_atomic_write_replaces_whole_file(tmp_path):
    p = tmp_path / "sub" / "a.json"
    atomic_write_json(p, {"x": 1})
    atomic_write_json(p, {"x": 2, "y": [1, 2]})
    assert json.loads(p.read_text()) == {"x": 2, "y": [1, 2]}
    assert [f.name for f in p.parent.iterdir()] == ["a.json"]  # no temp files left


def test_crash_mid_write_leaves_old_file(tmp_path):
    p = tmp_path / "a.bin"
    p.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_open(p, "wb") as f:
            f.write(b"new partial")
            raise RuntimeError("crash")
    assert p.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.bin"]
