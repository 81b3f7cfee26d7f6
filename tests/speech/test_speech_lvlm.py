"""ask's VLM path hears the video: the sentences said reach the prompt as [speech] lines (a tiny random-weight VLM;
Whisper replaced by a Recorder that hears "Hello there." at 1 s)."""
from __future__ import annotations

from speech_helpers import needs_espeak, needs_whisper

from longlens.lvlm import prompts
from longlens.pipeline.ask import ask
from longlens.retrieval import RetrievalConfig, Retriever

pytestmark = [needs_espeak, needs_whisper]


def test_the_vlm_prompt_carries_what_is_said(spoken_video, cache_with_models, recorder, tmp_path, monkeypatch):
    from longlens.bench.tiny import save_tiny

    path, _ = spoken_video([(2.0, "The meeting moved to room nine.")], filler=False)
    built = []
    build = prompts.build_prompt
    monkeypatch.setattr(prompts, "build_prompt", lambda *a, **k: built.append(build(*a, **k)) or built[-1])
    retriever = Retriever(RetrievalConfig(channels=("speech",), cache_dir=cache_with_models, progress=False))
    ans = ask(path, "Who said hello?", answerer="lvlm", model=save_tiny(tmp_path / "tiny-qwen3.5"), frames=3,
              retriever=retriever)
    assert ans.answerer == "lvlm" and len(built) == 1
    assert built[0].speech == ['<1.0s> [speech] "Hello there."']
    text = " ".join(c.get("text", "") for c in built[0].messages[0]["content"])
    assert '[speech] "Hello there."' in text and "lines marked [speech]" in text
