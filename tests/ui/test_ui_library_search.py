"""The explorer's library search box (issue 14): one query over every video of the library, the hits grouped by
video with thumbnails and times; a click opens that video at that moment. In AppTest (results, opening a hit,
back, not found, indexing the library from the page) and end to end in a real browser (Chromium via Playwright
playing the WebM copy at the moment clicked).
"""
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from test_browser import expect, free_port, page, video_state, wait_healthy, wait_video_at  # noqa: F401 - its page
from ui_helpers import start, texts

from longlens.core.registry import CHANNELS
from longlens.data.synth import DISTRACTORS, FACTS, Caption, SynthSpec, make_video

NAMES = ("harbour.mp4", "station.mp4")


@pytest.fixture(scope="module")
def two_videos(request, tmp_path_factory):
    """{name: (path, caption, (start, end))}: two 24-second videos, each showing a different fact."""
    rng = np.random.default_rng([request.config.base_seed, 14])  # module-wide: the per-test `seed` cannot serve
    folder = tmp_path_factory.mktemp("library_videos")
    out = {}
    for name, fact in zip(NAMES, rng.choice(len(FACTS), 2, replace=False)):
        start = float(rng.integers(2, 12))
        spec = SynthSpec(duration=24.0, size=(320, 180), seed=int(rng.integers(1000)),
                         captions=[Caption(start, start + 8.0, FACTS[int(fact)])],
                         distractors=[Caption(0.0, 4.0, DISTRACTORS[int(rng.integers(len(DISTRACTORS)))],
                                              pos="top", fg=(255, 255, 0), bg=(40, 40, 40))])
        make_video(folder / name, spec, show_progress=False)
        out[name] = (folder / name, FACTS[int(fact)], (start, start + 8.0))
    return out


def indexing(shared_cache):
    """How the explorer indexes by default (its sidebar's settings), so the library index is the page's."""
    from longlens.ui.cached import Indexing
    from longlens.ui.views.library import DEFAULT_FPS

    return Indexing(shared_cache, DEFAULT_FPS, CHANNELS.names, False)


@pytest.fixture(scope="module")
def searchable(two_videos, tmp_path_factory, shared_cache):
    """A library of the two videos, indexed by `longlens index DIR` with the explorer's default settings (in a
    subprocess, as a user would: AppTest leaves this process's __main__ unfit for spawned workers)."""
    lib = tmp_path_factory.mktemp("searchable")
    for name, (path, _, _) in two_videos.items():
        shutil.copyfile(path, lib / name)
    env = {**os.environ, "LONGLENS_CACHE": str(shared_cache), "LONGLENS_HOME": str(tmp_path_factory.mktemp("home")),
           "HF_HUB_OFFLINE": "1"}
    how = indexing(shared_cache)
    args = ["index", str(lib), "--workers", "1", "--fps", str(how.fps), "--channels", ",".join(how.channels)]
    done = subprocess.run([sys.executable, "-m", "longlens.cli", *args], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return lib


def point_at(monkeypatch, library, shared_cache) -> None:
    monkeypatch.setenv("LONGLENS_LIBRARY", str(library))
    monkeypatch.setenv("LONGLENS_CACHE", str(shared_cache))


def hit_time(button) -> float:
    return float(re.search(r"at ([\d.]+) s", button.help).group(1))


def test_results_grouped_by_video_then_a_click_opens_that_video_there(searchable, two_videos, shared_cache,
                                                                     monkeypatch):
    point_at(monkeypatch, searchable, shared_cache)
    target = NAMES[1]
    _, caption, (start_, end_) = two_videos[target]
    at = start()
    assert at.sidebar.radio[0].value == NAMES[0]  # the first video is shown until a hit is opened

    at.sidebar.text_input(key="library_query").input(caption.lower()).run()
    assert not at.exception and not at.error, texts(at.error)
    assert texts(at.main.header) == [f"Library: “{caption.lower()}”"]
    assert texts(at.main.subheader)[0] == target  # best video first
    hits = [b for b in at.button if b.key and b.key.startswith("lib-")]
    assert hits and len(at.get("image")) == len(hits)  # a thumbnail per moment
    best = at.button(key="lib-0-0")
    times = [hit_time(b) for b in at.button if b.key and b.key.startswith("lib-0-")]
    assert any(start_ - 1 <= t <= end_ + 1 for t in times), (times, start_, end_)
    t = next(t for t in times if start_ - 1 <= t <= end_ + 1)
    i = times.index(t)

    at.button(key=f"lib-0-{i}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.sidebar.radio[0].value == target and texts(at.main.header) == [target]
    assert at.session_state["seek"].start == pytest.approx(t)
    assert best.help.startswith(f"open {target} at ")

    at.button(key="library-back").click().run()  # back to the results
    assert texts(at.main.subheader)[0] == target

    at.sidebar.text_input(key="library_query").input("purple giraffe parade").run()
    assert any("Not found" in i for i in texts(at.info)), texts(at.info)
    assert not [b for b in at.button if b.key and b.key.startswith("lib-")]


def test_unindexed_library_is_indexed_from_the_page(library, two_videos, shared_cache):
    path, caption, (start_, end_) = two_videos[NAMES[0]]
    shutil.copyfile(path, library / NAMES[0])
    at = start()
    at.sidebar.text_input(key="library_query").input(caption.lower()).run()
    assert any("cannot be searched yet" in w and "longlens index" in w for w in texts(at.warning)), texts(at.warning)
    at.button(key="library-index").click().run()
    assert not at.exception and not at.error, texts(at.error)
    assert texts(at.main.subheader) == [NAMES[0]]
    t = hit_time(at.button(key="lib-0-0"))
    assert start_ - 1 <= t <= end_ + 1 or any(
        start_ - 1 <= hit_time(b) <= end_ + 1 for b in at.button if b.key and b.key.startswith("lib-0-"))


# ---- in a real browser


@pytest.fixture
def library_explorer(searchable, shared_cache, tmp_path):
    """`longlens ui --library` on a free port over the indexed library."""
    port = free_port()
    env = {**os.environ, "LONGLENS_CACHE": str(shared_cache), "LONGLENS_HOME": str(tmp_path / "home"),
           "HF_HUB_OFFLINE": "1"}
    log = tmp_path / "ui.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "longlens.cli", "ui", "--library", str(searchable), "--port",
                                 str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    try:
        wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_browser_library_search_then_click_plays_that_video_there(library_explorer, two_videos, page,  # noqa: F811
                                                                   tmp_path):
    target = NAMES[1]
    _, caption, (start_, end_) = two_videos[target]
    page.goto(library_explorer, wait_until="domcontentloaded")
    box = page.get_by_role("textbox", name="Search the library")
    box.wait_for(timeout=120_000)
    box.fill(caption.lower())
    box.press("Enter")
    first = page.locator(".st-key-lib-0-0 button").filter(visible=True)
    first.wait_for(timeout=120_000)
    expect(page.get_by_test_id("stHeading").filter(has_text=target).first).to_be_visible()
    expect(page.locator('[data-testid="stImage"] img').first).to_be_visible(timeout=30_000)  # thumbnails

    buttons = page.locator("[class*='st-key-lib-0-'] button").filter(visible=True)
    deadline = time.monotonic() + 30  # Streamlit draws the group's buttons in pieces: read them until one is in
    while True:  # the caption's window (or time is up)
        labels = [buttons.nth(i).inner_text() for i in range(buttons.count())]
        times = [int(m) * 60 + int(s) for m, s in (re.search(r"(\d+):(\d\d)", x).groups() for x in labels)]
        inside = [i for i, t in enumerate(times) if start_ - 1 <= t <= end_ + 1]
        if inside or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert inside, (times, (start_, end_))
    i = inside[0]
    buttons.nth(i).click()

    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("radio", name=re.compile(re.escape(target)))).to_be_checked(timeout=60_000)
    page.locator("video").wait_for(timeout=180_000)  # the copy of the video opened, made in the background
    state = wait_video_at(page, times[i], timeout=30)
    assert state["src"].endswith(".webm") and state["ready"] >= 2 and state["width"] > 0, state
    assert abs(state["t"] - times[i]) <= 0.51, (state, times[i])
    assert video_state(page)["src"] == state["src"]
    page.screenshot(path=str(tmp_path / "library-search.png"))
