"""`longlens demo` end to end (a short video): answers with timestamps, a scored batch, files in the library."""
from __future__ import annotations

import json
import re

from longlens.cli import main
from longlens.core.paths import default_library as library_dir


def test_demo_answers_grounds_and_scores_then_reuses_its_work(capsys):
    assert main(["demo", "--duration", "150", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    lib = library_dir()
    video = lib / "longlens-demo.mp4"
    truth = json.loads((lib / "longlens-demo.truth.json").read_text())
    vault = next(c for c in truth["captions"] if c["text"] == "THE VAULT CODE IS 8142")
    assert f"demo video: {video}" in out and "indexed 150 frames" in out
    # Q1 is answered from on-screen text, with the moment it was shown
    answer = re.search(r"Q: What is the vault code\?\nA: (.*)\[(\w+)\]\n\s+(\d\d):(\d\d)", out)
    assert answer and "8142" in answer[1] and answer[2] == "extractive", out
    t = int(answer[3]) * 60 + int(answer[4])
    assert vault["start"] - 1 <= t <= vault["end"] + 1
    assert "A: B. Gate 31" in out  # the multiple-choice question
    # Q3 only the speech answers: the sentence, cited when it was said
    (said,) = truth["speech"]
    answer = re.search(r"Q: Which city will the group travel to\?\nA: (.*)\[(\w+)\]\n\s+\d\d:\d\d  \(([\d.]+) s\)"
                       r".*\[(\w+)\]", out)
    assert answer and "Lisbon" in answer[1] and answer[4] == "speech", out
    assert abs(float(answer[3]) - said["start"]) <= 5.0, (answer[3], said)
    # the batch: one line per fact shown or said and per picture, scored against the generator's truth
    jobs = [json.loads(x) for x in (lib / "longlens-demo.jobs.jsonl").read_text().splitlines()]
    preds = [json.loads(x) for x in (lib / "longlens-demo.preds.jsonl").read_text().splitlines()]
    assert len(jobs) == 15 and sorted(p["id"] for p in preds) == sorted(j["id"] for j in jobs)
    assert all((lib / j["image"]).is_file() for j in jobs if "image" in j)
    r1 = float(re.search(r"R1@0.5 ([\d.]+)", out)[1])
    assert r1 >= 70, out  # points
    assert "longlens ui" in out

    mtime = video.stat().st_mtime_ns
    assert main(["demo", "--duration", "150", "--workers", "1"]) == 0
    again = capsys.readouterr().out
    assert video.stat().st_mtime_ns == mtime  # same spec: the video is reused, not rebuilt
    assert "cached: frames" in again  # and its index is read from the cache
