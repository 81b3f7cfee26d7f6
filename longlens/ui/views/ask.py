"""Ask: a question about the video → the answer, which answerer gave it, and its evidence as timestamps."""
from __future__ import annotations

import streamlit as st

from longlens.core.errors import LonglensError
from longlens.core.types import clock
from longlens.ui import cached, state
from longlens.ui.library import LibraryFile
from longlens.ui.views.library import Settings

ANSWER = "answer"  # session key: {"video", "question", "answer": Answer.to_dict()-like}


def _ask(video: LibraryFile, question: str, s: Settings) -> None:
    try:
        from longlens.pipeline.ask import ask
    except ImportError as e:  # the pipeline layer is not installed in this build
        st.session_state[ANSWER] = {"video": video.name, "question": question, "error": f"Ask is unavailable: {e}"}
        return
    model, why = cached.vlm()
    # the frame budget and selector choose what a VLM is shown; the extractive answerer shows no frames
    how = ({"answerer": "lvlm", "frames": s.budget, "selector": s.selector} if model is not None
           else {"answerer": "extractive"})
    try:
        ans = ask(video.path, question, retriever=cached.retriever(s.indexing), vlm=model, **how)
    except LonglensError as e:
        st.session_state[ANSWER] = {"video": video.name, "question": question, "error": str(e)}
        return
    st.session_state[ANSWER] = {
        "video": video.name, "question": question, "text": ans.text, "answerer": ans.answerer,
        "choice": ans.choice, "why_not_lvlm": why,
        "evidence": [{"time": float(m.time), "score": float(m.score), "text": m.text, "kind": m.kind}
                     for m in ans.evidence],
    }


def ask_tab(video: LibraryFile, s: Settings) -> None:
    with st.form("ask_form", border=False):
        question = st.text_input("Question", key="question", placeholder="e.g. what is the vault code?")
        asked = st.form_submit_button("Ask")
    if asked and question.strip():
        with st.spinner("Reading the video…"):
            _ask(video, question.strip(), s)
    got = st.session_state.get(ANSWER)
    if not got or got["video"] != video.name:
        return
    if "error" in got:
        st.error(got["error"])
        return
    st.markdown(f"**{got['text'] or '(no answer)'}**")
    said = bool(got["evidence"]) and got["evidence"][0].get("kind") == "speech"
    how = ("the vision-language model" if got["answerer"] == "lvlm"
           else "what is said (extractive)" if said else "on-screen text (extractive)")
    why = got.get("why_not_lvlm")
    st.caption(f"answered by {how}" + (f" · no VLM: {why}" if why else ""))
    st.markdown("Evidence")
    for i, ev in enumerate(got["evidence"]):
        left, right = st.columns([1, 8])
        left.button(f"▶ {clock(ev['time'])}", key=f"evidence-{i}", on_click=state.seek_to, args=(ev["time"],))
        what = {"speech": "said: ", "screen": "on screen: "}.get(ev.get("kind"), "")
        right.caption(f"score {ev['score']:.2f}" + (f" · {what}{ev['text']}" if ev.get("text") else ""))
