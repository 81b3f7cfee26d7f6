"""Moment retrieval metrics and LV-Haystack's temporal F1 against slow plain-loop implementations written from
the definitions, on seeded random windows snapped to a 0.5-s grid (so IoU ties at the thresholds happen)."""
from __future__ import annotations

import numpy as np
import pytest

from longlens.core.types import iou
from longlens.eval.moment import (
    IOU_THRESHOLDS,
    average_precision,
    best_ious,
    hull_iou,
    in_bucket,
    iou_matrix,
    recall_at,
    temporal_prf,
)


def slow_iou(a, b) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def slow_ap(pred, truth, th) -> float:
    """VOC-interpolated AP of score-ranked predictions, each matched to the free window of highest IoU."""
    ranked = sorted(pred, key=lambda p: -p[2])
    used = [False] * len(truth)
    flags = []
    for p in ranked:
        # highest IoU first; on equal IoU the later window first
        order = sorted(range(len(truth)), key=lambda j: (slow_iou(p, truth[j]), j), reverse=True)
        hit = False
        for j in order:
            if slow_iou(p, truth[j]) < th:
                break
            if not used[j]:
                used[j] = hit = True
                break
        flags.append(hit)
    tp, precision, recall = 0, [], []
    for i, f in enumerate(flags):
        tp += f
        precision.append(tp / (i + 1))
        recall.append(tp / len(truth))
    ap, prev = 0.0, 0.0
    for i, r in enumerate(recall):
        if r != prev:
            ap += (r - prev) * max(precision[i:])
            prev = r
    return ap


def slow_best(pred, truth, n) -> float:
    """The best IoU among the first n predictions, each against its best window (0 without predictions)."""
    return max((max(slow_iou(p, t) for t in truth) for p in pred[:n]), default=0.0)


def random_query(rng, duration=60.0, max_pred=12, max_truth=4):
    def window():
        s = rng.integers(0, int(duration * 2)) / 2
        return [s, min(duration, s + rng.integers(1, 40) / 2)]
    truth = [window() for _ in range(rng.integers(1, max_truth + 1))]
    pred = []
    for _ in range(rng.integers(0, max_pred + 1)):
        if rng.random() < 0.5:  # near a truth window: IoUs around the thresholds
            s, e = truth[rng.integers(len(truth))]
            s = max(0.0, s + rng.integers(-4, 5) / 2)
            w = [s, max(s + 0.5, e + rng.integers(-4, 5) / 2)]
        else:
            w = window()
        pred.append(w + [float(rng.integers(0, 5)) / 4])  # few score levels: ties
    return pred, truth


def test_iou_formulas_agree_with_loops(rng):
    a = rng.integers(0, 40, size=(7, 2)) / 2
    b = rng.integers(0, 40, size=(5, 2)) / 2
    a.sort(axis=1)
    b.sort(axis=1)
    m = iou_matrix(a, b)
    assert m.shape == (7, 5)
    for i in range(7):
        for j in range(5):
            assert m[i, j] == slow_iou(a[i], b[j])
    hull = hull_iou(a[:5], b)
    assert [round(x, 12) for x in hull] == [round(slow_iou(a[i], b[i]), 12) for i in range(5)]
    assert iou_matrix([[3, 3]], [[3, 3]])[0, 0] == 0.0 and hull_iou([[3, 3]], [[3, 3]])[0] == 0.0


def test_average_precision_matches_slow(rng):
    for _ in range(300):
        pred, truth = random_query(rng)
        ap = average_precision(np.array(pred).reshape(-1, 3), np.array(truth))
        want = [slow_ap(pred, truth, th) if pred else 0.0 for th in IOU_THRESHOLDS]
        assert ap == pytest.approx(want, abs=1e-12)


def test_average_precision_by_hand():
    truth = [[0, 10], [20, 30]]
    # the best-scored prediction misses, the next two hit one window each
    pred = [[40, 50, 0.9], [0, 10, 0.8], [20, 30, 0.7]]
    # precision 0, 1/2, 2/3 at recall 0, 1/2, 1 -> interpolated 2/3 for both steps
    assert average_precision(pred, truth, (0.5,))[0] == pytest.approx(2 / 3)
    # two predictions of one window: the second is a false positive
    assert average_precision([[0, 10, 0.9], [0, 10, 0.8]], [[0, 10]], (0.5,))[0] == pytest.approx(1.0)
    assert average_precision(np.zeros((0, 3)), truth).tolist() == [0.0] * len(IOU_THRESHOLDS)


def test_recall_and_miou_match_slow(rng):
    queries = [random_query(rng) for _ in range(200)]
    for n in (1, 5):
        got = recall_at([best_ious(np.array(p).reshape(-1, 3), np.array(t), n=n) for p, t in queries], (0.3, 0.5, 0.7))
        want = [np.mean([slow_best(p, t, n) >= th for p, t in queries]) for th in (0.3, 0.5, 0.7)]
        assert got == pytest.approx(want, abs=1e-12)
    first = [best_ious(np.array(p).reshape(-1, 3), np.array(t), n=1) for p, t in queries]
    assert np.mean([f[0] if len(f) else 0.0 for f in first]) == pytest.approx(
        np.mean([slow_best(p, t, 1) for p, t in queries]))


def test_recall_uses_listed_order_not_score():
    truth = [[0, 10]]
    pred = np.array([[50, 60, 0.1], [0, 10, 0.9]])  # the first listed is the model's top-1, whatever its score
    assert recall_at([best_ious(pred, truth, n=1)], (0.5,))[0] == 0.0
    assert recall_at([best_ious(pred, truth, n=5)], (0.5,))[0] == 1.0


def test_buckets_keep_windows_by_length():
    truth = np.array([[0, 10], [0, 10.5], [0, 30], [0, 31], [5, 5]])
    assert in_bucket(truth, 0, 10).tolist() == [[0, 10]]  # (0, 10]: a zero-length window is in no bucket
    assert in_bucket(truth, 10, 30).tolist() == [[0, 10.5], [0, 30]]
    assert in_bucket(truth, 30, float("inf")).tolist() == [[0, 31]]


def slow_prf(pred_times, truth_times, tol):
    """LV-Haystack on time points: precision over predictions, recall over truths, |t - t'| <= tol."""
    if not pred_times or not truth_times:
        return None
    p = sum(any(abs(a - b) <= tol for b in truth_times) for a in pred_times) / len(pred_times)
    r = sum(any(abs(a - b) <= tol for a in pred_times) for b in truth_times) / len(truth_times)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def test_temporal_prf_on_points_is_lv_haystacks(rng):
    for _ in range(200):
        pred = list(rng.integers(0, 120, size=rng.integers(0, 8)) / 2)
        truth = list(rng.integers(0, 120, size=rng.integers(0, 5)) / 2)
        got = temporal_prf([[t, t] for t in pred], [[t, t] for t in truth], 5.0)
        want = slow_prf(pred, truth, 5.0)
        assert (got is None) == (want is None)
        if want:
            assert got == pytest.approx(want)


def test_temporal_prf_on_windows_uses_the_gap():
    # prediction [20, 25] starts 5 s after truth [0, 15] ends: within ±5 s
    assert temporal_prf([[20, 25]], [[0, 15]], 5.0) == (1.0, 1.0, 1.0)
    assert temporal_prf([[20.5, 25]], [[0, 15]], 5.0) == (0.0, 0.0, 0.0)
    p, r, f = temporal_prf([[0, 1], [100, 101]], [[3, 4], [50, 60]], 5.0)
    assert (p, r) == (0.5, 0.5) and f == pytest.approx(0.5)
    assert temporal_prf([], [[0, 1]]) is None


def test_core_iou_by_hand_and_against_the_matrix(rng):
    """core.types.iou (one pair, used by the explorer) is the mAP formula of iou_matrix."""
    assert iou((0, 10), (5, 15)) == pytest.approx(5 / 15) and iou((2, 4), (0, 10)) == pytest.approx(0.2)
    assert iou((0, 10), (10, 20)) == 0.0 and iou((5, 5), (5, 5)) == 0.0  # touching; zero-length union
    assert iou((3, 7, 0.9), (3, 7)) == 1.0  # a score in the third place is ignored
    a = np.sort(rng.uniform(0, 100, (50, 2)), axis=1)
    b = np.sort(rng.uniform(0, 100, (50, 2)), axis=1)
    assert [iou(x, y) for x, y in zip(a, b)] == pytest.approx(np.diag(iou_matrix(a, b)).tolist())
