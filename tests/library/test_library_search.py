"""`search_library` and `longlens search --library`: the caption shown in one video is found in that video at
its time, the moments agree with single-video search, nothing found is an empty answer."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from longlens.cli import main
from longlens.library import search_library
from longlens.retrieval.jobs import search_video


@pytest.mark.parametrize("name", ["a.mp4", "b.mp4", "c.mp4"])
def test_a_caption_is_found_in_its_video_at_its_time(indexed_library, lib_config, name):
    truth = indexed_library["videos"][name]
    hits = search_library(indexed_library["root"], truth["fact"].lower(), k=5, config=lib_config)
    assert hits and Path(hits[0].video).name == name
    start, end = truth["window"]
    assert all(start - 1 <= m.time < end + 1 for m in hits[0].moments)
    assert hits[0].score == hits[0].moments[0].score == max(m.score for h in hits for m in h.moments)
    assert hits[0].to_dict()["moments"][0]["text"]


def test_library_search_agrees_with_single_video_search(indexed_library, lib_config):
    truth = indexed_library["videos"]["b.mp4"]
    hits = search_library(indexed_library["root"], truth["fact"].lower(), k=4, config=lib_config)
    alone = search_video(str(indexed_library["root"] / "b.mp4"), truth["fact"].lower(), k=4, config=lib_config)
    best = next(h for h in hits if Path(h.video).name == "b.mp4")
    mine = [(m.time, m.score, m.text) for m in best.moments]
    assert mine and mine == [(m.time, m.score, m.text) for m in alone][:len(mine)]  # the best k overall keep its best


def test_nothing_found_is_an_empty_answer(indexed_library, lib_config):
    assert search_library(indexed_library["root"], "purple elephants juggling violins", config=lib_config) == []


def test_cli_search_library_grouped_by_video(indexed_library, library_cache, monkeypatch, capsys):
    monkeypatch.setenv("LONGLENS_CACHE", str(library_cache))
    root, truth = indexed_library["root"], indexed_library["videos"]["c.mp4"]
    assert main(["index", str(root), "--channels", "ocr"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and all(": cached; library vectors: ocr" in line for line in out)
    query = truth["fact"].lower()
    assert main(["search", "--library", str(root), query, "-k", "3", "--json", "--channels", "ocr"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert Path(rows[0]["video"]).name == "c.mp4" and set(rows[0]) == {"video", "score", "moments"}
    assert all(truth["window"][0] - 1 <= m["time"] < truth["window"][1] + 1 for m in rows[0]["moments"])
    assert main(["search", "--library", str(root), "purple elephants juggling", "--channels", "ocr"]) == 0
    assert "not found" in capsys.readouterr().out
