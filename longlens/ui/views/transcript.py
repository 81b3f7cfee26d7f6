"""The transcript beside the player: every sentence said, with its time; a click on a line plays from it, and
the line being said is highlighted as the video plays.

The lines are Streamlit buttons (a click seeks the player, as every other seek does). The highlight is drawn
by one rule in a <style> element: the page sets it to the line at the player's start, and a small script in the
browser rewrites it as the video plays (it reads the <video> element's time; nothing goes to the server), and
scrolls that line into view within the transcript box.
"""
from __future__ import annotations

import json
import re
import string

import numpy as np
import streamlit as st

from longlens.core.types import clock
from longlens.ui import state

HEIGHT = 405  # px: about the player's height at PLAYER_WIDTH
MAX_LINES = 300  # lines drawn at once (the ones around the player's position): a button each
LINE_KEY = "said-"  # button keys: said-<sentence number>
STYLE_ID = "longlens-now"
HIGHLIGHT = "{background: #fde68a; border-radius: 0.4rem; font-weight: 600;}"


def plain(text: str) -> str:
    """`text` as a button label shows it: Markdown's and LaTeX's marks escaped (a "$" or "*" said stays one)."""
    return re.sub(r"([\\`*_\[\]<>$~#|])", r"\\\1", text)


def line_at(track, t: float) -> int | None:
    """The sentence being said at `t` s (else the last one begun before it), None before the first."""
    if not len(track):
        return None
    k = int(np.searchsorted(track.starts, t, side="right")) - 1
    return k if k >= 0 else None


def window(n: int, centre: int | None, size: int = MAX_LINES) -> range:
    """At most `size` consecutive line numbers of `n`, around `centre`."""
    lo = max(0, min((centre or 0) - size // 2, n - size))
    return range(lo, min(n, lo + size))


# Runs in the page (st.html): every 250 ms, the line whose time the <video> has reached gets the highlight rule
# and is scrolled into view inside the transcript box (the page itself stays where the reader put it). Until the
# video plays, the rule the page set (the player's start) stays.
FOLLOW = """
(() => {
  const spans = $SPANS, style = document.getElementById($STYLE), rule = $RULE, prefix = $PREFIX;
  if (window.__longlensFollow) clearInterval(window.__longlensFollow);
  let last = null;
  window.__longlensFollow = setInterval(() => {
    const v = document.querySelector('video');
    if (!v || !style || v.paused && last === null) return;
    let now = null;
    for (const [a, b, u] of spans) { if (a <= v.currentTime + 0.05) now = u; else break; }
    if (now === null || now === last) return;
    last = now;
    style.textContent = '.st-key-' + prefix + now + ' button ' + rule;
    const el = document.querySelector('.st-key-' + prefix + now);
    let box = el && el.parentElement;  // the transcript box: the nearest ancestor that scrolls (not the page)
    while (box && !(box.scrollHeight > box.clientHeight && /auto|scroll/.test(getComputedStyle(box).overflowY)))
      box = box.parentElement;
    if (!box) return;
    const r = el.getBoundingClientRect(), b = box.getBoundingClientRect();
    if (r.top < b.top || r.bottom > b.bottom) box.scrollTop += r.top - b.top - b.height / 3;
  }, 250);
})();"""


def _follow(track, shown: range, now: int | None) -> str:
    """The highlight rule for line `now`, and the script that moves it with the video's time."""
    spans = [[round(float(track.starts[u]), 3), round(float(track.ends[u]), 3), u] for u in shown]
    rule = f".st-key-{LINE_KEY}{now} button {HIGHLIGHT}" if now is not None else ""
    script = string.Template(FOLLOW).substitute(SPANS=json.dumps(spans), STYLE=json.dumps(STYLE_ID),
                                                RULE=json.dumps(HIGHLIGHT), PREFIX=json.dumps(LINE_KEY))
    return f'<style id="{STYLE_ID}">{rule}</style><script>{script}</script>'


def transcript_panel(index) -> None:
    """The video's transcript (from its index's speech part), or a line saying why there is none."""
    track = getattr(index, "speech", None) if index is not None else None
    st.subheader("Transcript")
    if index is None:
        st.caption("Index the video to see what is said in it.")
        return
    if track is None:
        st.caption("The speech channel is not among the indexed channels.")
        return
    if not track.audio:
        st.caption("This video has no audio: nothing is said in it.")
        return
    if not len(track):
        st.caption("No speech was heard in this video.")
        return
    seek = state.seek()
    now = line_at(track, seek.start if seek is not None else 0.0)
    if seek is None and now is not None and track.starts[now] > 0.05:
        now = None  # at the start, nothing is said yet
    shown = window(len(track), now)
    if len(shown) < len(track):
        st.caption(f"{len(shown)} of {len(track)} lines, around the player's position")
    with st.container(height=HEIGHT, key="transcript"):
        for u in shown:
            st.button(f"{clock(track.starts[u])} · {plain(track.texts[u])}", key=f"{LINE_KEY}{u}", type="tertiary",
                      on_click=state.seek_to, args=(float(track.starts[u]),),
                      help=f"play from {track.starts[u]:.1f} s (said until {track.ends[u]:.1f} s)")
    st.html(_follow(track, shown, now), unsafe_allow_javascript=True)
    lang = f" · language {track.language}" if track.language else ""
    st.caption(f"{len(track)} lines, Whisper {track.model or ''}{lang}")
