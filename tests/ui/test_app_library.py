"""The explorer's library in AppTest: the first page, indexing from the page, unreadable files, paths outside,
uploads."""
import os
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest
from ui_helpers import TIMEOUT, start, start_playing, texts

from longlens.retrieval import cache
from longlens.ui import cached
from longlens.ui.launch import APP


def manifests(cache_dir):
    return {p: p.stat().st_mtime_ns for p in cache.root(cache_dir).glob("*/manifest.json")}


def test_first_page_draws_the_frame_and_probes_only_the_video_shown(library, small_video, monkeypatch):
    """Bug: the first page probed every library video (and imported the views) before drawing anything."""
    video, _ = small_video
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        (library / name).write_bytes(video.read_bytes())
    probed = []
    real = cached.probe

    def counting(path, *args, **kwargs):
        probed.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(cached, "probe", counting)
    at = start()
    assert texts(at.title) == ["longlens explorer"] and texts(at.sidebar.header) == ["Library"]
    radio = at.sidebar.radio[0]
    assert radio.options == ["a.mp4", "b.mp4", "c.mp4"] and radio.value == "a.mp4"
    assert probed == ["a.mp4"]  # the video shown; the others say their size
    size = f"{video.stat().st_size / 1e6:.1f} MB"
    assert list(radio.proto.captions) == ["00:20 · 320×180", size, size]
    radio.set_value("c.mp4").run()
    assert probed == ["a.mp4", "c.mp4"]
    assert list(at.sidebar.radio[0].proto.captions) == ["00:20 · 320×180", size, "00:20 · 320×180"]
    at.run()
    assert probed == ["a.mp4", "c.mp4"]  # once per file


def test_index_from_page_with_progress_then_cached(library, small_video, shared_cache):
    video, (start_, end_) = small_video
    (library / video.name).write_bytes(video.read_bytes())
    at = start()
    radio = at.sidebar.radio[0]
    assert radio.options == ["small.mp4"] and list(radio.proto.captions) == ["00:20 · 320×180"]
    assert any("Not indexed yet" in w for w in texts(at.warning))
    assert not [t for t in at.text_input if t.key == "query"]

    before = manifests(shared_cache)
    at.button(key="index").click().run()
    assert not at.exception and not at.error, texts(at.error)
    (bar,) = at.get("progress")
    assert bar.proto.value == 100 and bar.proto.text == "Indexed 20 / 20 frames"
    assert len(manifests(shared_cache)) > len(before)
    at.text_input(key="query").input("platform boarding").run()
    best = at.button(key="hit-0")
    t = float(best.help.split()[2])
    assert start_ - 1 <= t <= end_ + 1, (t, start_, end_)

    # a new session (and a server restart) finds the index on disk: no button, nothing recomputed
    after = manifests(shared_cache)
    again = start()
    assert list(again.sidebar.radio[0].proto.captions) == ["00:20 · 320×180 · indexed"]
    assert not any("Not indexed yet" in w for w in texts(again.warning))
    again.text_input(key="query").input("platform boarding").run()
    assert again.button(key="hit-0").help == best.help
    assert manifests(shared_cache) == after


def test_unreadable_video_shows_error_and_app_keeps_running(library, small_video, copies, rng):
    video, _ = small_video
    (library / "broken.mp4").write_bytes(rng.bytes(20_000))
    (library / "empty.mp4").write_bytes(b"")
    (library / "small.mp4").write_bytes(video.read_bytes())
    at = start_playing(copies, library / "small.mp4")
    radio = at.sidebar.radio[0]
    assert radio.options == ["broken.mp4", "empty.mp4", "small.mp4"]
    assert list(radio.proto.captions)[:2] == ["unreadable", "0.0 MB"]  # the one shown is probed
    errors = texts(at.error)
    assert len(errors) == 1 and "broken.mp4" in errors[0] and "cannot be read" in errors[0]
    assert not at.get("video")
    radio.set_value("empty.mp4").run()
    assert "empty.mp4" in texts(at.error)[0] and "empty" in texts(at.error)[0]
    assert list(at.sidebar.radio[0].proto.captions)[:2] == ["unreadable", "unreadable"]
    at.sidebar.radio[0].set_value("small.mp4").run()
    assert at.sidebar.radio[0].proto.captions[2].startswith("00:20 · 320×180")
    assert not at.error and not at.exception
    assert len(at.get("video")) == 1


def test_paths_outside_the_library_refused(library, small_video, tmp_path):
    video, _ = small_video
    (library / "small.mp4").write_bytes(video.read_bytes())
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(video.read_bytes())
    os.symlink(outside, library / "link-out.mp4")
    at = start()
    assert at.sidebar.radio[0].options == ["small.mp4"]
    for bad in ["../outside.mp4", "/etc/passwd", "link-out.mp4", "sub/../../outside.mp4"]:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.query_params["video"] = bad
        at.run()
        assert not at.exception
        assert any(e.startswith("Refused:") for e in texts(at.error)), (bad, texts(at.error))
        assert at.sidebar.radio[0].value == "small.mp4"  # the page goes on with a library video
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params["video"] = "small.mp4"
    at.run()
    assert not at.error and at.sidebar.radio[0].value == "small.mp4"


def test_upload_saved_into_library_with_limit(library, small_video, monkeypatch, copies, rng):
    video, _ = small_video
    monkeypatch.setattr(sys, "argv", ["app.py", "--max-upload-mb", "1"])
    at = start(copies)
    assert any("No videos here yet" in i for i in texts(at.sidebar.info))
    at.sidebar.file_uploader(key="upload").set_value(("big.mp4", rng.bytes(1_500_000), "video/mp4")).run()
    assert any("upload limit" in e for e in texts(at.error)), texts(at.error)
    assert os.listdir(library) == []
    data = video.read_bytes()
    at.sidebar.file_uploader(key="upload").set_value(("../../clip.mp4", data, "video/mp4")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert os.listdir(library) == ["clip.mp4"] and (library / "clip.mp4").read_bytes() == data
    assert at.sidebar.radio[0].value == "clip.mp4"
    assert copies.wait(library / "clip.mp4", TIMEOUT).ready
    at.run()
    assert len(at.get("video")) == 1
