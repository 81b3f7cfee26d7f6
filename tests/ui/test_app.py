"""The explorer's flows in Streamlit's AppTest: real videos, real decoding, OCR + MiniLM retrieval."""
import io
import json
import math
import threading

import pyarrow as pa
import pytest
from PIL import Image
from ui_helpers import (
    TIMEOUT,
    chart,
    click_chart,
    start,
    start_playing,
    texts,
    video_el,
)

from longlens.core.types import clock
from longlens.data.synth import demo_spec
from longlens.ui.copies import BrowserCopies
from longlens.ui.timeline import PICK, SEGMENT
from longlens.ui.webm import browser_copy


def test_search_timeline_gallery_and_seek(demo_in_library, copies):
    video, (start_, end_) = demo_in_library
    at = start_playing(copies, video)
    radio = at.sidebar.radio[0]
    assert radio.options == ["demo.mp4"] and list(radio.proto.captions) == ["02:00 · 480×270 · indexed"]
    notes = [m for m in texts(at.info) if "Visual channel (CLIP) is off" in m]
    assert len(notes) == 1  # said once, and the page goes on
    assert video_el(at).start_time == 0 and video_el(at).url.endswith(".webm")

    at.text_input(key="query").input("vault code").run()
    assert not at.exception and not at.error, texts(at.error)
    spec = json.loads(chart(at).spec)
    datasets = {d.name: d for d in chart(at).datasets}
    assert {p["name"] for p in spec["params"]} == {PICK, SEGMENT} and datasets

    # the best grounded segment covers the caption; its button is the first one
    seg_buttons = [b for b in at.button if b.key and b.key.startswith("seg-")]
    assert seg_buttons, "no grounded segments"
    # gallery: budget thumbnails, best first, each labelled with its time and on-screen text
    hits = sorted((b for b in at.button if b.key and b.key.startswith("hit-")), key=lambda b: int(b.key[4:]))
    assert len(hits) == 12 and len(at.get("image")) == 12
    best = hits[0]
    t_best = float(best.help.split()[2])
    assert best.label == f"▶ {clock(t_best)}"
    assert start_ - 1.0 <= t_best <= end_ + 1.0, (t_best, (start_, end_))
    assert any("8142" in c.replace(" ", "") for c in texts(at.caption)), "the caption's text is not shown"

    best.click().run()
    assert video_el(at).start_time == round(t_best)
    assert f"Playing from {clock(t_best)}" in texts(at.caption)

    at.button(key="seg-0").click().run()  # the best segment (elements are looked up afresh after a run)
    v = video_el(at)
    assert v.loop and v.start_time <= start_ + 1 and v.end_time >= end_ - 1, (v.start_time, v.end_time, start_, end_)


def test_timeline_click_seeks(demo_in_library, copies):
    at = start_playing(copies, demo_in_library[0])
    at.text_input(key="query").input("vault code").run()
    click_chart(at, {PICK: [{"time": 42.0}], SEGMENT: []})
    assert video_el(at).start_time == 42 and not video_el(at).loop
    click_chart(at, {PICK: [{"time": 42.0}], SEGMENT: [{"start": 60.0, "end": 71.5}]})
    v = video_el(at)
    assert (v.start_time, v.end_time, v.loop) == (60, 72, True)
    click_chart(at, {PICK: [{"time": 9.0}], SEGMENT: [{"start": 60.0, "end": 71.5}]})
    assert video_el(at).start_time == 9 and not video_el(at).loop


def test_ask_answers_with_evidence(demo_in_library, copies):
    video, (start_, end_) = demo_in_library
    at = start_playing(copies, video)
    at.text_input(key="question").input("What is the vault code?")
    at.button[[b.label for b in at.button].index("Ask")].click().run()
    assert not at.exception and not at.error, texts(at.error)
    answer = next(m for m in texts(at.markdown) if m.startswith("**"))
    assert "8142" in answer.replace(" ", ""), answer
    assert any(c.startswith("answered by on-screen text (extractive)") for c in texts(at.caption))
    evidence = [b for b in at.button if b.key and b.key.startswith("evidence-")]
    assert evidence
    label = evidence[0].label
    at.button(key="evidence-0").click().run()
    t = video_el(at).start_time
    assert label == f"▶ {clock(t)}"
    assert start_ - 1 <= t <= end_ + 1, (t, start_, end_)


def test_batch_results_predicted_vs_true(demo_in_library, demo_library, copies):
    video, (start_, end_) = demo_in_library
    library = video.parent
    _, _, truth = demo_library
    wifi = next((c["start"], c["end"]) for c in truth["captions"] if c["text"].startswith("WIFI"))
    half = (end_ - start_) / 2
    pred = (start_ + half, end_ + half)  # overlaps half the true window: IoU = (L/2) / (3L/2) = 1/3
    rows = [{"id": "vault", "video": "demo.mp4", "query": "vault code", "windows": [[start_, end_]]},
            {"id": "wifi", "video": str(video), "query": "wifi password", "windows": [list(wifi)]}]
    (library / "gt.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    preds = [{"id": "vault", "video": "demo.mp4", "segments": [[*pred, 0.8]], "status": "ok"},
             {"id": "wifi", "status": "error", "error": "worker died"}]
    (library / "preds.jsonl").write_text("".join(json.dumps(r) + "\n" for r in preds))

    at = start_playing(copies, video)
    assert at.selectbox(key="batch_preds").value == "preds.jsonl" and at.selectbox(key="batch_gt").value == "gt.jsonl"
    assert len(at.dataframe) == 2  # the metrics, then the items
    metrics = at.dataframe[0].value.iloc[0]
    assert metrics["n"] == 2 and metrics["R1@0.3"] == pytest.approx(50) and metrics["R1@0.5"] == 0  # points
    assert metrics["mIoU"] == pytest.approx(100 * (1 / 3) / 2, abs=0.01)
    table = at.dataframe[1].value.set_index("id")
    assert table.loc["vault", "IoU"] == pytest.approx(1 / 3, abs=1e-3) and table.loc["wifi", "IoU"] == 0
    assert table.loc["wifi", "predicted"] == "worker died"

    spec = json.loads(chart(at).spec)
    assert {p["name"] for p in spec["params"]} == {PICK, SEGMENT}  # curve (the video is indexed) + segment
    at.button(key="batch_play").click().run()
    v = video_el(at)
    # whole seconds around it
    assert (v.start_time, v.end_time, v.loop) == (math.floor(pred[0]), math.ceil(pred[1]), True)

    at.selectbox(key="batch_item").set_value("wifi").run()
    assert not at.exception
    assert not [b for b in at.button if b.key == "batch_play"]  # nothing predicted: nothing to play
    spec = json.loads(chart(at).spec)
    assert {p["name"] for p in spec.get("params", [])} == {PICK}  # the curve, the true window, no segment


def test_picture_query_and_settings(demo_in_library, demo_library, rng):
    _, _, truth = demo_library
    spec = demo_spec(truth["duration"], seed=truth["key"]["seed"])
    shown = truth["pictures"][int(rng.integers(len(truth["pictures"])))]
    buf = io.BytesIO()
    Image.fromarray(spec.pictures[shown["index"]].image).save(buf, format="PNG")
    at = start()
    at.file_uploader(key="query_image").set_value(("poster.png", buf.getvalue(), "image/png")).run()
    assert not at.exception and not at.error, texts(at.error)
    t = float(at.button(key="hit-0").help.split()[2])
    assert shown["start"] - 1 <= t <= shown["end"] + 1, (t, shown)

    # settings: top-k with a budget of 4 shows the 4 best frames; per-channel curves on demand
    at.sidebar.selectbox(key="selector").set_value("topk")
    at.sidebar.slider(key="budget").set_value(4).run()
    hits = sorted((b for b in at.button if b.key and b.key.startswith("hit-")), key=lambda b: int(b.key[4:]))
    assert len(hits) == 4 and float(hits[0].help.split()[2]) == t
    assert "channel" not in chart(at).spec
    at.toggle(key="show_channels").set_value(True).run()
    frames = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart(at).datasets]
    channels = next(f for f in frames if "channel" in f.columns)
    assert set(channels["channel"]) == {"image"}  # a picture is matched by the image channel (CLIP is off)


def test_search_works_while_the_browser_copy_is_made(demo_in_library, tmp_path):
    """Bug: the page waited for the WebM copy (minutes for an hour of 1080p) before index and search showed."""
    video, (start_, end_) = demo_in_library
    started, release, calls = threading.Event(), threading.Event(), []

    def held_copy(src, cache, *, config, on_progress):  # the real transcode, once the test lets it go
        calls.append(src)
        on_progress(7, 3600)
        started.set()
        if not release.wait(TIMEOUT):
            raise TimeoutError("the test never released the copy")
        return browser_copy(src, cache, config=config, on_progress=on_progress)

    copies = BrowserCopies(tmp_path / "webm", make=held_copy)
    copies.job(video)
    assert started.wait(TIMEOUT)
    at = start(copies)
    assert not at.get("video")
    (bar,) = at.get("progress")
    assert bar.proto.value == 0 and "Making a browser-playable copy: 7 / 3600 frames" in bar.proto.text

    at.text_input(key="query").input("vault code").run()  # index, search, timeline and gallery work meanwhile
    assert not at.exception and not at.error, texts(at.error)
    assert {p["name"] for p in json.loads(chart(at).spec)["params"]} == {PICK, SEGMENT}
    at.button(key="hit-0").click().run()
    t_best = float(at.button(key="hit-0").help.split()[2])
    assert start_ - 1.0 <= t_best <= end_ + 1.0 and not at.get("video")
    other = start(copies)  # a second session (and every rerun) finds the job running: one transcode
    assert not other.get("video") and len(calls) == 1 and not list((tmp_path / "webm").glob("*.webm"))

    release.set()
    job = copies.wait(video, TIMEOUT)
    assert job.ready and job.path.parent == tmp_path / "webm" and job.done > 7, job
    at.run()  # what the progress fragment's rerun does once the copy is done
    assert not at.get("progress")
    v = video_el(at)
    assert v.url.endswith(".webm") and v.start_time == round(t_best)  # the seek made meanwhile is kept
