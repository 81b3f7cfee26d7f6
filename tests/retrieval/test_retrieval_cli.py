"""`longlens index` and `search` as a user runs them (in-process main() and one real subprocess)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from longlens.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def warm_cache(indexed, session_cache, monkeypatch):
    monkeypatch.setenv("LONGLENS_CACHE", str(session_cache))  # the session's index, built once
    return indexed


def test_index_prints_what_was_cached(warm_cache, synth, capsys):
    assert main(["index", synth["path"]]) == 0
    out = capsys.readouterr().out
    assert "72 frames" in out and "cached: frames, image, ocr" in out and "computed: nothing" in out


def test_search_text_and_image_json(warm_cache, synth, capsys, tmp_path):
    import cv2

    assert main(["search", synth["path"], "what is the vault code", "-k", "3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 3 and all(synth["fact_a"][0] - 1 <= r["time"] < synth["fact_a"][1] + 1 for r in rows)
    assert "8142" in rows[0]["text"] and set(rows[0]) == {"video", "time", "score", "scores", "text", "index", "kind"}
    assert rows[0]["kind"] == "screen"
    png = tmp_path / "q.png"
    cv2.imwrite(str(png), synth["pictures"][0][:, :, ::-1])
    assert main(["search", synth["path"], "--image", str(png), "-k", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "image" in lines[0]
    t = float(lines[0].split()[0])
    assert synth["pic1"][0] <= t < synth["pic1"][1]


def test_search_for_what_no_frame_shows_says_not_found(warm_cache, synth, capsys):
    """Issue 12: an absent phrase prints 'not found' (and [] as JSON), never the least-bad frames."""
    assert main(["search", synth["path"], "purple elephants juggling violins at dawn", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["search", synth["path"], "purple elephants juggling violins at dawn"]) == 0
    assert "not found" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["", "-k", "3"], "empty query"),
    (["vault", "-k", "0"], "k must"),
    (["vault", "--fps", "0"], "fps must be > 0"),
    (["vault", "--fps", "1000"], "absurd"),
    (["--image", "README.md"], "not an image"),
    (["vault", "--channels", "sound"], "unknown channel 'sound'"),
])
def test_search_bad_input_is_a_clear_error(warm_cache, synth, capsys, args, message):
    try:
        code = main(["search", synth["path"], *args])
    except SystemExit as e:  # refused by the argument parser itself (choices from the registries)
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert "error:" in err and message in err


def test_search_a_file_that_is_not_a_video(tmp_path, capsys):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(os.urandom(5000))
    assert main(["search", str(bad), "anything"]) == 2
    assert str(bad) in capsys.readouterr().err


def test_cli_runs_as_a_program(warm_cache, synth, session_cache):
    env = {**os.environ, "PYTHONPATH": str(REPO), "LONGLENS_CACHE": str(session_cache)}
    proc = subprocess.run([sys.executable, "-m", "longlens.cli", "search", synth["path"], "lane 12", "-k", "1", "--json"],
                          env=env, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    (row,) = json.loads(proc.stdout)
    assert synth["fact_b"][0] - 1 <= row["time"] < synth["fact_b"][1] + 1
    warnings = [x for x in proc.stderr.decode().splitlines() if "CLIP" in x]
    assert len(warnings) == 1, "the missing CLIP weights are said once"
