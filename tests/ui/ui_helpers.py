"""Helpers shared by the explorer's AppTest tests (the fixtures live in conftest.py)."""
from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from longlens.ui.launch import APP

TIMEOUT = 240


def _app(copies):  # AppTest runs this function's body as the page script, with `copies` passed in
    from longlens.ui.app import main

    main(copies=copies)


def start(copies=None) -> AppTest:
    """The explorer after its first run (as `streamlit run app.py`); with `copies`, its browser copies come
    from that BrowserCopies (whose transcode the test controls)."""
    if copies is None:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    else:
        at = AppTest.from_function(_app, kwargs={"copies": copies}, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def video_el(at):
    (el,) = at.get("video")
    return el.proto


def chart(at):
    (el,) = [e for e in at.get("vega_lite_chart")]
    return el.proto


def click_chart(at, selection: dict) -> None:
    """What the browser sends when a point or segment of the timeline is clicked: the chart's new selection."""
    states = at._tree.get_widget_states()
    w = states.widgets.add()
    w.id = chart(at).id
    w.string_value = json.dumps({"selection": selection})
    at._run(states)
    assert not at.exception, [e.value for e in at.exception]


def start_playing(copies, video) -> AppTest:
    """The explorer once `video`'s browser copy is ready, so its first run draws the player."""
    job = copies.wait(video, TIMEOUT)
    assert job.ready, job.error
    return start(copies)
