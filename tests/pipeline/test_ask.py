"""`ask` end to end on generated videos: extractive answers from on-screen text, the VLM path with a tiny
random-weight model, options refused where they cannot apply, and the CLI's JSON."""
from __future__ import annotations

import json

import pytest

from longlens.cli import main
from longlens.core.errors import InputError
from longlens.data.synth import FACTS, QUESTIONS
from longlens.pipeline.ask import ask
from longlens.pipeline.config import AskConfig
from longlens.retrieval import Retriever


@pytest.fixture(scope="module")
def retriever(config):
    return Retriever(config)


@pytest.mark.parametrize("name, fact", [("a", 0), ("a", 1), ("b", 5)])
def test_extractive_answer_is_the_caption_at_its_time(warm, retriever, name, fact):
    video = warm[name]
    ans = ask(video["path"], QUESTIONS[fact], answerer="extractive", retriever=retriever)
    assert ans.answerer == "extractive"
    assert ans.text.replace(" ", "") == FACTS[fact].replace(" ", "")  # OCR may re-space glued words
    start, end = video["windows"][fact]
    assert start - 1 <= ans.evidence[0].time < end + 1
    assert ans.evidence[0].text == ans.text


def test_extractive_answer_is_one_caption_when_two_share_the_screen(tmp_path, retriever, rng):
    """A look-alike sign on screen with the answer: the answer is the caption alone, at its time."""
    from longlens.data.synth import DISTRACTORS, Caption, SynthSpec, make_video

    start = float(rng.integers(2, 10))
    spec = SynthSpec(duration=24.0, captions=[Caption(start, start + 8, FACTS[1])], seed=int(rng.integers(1000)),
                     distractors=[Caption(start - 1, start + 9, DISTRACTORS[1], pos="top", fg=(255, 255, 0),
                                          bg=(40, 40, 40))])
    path = tmp_path / "shared.mp4"
    make_video(path, spec, show_progress=False)
    ans = ask(str(path), QUESTIONS[1], answerer="extractive", retriever=retriever)
    assert ans.text.replace(" ", "") == FACTS[1].replace(" ", "")
    assert start - 1 <= ans.evidence[0].time < start + 9 and ans.evidence[0].text == ans.text


def test_multiple_choice_from_on_screen_text(warm, retriever):
    ans = ask(warm["a"]["path"], "At which gate does flight BA287 board?", answerer="extractive",
              options=["Gate 12", "Gate 31", "Gate 7", "Gate 404"], retriever=retriever)
    assert ans.choice == "B" and ans.text == "B. Gate 31"
    start, end = warm["a"]["windows"][2]
    assert start - 1 <= ans.evidence[0].time < end + 1


def test_question_the_video_cannot_answer_says_so(warm, retriever):
    ans = ask(warm["a"]["path"], "What colour is the sky on Mars?", answerer="extractive", retriever=retriever)
    assert ans.text.startswith("No support found") and ans.parsed is None
    assert ans.evidence == []  # issue 12: no cited noise when nothing supports an answer


def test_auto_falls_back_to_extractive_without_vlm_weights(warm, retriever, caplog):
    from longlens.pipeline import ask as ask_module

    ask_module._say_once.cache_clear()  # the fallback is said once per process
    ans = ask(warm["a"]["path"], QUESTIONS[0], retriever=retriever, model="Qwen/Qwen3.5-0.8B")
    assert ans.answerer == "extractive" and "8142" in ans.text
    assert any("answering from on-screen text" in r.getMessage() for r in caplog.records)


def test_lvlm_answerer_sees_selected_frames_with_their_times(warm, retriever, tmp_path):
    from longlens.bench.tiny import save_tiny

    model = save_tiny(tmp_path / "tiny-qwen3.5")
    # sparse attention asked for (attn "auto" is stock attention on CPU), on the PyTorch twins: the Triton
    # interpreter would take a minute here
    ans = ask(warm["b"]["path"], QUESTIONS[3], answerer="lvlm", model=model, frames=6, retriever=retriever,
              attn="sparse", kernels="reference")
    assert ans.answerer == "lvlm" and isinstance(ans.text, str)
    times = [m.time for m in ans.evidence]
    assert len(times) == 6 and times == sorted(times)
    assert ans.frames == 6 and ans.visual_tokens > 0
    assert 0 < ans.visited_fraction <= 1


def test_cli_ask_json_and_bad_input(warm, capsys):
    assert main(["ask", warm["a"]["path"], QUESTIONS[1], "--answerer", "extractive", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"answer", "answerer", "choice", "attention", "visited_fraction", "evidence"}
    assert out["attention"] is None  # the extractive answerer runs no attention
    assert "12" in out["answer"] and out["answerer"] == "extractive" and out["choice"] is None
    start, end = warm["a"]["windows"][1]
    assert start - 1 <= out["evidence"][0]["time"] < end + 1
    assert set(out["evidence"][0]) == {"time", "score", "text", "kind"} and out["evidence"][0]["kind"] == "screen"

    assert main(["ask", warm["a"]["path"], "  "]) == 2
    assert "question is empty" in capsys.readouterr().err
    assert main(["ask", warm["a"]["path"] + ".missing", "what?"]) == 2
    assert ".missing" in capsys.readouterr().err
    with pytest.raises(InputError, match="frames"):
        ask(warm["a"]["path"], "what?", frames=0)


MISSING = "no-such-video.mp4"  # the options are refused before any work: the video is never opened


@pytest.mark.parametrize("given, flags", [
    ({"frames": 8}, "--frames"),
    ({"selector": "mmr"}, "--selector"),
    ({"zoom": True}, "--zoom"),
    ({"reflect": True}, "--reflect"),
    ({"frames": 8, "selector": "uniform"}, "--frames, --selector"),
])
def test_extractive_answerer_refuses_the_vlm_options_it_cannot_use(given, flags):
    with pytest.raises(InputError, match=f"{flags} cannot be used with it"):
        ask(MISSING, "what?", answerer="extractive", **given)


@pytest.mark.parametrize("given, flags", [
    ({"selector": "mmr"}, ("--zoom", "--selector mmr")),
    ({"reflect": True}, ("--zoom", "--reflect")),
])
def test_zoom_refuses_a_selector_and_reflection_it_would_ignore(given, flags):
    """zoom picks by TASS over its own re-decoded pool and builds its own curve: another selector, or a
    reflected curve (paid for in VLM calls), would be silently dropped."""
    with pytest.raises(InputError) as e:
        ask(MISSING, "what?", answerer="lvlm", zoom=True, **given)
    assert all(f in str(e.value) for f in flags)
    AskConfig(zoom=True, selector="tass")  # TASS is what zoom does: nothing to refuse


def test_auto_without_a_vlm_refuses_vlm_options_instead_of_dropping_them(retriever):
    """auto falls back to the extractive answer when no VLM loads (test below), but not when the caller asked
    for what only the VLM does: that would answer while silently ignoring the request."""
    with pytest.raises(InputError, match=r"no vision-language model could be loaded .*--reflect cannot be used"):
        ask(MISSING, "what?", reflect=True, model="Qwen/Qwen3.5-0.8B", retriever=retriever)


def test_one_ask_config_or_keywords_that_override_it(warm, retriever):
    how = AskConfig(answerer="extractive")
    by_config = ask(warm["a"]["path"], QUESTIONS[0], ask_config=how, retriever=retriever)
    by_keyword = ask(warm["a"]["path"], QUESTIONS[0], answerer="extractive", retriever=retriever)
    assert by_config.text == by_keyword.text and by_config.answerer == "extractive"
    with pytest.raises(InputError, match="--frames"):
        ask(MISSING, "what?", ask_config=how, frames=4)  # a keyword joins the config, and is checked with it


def test_cli_refuses_options_the_answerer_cannot_use(warm, capsys):
    assert main(["ask", warm["a"]["path"], "what?", "--answerer", "extractive", "--zoom", "--frames", "8"]) == 2
    err = capsys.readouterr().err
    assert "--frames, --zoom cannot be used with it" in err
    assert main(["ask", warm["a"]["path"], "what?", "--zoom", "--reflect"]) == 2
    assert "use --zoom or --reflect, not both" in capsys.readouterr().err
