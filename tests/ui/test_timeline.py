import numpy as np
import pytest

from longlens.core.types import Segment, clock
from longlens.ui.timeline import (
    PICK,
    SEGMENT,
    Seek,
    seek_from_selection,
    timeline_chart,
)


def test_mmss():
    assert clock(0) == "00:00"
    assert clock(75.4) == "01:15"
    assert clock(599.6) == "10:00"
    assert clock(3725) == "1:02:05"


def test_chart_layers_carry_data_and_selections(rng):
    n = int(rng.integers(50, 200))
    times = np.sort(rng.uniform(0, 1000, n))
    fused = rng.random(n)
    kt = float(times[int(np.argmax(fused))])
    seg = Segment(float(times[3]), float(times[9]), 0.7)
    spec = timeline_chart(times, fused, channels={"ocr": rng.random(n), "clip": rng.random(n)},
                          keyframes=[(kt, float(fused.max()))], segments=[seg], truth=[Segment(1.0, 2.0)]).to_dict()
    datasets = spec["datasets"]
    params = {p["name"]: p["select"] for p in spec["params"]}
    assert params[PICK]["fields"] == ["time"] and params[PICK]["nearest"] is True
    assert params[SEGMENT]["fields"] == ["start", "end"]
    rows = {name: rows for name, rows in datasets.items()}
    curve = next(r for r in rows.values() if r and set(r[0]) == {"time", "score", "at"} and len(r) == n)
    assert [r["time"] for r in curve] == pytest.approx(list(times))
    assert any(r and r[0].get("start") == seg.start and r[0].get("end") == seg.end for r in rows.values())
    assert any(r and r[0].get("time") == kt and len(r) == 1 for r in rows.values())
    chans = next(r for r in rows.values() if r and "channel" in r[0])
    assert {r["channel"] for r in chans} == {"ocr", "clip"}
    with pytest.raises(ValueError):
        timeline_chart(times, fused[:-1])


def test_seek_from_selection():
    assert seek_from_selection({PICK: [], SEGMENT: []}) is None
    assert seek_from_selection({PICK: [{"time": 12.0}]}) == Seek(12.0)
    s = seek_from_selection({PICK: [{"time": 12.0}], SEGMENT: [{"start": 30.0, "end": 41.5}]},
                            {PICK: [{"time": 12.0}], SEGMENT: []})
    assert s == Seek(30.0, 41.5) and s.loop
    # the point selection stays set after its click: only a changed value counts
    assert seek_from_selection({PICK: [{"time": 12.0}]}, {PICK: [{"time": 12.0}]}) is None
    assert seek_from_selection({PICK: [{"time": 50.0}], SEGMENT: [{"start": 30.0, "end": 41.5}]},
                               {PICK: [{"time": 12.0}], SEGMENT: [{"start": 30.0, "end": 41.5}]}) == Seek(50.0)
    assert seek_from_selection({PICK: {"time": [7.0]}}) == Seek(7.0)  # column-shaped selections
