"""Metric values on hand-computed cases; evaluate() never crashes on bad predictions."""
from __future__ import annotations

import json

import pytest

from longlens.core.errors import InputError
from longlens.data.datasets import GroundingSample, QASample, write_grounding
from longlens.data.metrics import (
    evaluate,
    iou,
    mcq_accuracy,
    mean_iou,
    parse_choice,
    recall_at_1,
    sample_temporal_prf,
    temporal_f1,
)


def test_iou_by_hand():
    assert iou((0, 10), (5, 15)) == pytest.approx(5 / 15)
    assert iou((2, 4), (0, 10)) == pytest.approx(0.2)
    assert iou((0, 10), (10, 20)) == 0.0 and iou((0, 1), (5, 6)) == 0.0
    assert iou((3, 7, 0.9), (3, 7)) == 1.0  # a score in the third place is ignored
    assert iou((5, 5), (5, 5)) == 0.0  # zero-length union


def test_iou_properties_on_random_segments(rng):
    for _ in range(200):
        a = sorted(rng.uniform(0, 100, 2).tolist())
        b = sorted(rng.uniform(0, 100, 2).tolist())
        v = iou(a, b)
        assert 0.0 <= v <= 1.0 and v == pytest.approx(iou(b, a))
        if a[1] > a[0]:
            assert iou(a, a) == pytest.approx(1.0)


def test_recall_miou_f1_by_hand():
    gt = [[(10, 20)], [(0, 10), (30, 40)], [(50, 60)]]
    top1 = [(12, 22), (31, 39), None]  # IoU 8/12, 8/10 (best of two windows), missing
    assert recall_at_1(top1, gt, 0.5) == pytest.approx(2 / 3)
    assert recall_at_1(top1, gt, 0.7) == pytest.approx(1 / 3)
    assert mean_iou(top1, gt) == pytest.approx((8 / 12 + 0.8) / 3)
    # P: [31,39] hits (30,40); [100,120] is 60 s away -> 1/2.  R: (0,10) is 21 s from [31,39] -> 1/2.
    assert sample_temporal_prf([(31, 39), (100, 120)], gt[1]) == pytest.approx((0.5, 0.5, 0.5))
    # a point 5 s after a window is within tolerance, 5.5 s is not
    assert sample_temporal_prf([(25,)], [(10, 20)])[2] == 1.0
    assert sample_temporal_prf([(25.5, 25.5)], [(10, 20)])[2] == 0.0
    assert sample_temporal_prf([(25.5, 25.5)], [(10, 20)], tolerance=6.0)[2] == 1.0
    assert temporal_f1([[(12, 22)], [(31, 39), (100, 120)], None], gt) == pytest.approx((1 + 0.5 + 0) / 3)
    with pytest.raises(InputError):
        recall_at_1(top1[:2], gt)


def _write_preds(path, rows):
    path.write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in rows))


def test_evaluate_by_hand_with_bad_rows(tmp_path):
    gt = tmp_path / "gt.jsonl"
    write_grounding([GroundingSample("a", "v1", "q a", windows=[(10, 20)]),
                     GroundingSample("b", "v1", "q b", windows=[(0, 10), (30, 40)]),
                     GroundingSample("c", "v2", "q c", windows=[(50, 60)]),
                     GroundingSample("d", "v2", "q d", windows=[(100, 110)]),
                     GroundingSample("e", "v3", "q e", windows=[])], gt)  # no windows: not scored
    pred = tmp_path / "pred.jsonl"
    _write_preds(pred, [
        {"id": "a", "status": "error", "error": "worker died"},  # superseded by the retry below
        {"id": "a", "segments": [[12, 22, 0.9], [0, 5, 0.1]], "status": "ok"},
        {"id": "b", "segments": [[31, 39, 0.5], [100, 120, 0.8]], "status": "ok"},  # top-1 by score: 100-120
        {"id": "c", "status": "error", "error": "decode failed"},
        '{"id": "d", "segments": [[1, 2, \n',  # malformed line
        {"id": "zzz", "segments": [[1, 2, 1.0]], "status": "ok"},
    ])
    m = evaluate(pred, gt)
    assert m["n"] == 4
    assert m["R1@0.3"] == pytest.approx(0.25) and m["R1@0.5"] == pytest.approx(0.25) and m["R1@0.7"] == 0.0
    assert m["mIoU"] == pytest.approx((8 / 12) / 4, abs=1e-6)
    assert m["F1@5s"] == pytest.approx((1 + 0.5) / 4) and m["P@5s"] == pytest.approx(1.5 / 4)
    assert (m["missing"], m["errors"], m["malformed"], m["unknown_ids"]) == (2, 2, 1, 1)
    # unscored segments keep their listed order: b's top-1 becomes 31-39 (IoU 0.8)
    _write_preds(pred, [{"id": "b", "segments": [[31, 39], [100, 120]]}])
    m = evaluate(pred, gt)
    assert m["R1@0.7"] == pytest.approx(0.25) and m["missing"] == 3


def test_evaluate_never_crashes_on_garbage(tmp_path):
    gt = tmp_path / "gt.jsonl"
    write_grounding([GroundingSample("a", "v", "q", windows=[(1, 2)])], gt)
    pred = tmp_path / "pred.jsonl"
    for rows in ([], ["not json\n"], [{"id": "a", "segments": "soon"}], [{"id": "a", "segments": [["x", 1]]}],
                 [{"id": "a", "segments": [[5, 1, 0.3], [float("nan"), 2]]}], [[1, 2, 3]], [{"segments": []}]):
        _write_preds(pred, rows)
        m = evaluate(pred, gt)
        assert m["R1@0.3"] == 0.0 and m["F1@5s"] == 0.0 and m["missing"] == 1


def test_evaluate_against_charades_and_qvhighlights_ground_truth(tmp_path):
    cha = tmp_path / "charades.txt"
    cha.write_text("3MSZA 24.3 30.4##person turn a light on.\nAO8RW 0.0 6.9##a person is putting a book away.\n")
    pred = tmp_path / "pred.jsonl"
    _write_preds(pred, [{"id": "3MSZA#1", "segments": [[24.3, 30.4, 1.0]], "status": "ok"},
                        {"id": "AO8RW#2", "segments": [[20.0, 26.9, 1.0]], "status": "ok"}])
    m = evaluate(pred, cha)
    assert m["R1@0.7"] == 0.5 and m["mIoU"] == pytest.approx(0.5) and m["F1@5s"] == 0.5
    qv = tmp_path / "qv.jsonl"
    qv.write_text(json.dumps({"qid": 7, "query": "q", "vid": "x_0.0_150.0", "duration": 150,
                              "relevant_windows": [[0, 10], [40, 50]]}) + "\n")
    _write_preds(pred, [{"id": "7", "segments": [[41, 50, 0.7]], "status": "ok"}])
    m = evaluate(pred, qv)
    assert m["R1@0.7"] == 1.0 and m["mIoU"] == pytest.approx(0.9) and m["F1@5s"] == pytest.approx(2 * 1 * 0.5 / 1.5)
    with pytest.raises(InputError, match="no ground-truth samples with windows"):
        evaluate(pred, _empty_gt(tmp_path))


def _empty_gt(tmp_path):
    p = tmp_path / "empty_gt.jsonl"
    write_grounding([GroundingSample("a", "v", "q")], p)
    return p


def test_parse_choice_and_mcq_accuracy():
    opts = ["red", "green", "blue", "black"]
    assert [parse_choice(x, 4, opts) for x in ("B", "(C)", "A.", "D) black", "The answer is C.", "green", 3)] == \
        [1, 2, 0, 3, 2, 1, 3]
    assert [parse_choice(x, 4, opts) for x in ("E", "", None, "banana", 4, True, "I cannot tell")] == [None] * 7
    qs = [QASample(str(i), "v", "Which colour?", opts, "ABCD"[i % 4]) for i in range(8)]
    preds = {"0": "A", "1": "(B)", "2": "blue", "3": "A", "4": "garbage", "6": "C"}  # 5, 7 missing
    assert mcq_accuracy(preds, qs) == pytest.approx(4 / 8)
    hidden = QASample("h", "v", "Which?", opts, None)  # no answer: not scored
    assert mcq_accuracy(preds, qs + [hidden]) == pytest.approx(4 / 8)
