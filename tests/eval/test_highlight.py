"""Highlight detection (QVHighlights HL-mAP / HIT@1) against slow implementations written from the definitions,
on seeded random saliency with few score levels (ties)."""
from __future__ import annotations

import numpy as np
import pytest

from longlens.core.errors import InputError
from longlens.eval.highlight import highlight_ap, hit_at_1, ranking_ap, saliency_matrix


def slow_ranking_ap(positive, scores) -> float:
    """One operating point per distinct score (high to low); at each point where recall rises, the best
    precision at that recall or more; their plain mean. All-positive 1, no positive 0."""
    positive = [bool(x) for x in positive]
    if all(positive):
        return 1.0
    if not any(positive):
        return 0.0
    points = []
    for level in sorted(set(scores), reverse=True):
        chosen = [i for i, s in enumerate(scores) if s >= level]
        tp = sum(positive[i] for i in chosen)
        points.append((tp / sum(positive), tp / len(chosen)))
    values, prev = [], 0.0
    for r, _ in points:
        if r != prev:
            values.append(max(p for rr, p in points if rr >= r))
            prev = r
    return sum(values) / len(values)


def test_ranking_ap_matches_slow(rng):
    for _ in range(400):
        n = int(rng.integers(1, 30))
        positive = rng.random(n) < rng.random()
        scores = rng.integers(0, 6, size=n) / 5  # ties
        assert ranking_ap(positive, scores) == pytest.approx(slow_ranking_ap(positive, list(scores)), abs=1e-12)


def test_ranking_ap_by_hand():
    # points (recall, precision): (.5, 1), (.5, .5), (1, 2/3), (1, .5) -> rises at .5 (1) and 1 (2/3)
    assert ranking_ap([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx((1 + 2 / 3) / 2)
    # three tied clips holding both positives: one point, precision 2/3 (counted once, not per positive)
    assert ranking_ap([1, 1, 0, 0], [0.5, 0.5, 0.5, 0.1]) == pytest.approx(2 / 3)
    assert ranking_ap([0, 0], [1, 2]) == 0.0 and ranking_ap([1, 1], [1, 2]) == 1.0


def slow_hit(scores, truth) -> float:
    top = max(range(len(scores)), key=lambda i: (scores[i], -i))  # first of the highest
    return float(top < len(truth) and any(truth[top]))


def test_highlight_ap_and_hit_match_slow(rng):
    for _ in range(200):
        clips = int(rng.integers(1, 40))
        truth = rng.integers(0, 5, size=(clips, 3))
        scores = list(rng.integers(0, 4, size=max(1, clips + int(rng.integers(-3, 4)))) / 3)
        fitted = (scores + [0.0] * clips)[:clips]  # cut or zero-padded to the video's clips
        for low in (2, 3, 4):
            positive = truth >= low
            want = np.mean([slow_ranking_ap(positive[:, a], fitted) for a in range(3)])
            assert highlight_ap(scores, positive) == pytest.approx(want, abs=1e-12)
            assert hit_at_1(scores, positive) == slow_hit(scores, positive)


def test_hit_past_the_video_and_empty_scores():
    positive = np.ones((3, 3), dtype=bool)
    assert hit_at_1([0, 0, 0, 5], positive) == 0.0  # the top clip is past the 3 clips of the video
    assert hit_at_1([], positive) == 0.0


def test_saliency_matrix():
    m = saliency_matrix([1, 3], [[4, 2, 0], [1, 1, 3]], duration=9.0)  # int(9 / 2) = 4 clips
    assert m.tolist() == [[0, 0, 0], [4, 2, 0], [0, 0, 0], [1, 1, 3]]
    with pytest.raises(InputError, match="past the 4 clips"):
        saliency_matrix([4], [[1, 1, 1]], duration=9.0)
    with pytest.raises(InputError, match="2 relevant clip ids but 1 rows"):
        saliency_matrix([0, 1], [[1, 1, 1]], duration=9.0)
