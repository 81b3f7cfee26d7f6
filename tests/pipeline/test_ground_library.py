"""Grounding and asking across a library (issue 14): job lines without a video are searched in the library's
index first, then grounded in the video found exactly as a single-video job; `ask --library` cites the video.

The library: three short generated videos, each showing one fact (drawn from the run's seed) at a random time
beside a look-alike distractor, indexed once by longlens.library.index_library into the session's cache.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from pipeline_helpers import write_jsonl

from longlens.cli import main
from longlens.core.types import iou
from longlens.data.synth import DISTRACTORS, FACTS, QUESTIONS, Caption, SynthSpec, make_video
from longlens.pipeline.ask import ask_library
from longlens.pipeline.ground import ground_batch
from longlens.pipeline.jobs import LIBRARY_GROUP, group_by_video, read_jobs
from longlens.pipeline.output import read_rows

ABSENT = "Where does the purple giraffe parade start?"  # no video shows or says anything like it


@pytest.fixture(scope="module")
def library(tmp_path_factory, request, config):
    """{"dir", "videos": [{"path", "fact", "window"}]}: three 40-second videos, one fact each, indexed."""
    from longlens.library import index_library

    rng = np.random.default_rng([request.config.base_seed, 14])
    root = tmp_path_factory.mktemp("library")
    facts = [int(f) for f in rng.choice(len(FACTS), 3, replace=False)]
    videos = []
    for n, fact in enumerate(facts):
        start = float(rng.integers(3, 24))
        d = float(rng.integers(0, 32))
        spec = SynthSpec(duration=40.0, fps=1.0, size=(480, 270), seed=int(rng.integers(1000)),
                         captions=[Caption(start, start + 10.0, FACTS[fact])],
                         distractors=[Caption(d, d + 6.0, DISTRACTORS[int(rng.integers(len(DISTRACTORS)))],
                                              pos="top", fg=(255, 255, 0), bg=(40, 40, 40))])
        path = root / f"lecture {n + 1}.mp4"
        make_video(path, spec, show_progress=False)
        videos.append({"path": str(path), "fact": fact, "window": (start, start + 10.0)})
    rows = list(index_library([root], workers=1, config=config, show=False))
    assert len(rows) == 3 and all(r["status"] in ("ok", "cached") for r in rows), rows
    return {"dir": str(root), "videos": videos}


# ---- job lines (no video needed)


def test_job_lines_name_a_video_or_a_library(tmp_path):
    jobs_file = write_jsonl(tmp_path / "jobs.jsonl", [
        {"id": "v", "video": "a.mp4", "query": "x"},
        {"id": "own", "library": "lib", "query": "x"},
        {"id": "default", "query": "x"},
        {"id": "both", "video": "a.mp4", "library": "lib", "query": "x"},
        {"id": "empty", "library": " ", "query": "x"},
    ])
    jobs, bad = read_jobs(jobs_file, library="/shared/lectures")
    by = {j.id: j for j in jobs}
    assert by["v"].video == str(tmp_path / "a.mp4") and by["v"].library is None
    assert by["own"].video is None and by["own"].library == str(tmp_path / "lib")  # relative to the job file
    assert by["default"].video is None and by["default"].library == "/shared/lectures"
    errors = {r["id"]: r["error"] for r in bad}
    assert set(errors) == {"both", "empty"} and "not both" in errors["both"] and "non-empty" in errors["empty"]

    _, bad = read_jobs(jobs_file)  # no default library: a line without a video is an error row, naming the fix
    assert "--library" in {r["id"]: r["error"] for r in bad}["default"]


def test_library_jobs_are_grouped_apart_from_videos_and_spread_over_workers():
    from longlens.pipeline.jobs import Job

    jobs = [Job(str(i), None, "q", library="/lib") for i in range(LIBRARY_GROUP + 1)] + [Job("v", "/lib/a.mp4", "q")]
    groups = group_by_video(jobs)
    assert groups["/lib/a.mp4"] == [jobs[-1]]
    lib_groups = [g for k, g in groups.items() if k != "/lib/a.mp4"]
    assert [len(g) for g in lib_groups] == [LIBRARY_GROUP, 1]
    assert [j for g in lib_groups for j in g] == jobs[:-1]  # input order kept


# ---- grounding across the library


def test_library_job_finds_the_caption_in_its_video_at_its_time(library, config, tmp_path):
    v = library["videos"][1]
    other = library["videos"][2]
    jobs = write_jsonl(tmp_path / "jobs.jsonl", [
        {"id": "found", "query": QUESTIONS[v["fact"]]},  # the batch's default library
        {"id": "own", "library": library["dir"], "query": QUESTIONS[other["fact"]]},
        {"id": "absent", "query": ABSENT},
        {"id": "single", "video": v["path"], "query": QUESTIONS[v["fact"]]},
        {"id": "nowhere", "library": str(tmp_path / "no library"), "query": "anything"},
    ])
    out = tmp_path / "preds.jsonl"
    summary = ground_batch(jobs, out, workers=1, library=library["dir"], config=config)
    rows = {r["id"]: r for r in read_rows(out)[0]}
    assert summary["ok"] == 4 and summary["error"] == 1, rows

    found = rows["found"]
    assert found["status"] == "ok" and found["video"] == v["path"] and found["library"] == library["dir"]
    assert iou(found["segments"][0], v["window"]) >= 0.5, (found, v)
    # grounded exactly as the single-video job on the same video
    assert found["segments"] == rows["single"]["segments"]
    assert rows["own"]["video"] == other["path"] and iou(rows["own"]["segments"][0], other["window"]) >= 0.5

    absent = rows["absent"]
    assert absent["status"] == "ok" and absent["segments"] == [] and absent["video"] is None
    assert absent["note"].startswith("not found"), absent

    nowhere = rows["nowhere"]  # a library never indexed: an error row that says what to run
    assert nowhere["status"] == "error" and "longlens index" in nowhere["error"] and "library" in nowhere


def test_cli_ground_with_a_default_library_resumes(library, warm, tmp_path):
    v = library["videos"][0]
    jobs = tmp_path / "jobs.jsonl"
    write_jsonl(jobs, [{"id": "q0", "query": QUESTIONS[v["fact"]]}, {"id": "absent", "query": ABSENT}])
    with open(jobs, "a") as f:
        f.write('{"id": "broken", "query": \n')
    out = tmp_path / "preds.jsonl"
    args = ["ground", "--input", str(jobs), "--output", str(out), "--library", library["dir"], "--workers", "1"]
    assert main(args) == 1  # the malformed line is an error row; the rest goes on
    first = {r["id"]: r for r in read_rows(out)[0]}
    assert first["q0"]["video"] == v["path"] and iou(first["q0"]["segments"][0], v["window"]) >= 0.5
    assert first["absent"]["segments"] == [] and first["absent"]["note"]
    assert first["line:3"]["status"] == "error"

    assert main([*args, "--resume"]) == 1  # done ids are kept, not run again; the bad line is retried once
    again = {r["id"]: r for r in read_rows(out)[0]}
    assert again["q0"] == first["q0"] and again["absent"] == first["absent"]
    assert again["line:3"]["attempts"] == 2
    summary = json.loads((tmp_path / "preds.jsonl.summary.json").read_text())
    assert summary["skipped_done"] == 2 and summary["processed"] == 1


# ---- asking a library


def test_ask_library_cites_the_video_that_shows_the_answer(library, config):
    from longlens.retrieval import Retriever

    r = Retriever(config)
    for v in library["videos"]:
        ans = ask_library(library["dir"], QUESTIONS[v["fact"]], answerer="extractive", retriever=r)
        assert ans.text.replace(" ", "") == FACTS[v["fact"]].replace(" ", ""), ans
        top = ans.evidence[0]
        assert top.video == v["path"] and v["window"][0] - 1 <= top.time < v["window"][1] + 1, (top, v)

    none = ask_library(library["dir"], ABSENT, answerer="extractive", retriever=r)
    assert none.text.startswith("No support found") and none.evidence == []


def test_cli_ask_library_json_names_the_video(library, warm, capsys):
    v = library["videos"][2]
    assert main(["ask", "--library", library["dir"], QUESTIONS[v["fact"]], "--answerer", "extractive",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["evidence"][0]["video"] == v["path"]
    assert v["window"][0] - 1 <= out["evidence"][0]["time"] < v["window"][1] + 1

    assert main(["ask", "--library", library["dir"], QUESTIONS[v["fact"]], "--answerer", "extractive"]) == 0
    text = capsys.readouterr().out
    assert f"{v['path']}  " in text and "evidence:" in text

    assert main(["ask", "--library", library["dir"], v["path"], "a question"]) == 2  # one positional only
    assert "only the QUESTION" in capsys.readouterr().err
    assert main(["ask", v["path"]]) == 2  # a video needs its question
    assert "VIDEO and QUESTION" in capsys.readouterr().err


def test_library_jobs_on_a_ray_cluster_ground_as_on_one_machine(library, config, tmp_path):
    """The same library jobs through --engine ray (a real local Ray cluster, two workers): the same video, the
    same segments, the same honest "not found"."""
    import ray  # the `ray` extra, which `make test` installs

    v, other = library["videos"][0], library["videos"][2]
    jobs = write_jsonl(tmp_path / "jobs.jsonl", [{"id": "a", "query": QUESTIONS[v["fact"]]},
                                                 {"id": "b", "query": QUESTIONS[other["fact"]]},
                                                 {"id": "absent", "query": ABSENT}])
    ground_batch(jobs, tmp_path / "local.jsonl", workers=1, library=library["dir"], config=config)
    try:
        summary = ground_batch(jobs, tmp_path / "ray.jsonl", engine="ray", workers=2, library=library["dir"],
                               config=config)
    finally:
        ray.shutdown()
    local = {r["id"]: r for r in read_rows(tmp_path / "local.jsonl")[0]}
    remote = {r["id"]: r for r in read_rows(tmp_path / "ray.jsonl")[0]}
    assert summary["ok"] == 3 and remote.keys() == local.keys()
    assert remote["a"]["video"] == v["path"] and remote["b"]["video"] == other["path"]
    assert remote["absent"]["segments"] == [] and remote["absent"]["note"].startswith("not found")
    for i, row in remote.items():
        assert row["video"] == local[i]["video"], i
        assert [s[:2] for s in row["segments"]] == [s[:2] for s in local[i]["segments"]], i
