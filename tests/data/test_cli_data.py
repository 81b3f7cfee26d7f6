"""`longlens probe` and `longlens demo`: thin shells over the library functions."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from longlens.cli import main

FIELDS = {"duration", "fps", "vfr", "frames", "width", "height", "codec", "backend", "timestamps"}


def test_probe_json_is_one_object_with_the_fields(vfr_video, capsys):
    path, truth = vfr_video
    assert main(["probe", str(path), "--json", "--backend", "pyav"]) == 0
    out = capsys.readouterr().out
    info = json.loads(out)  # exactly one JSON document
    assert FIELDS <= set(info)
    assert info["vfr"] is True and info["backend"] == "pyav" and info["codec"] == "h264"
    assert (info["width"], info["height"], info["frames"]) == (320, 180, len(truth.frame_times))
    assert np.allclose(info["timestamps"], truth.frame_times[:1000], atol=1e-3)
    assert info["fps"] == pytest.approx((info["frames"] - 1) / truth.frame_times[-1], rel=1e-3)


def test_probe_json_lists_the_first_1000_timestamps(hour_video, capsys):
    path, _, _ = hour_video
    assert main(["probe", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["timestamps"] == pytest.approx(list(range(1000)))
    assert (info["frames"], info["vfr"], info["backend"]) == (3600, False, "decord")
    assert info["duration"] == pytest.approx(3600.0, abs=1e-3)


def test_probe_summary_and_errors(cfr_video, tmp_path, capsys):
    assert main(["probe", str(cfr_video[0])]) == 0
    out = capsys.readouterr().out
    assert "300 at 25 fps average (constant frame rate)" in out and "320x180" in out and "h264" in out
    assert main(["probe", str(tmp_path / "gone.mp4")]) == 2
    err = capsys.readouterr().err
    assert "gone.mp4: no such file" in err and "Traceback" not in err


def test_console_entry_point_runs(cfr_video):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    r = subprocess.run([sys.executable, "-m", "longlens.cli", "probe", str(cfr_video[0]), "--json"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["frames"] == 300


