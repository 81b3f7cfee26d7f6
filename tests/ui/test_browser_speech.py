"""The transcript in a real browser (Playwright on Debian's chromium): a click on a line plays the video from the
time it was said, and as the video plays the highlight follows the line being said."""
import re
import time

from test_browser import explorer, page, video_state, wait_video_at  # noqa: F401 - fixtures shared with it


def highlighted(page) -> str:  # noqa: F811 - the fixture's page
    return page.evaluate("() => (document.getElementById('longlens-now') || {}).textContent || ''")


def test_transcript_line_plays_and_the_highlight_follows(explorer, demo_library, page):  # noqa: F811
    _, _, truth = demo_library
    (fact,) = truth["speech"]
    page.goto(explorer, wait_until="domcontentloaded")
    page.locator("video").wait_for(timeout=180_000)
    line = page.locator("[class*='st-key-said-'] button").filter(has_text="Lisbon").filter(visible=True)
    line.wait_for(timeout=120_000)
    key = re.search(r"st-key-(said-\d+)", line.locator("xpath=ancestor::*[contains(@class, 'st-key-said-')][1]")
                    .get_attribute("class"))[1]
    line.click()
    state = wait_video_at(page, round(fact["start"]))
    assert abs(state["t"] - fact["start"]) <= 1.0 and state["ready"] >= 2, (state, fact)
    end = time.monotonic() + 30
    while f"st-key-{key} " not in highlighted(page) and time.monotonic() < end:
        time.sleep(0.2)
    assert f"st-key-{key} " in highlighted(page)  # the page marks the line it plays from

    # play on (muted: no autoplay block): the highlight moves to the next line when it is said
    n = int(key.split("-")[1])
    nxt = page.locator(f".st-key-said-{n + 1} button").filter(visible=True)
    m, s = re.search(r"(\d+):(\d\d)", nxt.inner_text()).groups()
    t_next = int(m) * 60 + int(s)  # its label's whole second: within 0.5 s of when it is said
    page.evaluate(f"() => {{ const v = document.querySelector('video'); v.muted = true; v.currentTime = {t_next - 0.5};"
                  " v.play(); }")
    end = time.monotonic() + 30
    while f"st-key-said-{n + 1} " not in highlighted(page) and time.monotonic() < end:
        time.sleep(0.2)
    assert f"st-key-said-{n + 1} " in highlighted(page), (highlighted(page), video_state(page))
