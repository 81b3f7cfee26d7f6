"""`longlens index`, `search` and `ground` as a user runs them (in-process main() and one real subprocess)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from longlens.cli import main
from retrieval_helpers import iou

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
    assert "8142" in rows[0]["text"] and set(rows[0]) == {"video", "time", "score", "scores", "text", "index"}
    png = tmp_path / "q.png"
    cv2.imwrite(str(png), synth["pictures"][0][:, :, ::-1])
    assert main(["search", synth["path"], "--image", str(png), "-k", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "image" in lines[0]
    t = float(lines[0].split()[0])
    assert synth["pic1"][0] <= t < synth["pic1"][1]


@pytest.mark.parametrize("args, message", [
    (["", "-k", "3"], "empty query"),
    (["vault", "-k", "0"], "k must"),
    (["vault", "--fps", "0"], "fps must be > 0"),
    (["vault", "--fps", "1000"], "absurd"),
    (["--image", "README.md"], "not an image"),
    (["vault", "--channels", "sound"], "unknown channels"),
])
def test_search_bad_input_is_a_clear_error(warm_cache, synth, capsys, args, message):
    assert main(["search", synth["path"], *args]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and message in err


def test_search_a_file_that_is_not_a_video(tmp_path, capsys):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(os.urandom(5000))
    assert main(["search", str(bad), "anything"]) == 2
    assert str(bad) in capsys.readouterr().err


def test_ground_jobs_with_error_rows(warm_cache, synth, tmp_path):
    import cv2

    png = tmp_path / "p.png"
    cv2.imwrite(str(png), synth["pictures"][1][:, :, ::-1])
    jobs = tmp_path / "jobs.jsonl"
    lines = [
        {"id": "a", "video": synth["path"], "query": "what is the vault code"},
        {"id": "b", "video": str(tmp_path / "missing.mp4"), "query": "anything"},
        {"id": "c", "video": synth["path"], "image": str(png)},
        {"id": "d", "video": synth["path"], "query": ""},
        {"id": "e", "video": synth["path"]},
    ]
    jobs.write_text("\n".join(json.dumps(x) for x in lines[:3]) + "\n{not json\n" + "\n".join(json.dumps(x) for x in lines[3:]) + "\n")
    out = tmp_path / "preds.jsonl"
    assert main(["ground", "--input", str(jobs), "--output", str(out), "--top", "2"]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c", "line 4", "d", "e"]
    by = {r["id"]: r for r in rows}
    assert by["a"]["status"] == "ok" and by["a"]["video"] == synth["path"] and len(by["a"]["segments"]) <= 2
    assert iou(by["a"]["segments"][0][:2], synth["fact_a"]) >= 0.5
    assert iou(by["c"]["segments"][0][:2], synth["pic2"]) >= 0.5
    assert by["b"]["status"] == "error" and "missing.mp4" in by["b"]["error"]
    assert by["d"]["status"] == "error" and "empty query" in by["d"]["error"]
    assert by["e"]["status"] == "error" and "exactly one" in by["e"]["error"]
    assert by["line 4"]["status"] == "error" and "not valid JSON" in by["line 4"]["error"]


def test_cli_runs_as_a_program(warm_cache, synth, session_cache):
    env = {**os.environ, "PYTHONPATH": str(REPO), "LONGLENS_CACHE": str(session_cache)}
    proc = subprocess.run([sys.executable, "-m", "longlens.cli", "search", synth["path"], "lane 12", "-k", "1", "--json"],
                          env=env, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    (row,) = json.loads(proc.stdout)
    assert synth["fact_b"][0] - 1 <= row["time"] < synth["fact_b"][1] + 1
    warnings = [x for x in proc.stderr.decode().splitlines() if "CLIP" in x]
    assert len(warnings) == 1, "the missing CLIP weights are said once"
