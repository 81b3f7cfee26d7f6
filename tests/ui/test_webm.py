import os

import av
import numpy as np
import pytest

from longlens.ui.webm import TranscodeError, WebmConfig, browser_copy, webm_cache_dir


def _make(path, *, seconds, fps, size=(320, 240), audio=False, seed=None):
    rng = np.random.default_rng(seed)
    w, h = size
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        if audio:
            aus = c.add_stream("aac", rate=44100)
            aus.layout = "mono"
        for i in range(int(seconds * fps)):
            img = np.zeros((h, w, 3), np.uint8)
            img[:, :] = rng.integers(0, 255, 3, dtype=np.uint8)  # a fresh flat colour per frame
            img[h // 4: h // 2, w // 4: w // 2] = rng.integers(0, 255, (h // 2 - h // 4, w // 2 - w // 4, 3))
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            c.mux(vs.encode(f))
        c.mux(vs.encode())
        if audio:
            samples = (np.sin(np.arange(int(44100 * seconds)) / 7) * 8000).astype(np.int16)[None]
            for k in range(0, samples.shape[1], 1024):
                af = av.AudioFrame.from_ndarray(samples[:, k:k + 1024], format="s16", layout="mono")
                af.sample_rate, af.pts = 44100, k
                c.mux(aus.encode(af))
            c.mux(aus.encode())
    return path


def _frame_times(path):
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return s.codec_context.name, s.width, s.height, [f.time for f in c.decode(s)]


def test_copy_keeps_timestamps_small_and_cached(tmp_path):
    src = _make(tmp_path / "talk.mp4", seconds=60, fps=1, size=(640, 480))
    out = browser_copy(src)
    assert out.parent == webm_cache_dir() and out.suffix == ".webm"
    codec, w, h, times = _frame_times(out)
    assert codec in ("vp9", "vp8") and (w, h) == (480, 360)
    assert times == pytest.approx(_frame_times(src)[3], abs=1e-3)  # the player's t is the index's t
    mtime = out.stat().st_mtime_ns
    assert browser_copy(src) == out and out.stat().st_mtime_ns == mtime  # made once per content
    other = _make(tmp_path / "other.mp4", seconds=5, fps=1)
    assert browser_copy(other) != out
    assert not [f for f in os.listdir(out.parent) if f.endswith(".tmp")]


def test_high_rate_capped_and_audio_kept(tmp_path):
    src = _make(tmp_path / "fast.mp4", seconds=3, fps=25, audio=True)
    out = browser_copy(src, config=WebmConfig(max_fps=10))
    times = _frame_times(out)[3]
    assert 28 <= len(times) <= 31 and times[-1] > 2.8
    with av.open(str(out)) as c:
        assert c.streams.audio and c.streams.audio[0].codec_context.name == "opus"
        assert sum(f.samples for f in c.decode(audio=0)) > 48000 * 2.5


def test_undecodable_file_named_in_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(os.urandom(5000))
    with pytest.raises(TranscodeError, match="broken.mp4"):
        browser_copy(bad)
    assert not list(webm_cache_dir().glob("*.webm"))
