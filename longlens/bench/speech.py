"""`longlens bench speech`: speech recognition on a generated talk (60 min; 3 min with quick).

The talk is espeak-ng filler sentences with spoken facts, a third of the time speech and the rest silence
(30 s of talk, then 60 s quiet, repeated), muxed into a small 1-fps video. Rows: assembling the offline
weights, loading Whisper, transcribing with and without VAD (real-time factor = audio seconds per wall second,
word error rate against the script; beam 5, and greedy beam 1 with VAD), and a cache hit; then indexing the
video (1 fps) without the speech channel (frames + OCR) and with it (frames + OCR + speech), each into a fresh
cache, and the speech channel's share as a fraction of the video's duration (target <= 0.15).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from longlens.data.synth import SynthSpec, make_video
from longlens.retrieval import RetrievalConfig, Retriever
from longlens.speech import SpeechConfig, asr, models, transcribe
from longlens.speech.synth import add_audio, make_talk
from longlens.speech.words import wer

SEED = 0
FACTS = ["The vault code is four seven two.", "The group will travel to Lisbon next week.",
         "The meeting moved to room nine.", "The winner of the prize was Maria."]
TALK_S, QUIET_S = 30.0, 60.0  # each period: this much talk, then this much silence


def talk_spec(duration: float) -> tuple[list[tuple[float, str]], list[tuple[float, float]]]:
    """Needles (one fact early in each talk period, cycling through FACTS) and the quiet spans."""
    period = TALK_S + QUIET_S
    starts = np.arange(0.0, duration, period)
    needles = [(float(s) + 8.0, FACTS[k % len(FACTS)]) for k, s in enumerate(starts) if s + 8.0 + 5.0 < duration]
    quiet = [(float(s) + TALK_S, min(duration, float(s) + period)) for s in starts if s + TALK_S < duration]
    return needles, quiet


def index_rows(video: Path, duration: float, models_dir: Path, tmp: Path) -> list[dict]:
    """Index `video` without and with the speech channel, each into a fresh cache (the Whisper weights shared)."""
    rows = []
    for name, channels in (("without speech", ("ocr",)), ("with speech", ("ocr", "speech"))):
        cache = tmp / f"index-{len(channels)}"
        cache.mkdir()
        (cache / "models").symlink_to(models_dir, target_is_directory=True)
        t = time.perf_counter()
        retriever = Retriever(RetrievalConfig(channels=channels, cache_dir=cache, progress=False))
        idx = retriever.index(video, progress=False)
        wall = time.perf_counter() - t
        speech = idx.stats["seconds"].get("speech")
        rows.append({"step": f"index {name} ({' + '.join(['frames', *channels])})", "audio s": duration, "wall s": wall,
                     "speech channel s": None if speech is None else round(speech, 1),
                     "speech / video": None if speech is None else round(speech / duration, 3),
                     "lines": len(idx.speech) if idx.speech is not None else None})
    return rows


def run(*, quick: bool = False) -> dict:
    minutes = 3 if quick else 60
    duration = minutes * 60.0
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="longlens-bench-speech-") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        needles, quiet = talk_spec(duration)
        talk = make_talk(duration, needles=needles, rng=np.random.default_rng(SEED), quiet=quiet)
        make_video(tmp / "silent.mp4", SynthSpec(duration=duration, fps=1.0, size=(160, 90)), show_progress=False)
        video = add_audio(tmp / "silent.mp4", talk, tmp / "talk.mp4")
        spoken = sum(x.end - x.start for x in talk.lines)
        rows.append({"step": "generate talk", "audio s": duration, "speech s": round(spoken, 1),
                     "wall s": time.perf_counter() - t, "lines": len(talk.lines)})

        cache = tmp / "cache"
        t = time.perf_counter()
        files = models.resolve("base", cache)
        rows.append({"step": "assemble + check base weights", "wall s": time.perf_counter() - t})
        t = time.perf_counter()
        config = SpeechConfig(cache_dir=cache, progress=False)
        device = config.resolved_device()
        asr.load_whisper(str(files.path), device, config.resolved_compute_type(device))
        rows.append({"step": "load Whisper base", "device": device, "wall s": time.perf_counter() - t})

        for vad, beam in ((True, 5), (False, 5), (True, 1)):
            config = SpeechConfig(cache_dir=cache, vad=vad, beam_size=beam, progress=False)
            t = time.perf_counter()
            result = transcribe(video, config=config)
            wall = time.perf_counter() - t
            rows.append({"step": f"transcribe, VAD {'on' if vad else 'off'}, beam {beam}", "device": device,
                         "audio s": result.duration, "speech s": round(result.speech, 1), "wall s": wall,
                         "RTF": result.duration / wall, "WER": wer(talk.script, result.text)})
            if vad and beam == 5:
                t = time.perf_counter()
                transcribe(video, config=config)
                rows.append({"step": "cache hit", "wall s": time.perf_counter() - t})
        rows += index_rows(video, duration, cache / "models", tmp)
    return {"rows": rows,
            "notes": ["RTF: audio seconds transcribed per wall second (higher is faster); "
                      "WER against the espeak-ng script, numbers spelled digit by digit on both sides",
                      f"the talk is {TALK_S:.0f} s of speech then {QUIET_S:.0f} s of silence, repeated; "
                      "VAD on should cost about the speech, VAD off the whole audio",
                      "Whisper base int8 on CPU (float16 on CUDA), offline weights from the speech extra; "
                      "beam 5 is the default",
                      "index rows: 'speech channel s' is the speech channel's own time "
                      "(transcription + sentence embedding); "
                      "'speech / video' its fraction of the video's duration (target <= 0.15)"],
            "meta": {"minutes": minutes, "seed": SEED, "window_s": asr.WINDOW_S}}
