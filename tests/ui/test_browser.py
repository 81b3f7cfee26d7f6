"""End to end in a real browser: `longlens demo`, then `longlens ui`, driven by Playwright on Debian's chromium.

A person opens the explorer, sees the demo video, types a few words of a caption, clicks the best hit and the
player jumps there; a click on the timeline moves it too. The browser plays the WebM copy (Chromium has no
H.264), so the video element must decode it (readyState, videoWidth) and report the new currentTime. The copy
is made in the background on the first visit: the search box comes first, the player once the copy is ready.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

VAULT = "THE VAULT CODE IS 8142"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, log, timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"`longlens ui` exited with {proc.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} not healthy after {timeout} s")


@pytest.fixture
def explorer(demo_library, shared_cache, tmp_path):
    """`longlens ui` on a free port over the library `longlens demo` filled (its default library)."""
    library, _, _ = demo_library
    for old in (shared_cache / "webm").glob("*.webm"):  # earlier tests' copies: this page makes its own
        old.unlink()
    port = free_port()
    env = {**os.environ, "LONGLENS_LIBRARY": str(library), "LONGLENS_CACHE": str(shared_cache),
           "LONGLENS_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1"}
    log = tmp_path / "ui.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "longlens.cli", "ui", "--port", str(port)], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    try:
        wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()  # `longlens ui` passes it on to the server and waits for it
        proc.wait(timeout=30)
    with socket.socket() as s:  # the server went with it
        assert s.connect_ex(("127.0.0.1", port)) != 0, f"the server still listens on {port}"


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed (make test installs it: apt-get install -y chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        # tall enough that the whole page (player, timeline, gallery) is on one screenshot
        yield browser.new_page(viewport={"width": 1400, "height": 2400})
        browser.close()


def expect(locator):
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def video_state(page) -> dict:
    return page.evaluate("""() => { const v = document.querySelector('video');
        return {t: v.currentTime, ready: v.readyState, width: v.videoWidth, src: v.currentSrc}; }""")


def wait_video_at(page, seconds: float, timeout: float = 20.0) -> dict:
    end = time.monotonic() + timeout
    while True:
        state = video_state(page)
        if abs(state["t"] - seconds) <= 0.51 and state["ready"] >= 2 or time.monotonic() > end:
            return state
        time.sleep(0.2)


def playing_from(page) -> float:
    text = page.get_by_text(re.compile(r"^Playing from \d")).inner_text()
    m, s = re.search(r"(\d+):(\d\d)", text).groups()
    return int(m) * 60 + int(s)


def test_demo_then_explorer_find_caption_and_jump(explorer, demo_library, page, tmp_path):
    _, _, truth = demo_library
    start, end = next((c["start"], c["end"]) for c in truth["captions"] if c["text"] == VAULT)

    page.goto(explorer, wait_until="domcontentloaded")
    find = page.get_by_label("Find")
    find.wait_for(timeout=120_000)
    sidebar = page.get_by_test_id("stSidebar")  # Streamlit draws the sidebar in pieces: wait for the list
    expect(sidebar).to_contain_text("longlens-demo.mp4", timeout=60_000)
    expect(sidebar).to_contain_text("indexed", timeout=60_000)
    page.locator("video").wait_for(timeout=120_000)  # the background copy is done: the page reran with the player
    state = video_state(page)
    assert state["src"].endswith(".webm") and state["t"] == 0

    find.fill("vault code")
    find.press("Enter")
    best = page.locator(".st-key-hit-0 button").filter(visible=True)  # Streamlit also renders a hidden twin
    best.wait_for(timeout=120_000)
    marks = page.get_by_test_id("stVegaLiteChart").locator("svg.marks, canvas").first
    marks.wait_for()
    box = marks.bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    drawn = page.get_by_test_id("stVegaLiteChart").locator("path, rect")
    page.wait_for_function("n => document.querySelectorAll('[data-testid=stVegaLiteChart] path, "
                           "[data-testid=stVegaLiteChart] rect').length > n", arg=10, timeout=30_000)
    assert drawn.count() > 10  # the curve, segments, keyframes and click targets are drawn
    expect(page.locator('[data-testid="stImage"] img')).to_have_count(12, timeout=30_000)  # the keyframe gallery

    m, s = re.search(r"(\d+):(\d\d)", best.inner_text()).groups()
    t_best = int(m) * 60 + int(s)
    assert start - 1 <= t_best <= end + 1, (t_best, start, end)
    best.click()
    state = wait_video_at(page, t_best)
    assert abs(state["t"] - t_best) <= 0.51 and state["ready"] >= 2 and state["width"] > 0, state
    page.screenshot(path=str(tmp_path / "explorer-hit.png"))

    # a click on the timeline, a quarter of the way in, plays from the nearest point there
    marks.scroll_into_view_if_needed()
    box = marks.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    deadline = time.monotonic() + 30
    while playing_from(page) == t_best and time.monotonic() < deadline:
        time.sleep(0.2)
    t_click = playing_from(page)
    assert t_click != t_best and 0 < t_click < 120
    state = wait_video_at(page, t_click)
    assert abs(state["t"] - t_click) <= 0.51, (state, t_click)
    page.screenshot(path=str(tmp_path / "explorer.png"))
    assert (tmp_path / "explorer.png").stat().st_size > 10_000
