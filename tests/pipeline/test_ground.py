"""Grounding batches end to end on generated videos: accuracy, error rows, a crashing worker, Ray vs local,
a real kill followed by --resume, and the CLI."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from pipeline_helpers import (
    HOLDING,
    KillAt,
    caption_jobs,
    read_line,
    wait_until,
    write_jsonl,
)

from longlens.cli import main
from longlens.core.errors import InputError
from longlens.eval.score import evaluate
from longlens.pipeline.ground import ground_batch, summary_path
from longlens.pipeline.output import read_rows

REPO = Path(__file__).resolve().parents[2]
HELD = Path(__file__).with_name("held_batch.py")


def _jobs_with_truth(videos, tmp_path) -> list[dict]:
    import cv2

    png = tmp_path / "picture.png"
    cv2.imwrite(str(png), videos["picture"][:, :, ::-1])
    rows = []
    for job in caption_jobs(videos):
        name, fact = job["id"].split("-")
        rows.append({**job, "windows": [list(videos[name]["windows"][int(fact)])]})
    rows.append({"id": "pic", "video": videos["b"]["path"], "image": str(png),
                 "windows": [list(videos["b"]["windows"]["picture"])]})
    return rows


@pytest.fixture(scope="module")
def local_run(videos, config, tmp_path_factory):
    """One local batch over both videos (2 workers): caption + picture jobs, a missing video, a malformed line."""
    tmp = tmp_path_factory.mktemp("local_run")
    good = _jobs_with_truth(videos, tmp)
    gt = write_jsonl(tmp / "gt.jsonl", good)
    jobs = tmp / "jobs.jsonl"
    write_jsonl(jobs, good + [{"id": "gone", "video": str(tmp / "missing.mp4"), "query": "anything"}])
    with open(jobs, "a") as f:
        f.write('{"id": "broken", "video": \n')
    out = tmp / "preds.jsonl"
    summary = ground_batch(jobs, out, engine="local", workers=2, config=config)
    return {"jobs": jobs, "gt": gt, "out": out, "summary": summary, "good": good}


def test_local_batch_grounds_caption_queries(local_run):
    rows, torn = read_rows(local_run["out"])
    assert torn == 0
    by = {r["id"]: r for r in rows}
    expected = [j["id"] for j in local_run["good"]] + ["gone", "line:" + str(len(local_run["good"]) + 2)]
    assert sorted(by) == sorted(expected)
    metrics = evaluate(local_run["out"], local_run["gt"], metrics="charades")
    assert metrics["counts"]["scored"] == len(local_run["good"]) and metrics["charades"]["R1@0.5"] >= 80, metrics
    assert by["pic"]["status"] == "ok", by["pic"]
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(r["segments"] and all(s <= e for s, e, _ in r["segments"]) and r["elapsed_s"] >= 0 for r in ok)
    assert by["gone"]["status"] == "error" and "missing.mp4" in by["gone"]["error"]
    bad = by["line:" + str(len(local_run["good"]) + 2)]
    assert bad["status"] == "error" and "not valid JSON" in bad["error"]
    s = json.loads(summary_path(local_run["out"]).read_text())
    assert s == local_run["summary"] and s["ok"] == len(local_run["good"]) and s["error"] == 2
    assert s["total"] == len(rows) and s["queries_per_s"] > 0 and not s["interrupted"]


def test_ray_engine_gives_the_same_segments_as_local(local_run, config, tmp_path):
    import ray  # the `ray` extra, which `make test` installs
    out = tmp_path / "ray.jsonl"
    try:
        summary = ground_batch(local_run["jobs"], out, engine="ray", workers=2, config=config)
    finally:
        ray.shutdown()
    local = {r["id"]: r for r in read_rows(local_run["out"])[0]}
    remote = {r["id"]: r for r in read_rows(out)[0]}
    assert remote.keys() == local.keys() and summary["ok"] == local_run["summary"]["ok"]
    for i, row in remote.items():
        assert row["status"] == local[i]["status"]
        if row["status"] == "ok":  # same windows; scores equal up to float noise across processes
            assert [s[:2] for s in row["segments"]] == [s[:2] for s in local[i]["segments"]], i
            assert [s[2] for s in row["segments"]] == pytest.approx([s[2] for s in local[i]["segments"]], abs=1e-4), i


def test_a_worker_that_dies_mid_item_costs_one_error_row(warm, config, tmp_path):
    jobs = caption_jobs(warm)
    victim = jobs[1]["id"]
    out = tmp_path / "preds.jsonl"
    summary = ground_batch(write_jsonl(tmp_path / "jobs.jsonl", jobs), out, engine="local", workers=1, config=config,
                           on_job=KillAt(victim))
    by = {r["id"]: r for r in read_rows(out)[0]}
    assert sorted(by) == sorted(j["id"] for j in jobs)
    assert by[victim]["status"] == "error" and "worker process died" in by[victim]["error"]
    assert all(r["status"] == "ok" for i, r in by.items() if i != victim)
    assert summary["error"] == 1


def test_a_crashed_item_is_retried_once_on_resume(warm, config, tmp_path):
    """The item whose worker crashed is run again by --resume (and only it); a second crash on it is final."""
    jobs = caption_jobs(warm)[:2]  # two queries of one video: one worker, no pool restart after the crash
    victim = jobs[1]["id"]
    jobs_path, out = write_jsonl(tmp_path / "jobs.jsonl", jobs), tmp_path / "preds.jsonl"
    ground_batch(jobs_path, out, workers=1, config=config, on_job=KillAt(victim))
    first = {r["id"]: r for r in read_rows(out)[0]}
    again = ground_batch(jobs_path, out, workers=1, config=config, resume=True, on_job=KillAt(victim))
    assert again["skipped_done"] == len(jobs) - 1 and again["processed"] == 1 and again["error"] == 1
    rows = {r["id"]: r for r in read_rows(out)[0]}
    assert rows[victim]["status"] == "error" and rows[victim]["attempts"] == 2
    assert {i: r for i, r in rows.items() if i != victim} == {i: r for i, r in first.items() if i != victim}
    fixed = ground_batch(jobs_path, out, workers=1, config=config, resume=True)
    assert fixed["processed"] == 0  # an error already retried once stays


def test_killed_batch_resumes_to_exactly_one_line_per_id(warm, tmp_path):
    """Ctrl-C a batch, then really kill the resumed one mid-batch (SIGKILL to its process group), tear its
    last line as a kill mid-write would, then --resume: every id ends with exactly one ok line, none computed
    twice. The CLI runs in a child whose worker holds at a chosen job (held_batch.py), so each signal lands
    while the batch is certainly mid-run."""
    jobs = caption_jobs(warm)  # 3 jobs of video a, then 3 of video b; one worker takes them in this order
    jobs_path, out = write_jsonl(tmp_path / "jobs.jsonl", jobs), tmp_path / "preds.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # $LONGLENS_CACHE: the shared cache (warm)
    args = ["ground", "--input", jobs_path, "--output", str(out), "--workers", "1"]

    def held(at: str, *more: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, str(HELD), at, *args, *more], env=env, start_new_session=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = read_line(proc.stdout, timeout=240)
        assert line.strip() == f"{HOLDING} {at}", line + proc.stderr.read().decode()[-2000:]
        return proc

    # Ctrl-C while the first job runs: the run stops at once, says so in its summary, leaves an output to resume
    proc = held(jobs[0]["id"])
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and b"interrupted" in err, err.decode()[-2000:]
    assert json.loads(summary_path(out).read_text())["interrupted"]
    assert read_rows(out) == ([], 0)

    # resumed, then killed outright at the 5th job, once the 4 before it are written
    proc = held(jobs[4]["id"], "--resume")
    wait_until(lambda: len(read_rows(out)[0]) == 4, timeout=60, what="the 4 rows before the held job")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    before = read_rows(out)[0]
    assert [r["id"] for r in before] == [j["id"] for j in jobs[:4]]
    with open(out, "a") as f:
        f.write(json.dumps({"id": jobs[4]["id"], "status": "ok"})[:20])  # torn by the kill

    cmd = [sys.executable, "-m", "longlens.cli", *args, "--resume"]
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    rows, torn = read_rows(out)
    assert torn == 0 and sorted(r["id"] for r in rows) == sorted(j["id"] for j in jobs)
    assert all(r["status"] == "ok" for r in rows)
    assert rows[: len(before)] == before  # finished rows were kept as they were, not recomputed
    s = json.loads(summary_path(out).read_text())
    assert s["skipped_done"] == len(before) and s["processed"] == len(jobs) - len(before)
    # resuming a finished job does no work
    again = subprocess.run(cmd, env=env, capture_output=True, timeout=300, check=False)
    assert again.returncode == 0 and json.loads(summary_path(out).read_text())["processed"] == 0
    assert read_rows(out)[0] == rows


def test_cli_bad_input_is_a_clear_error(warm, tmp_path, capsys):
    jobs = write_jsonl(tmp_path / "jobs.jsonl", [{"id": "x", "video": "v.mp4", "query": "q"},
                                                 {"id": "x", "video": "w.mp4", "query": "q"}])
    out = str(tmp_path / "preds.jsonl")
    assert main(["ground", "--input", jobs, "--output", out]) == 2
    assert "duplicate job ids: id 'x' on lines 1, 2" in capsys.readouterr().err
    ok = write_jsonl(tmp_path / "ok.jsonl", caption_jobs(warm)[:1])
    (tmp_path / "blocker").write_text("")
    assert main(["ground", "--input", ok, "--output", str(tmp_path / "blocker" / "p.jsonl")]) == 2
    assert "cannot write output" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["ground", "--input", ok, "--output", out, "--engine", "spark"])
    assert "invalid choice: 'spark'" in capsys.readouterr().err
    with pytest.raises(InputError, match="unknown engine"):
        ground_batch(ok, out, engine="spark")
    assert main(["ground", "--input", ok, "--output", out]) == 0
    assert main(["ground", "--input", ok, "--output", out]) == 2
    assert "--resume" in capsys.readouterr().err


def test_an_absent_phrase_or_picture_is_an_ok_row_with_no_segment_and_a_note(warm, config, tmp_path, seed):
    """Issue 12: not found is an answer -- never the whole video, never cited noise."""
    from longlens.data.synth import make_picture

    png = tmp_path / "absent.png"
    import cv2

    cv2.imwrite(str(png), make_picture(seed % 10**6 + 5000, (160, 120))[:, :, ::-1])  # a picture no video shows
    jobs = write_jsonl(tmp_path / "jobs.jsonl", [
        {"id": "phrase", "video": warm["a"]["path"], "query": "purple elephants juggling violins at dawn"},
        {"id": "picture", "video": warm["a"]["path"], "image": str(png)},
    ])
    ground_batch(jobs, tmp_path / "out.jsonl", engine="local", workers=1, config=config)
    rows = {r["id"]: r for r in read_rows(tmp_path / "out.jsonl")[0]}
    for name in ("phrase", "picture"):
        row = rows[name]
        assert row["status"] == "ok" and row["segments"] == [] and row["note"].startswith("not found"), row
