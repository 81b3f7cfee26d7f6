"""`evaluate` end to end on small files in the benchmarks' layouts: official key names, figures worked out by
hand, missing predictions scored 0 and counted, and the errors."""
from __future__ import annotations

import json

import pytest
from eval_samples import ANET_GT, CHARADES_GT, QVH_GT, QVH_GT_PRED, SAMPLES, jsonl

from longlens.core.errors import InputError
from longlens.eval.score import evaluate, table

BRIEF = ["MR-full-R1@0.5", "MR-full-R1@0.7", "MR-full-mAP", "MR-full-mAP@0.5", "MR-full-mAP@0.75", "MR-long-mAP",
         "MR-middle-mAP", "MR-short-mAP", "HL-min-Fair-mAP", "HL-min-Fair-Hit1", "HL-min-Good-mAP",
         "HL-min-Good-Hit1", "HL-min-VeryGood-mAP", "HL-min-VeryGood-Hit1"]


def test_qvhighlights_by_hand(write):
    gt = write("gt.jsonl", jsonl(QVH_GT))
    r = evaluate(write("pred.jsonl", jsonl(QVH_GT_PRED)), gt, metrics="qvhighlights")
    assert list(r["brief"]) == BRIEF  # moment_detr's brief keys, in its order
    b = r["brief"]
    # queries 1 (short) and 3 (middle) are found exactly, query 2 (long) is missed
    assert (b["MR-full-mAP"], b["MR-full-R1@0.5"], b["MR-full-R1@0.7"]) == (66.67, 66.67, 66.67)
    assert (b["MR-short-mAP"], b["MR-middle-mAP"], b["MR-long-mAP"]) == (100.0, 100.0, 0.0)
    assert r["full"]["MR-mAP"]["0.95"] == 66.67 and list(r["full"]["MR-R1"])[-1] == "0.95"
    # Fair (>= 2): q1 positives clips 0, 1 for all -> ranking 0.9+, 0.5-, 0.1+ -> AP (1 + 2/3) / 2, hit;
    # q2: every score tied at 0 -> one point, precision = an annotator's positives / 75 (1, 3 and 2 of clips
    # 10-12); the top clip 0 -> miss; q3: clips 5-7 positive, clip 6 on top -> hit, points (1/3, 1), (1, 3/75)
    q1 = (1 + 2 / 3) / 2
    q2 = (1 / 75 + 3 / 75 + 2 / 75) / 3
    q3 = (1 + 3 / 75) / 2
    assert b["HL-min-Fair-mAP"] == round(100 * (q1 + q2 + q3) / 3, 2)
    assert b["HL-min-Fair-Hit1"] == 66.67
    assert r["counts"] == {"format": "qvhighlights", "rows": 3, "malformed": 0, "failed": 0, "queries": 3,
                           "scored": 3, "missing": 0, "unknown": 0}


def test_missing_and_unknown_predictions_are_counted(write):
    gt = write("gt.jsonl", jsonl(QVH_GT))
    rows = QVH_GT_PRED[:2] + [dict(QVH_GT_PRED[0], qid=99, vid="other", query="other")]
    r = evaluate(write("pred.jsonl", jsonl(rows)), gt, metrics="qvhighlights")
    assert r["brief"]["MR-full-mAP"] == 33.33 and r["brief"]["MR-middle-mAP"] == 0.0  # query 3 missing: 0
    assert r["counts"]["missing"] == 1 and r["counts"]["unknown"] == 1


def test_submission_forced_as_ours_is_an_error_not_zeros(write):
    gt = write("gt.jsonl", jsonl(QVH_GT))
    with pytest.raises(InputError, match="no row could be read as longlens predictions"):
        evaluate(write("pred.jsonl", jsonl(QVH_GT_PRED)), gt, pred_format="longlens")


def test_our_rows_against_each_ground_truth(write):
    """`longlens ground` rows (retries, errors, a torn line, an unknown id) scored by id against our ground truth,
    Charades-STA's and QVHighlights'; windows ranked as listed."""
    gt = write("gt.jsonl", jsonl([{"id": "a", "video": "v1", "query": "q a", "windows": [[10, 20]]},
                                  {"id": "b", "video": "v1", "query": "q b", "windows": [[0, 10], [30, 40]]},
                                  {"id": "c", "video": "v2", "query": "q c", "windows": [[50, 60]]},
                                  {"id": "d", "video": "v2", "query": "q d", "windows": [[100, 110]]},
                                  {"id": "e", "video": "v3", "query": "q e", "windows": []}]))  # not scored
    pred = write("pred.jsonl", jsonl([
        {"id": "a", "status": "error", "error": "worker died"},  # superseded by the retry below
        {"id": "a", "segments": [[12, 22, 0.9], [0, 5, 0.1]], "status": "ok"},
        {"id": "b", "segments": [[31, 39, 0.5], [100, 120, 0.8]], "status": "ok"},  # first listed = top-1
        {"id": "c", "status": "error", "error": "decode failed"},
        {"id": "zzz", "segments": [[1, 2, 1.0]], "status": "ok"}]) + '{"id": "d", "segments": [[1, 2, \n')
    r = evaluate(pred, gt, metrics="all")
    # top-1 IoUs: a 8/12, b 8/10 (its nearer window), c failed, d unreadable
    assert r["charades"] == {"R1@0.3": 50.0, "R1@0.5": 50.0, "R1@0.7": 25.0, "R5@0.3": 50.0, "R5@0.5": 50.0,
                             "R5@0.7": 25.0, "mIoU": round(100 * (8 / 12 + 0.8) / 4, 2)}
    # a: both within 5 s (P 1, R 1); b: P 1/2, R 1/2; c and d have no windows: left out
    assert r["lvhaystack"]["Average Temporal F1 Score"] == 75.0 and r["lvhaystack"]["queries"] == 2
    assert {k: r["counts"][k] for k in ("scored", "missing", "failed", "malformed", "unknown")} == \
        {"scored": 4, "missing": 1, "failed": 1, "malformed": 1, "unknown": 1}
    cha = write("charades.txt", "3MSZA 24.3 30.4##person turn a light on.\n"
                                "AO8RW 0.0 6.9##a person is putting a book away.\n")
    pred = write("pred.jsonl", jsonl([{"id": "3MSZA#1", "segments": [[24.3, 30.4, 1.0]], "status": "ok"},
                                      {"id": "AO8RW#2", "segments": [[20.0, 26.9, 1.0]], "status": "ok"}]))
    assert evaluate(pred, cha, metrics="charades")["charades"]["R1@0.7"] == 50.0
    qv = write("qv.jsonl", jsonl([{"qid": 7, "query": "q", "vid": "x_0.0_150.0", "duration": 150,
                                   "relevant_windows": [[0, 10], [40, 50]]}]))
    pred = write("pred.jsonl", jsonl([{"id": "7", "segments": [[41, 50, 0.7]], "status": "ok"}]))
    assert evaluate(pred, qv, metrics="charades")["charades"]["mIoU"] == 90.0


def test_charades_ranked_lines(write):
    gt = write("gt.txt", CHARADES_GT)
    r = evaluate(write(*SAMPLES["charades"]), gt, metrics="charades")
    # light: first line [24.3, 30.4] exact; book: [0, 6.9] exact -> all hits
    assert r["charades"] == {"R1@0.3": 100.0, "R1@0.5": 100.0, "R1@0.7": 100.0, "R5@0.3": 100.0,
                             "R5@0.5": 100.0, "R5@0.7": 100.0, "mIoU": 100.0}
    # the same query answered by TimeChat: [20.8, 30] vs [24.3, 30.4] -> IoU 5.7 / 9.6; the book query is empty
    r = evaluate(write(*SAMPLES["timechat"]), gt, metrics="charades")
    iou = (30.0 - 24.3) / (30.4 - 20.8)
    assert r["charades"]["R1@0.5"] == 50.0 and r["charades"]["R1@0.7"] == 0.0
    assert r["charades"]["mIoU"] == round(100 * iou / 2, 2)
    assert r["counts"]["unknown"] == 1  # the third TimeChat query is not in this ground truth


def test_activitynet_results_by_sentence(write):
    gt = write("gt.json", json.dumps(ANET_GT))
    r = evaluate(write(*SAMPLES["activitynet"]), gt, metrics="charades")
    first = (19.5 - 0.83) / (19.86 - 0.8)  # best-scored entry [0.8, 19.5] against [0.83, 19.86]
    second = (60.5 - 17.37) / (60.81 - 17.0)
    assert r["charades"]["mIoU"] == round(100 * (first + second) / 2, 2)
    assert r["counts"]["missing"] == 0


def test_lvhaystack_temporal_f1(write):
    gt = write("gt.jsonl", jsonl([{"id": "a", "video": "v.mp4", "query": "x", "windows": [[100, 100], [300, 300]]},
                                  {"id": "b", "video": "v.mp4", "query": "y", "windows": [[50, 50]]}]))
    pred = write("pred.jsonl", jsonl([{"id": "a", "status": "ok", "segments": [[103, 103, 1], [200, 200, 0.5]]},
                                      {"id": "b", "status": "error"}]))
    r = evaluate(pred, gt, metrics="lvhaystack")
    # a: precision 1/2, recall 1/2, F1 1/2; b failed: left out of the averages, as LV-Haystack does
    assert r["lvhaystack"] == {"Average Temporal Precision": 50.0, "Average Temporal Recall": 50.0,
                               "Average Temporal F1 Score": 50.0, "tolerance_s": 5.0, "queries": 1}
    assert r["counts"]["failed"] == 1


def test_all_metrics_and_table(write):
    gt = write("gt.jsonl", jsonl(QVH_GT))
    r = evaluate(write("pred.jsonl", jsonl(QVH_GT_PRED)), gt)
    assert {"full", "short", "middle", "long", "HL-min-Fair", "charades", "lvhaystack", "counts"} <= set(r)
    assert set(BRIEF) <= set(r["brief"]) and "mIoU" in r["brief"] and "Average Temporal F1 Score" in r["brief"]
    json.dumps(r)  # plain JSON
    text = table(r)
    assert text.splitlines()[0].split() == ["metric", "value"]
    assert "MR-full-mAP" in text and "66.67" in text and "3 of 3 queries scored (qvhighlights predictions)" in text


def test_errors(write):
    gt = write("gt.jsonl", jsonl(QVH_GT))
    pred = write("pred.jsonl", jsonl(QVH_GT_PRED))
    with pytest.raises(InputError, match="unknown metric set 'map'"):
        evaluate(pred, gt, metrics="map")
    test_split = write("test.jsonl", jsonl([{k: v for k, v in q.items() if k in ("qid", "query", "duration", "vid")}
                                            for q in QVH_GT]))
    with pytest.raises(InputError, match="no ground-truth query has windows or saliency"):
        evaluate(pred, test_split)
    bad = write("bad.jsonl", jsonl([dict(QVH_GT[0], relevant_clip_ids=[7])]))
    with pytest.raises(InputError, match="bad.jsonl:1: unusable saliency"):
        evaluate(pred, bad)
