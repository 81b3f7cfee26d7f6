"""`longlens answer` end to end on the generated videos (extractive answerer): one row per question with the
letter, the reply, the evidence times and the answerer; error rows for a missing video and a bad line; a worker
killed mid-question and a killed run, each resumed to exactly one row per question; `eval --qa` on the rows."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from pipeline_helpers import HOLDING, KillAt, read_line, wait_until, write_jsonl

from longlens.cli import main
from longlens.data.synth import FACTS, QUESTIONS
from longlens.pipeline.answer import answer_batch
from longlens.pipeline.batch import summary_path
from longlens.pipeline.config import AskConfig
from longlens.pipeline.output import read_rows

REPO = Path(__file__).resolve().parents[2]
HELD = Path(__file__).with_name("held_batch.py")
EXTRACTIVE = AskConfig(answerer="extractive")


def _questions(videos, rng) -> list[dict]:
    """One question per fact of both videos, its options the fact and three other facts in a random order."""
    rows = []
    for name in ("a", "b"):
        for f in (k for k in videos[name]["windows"] if k != "picture"):
            others = rng.choice([i for i in range(len(FACTS)) if i != f], size=3, replace=False)
            options = [FACTS[f], *(FACTS[i] for i in others)]
            order = rng.permutation(4)
            rows.append({"id": f"{name}-{f}", "video": videos[name]["path"], "question": QUESTIONS[f],
                         "options": [options[i] for i in order], "answer": "ABCD"[int(order.tolist().index(0))],
                         "category": "on-screen text"})
    return rows


def test_rows_error_rows_and_accuracy(warm, config, tmp_path, rng, capsys):
    good = _questions(warm, rng)
    gone = [{"id": f"gone-{i}", "video": str(tmp_path / "missing.mp4"), "question": "Which?",
             "options": ["x", "y"], "answer": "A"} for i in range(2)]
    gt = write_jsonl(tmp_path / "gt.jsonl", good + gone)
    questions = write_jsonl(tmp_path / "questions.jsonl", good + gone)
    with open(questions, "a") as f:
        f.write('{"id": "broken", "video": \n')
    out = tmp_path / "answers.jsonl"
    summary = answer_batch(questions, out, workers=2, config=config, ask_config=EXTRACTIVE)
    rows, torn = read_rows(out)
    by = {r["id"]: r for r in rows}
    assert torn == 0 and len(rows) == len(by) == len(good) + len(gone) + 1
    for q in good:
        r = by[q["id"]]
        assert r["status"] == "ok" and r["answerer"] == "extractive" and r["question"] == q["question"]
        assert r["choice"] in "ABCD" and r["answer"].startswith(f"{r['choice']}. ")  # the letter and the reply
        assert r["evidence"] and all(isinstance(m["time"], float) for m in r["evidence"])
    for q in gone:
        assert by[q["id"]]["status"] == "error" and "missing.mp4" in by[q["id"]]["error"]
    bad = by[f"line:{len(good) + len(gone) + 1}"]
    assert bad["status"] == "error" and "not valid JSON" in bad["error"]
    assert (summary["ok"], summary["error"]) == (len(good), len(gone) + 1)

    assert main(["eval", "--qa", "--pred", str(out), "--gt", gt, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    right = sum(by[q["id"]]["choice"] == q["answer"] for q in good)
    assert result["accuracy"] == round(100 * right / (len(good) + len(gone)), 2)
    assert result["counts"]["failed"] == len(gone) and result["groups"]["category"]["on-screen text"]["questions"] == 6
    assert right >= len(good) - 1, rows  # the facts are on screen: the extractive answerer reads them


def test_a_worker_killed_mid_question_resumes_to_one_row_each(warm, config, tmp_path, rng):
    questions = _questions(warm, rng)
    victim = questions[1]["id"]
    path, out = write_jsonl(tmp_path / "questions.jsonl", questions), tmp_path / "answers.jsonl"
    first = answer_batch(path, out, workers=1, config=config, ask_config=EXTRACTIVE, on_job=KillAt(victim))
    by = {r["id"]: r for r in read_rows(out)[0]}
    assert first["error"] == 1 and "worker process died" in by[victim]["error"]
    again = answer_batch(path, out, workers=1, config=config, ask_config=EXTRACTIVE, resume=True)
    assert (again["skipped_done"], again["processed"], again["error"]) == (len(questions) - 1, 1, 0)
    rows = read_rows(out)[0]
    assert sorted(r["id"] for r in rows) == sorted(q["id"] for q in questions)  # exactly one row per question
    assert all(r["status"] == "ok" for r in rows)
    assert {r["id"]: r for r in rows if r["id"] != victim} == {i: r for i, r in by.items() if i != victim}


def test_a_killed_run_resumes_to_one_row_each(warm, config, tmp_path, rng):
    """SIGKILL the CLI's whole process group while its worker holds at the 5th question (the 4 before it
    written), tear the last line, then resume: one row per question, the finished rows kept as they were."""
    questions = _questions(warm, rng)
    path, out = write_jsonl(tmp_path / "questions.jsonl", questions), tmp_path / "answers.jsonl"
    at = questions[4]["id"]
    proc = subprocess.Popen([sys.executable, str(HELD), at, "answer", "--input", path, "--output", str(out),
                             "--workers", "1", "--answerer", "extractive"],
                            env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = read_line(proc.stdout, timeout=240)
        assert line.strip() == f"{HOLDING} {at}", line + proc.stderr.read().decode()[-2000:]
        wait_until(lambda: len(read_rows(out)[0]) == 4, timeout=60, what="the 4 rows before the held question")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    before = read_rows(out)[0]
    assert [r["id"] for r in before] == [q["id"] for q in questions[:4]]
    with open(out, "a") as f:
        f.write(json.dumps({"id": at, "status": "ok"})[:20])  # torn by the kill
    s = answer_batch(path, out, workers=1, config=config, ask_config=EXTRACTIVE, resume=True)
    rows, torn = read_rows(out)
    assert torn == 0 and sorted(r["id"] for r in rows) == sorted(q["id"] for q in questions)
    assert rows[:4] == before and all(r["status"] == "ok" for r in rows)
    assert (s["skipped_done"], s["processed"]) == (4, len(questions) - 4)
    assert json.loads(summary_path(out).read_text()) == s
