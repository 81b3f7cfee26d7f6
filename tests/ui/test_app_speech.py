"""What is said, in the explorer (AppTest): the transcript beside the player (a line plays from its time, the line
at the player's position is highlighted), the speech curve and the spoken spans on the timeline, spoken hits with
their words, and answers from speech. On the demo video, whose talk says a fact nothing on screen shows."""
import json
import re
import shutil

from ui_helpers import chart, start, start_playing, texts, video_el

from longlens.core.types import clock, iou

CITY = "Which city will the group travel to?"


def said_fact(demo_library) -> dict:
    (fact,) = demo_library[2]["speech"]
    return fact


def lines(at) -> list:
    return sorted((b for b in at.button if b.key and re.fullmatch(r"said-\d+", b.key)), key=lambda b: int(b.key[5:]))


def highlight(at) -> str:
    """The transcript's highlight rule as the page sets it (the browser's script moves it as the video plays)."""
    (body,) = [h.proto.body for h in at.get("html") if "longlens-now" in h.proto.body]
    return re.search(r'<style id="longlens-now">(.*?)</style>', body, re.S)[1]


def test_transcript_beside_the_player_plays_from_a_line(demo_in_library, demo_library, copies):
    fact = said_fact(demo_library)
    at = start_playing(copies, demo_in_library[0])
    assert not at.exception and "Transcript" in texts(at.subheader)
    said = lines(at)
    assert len(said) >= 3, [b.label for b in said]
    line = next(b for b in said if "Lisbon" in b.label)
    t = float(line.help.split()[2])
    assert abs(t - fact["start"]) < 1.0 and line.label.startswith(f"{clock(t)} · ")
    assert highlight(at) == ""  # the player is at 0 s: nothing is said yet

    line.click().run()
    assert abs(video_el(at).start_time - t) <= 0.55  # whole seconds; t is the help's 0.1 s
    assert any(c.startswith("Playing from ") for c in texts(at.caption))
    assert highlight(at).startswith(f".st-key-{line.key} button")  # the line said there is the one marked


def test_search_shows_the_speech_curve_and_spoken_hits(demo_in_library, demo_library, copies):
    fact = said_fact(demo_library)
    at = start_playing(copies, demo_in_library[0])
    at.text_input(key="query").input(CITY).run()
    assert not at.exception and not at.error, texts(at.error)
    layers = json.loads(chart(at).spec)["layer"]
    fields = [json.dumps(layer.get("encoding", {})) for layer in layers]
    assert any('"field": "said"' in f for f in fields)  # the band of spoken spans, its tooltip the words
    assert any('"field": "channel"' in f for f in fields)  # a channel curve without the toggle: speech's
    assert "Per-channel curves" in [t.label for t in at.toggle] and not at.toggle(key="show_channels").value
    assert any(s.startswith("Said (") for s in texts(at.subheader))
    hit = at.button(key="said-hit-0")
    t = float(hit.help.split()[2])
    assert abs(t - fact["start"]) <= 5.0
    assert any("Lisbon" in c for c in texts(at.caption)), texts(at.caption)
    seg = at.button(key="seg-0")  # the best segment is the span of the words said, not a 1-fps window
    a, b = re.search(r"(\d\d:\d\d)–(\d\d:\d\d)", seg.label).groups()
    to_s = lambda x: int(x[:2]) * 60 + int(x[3:])  # noqa: E731
    assert iou((to_s(a), to_s(b)), (fact["start"], fact["end"])) >= 0.3  # whole seconds on the label
    hit.click().run()
    assert abs(video_el(at).start_time - t) <= 0.55


def test_ask_answers_from_what_is_said(demo_in_library, demo_library, copies):
    fact = said_fact(demo_library)
    at = start_playing(copies, demo_in_library[0])
    at.text_input(key="question").input(CITY)
    at.button[[b.label for b in at.button].index("Ask")].click().run()
    answer = next(m for m in texts(at.markdown) if m.startswith("**"))
    assert "Lisbon" in answer
    assert any(c.startswith("answered by what is said (extractive)") for c in texts(at.caption))
    assert any(c.startswith("score") and "said: " in c and "Lisbon" in c for c in texts(at.caption))
    at.button(key="evidence-0").click().run()
    assert abs(video_el(at).start_time - fact["start"]) <= 5.0


def test_a_silent_video_says_so(library, small_video, copies):
    shutil.copyfile(small_video[0], library / "small.mp4")
    at = start(copies)
    if "Index the video to see what is said in it." in texts(at.caption):  # another test may have indexed it
        at.button(key="index").click().run()  # (the cache is shared and keyed by content)
    assert not at.exception and not at.error, texts(at.error)
    assert "This video has no audio: nothing is said in it." in texts(at.caption)
    assert lines(at) == []
