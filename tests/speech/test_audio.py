"""The audio layer: streams, 16 kHz chunks on the video's clock, offsets, tracks, damage, no audio."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from speech_helpers import DURATION, needs_espeak

from longlens.core.errors import InputError, NoAudioStreamError, TruncatedVideoWarning
from longlens.data.audio import SAMPLE_RATE, AudioChunk, iter_audio, pick_track, probe_audio
from longlens.speech.asr import quiet_cut, windows
from longlens.speech.synth import add_audio, make_talk

pytestmark = needs_espeak


def first_sound(chunks: list[AudioChunk], level: float = 0.01) -> float:
    """Video-clock time of the first sample louder than `level`."""
    for c in chunks:
        loud = np.flatnonzero(np.abs(c.samples) > level)
        if len(loud):
            return c.start + loud[0] / SAMPLE_RATE
    raise AssertionError("no sound at all")


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
@pytest.mark.parametrize("offset", [0.0, 1.5])
def test_audio_is_on_the_video_clock(spoken_video, rng, suffix, offset):
    at = round(float(rng.uniform(2.0, 5.0)), 2)
    path, talk = spoken_video([(at, "The vault code is four seven two.")], offset=offset, suffix=suffix, filler=False)
    (stream,) = probe_audio(path)
    assert (stream.track, stream.codec, stream.channels, stream.default) == (0, "aac", 1, True)
    assert stream.start == pytest.approx(offset, abs=0.06)  # MP4 edit lists may show the encoder's priming
    chunks = list(iter_audio(path, chunk_s=2.0))
    assert first_sound(chunks) == pytest.approx(offset + at, abs=0.01)
    for a, b in zip(chunks, chunks[1:]):  # contiguous chunks of about 2 s
        assert b.start == pytest.approx(a.end, abs=1e-3)
        assert len(a.samples) <= 2.2 * SAMPLE_RATE
    assert all(c.samples.dtype == np.float32 for c in chunks)
    assert chunks[-1].end == pytest.approx(offset + talk.duration, abs=0.1)


def test_no_audio_is_a_distinct_error(silent_video):
    assert probe_audio(silent_video) == []
    with pytest.raises(NoAudioStreamError, match="no audio stream"):
        next(iter_audio(silent_video))


def test_tracks_default_and_chosen(silent_video, tmp_path):
    first = make_talk(DURATION, needles=[(1.0, "Hello there.")], filler=False)
    second = make_talk(DURATION, needles=[(6.0, "Guten Tag.")], filler=False, voice="de")
    path = add_audio(silent_video, [first, second], tmp_path / "two.mkv", languages=["eng", "deu"], default=1)
    streams = probe_audio(path)
    assert [(s.track, s.language, s.default) for s in streams] == [(0, "eng", False), (1, "deu", True)]
    assert first_sound(list(iter_audio(path))) == pytest.approx(6.0, abs=0.01)  # the default track
    assert first_sound(list(iter_audio(path, track=0))) == pytest.approx(1.0, abs=0.01)
    with pytest.raises(InputError, match="no audio track 2"):
        pick_track(streams, 2, path)


def test_damaged_audio_keeps_what_decodes(spoken_video, tmp_path):
    path, talk = spoken_video([(1.0, "The vault code is four seven two.")], suffix=".mkv")
    data = path.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.warns(TruncatedVideoWarning, match="audio is damaged"):
        chunks = list(iter_audio(cut))
    end = chunks[-1].end
    assert 1.0 < end < talk.duration - 1.0
    with warnings.catch_warnings():  # the whole file reads without a warning
        warnings.simplefilter("error")
        assert list(iter_audio(path))[-1].end == pytest.approx(talk.duration, abs=0.1)


def test_chunk_length_must_be_positive(silent_video):
    with pytest.raises(InputError):
        next(iter_audio(silent_video, chunk_s=0))


# ---------------------------------------------------------------------------------------------- windows


def test_windows_cut_in_silence_and_keep_every_sample(rng, seed):
    sr = SAMPLE_RATE
    x = (rng.standard_normal(30 * sr) * 0.3).astype(np.float32)
    hush = float(rng.uniform(21.0, 24.0))  # a quiet half second inside the search range of the first window
    x[int(hush * sr) : int((hush + 0.5) * sr)] *= 1e-3
    print(f"seed {seed}: silence at {hush:.2f} s")
    chunks = [AudioChunk(10.0 + k, x[k * sr : (k + 1) * sr]) for k in range(30)]
    out = list(windows(chunks, length=25.0, search=6.0))
    assert out[0].end - 10.0 == pytest.approx(hush + 0.25, abs=0.2)
    assert np.array_equal(np.concatenate([w.samples for w in out]), x)
    for a, b in zip(out, out[1:]):
        assert b.start == pytest.approx(a.end)
    assert quiet_cut(x, 25.0, 6.0) == pytest.approx((hush + 0.25) * sr, abs=0.2 * sr)


def test_windows_end_at_a_gap():
    sr = SAMPLE_RATE
    a, b = AudioChunk(0.0, np.ones(sr, np.float32)), AudioChunk(5.0, np.ones(sr, np.float32))
    out = list(windows([a, b], length=25.0, search=6.0))
    assert [(w.start, len(w.samples)) for w in out] == [(0.0, sr), (5.0, sr)]
