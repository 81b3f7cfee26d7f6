"""`longlens eval` through the CLI: the table, --json / --out, unreadable prediction files as exit 2 naming the
format and the first bad line, and `--qa` accuracy against a slow implementation written here."""
from __future__ import annotations

import json

import pytest
from eval_samples import QVH_GT, QVH_GT_PRED, jsonl

from longlens.cli import main
from longlens.eval.score import evaluate


def test_table_json_and_out(write, tmp_path, capsys):
    gt, pred = write("gt.jsonl", jsonl(QVH_GT)), write("pred.jsonl", jsonl(QVH_GT_PRED))
    assert main(["eval", "--pred", str(pred), "--gt", str(gt), "--metrics", "qvhighlights"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["metric", "value"] and "MR-full-mAP" in out and "mIoU" not in out
    saved = tmp_path / "res" / "eval.json"
    assert main(["eval", "--pred", str(pred), "--gt", str(gt), "--json", "--out", str(saved)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(saved.read_text()) == evaluate(pred, gt)


@pytest.mark.parametrize("forced", ["longlens", "charades", "timechat", "activitynet"])
def test_a_submission_forced_as_another_format_exits_2(write, forced, capsys):
    """A QVHighlights submission read as another layout has no readable row: an error, never zeros."""
    gt, pred = write("gt.jsonl", jsonl(QVH_GT)), write("pred.jsonl", jsonl(QVH_GT_PRED))
    assert main(["eval", "--pred", str(pred), "--gt", str(gt), "--pred-format", forced]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and f"no row could be read as {forced} predictions" in captured.err
    where = {"longlens": "line 1: missing field 'id'", "charades": "line 1: expected 'VIDEO START END##query'"}
    assert where.get(forced, "first bad row") in captured.err


def test_an_all_garbage_file_exits_2(write, capsys):
    gt = write("gt.jsonl", jsonl(QVH_GT))
    pred = write("pred.jsonl", "garbage\n{\"nope\": 1}\n")
    assert main(["eval", "--pred", str(pred), "--gt", str(gt)]) == 2
    assert "cannot tell the prediction format" in capsys.readouterr().err  # auto: none of the layouts
    assert main(["eval", "--pred", str(pred), "--gt", str(gt), "--pred-format", "longlens"]) == 2
    err = capsys.readouterr().err
    assert "no row could be read as longlens predictions" in err and "line 1: not valid JSON" in err


# ---------------------------------------------------------------- --qa


def _videomme(rng, n):
    rows = []
    for i in range(n):
        rows.append({"video_id": f"{i // 3:03d}", "duration": str(rng.choice(["short", "medium", "long"])),
                     "domain": str(rng.choice(["Knowledge", "Sports Competition", "Life Record"])),
                     "sub_category": str(rng.choice(["Astronomy", "Football", "Travel", "Law"])),
                     "task_type": str(rng.choice(["Counting Problem", "OCR Problems", "Temporal Reasoning"])),
                     "videoID": f"v{i // 3}", "question_id": f"{i // 3:03d}-{i % 3 + 1}", "question": f"Q{i}?",
                     "options": [f"{m}. option {m}" for m in "ABCD"], "answer": str(rng.choice(list("ABCD")))})
    return json.dumps(rows), [(r["question_id"], r["answer"], {"duration": [r["duration"]], "domain": [r["domain"]],
                                                               "sub_category": [r["sub_category"]],
                                                               "task_type": [r["task_type"]]}) for r in rows]


def _lvbench(rng, n):
    types = ["entity recognition", "event understanding", "key information retrieval", "reasoning", "summarization"]
    lines, truth = [], []
    for v in range(n // 4):
        kind = str(rng.choice(["sport", "documentary", "cartoon"]))
        qa = []
        for k in range(4):
            qtypes = sorted({str(t) for t in rng.choice(types, size=int(rng.integers(1, 3)))})
            answer = str(rng.choice(list("ABCD")))
            qa.append({"uid": f"{v}-{k}", "question": "What?\n(A) a\n(B) b\n(C) c\n(D) d", "answer": answer,
                       "question_type": qtypes, "time_reference": "00:15-00:19"})
            truth.append((f"{v}-{k}", answer, {"question_type": qtypes, "video_type": [kind]}))
        lines.append(json.dumps({"key": f"vid{v}", "type": kind, "video_info": {"duration_minutes": 70.0}, "qa": qa}))
    return "\n".join(lines) + "\n", truth


def _longvideobench(rng, n):
    rows = []
    for i in range(n):
        rows.append({"id": f"lvb_{i}", "video_path": f"v{i}.mp4", "question": "Which?",
                     "candidates": ["w", "x", "y", "z", "q"],
                     "correct_choice": int(rng.integers(0, 5)), "duration_group": int(rng.choice([15, 60, 600, 3600])),
                     "question_category": str(rng.choice(["T3E", "S2E", "TOS"])),
                     "level": str(rng.choice(["L1-Perception", "L2-Relation"])), "duration": 100.0})
    return json.dumps(rows), [(r["id"], "ABCDE"[r["correct_choice"]], {"duration_group": [str(r["duration_group"])],
                                                                         "question_category": [r["question_category"]],
                                                                         "level": [r["level"]]}) for r in rows]


def _answers(rng, truth, letters):
    """Answer rows in the ways `longlens answer` and others write them, and the letter each one means (None:
    wrong whatever the truth). Returns (rows, meant)."""
    rows, meant = [], {}
    for qid, answer, _ in truth:
        pick = str(rng.choice(list(letters))) if rng.random() < 0.5 else answer
        how = rng.integers(0, 5)
        if how == 0:
            continue  # no row: wrong
        if how == 1:
            rows.append({"id": qid, "status": "error", "error": "VideoError: gone"})
            meant[qid] = None
        elif how == 2:  # a reply without a parsed letter
            rows.append({"id": qid, "answer": f"The best answer is ({pick}).", "status": "ok"})
            meant[qid] = pick
        else:
            if rng.random() < 0.3:  # an earlier error row, superseded by the retry
                rows.append({"id": qid, "status": "error", "error": "worker died"})
            rows.append({"id": qid, "choice": pick, "answer": f"{pick}. something", "answerer": "lvlm", "status": "ok"})
            meant[qid] = pick
    return rows, meant


def slow_qa(truth, meant) -> dict:
    overall = [meant.get(qid) == answer for qid, answer, _ in truth]
    groups: dict = {}
    for (qid, answer, fields) in truth:
        for name, values in fields.items():
            for v in values:
                groups.setdefault(name, {}).setdefault(v, []).append(meant.get(qid) == answer)
    return {"accuracy": round(100 * sum(overall) / len(overall), 2),
            "groups": {name: {v: round(100 * sum(h) / len(h), 2) for v, h in vals.items()}
                       for name, vals in groups.items()}}


@pytest.mark.parametrize("layout, make, letters, suffix", [("videomme", _videomme, "ABCD", "json"),
                                                          ("lvbench", _lvbench, "ABCD", "jsonl"),
                                                          ("longvideobench", _longvideobench, "ABCDE", "json")])
def test_qa_accuracy_matches_a_slow_count(write, rng, capsys, layout, make, letters, suffix):
    text, truth = make(rng, 40)
    gt = write(f"questions.{suffix}", text)
    rows, meant = _answers(rng, truth, letters)
    pred = write("answers.jsonl", jsonl(rows) + "torn {\n")
    assert main(["eval", "--qa", "--pred", str(pred), "--gt", str(gt), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    want = slow_qa(truth, meant)
    assert got["accuracy"] == want["accuracy"]
    assert {name: {v: s["accuracy"] for v, s in vals.items()} for name, vals in got["groups"].items()} == want["groups"]
    c = got["counts"]
    assert (c["format"], c["scored"], c["malformed"]) == (layout, len(truth), 1)
    assert c["missing"] == sum(qid not in meant for qid, _, _ in truth)
    assert c["failed"] == sum(qid in meant and meant[qid] is None for qid, _, _ in truth)
    assert c["correct"] == round(want["accuracy"] * len(truth) / 100)
    if layout == "videomme":  # VideoMME's own order of its duration categories
        order = [d for d in ("short", "medium", "long") if d in want["groups"]["duration"]]
        assert list(got["groups"]["duration"]) == order
    assert main(["eval", "--qa", "--pred", str(pred), "--gt", str(gt)]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:2] == ["accuracy", f"{got['accuracy']:.2f}"]
    assert all(name in table.splitlines() for name in got["groups"])


def test_qa_errors_exit_2(write, capsys):
    gt = write("questions.jsonl", jsonl([{"id": "q1", "video": "v.mp4", "question": "Which?", "options": ["a", "b"],
                                          "answer": "B", "category": "ocr", "duration": 3000}]))
    garbage = write("answers.jsonl", "nope\n[1, 2]\n")
    assert main(["eval", "--qa", "--pred", str(garbage), "--gt", str(gt)]) == 2
    err = capsys.readouterr().err
    assert "no row could be read as answers" in err and "line 1: not valid JSON" in err
    good = write("good.jsonl", jsonl([{"id": "q1", "choice": "B", "status": "ok"}]))
    assert main(["eval", "--qa", "--pred", str(good), "--gt", str(gt), "--pred-format", "qvhighlights"]) == 2
    assert "not with --qa" in capsys.readouterr().err
    assert main(["eval", "--qa", "--pred", str(good), "--gt", str(gt), "--json"]) == 0
    ours = json.loads(capsys.readouterr().out)
    assert ours["accuracy"] == 100.0 and ours["groups"] == {"category": {"ocr": {"accuracy": 100.0, "questions": 1}},
                                                            "duration": {"long": {"accuracy": 100.0, "questions": 1}}}
