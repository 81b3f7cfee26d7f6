"""Prediction files: detection of each benchmark's layout on real-layout samples, ranking, and the errors for
files in which no row can be read."""
from __future__ import annotations

import json

import numpy as np
import pytest
from eval_samples import QVH_PRED, SAMPLES, jsonl

from longlens.core.errors import InputError
from longlens.eval.formats import PREDICTION_FORMATS, detect_format, read_predictions


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
def test_detects_each_layout(fmt, write):
    path = write(*SAMPLES[fmt])
    assert detect_format(path) == fmt
    rows, counts = read_predictions(path)
    assert counts["format"] == fmt and counts["malformed"] == 0 and rows
    assert read_predictions(path, fmt)[1] == counts  # forcing the right format reads the same


def test_rows_as_read(write):
    rows, _ = read_predictions(write(*SAMPLES["qvhighlights"]))
    assert [r.id for r in rows] == ["2579", "5071"] and rows[0].windows.shape == (3, 3)
    assert rows[0].saliency.tolist() == QVH_PRED[0]["pred_saliency_scores"]
    # charades: the lines of one query make one list, in the order listed (no scores)
    rows, _ = read_predictions(write(*SAMPLES["charades"]))
    light = next(r for r in rows if r.video == "3MSZA")
    assert light.windows[:, :2].tolist() == [[24.3, 30.4], [0.0, 5.0]] and light.windows[0, 2] > light.windows[1, 2]
    # activitynet: entries of one sentence ranked by their scores
    rows, _ = read_predictions(write(*SAMPLES["activitynet"]))
    woman = next(r for r in rows if r.query.startswith("A young woman"))
    assert woman.windows.tolist() == [[0.8, 19.5, 0.9], [0.0, 20.1, 0.2]]
    # timechat: "timestamp" as a list of windows, empty, or a single [start, end]
    rows, _ = read_predictions(write(*SAMPLES["timechat"]))
    assert [len(r.windows) for r in rows] == [1, 0, 1] and rows[2].windows[0, :2].tolist() == [0.0, 5.5]
    # ours: an error row is a failed query
    rows, counts = read_predictions(write(*SAMPLES["longlens"]))
    assert counts["failed"] == 1 and rows[1].failed and len(rows[1].windows) == 0


def test_qvhighlights_submission_forced_as_ours_is_an_error(write):
    """The bug of issue 15: a QVHighlights submission read as our layout used to score 0.0 with exit 0."""
    path = write(*SAMPLES["qvhighlights"])
    with pytest.raises(InputError) as e:
        read_predictions(path, "longlens")
    msg = str(e.value)
    assert "no row could be read as longlens predictions" in msg and '"segments"' in msg
    assert "line 1: missing field 'id'" in msg


def test_all_malformed_file_names_the_first_bad_line(write):
    rows = [{"qid": 1, "pred_relevant_windows": "oops"}, {"qid": 2, "pred_relevant_windows": [[5, 1, 0.3]]}]
    path = write("pred.jsonl", "\n" + jsonl(rows))
    with pytest.raises(InputError, match=r"as qvhighlights predictions .*line 2: missing or non-list "
                                         r"'pred_relevant_windows'"):
        read_predictions(path)
    with pytest.raises(InputError, match="line 1: expected 'VIDEO START END##query'"):
        read_predictions(write("bad.txt", "3MSZA 24.3##no end time\n"), "charades")
    with pytest.raises(InputError, match=r"as timechat predictions .*query '7': missing field 'timestamp'"):
        read_predictions(write("tc.json", json.dumps({"7": {"query": "q", "vid": "v"}})), "timechat")


def test_partly_malformed_file_counts_the_bad_rows(write, caplog):
    text = jsonl(QVH_PRED) + "{not json\n" + json.dumps({"qid": 9, "pred_relevant_windows": [[1, "x", 2]]}) + "\n"
    rows, counts = read_predictions(write("pred.jsonl", text))
    assert len(rows) == 2 and counts["malformed"] == 2
    assert "line 3" in caplog.text and "line 4" in caplog.text


def test_undetectable_and_empty_files(write):
    with pytest.raises(InputError, match="cannot tell the prediction format.*'hello world'.*qvhighlights"):
        read_predictions(write("x.txt", "hello world\n"))
    with pytest.raises(InputError, match="empty"):
        read_predictions(write("e.jsonl", "\n\n"))
    with pytest.raises(InputError, match="unknown prediction format 'csv'; choose from"):
        read_predictions(write(*SAMPLES["longlens"]), "csv")
    assert "qvhighlights" in PREDICTION_FORMATS and PREDICTION_FORMATS.default == "longlens"


def test_detection_skips_a_bad_first_line(write):
    path = write("pred.jsonl", "{broken\n" + jsonl(QVH_PRED))
    assert detect_format(path) == "qvhighlights"
    assert read_predictions(path)[1]["malformed"] == 1


def test_windows_are_float_arrays(write):
    rows, _ = read_predictions(write(*SAMPLES["longlens"]))
    assert rows[0].windows.dtype == np.float64 and rows[0].windows.tolist() == [[12.0, 18.5, 0.83], [40.0, 44.0, 0.41]]


def test_every_registered_format_has_a_reader_and_a_description():
    from longlens.eval.formats import LAYOUTS

    assert list(LAYOUTS) == list(PREDICTION_FORMATS)
