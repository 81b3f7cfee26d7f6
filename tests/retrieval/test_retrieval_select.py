"""TASS, uniform, top-k, MMR and grounding on hand-made score curves (pure numpy)."""
from __future__ import annotations

import numpy as np
import pytest
from retrieval_helpers import iou

from longlens.core.errors import InputError
from longlens.retrieval import ground_segments, mmr, tass, topk, uniform


def _curve(rng, n=600, peaks=((100, 3.0), (300, 2.0), (450, 2.5))):
    times = np.arange(n, dtype=float)
    s = rng.normal(0, 0.05, n)
    for t, h in peaks:
        s += h * np.exp(-0.5 * ((times - t) / 8) ** 2)
    return times, s


def test_tass_respects_gap_and_sorts_by_time(rng):
    times = np.arange(600, dtype=float)
    centres = rng.permutation(np.arange(15, 585, 35))[:8]  # 8 narrow peaks at least 35 s apart
    s = rng.normal(0, 0.02, 600)
    for c, h in zip(centres, rng.uniform(2, 4, 8)):
        s += h * np.maximum(0, 1 - np.abs(times - c) / 3)
    idx = tass(times, s, 6, min_gap=20.0)
    assert len(idx) == 6 and len(set(idx.tolist())) == 6
    assert np.all(np.diff(times[idx]) > 0), "output must be sorted by time"
    assert int(np.argmax(s)) in idx, "the best frame is always taken first"
    assert np.min(np.diff(times[idx])) >= 20.0, "6 of the 8 peaks fit with 20 s gaps: no gap may shrink"
    assert np.all(s[idx] > s.mean())
    near = [min(abs(times[i] - centres)) for i in idx]
    assert max(near) <= 2, "each pick is on a peak"


def test_tass_gap_halves_until_budget_is_filled(rng):
    times = np.arange(100, dtype=float)
    s = rng.normal(0, 0.01, 100)
    s[40:50] += 5.0  # all good frames inside 10 s: 20 s and 10 s gaps admit one, 5 s two, ...
    idx = tass(times, s, 8, min_gap=20.0)
    assert len(idx) == 8
    assert np.all((times[idx] >= 40) & (times[idx] < 50)), "only frames above the mean are candidates"
    assert np.all(np.diff(times[idx]) > 0)


@pytest.mark.timeout(20)
def test_tass_terminates_with_duplicate_timestamps(rng):
    times = np.repeat(np.arange(5, dtype=float), 20)  # 100 frames, only 5 distinct times
    s = rng.random(100)
    idx = tass(times, s, 30, min_gap=20.0)
    assert len(idx) == 30 and len(set(idx.tolist())) == 30
    assert np.all(np.diff(times[idx]) >= 0)
    same = np.zeros(10)  # every frame at one instant, equal scores
    assert len(tass(np.zeros(10), same, 4)) == 4


def test_tass_budget_larger_than_video_and_few_candidates(rng):
    times = np.sort(rng.uniform(0, 50, 7))
    s = rng.random(7)
    assert sorted(tass(times, s, 50).tolist()) == list(range(7))
    spike = np.zeros(40)
    spike[int(rng.integers(0, 40))] = 1.0  # one frame above the mean, budget 10
    idx = tass(np.arange(40.0), spike, 10)
    assert len(idx) == 10 and int(np.argmax(spike)) in idx
    assert len(tass(times, s, 0)) == 0
    with pytest.raises(InputError):
        tass(times, s, -1)
    with pytest.raises(InputError):
        tass(times, s[:3], 2)


def test_uniform_topk_mmr(rng):
    times, s = _curve(rng, n=200, peaks=((50, 3.0), (150, 2.0)))
    u = uniform(times, s, 10)
    assert len(u) == 10 and np.all(np.diff(u) > 0) and abs(np.diff(times[u]).std()) < 1.0
    k = topk(times, s, 5)
    assert set(k.tolist()) == set(np.argsort(-s)[:5].tolist())
    feats = rng.normal(size=(200, 16))
    feats[40:60] = feats[50]  # frames near the first peak look alike
    assert set(mmr(times, s, 5, features=feats, lam=1.0).tolist()) == set(k.tolist())
    diverse = mmr(times, s, 5, features=feats, lam=0.3)
    assert sum(40 <= i < 60 for i in diverse) == 1, "MMR with low lambda takes one of the look-alike frames"


def test_every_registered_selector_takes_one_call(rng):
    """Retriever.select calls each name of core.registry.SELECTORS the same way; options meant for another
    selector are ignored, the ones a selector uses are honoured."""
    from longlens.core.registry import SELECTORS

    times, s = _curve(rng, n=200, peaks=((50, 3.0), (150, 2.0)))
    feats = rng.normal(size=(200, 16))
    for name in SELECTORS:
        idx = SELECTORS.load(name)(times, s, 6, features=feats, min_gap=15.0, lam=0.5)
        assert len(idx) == 6 and np.all(np.diff(times[idx]) > 0), name
    call = dict(features=feats, min_gap=15.0, lam=0.5)
    np.testing.assert_array_equal(SELECTORS.load("tass")(times, s, 6, **call), tass(times, s, 6, min_gap=15.0))
    np.testing.assert_array_equal(SELECTORS.load("mmr")(times, s, 6, **call), mmr(times, s, 6, features=feats, lam=0.5))
    assert not np.array_equal(mmr(times, s, 6, features=feats, lam=0.5), mmr(times, s, 6, features=feats, lam=1.0))


def test_ground_segments_finds_windows_and_ranks_them(rng):
    times = np.arange(0, 300, 1.0)
    a0, b0 = float(rng.integers(20, 100)), float(rng.integers(150, 250))
    s = rng.normal(0, 0.05, len(times))
    s[(times >= a0) & (times < a0 + 15)] += 3.0
    s[(times >= b0) & (times < b0 + 25)] += 1.5
    segs = ground_segments(times, s, top=3, duration=300.0)
    assert segs[0].score >= segs[1].score
    (x0, x1), (y0, y1) = (segs[0].start, segs[0].end), (segs[1].start, segs[1].end)
    assert iou((x0, x1), (a0, a0 + 15)) >= 0.7
    assert iou((y0, y1), (b0, b0 + 25)) >= 0.7
    assert len(ground_segments(times, s, top=1)) == 1
    assert ground_segments([], [], top=3) == []
    with pytest.raises(InputError):
        ground_segments(times, s, top=0)


def _dense_smooth(times, scores, sigma):
    """The definition: every pair of frames weighed (an N x N matrix; small N only)."""
    w = np.exp(-0.5 * ((times[:, None] - times[None, :]) / sigma) ** 2)
    return (w @ scores) / w.sum(axis=1)


def test_smoothing_equals_the_dense_formula_on_uneven_times(rng):
    from longlens.retrieval.ground import smooth

    for n in (2, 7, 300):
        times = np.sort(rng.uniform(0, n * rng.uniform(0.2, 3.0), n))
        times[n // 2:n // 2 + 2] = times[n // 2]  # a repeated timestamp (n = 2: both frames at one time)
        scores = rng.normal(size=n)
        for sigma in (0.3, 1.5, 40.0):
            np.testing.assert_allclose(smooth(times, scores, sigma), _dense_smooth(times, scores, sigma), rtol=1e-12, atol=1e-12)


def test_grounding_a_two_hour_video_keeps_memory_linear(rng):
    """7200 frames (2 h at 1 fps): no N x N matrix (which alone would take 415 MB)."""
    import tracemalloc

    times = np.arange(7200, dtype=np.float64)
    scores = rng.normal(0, 0.05, 7200)
    t0 = float(rng.integers(100, 7000))
    scores[(times >= t0) & (times < t0 + 20)] += 3.0
    tracemalloc.start()
    try:
        segs = ground_segments(times, scores, top=3)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    assert iou((segs[0].start, segs[0].end), (t0, t0 + 20)) >= 0.7


def test_a_flat_curve_grounds_nothing_never_the_whole_video(rng):
    """Issue 12: a query no channel had evidence for scored 0 everywhere and came back as one segment covering
    the whole video."""
    times = np.arange(0, float(rng.integers(60, 600)))
    for value in (0.0, float(rng.normal())):
        assert ground_segments(times, np.full(len(times), value), top=5, duration=float(times[-1] + 1)) == []


def test_evidence_span_runs_over_short_gaps_and_ends_at_the_last_evidence(rng):
    from longlens.retrieval.ground import evidence_span

    times = np.arange(100, dtype=np.float64)
    a = int(rng.integers(10, 40))
    shown = np.zeros(100, dtype=bool)
    shown[a:a + 10] = True
    shown[a + 4] = False  # one frame misread inside: still one run
    shown[a + 13] = True  # three frames after the run: another
    assert evidence_span(times, shown, a + 2) == (a - 0.5, a + 9.5)
    assert evidence_span(times, shown, a + 2, gap=0) == (a - 0.5, a + 3.5)
    assert evidence_span(times, shown, a + 13) == (a + 12.5, a + 13.5)
    assert evidence_span(times, shown, a - 5) is None
    assert evidence_span(times, np.ones(100, bool), 50, duration=99.2) == (0.0, 99.2)
