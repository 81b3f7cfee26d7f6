import json

import pytest

from longlens.core.errors import InputError
from longlens.core.registry import GROUNDING_FORMATS
from longlens.data import datasets
from longlens.pipeline.jobs import Job, group_by_video, read_jobs
from longlens.pipeline.output import ResultLog, read_rows


def write_lines(path, lines):
    path.write_text("".join(l + "\n" for l in lines), encoding="utf-8")
    return path


def test_malformed_lines_become_error_rows_named_by_line(tmp_path):
    p = write_lines(tmp_path / "jobs.jsonl", [
        json.dumps({"id": "a", "video": "v1.mp4", "query": "a red car"}),
        "{not json",
        json.dumps({"id": "b", "video": "v1.mp4"}),  # neither query nor image
        json.dumps({"id": "c", "query": "x"}),  # no video
        json.dumps({"id": 7, "video": "v2.mp4", "image": "pic.png"}),
        json.dumps(["a", "list"]),
        json.dumps({"id": "d", "video": "v2.mp4", "query": 5}),  # wrong type
        "",
    ])
    jobs, errors = read_jobs(p)
    assert [j.id for j in jobs] == ["a", "7"]
    assert jobs[1].image == str(tmp_path / "pic.png")  # relative to the job file
    by_id = {e["id"]: e["error"] for e in errors}
    assert set(by_id) == {"line:2", "b", "c", "line:6", "d"}
    assert "line 2" in by_id["line:2"] and "not valid JSON" in by_id["line:2"]
    assert "query" in by_id["b"] and "image" in by_id["b"]
    assert "video" in by_id["c"]
    assert "'query'" in by_id["d"]
    assert all(e["status"] == "error" for e in errors)


def test_duplicate_ids_rejected_up_front_with_line_numbers(tmp_path):
    p = write_lines(tmp_path / "jobs.jsonl", [
        json.dumps({"id": "x", "video": "v.mp4", "query": "q1"}),
        json.dumps({"id": "y", "video": "v.mp4", "query": "q2"}),
        json.dumps({"id": "x", "video": "w.mp4", "query": "q3"}),
    ])
    with pytest.raises(InputError, match=r"'x' on lines 1, 3"):
        read_jobs(p)


def test_missing_job_file_and_unknown_format(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_jobs(tmp_path / "nope.jsonl")
    p = write_lines(tmp_path / "j.jsonl", [])
    with pytest.raises(InputError, match="format"):
        read_jobs(p, format="csv")


WRITERS = {"longlens": datasets.write_grounding, "charades": datasets.write_charades_sta,
           "qvhighlights": datasets.write_qvhighlights, "activitynet": datasets.write_activitynet}


@pytest.mark.parametrize("format", GROUNDING_FORMATS.names)
def test_every_grounding_format_is_a_job_file(tmp_path, format):
    """One name per layout (the same file is `--format longlens` for ground and for eval), read by the data
    layer's loaders; the benchmarks' videos are found in video_dir."""
    samples = [datasets.GroundingSample(str(i), str(tmp_path / f"vid{i % 2}.mp4"), f"query {i}",
                                        windows=[(i, i + 2.0)], duration=30.0) for i in range(4)]
    path = tmp_path / f"jobs.{format}"
    WRITERS[format](samples, path)
    jobs, errors = read_jobs(path, format=format, video_dir=tmp_path)
    assert errors == [] and len(jobs) == 4
    expected = [(s.video, s.query) for s in sorted(samples, key=lambda s: (s.video, s.query))]
    assert sorted((j.video, j.query) for j in jobs) == expected
    assert len({j.id for j in jobs}) == 4


def test_the_old_name_of_our_format_is_refused(tmp_path):
    p = write_lines(tmp_path / "j.jsonl", [json.dumps({"id": "a", "video": "v.mp4", "query": "q"})])
    with pytest.raises(InputError, match="longlens"):
        read_jobs(p, format="jsonl")


def test_group_by_video_keeps_input_order(rng):
    jobs = [Job(str(i), f"v{i % 3}.mp4", query=f"q{i}") for i in rng.permutation(10)]
    groups = group_by_video(jobs)
    assert sorted(groups) == ["v0.mp4", "v1.mp4", "v2.mp4"]
    for v, js in groups.items():
        assert all(j.video == v for j in js)
        assert js == [j for j in jobs if j.video == v]


def test_existing_output_needs_resume_or_overwrite(tmp_path):
    out = tmp_path / "preds.jsonl"
    with ResultLog(out) as log:
        log.write({"id": "a", "status": "ok", "segments": []})
    with pytest.raises(InputError, match="--resume"):
        ResultLog(out)
    with ResultLog(out, overwrite=True) as log:
        assert log.pending(["a"]) == ["a"]
    assert out.read_text() == ""


def test_resume_skips_ok_retries_errors_once_and_drops_torn_line(tmp_path):
    out = tmp_path / "preds.jsonl"
    with ResultLog(out) as log:
        log.write({"id": "a", "status": "ok", "segments": [[1.0, 2.0, 0.5]]})
        log.write({"id": "b", "status": "error", "error": "boom"})
    with open(out, "a") as f:
        f.write('{"id": "c", "status": "ok", "segm')  # killed mid-write
    with ResultLog(out, resume=True) as log:
        assert log.pending(["a", "b", "c", "d"]) == ["b", "c", "d"]
        log.write({"id": "b", "status": "error", "error": "boom again"})
        log.write({"id": "c", "status": "ok", "segments": []})
    rows, torn = read_rows(out)
    assert torn == 0
    assert sorted(r["id"] for r in rows) == ["a", "b", "c"]  # one line per id
    assert next(r for r in rows if r["id"] == "b")["attempts"] == 2
    with ResultLog(out, resume=True) as log:  # an error already retried once stays
        assert log.pending(["a", "b", "c"]) == []


def test_unwritable_output_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot write output"):
        ResultLog(blocker / "preds.jsonl")


def test_questions_in_our_layout_and_a_benchmarks(tmp_path):
    """Our question lines are read one by one (a bad line is an error row); a benchmark's file whole."""
    from longlens.pipeline.jobs import read_questions

    p = write_lines(tmp_path / "questions.jsonl", [
        json.dumps({"id": "q1", "video": "v1.mp4", "question": "Which?", "options": ["a", "b", "c"], "answer": "C"}),
        "{not json",
        json.dumps({"id": "q2", "video": "v1.mp4", "question": "Which?", "options": ["a"]}),  # one option
        json.dumps({"id": "q3", "video": "/abs/v2.mp4", "question": "Which?", "options": ["a", "b"], "answer": "Z"}),
        json.dumps({"id": "q4", "video": "v2.mp4", "question": "Why?", "options": ["x", "y"], "category": "ocr"}),
    ])
    jobs, errors, fmt = read_questions(p)
    assert fmt == "longlens" and [j.id for j in jobs] == ["q1", "q4"]
    assert jobs[0] == Job("q1", str(tmp_path / "v1.mp4"), "Which?", line=1, options=("a", "b", "c"))
    by_id = {e["id"]: e["error"] for e in errors}
    assert set(by_id) == {"line:2", "q2", "q3"} and "line 3" in by_id["q2"] and "'Z' is not an option" in by_id["q3"]
    vm = tmp_path / "videomme.json"
    vm.write_text(json.dumps([{"videoID": "abc", "question_id": "001-1", "question": "Which?", "duration": "short",
                               "options": ["A. red", "B. blue"], "answer": "B"}]))
    jobs, errors, fmt = read_questions(vm, video_dir=tmp_path / "videos")
    assert (fmt, errors) == ("videomme", [])
    assert jobs == [Job("001-1", str(tmp_path / "videos" / "abc.mp4"), "Which?", line=1, options=("red", "blue"))]
    with pytest.raises(InputError, match="unknown question format"):
        read_questions(vm, format="egoschema")
