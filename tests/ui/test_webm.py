import os

import av
import numpy as np
import pytest

from longlens.core.errors import TranscodeError
from longlens.ui.copies import BrowserCopies
from longlens.ui.webm import WebmConfig, browser_copy, copy_path


def _make(path, rng, *, seconds, fps, size=(320, 240), audio=False):
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


def test_copy_keeps_timestamps_small_and_cached(tmp_path, rng):
    src = _make(tmp_path / "talk.mp4", rng, seconds=60, fps=1, size=(640, 480))
    seen = []
    out = browser_copy(src, tmp_path / "webm", on_progress=lambda done, total: seen.append((done, total)))
    assert out == copy_path(src, tmp_path / "webm") and out.suffix == ".webm"
    assert seen == [(i, 60) for i in range(1, 61)]  # every source frame, of the container's count
    codec, w, h, times = _frame_times(out)
    assert codec in ("vp9", "vp8") and (w, h) == (480, 360)
    assert times == pytest.approx(_frame_times(src)[3], abs=1e-3)  # the player's t is the index's t
    mtime = out.stat().st_mtime_ns
    assert browser_copy(src, tmp_path / "webm") == out and out.stat().st_mtime_ns == mtime  # once per content
    other = _make(tmp_path / "other.mp4", rng, seconds=5, fps=1)
    assert browser_copy(other, tmp_path / "webm") != out
    assert not [f for f in os.listdir(out.parent) if f.endswith(".tmp")]


def test_high_rate_capped_and_audio_kept(tmp_path, rng):
    src = _make(tmp_path / "fast.mp4", rng, seconds=3, fps=25, audio=True)
    out = browser_copy(src, tmp_path, config=WebmConfig(max_fps=10))
    times = _frame_times(out)[3]
    assert 28 <= len(times) <= 31 and times[-1] > 2.8
    with av.open(str(out)) as c:
        assert c.streams.audio and c.streams.audio[0].codec_context.name == "opus"
        assert sum(f.samples for f in c.decode(audio=0)) > 48000 * 2.5


def test_undecodable_file_named_in_error(tmp_path, rng):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(rng.bytes(5000))
    with pytest.raises(TranscodeError, match="broken.mp4"):
        browser_copy(bad, tmp_path / "webm")
    assert not list((tmp_path / "webm").glob("*"))  # not even a temporary file is left
    job = BrowserCopies(tmp_path / "webm").wait(bad, 60)  # in the background: the job ends with the reason
    assert job.finished.is_set() and not job.ready and "broken.mp4" in job.error


def test_background_copy_made_once_and_remade_when_deleted(tmp_path, rng):
    src = _make(tmp_path / "talk.mp4", rng, seconds=4, fps=5)
    calls = []

    def counting(video, cache, **kw):
        calls.append(video)
        return browser_copy(video, cache, **kw)

    copies = BrowserCopies(tmp_path / "webm", make=counting)
    job = copies.wait(src, 60)
    assert job.ready and job.path.is_file() and (job.done, job.total) == (20, 20) and job.fraction == 1.0
    assert copies.job(src) is job and copies.wait(tmp_path / "talk.mp4", 60) is job and len(calls) == 1
    assert BrowserCopies(tmp_path / "webm", make=counting).job(src).ready and len(calls) == 1  # found on disk
    job.path.unlink()
    again = copies.wait(src, 60)
    assert again is not job and again.ready and again.path == job.path and len(calls) == 2
