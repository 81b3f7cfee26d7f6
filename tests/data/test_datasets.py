"""Dataset loaders and writers: the real field layouts, round trips, malformed records named by line."""
from __future__ import annotations

import json

import pytest

from longlens.core.errors import InputError
from longlens.data import datasets
from longlens.data.datasets import GroundingSample, QASample

CHARADES = "3MSZA 24.3 30.4##person turn a light on.\n\nAO8RW 0.0 6.9##a person is putting a book on a shelf.\n"
QVH = [
    {"qid": 2579, "query": "A girl and her mother cooked while talking with each other on facetime.",
     "duration": 150, "vid": "NUsG9BgSes0_210.0_360.0", "relevant_windows": [[0, 14], [20, 36.5]],
     "relevant_clip_ids": [0, 1, 2], "saliency_scores": [[1, 2, 3]]},
    {"qid": 9999, "query": "Test split rows have no windows.", "duration": 150, "vid": "abc_0.0_150.0"},
]
ANET = {"v_QOlSCBRmfWY": {"duration": 82.73, "timestamps": [[0.83, 19.86], [17.37, 60.81]],
                          "sentences": ["A young woman is seen standing in a room.", " She then dances around."]}}


def _random_samples(rng, n: int) -> list[GroundingSample]:
    out = []
    for i in range(n):
        s = round(float(rng.uniform(0, 100)), 2)
        out.append(GroundingSample(f"q{i}", f"vid{rng.integers(0, 4)}", f"query number {i} {rng.random():.3f}",
                                   windows=[(s, round(s + float(rng.uniform(0.5, 30)), 2))], duration=150.0))
    return out


def test_charades_sta(tmp_path):
    path = tmp_path / "charades_sta_test.txt"
    path.write_text(CHARADES)
    samples = datasets.load_charades_sta(path, video_dir=tmp_path / "videos")
    assert [s.id for s in samples] == ["3MSZA#1", "AO8RW#3"]
    assert samples[0].video == str(tmp_path / "videos" / "3MSZA.mp4")
    assert samples[0].windows == [(24.3, 30.4)] and samples[0].query == "person turn a light on."
    out = tmp_path / "out.txt"
    datasets.write_charades_sta(samples, out)
    assert out.read_text() == ("3MSZA 24.30 30.40##person turn a light on.\n"
                               "AO8RW 0.00 6.90##a person is putting a book on a shelf.\n")
    assert [(s.video, s.windows, s.query) for s in datasets.load_charades_sta(out)] == \
        [("3MSZA", s.windows, s.query) for s in samples[:1]] + [("AO8RW", samples[1].windows, samples[1].query)]


def test_qvhighlights_and_activitynet(tmp_path):
    qv = tmp_path / "highlight_val_release.jsonl"
    qv.write_text("".join(json.dumps(r) + "\n" for r in QVH))
    samples = datasets.load_qvhighlights(qv)
    assert samples[0].id == "2579" and samples[0].windows == [(0.0, 14.0), (20.0, 36.5)]
    assert samples[0].duration == 150 and samples[1].windows == []
    datasets.write_qvhighlights(samples, tmp_path / "qv2.jsonl")
    again = datasets.load_qvhighlights(tmp_path / "qv2.jsonl")
    assert ([(s.id, s.video, s.query, s.windows) for s in again]
            == [(s.id, s.video, s.query, s.windows) for s in samples])
    assert json.loads((tmp_path / "qv2.jsonl").read_text().splitlines()[0])["qid"] == 2579

    an = tmp_path / "val_1.json"
    an.write_text(json.dumps(ANET))
    samples = datasets.load_activitynet(an)
    assert [s.id for s in samples] == ["v_QOlSCBRmfWY#0", "v_QOlSCBRmfWY#1"]
    assert samples[1].query == "She then dances around." and samples[1].windows == [(17.37, 60.81)]
    datasets.write_activitynet(samples, tmp_path / "an2.json")
    written = json.loads((tmp_path / "an2.json").read_text())
    assert written["v_QOlSCBRmfWY"]["timestamps"] == ANET["v_QOlSCBRmfWY"]["timestamps"]


def test_format_detection_and_our_jsonl_round_trip(tmp_path, rng):
    samples = _random_samples(rng, 25)
    samples.append(GroundingSample("img1", "vid9", image="queries/logo.png", windows=[(3.0, 4.5)]))
    ours = tmp_path / "gt.jsonl"
    datasets.write_grounding(samples, ours)
    assert datasets.load_grounding(ours) == samples
    (tmp_path / "c.txt").write_text(CHARADES)
    (tmp_path / "q.jsonl").write_text(json.dumps(QVH[0]) + "\n")
    (tmp_path / "a.json").write_text(json.dumps(ANET, indent=2))
    assert [datasets.detect_grounding_format(tmp_path / n) for n in ("gt.jsonl", "c.txt", "q.jsonl", "a.json")] == \
        ["longlens", "charades", "qvhighlights", "activitynet"]
    assert len(datasets.load_grounding(tmp_path / "a.json")) == 2
    with pytest.raises(InputError, match="unknown grounding format"):
        datasets.load_grounding(ours, format="tvsum")


def test_malformed_records_are_named_by_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("3MSZA 24.3 30.4##ok\nAO8RW six 6.9##broken start\n")
    with pytest.raises(InputError, match=r"bad.txt:2: expected 'VIDEO START END##query'"):
        datasets.load_charades_sta(bad)
    bad.write_text("3MSZA 30.4 24.3##end before start\n")
    with pytest.raises(InputError, match=r"bad.txt:1: .*start <= end"):
        datasets.load_charades_sta(bad)
    js = tmp_path / "bad.jsonl"
    js.write_text('{"id": "a", "video": "v", "query": "q", "windows": [[1, 2]]}\n{"id": "b", "video": \n[1, 2]\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: not valid JSON"):
        datasets.read_jsonl(js)
    assert datasets.read_jsonl(js, strict=False) == [{"id": "a", "video": "v", "query": "q", "windows": [[1, 2]]}]
    js.write_text('{"id": "a", "video": "v", "windows": [[1, 2]]}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:1: .*needs a text query or an image"):
        datasets.load_grounding(js, format="longlens")
    js.write_text(json.dumps({**QVH[0], "relevant_windows": [[5, "x"]]}) + "\n")
    with pytest.raises(InputError, match=r"bad.jsonl:1: .*window"):
        datasets.load_qvhighlights(js)
    js.write_text(json.dumps({k: v for k, v in QVH[0].items() if k != "qid"}) + "\n")
    with pytest.raises(InputError) as e:
        datasets.load_qvhighlights(js)
    assert str(e.value) == f"{js}:1: missing field 'qid'"  # the location once, not once per layer
    with pytest.raises(InputError, match="no such file"):
        datasets.load_grounding(tmp_path / "nope.jsonl")


VIDEOMME = [{"video_id": "001", "duration": "short", "domain": "Knowledge", "sub_category": "Humanity & History",
             "url": "https://www.youtube.com/watch?v=fFjv93ACGo8", "videoID": "fFjv93ACGo8", "question_id": "001-1",
             "task_type": "Counting Problem", "question": "When demonstrating the Germany modern Christmas tree "
             "is initially decorated with apples, candles and berries, which kind of the decoration has the "
             "largest number?",
             "options": ["A. Apples.", "B. Candles.", "C. Berries.", "D. The three kinds are of the same number."],
             "answer": "C"}]
LVBENCH = {"key": "Cm73ma6Ibcs", "type": "sport", "video_info": {"duration_minutes": 118.2, "fps": 30},
           "qa": [{"uid": "1", "question": "What year appears in the opening caption of the video?\n"
                                           "(A) 1636\n(B) 1366\n(C) 1363\n(D) 1633",
                   "answer": "D", "question_type": ["key information retrieval"], "time_reference": "00:15-00:19"}]}
LVB = [{"video_id": "86CxyhFV9MI", "question": "In the video, which subtitles appear at the same time as a man?",
        "question_wo_referring_query": "Which subtitles appear at the same time?",
        "candidates": ["promisc", "and", "the", "it"],
        "correct_choice": 2, "position": [1, 2], "topic_category": "NP-News-Programs", "question_category": "TOS",
        "level": "L1-Perception", "id": "86CxyhFV9MI_0", "video_path": "86CxyhFV9MI.mp4",
        "subtitle_path": "86CxyhFV9MI_en.json", "duration": 207.8, "starting_timestamp_for_subtitles": 0}]


def test_mcq_layouts_round_trip(tmp_path):
    (tmp_path / "videomme.json").write_text(json.dumps(VIDEOMME))
    (tmp_path / "lvbench.jsonl").write_text(json.dumps(LVBENCH) + "\n")
    (tmp_path / "lvb_val.json").write_text(json.dumps(LVB))
    vm = datasets.load_mcq(tmp_path / "videomme.json", "videomme", video_dir="/videos")
    assert vm[0].options == ["Apples.", "Candles.", "Berries.", "The three kinds are of the same number."]
    assert (vm[0].id, vm[0].answer, vm[0].answer_index, vm[0].video) == ("001-1", "C", 2, "/videos/fFjv93ACGo8.mp4")
    assert vm[0].extra["duration_category"] == "short" and vm[0].duration is None
    lv = datasets.load_mcq(tmp_path / "lvbench.jsonl", "lvbench")
    assert lv[0].question == "What year appears in the opening caption of the video?"
    assert lv[0].options == ["1636", "1366", "1363", "1633"] and lv[0].answer == "D"
    assert lv[0].windows == [(15.0, 19.0)] and lv[0].duration == pytest.approx(118.2 * 60)
    lb = datasets.load_mcq(tmp_path / "lvb_val.json", "longvideobench")
    assert (lb[0].answer, lb[0].options[2], lb[0].duration, lb[0].video) == ("C", "the", 207.8, "86CxyhFV9MI.mp4")
    for layout, samples in (("videomme", vm), ("lvbench", lv), ("longvideobench", lb), ("longlens", vm + lv + lb)):
        out = tmp_path / f"out_{layout}.{'json' if layout in ('videomme', 'longvideobench') else 'jsonl'}"
        datasets.write_mcq(samples, out, layout)
        for told in (layout, "auto"):  # the layout given, or told by the first record's fields
            again = datasets.load_mcq(out, told, video_dir="/videos" if layout == "videomme" else None)
            assert [(q.id, q.question, q.options, q.answer, q.windows) for q in again] == \
                [(q.id, q.question, q.options, q.answer, q.windows) for q in samples]
    ours = datasets.load_mcq(tmp_path / "out_longlens.jsonl")
    assert ours[0].video == "/videos/fFjv93ACGo8.mp4" and ours[-1].video == str(tmp_path / "86CxyhFV9MI.mp4")
    assert ours[0].extra["domain"] == "Knowledge"  # other fields are kept


def test_mcq_bad_records(tmp_path):
    bad = dict(LVB[0], correct_choice=7)
    (tmp_path / "lvb.json").write_text(json.dumps([LVB[0], bad]))
    with pytest.raises(InputError, match="record 2: correct_choice 7"):
        datasets.load_mcq(tmp_path / "lvb.json", "longvideobench")
    (tmp_path / "vm.json").write_text(json.dumps([{k: v for k, v in VIDEOMME[0].items() if k != "options"}]))
    with pytest.raises(InputError, match="record 1: missing field 'options'"):
        datasets.load_mcq(tmp_path / "vm.json", "videomme")
    with pytest.raises(InputError, match="question 'x': answer: 'E' is not an option letter"):
        QASample("x", "v", "Which?", ["a", "b"], "E")
    with pytest.raises(InputError, match="unknown question format"):
        datasets.load_mcq(tmp_path / "vm.json", "egoschema")
    (tmp_path / "other.json").write_text(json.dumps([{"q": "Which?"}]))
    with pytest.raises(InputError, match="cannot tell the question layout"):
        datasets.load_mcq(tmp_path / "other.json")
