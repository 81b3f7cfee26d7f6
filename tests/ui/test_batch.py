import json

import pytest

from longlens.core.errors import InputError
from longlens.ui.batch import default_truth, library_video, load_batch
from longlens.ui.library import list_files


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_items_join_predictions_and_truth(tmp_path):
    gt = _write(tmp_path / "gt.jsonl", [
        {"id": "a", "video": "v.mp4", "query": "red truck", "windows": [[10.0, 20.0]]},
        {"id": "b", "video": "v.mp4", "query": "blue van", "windows": [[40.0, 44.0]]},
        {"id": "c", "video": "w.mp4", "query": "museum", "windows": [[5.0, 9.0]]},
    ])
    preds = _write(tmp_path / "preds.jsonl", [
        {"id": "a", "video": "v.mp4", "segments": [[15.0, 25.0, 0.9], [0.0, 5.0, 0.1]], "status": "ok"},
        {"id": "b", "status": "error", "error": "decoder hung"},
        {"id": "z", "video": "v.mp4", "query": "extra", "segments": [[1.0, 2.0, 0.5]], "status": "ok"},
    ])
    (tmp_path / "preds.jsonl").open("a").write("not json\n")
    items, metrics = load_batch(preds, gt)
    by = {i.id: i for i in items}
    assert [i.id for i in items] == ["a", "b", "c", "z"]
    assert by["a"].iou == pytest.approx(5 / 15) and by["a"].segments[0][:2] == (15.0, 25.0)
    assert by["b"].iou == 0.0 and by["b"].error == "decoder hung"
    assert by["c"].error == "no prediction" and by["c"].iou == 0.0
    assert by["z"].windows == [] and by["z"].iou is None and by["z"].query == "extra"
    # longlens.eval's figures are points (percent, 2 decimals), as the benchmarks' own scripts report them
    assert metrics["n"] == 3 and metrics["mIoU"] == pytest.approx(100 * 5 / 15 / 3, abs=0.01)
    assert metrics["R1@0.3"] == pytest.approx(100 / 3, abs=0.01) and metrics["R1@0.5"] == 0.0
    only, none = load_batch(preds)
    assert none is None and [i.id for i in only] == ["a", "b", "z"] and all(i.iou is None for i in only)
    (tmp_path / "bad.jsonl").write_text("{broken\n")
    with pytest.raises(InputError):
        load_batch(preds, tmp_path / "bad.jsonl")


def test_batch_videos_resolve_only_inside_library(tmp_path):
    lib = tmp_path / "lib"
    (lib / "sub").mkdir(parents=True)
    (lib / "sub" / "talk.mp4").write_bytes(b"x")
    (lib / "demo.mp4").write_bytes(b"y")
    (tmp_path / "secret.mp4").write_bytes(b"z")
    files = list_files(lib)
    assert library_video(lib, "sub/talk.mp4", files).name == "sub/talk.mp4"
    assert library_video(lib, str(lib / "demo.mp4"), files).name == "demo.mp4"
    assert library_video(lib, "/data/elsewhere/demo.mp4", files).name == "demo.mp4"  # same name, in the library
    assert library_video(lib, str(tmp_path / "secret.mp4"), files) is None
    assert library_video(lib, "../secret.mp4", files) is None
    assert library_video(lib, None, files) is None


def test_default_truth_pairs_the_demo_files():
    names = ["longlens-demo.jobs.jsonl", "longlens-demo.preds.jsonl", "longlens-demo.truth.json", "x.jsonl"]
    assert default_truth(names, "longlens-demo.preds.jsonl") == "longlens-demo.jobs.jsonl"
    assert default_truth(["gt.jsonl", "preds.jsonl"], "preds.jsonl") == "gt.jsonl"
    assert default_truth(["preds.jsonl", "other.jsonl"], "preds.jsonl") is None
