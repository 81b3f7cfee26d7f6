"""Decoding with true timestamps, sampling, isolation and bad input — real decoders on real files."""
from __future__ import annotations

import os
import shutil
import subprocess
import warnings

import av
import numpy as np
import pytest
from datalayer_helpers import HOUR_CAPTIONS, block_code

from longlens.core.errors import (
    InputError,
    NotAVideoError,
    NoVideoStreamError,
    TruncatedVideoError,
    TruncatedVideoWarning,
    UnsupportedCodecError,
    VideoDecodeError,
    VideoNotFoundError,
)
from longlens.data import (
    AtTimes,
    FixedRate,
    Uniform,
    Window,
    decoder_version,
    iter_frames,
    probe,
    read_frames,
    resolve_backend,
    worker,
)
from longlens.data.synth import SynthSpec, _Painter, make_video
from longlens.data.worker import DecoderFault

BACKENDS = ["decord", "pyav"]
FFMPEG, FFPROBE = shutil.which("ffmpeg"), shutil.which("ffprobe")


def _live_decoders() -> set[int]:
    return worker.live_pids()


def _idle_decoders() -> set[int]:
    return worker.idle_pids()


# ---------------------------------------------------------------- true timestamps


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["cfr", "vfr"])
def test_every_frame_has_its_true_pts_and_content(request, kind, backend):
    path, truth = request.getfixturevalue(f"{kind}_video")
    truth_t = np.array(truth.frame_times)
    # 5x the mean rate: every frame (VFR intervals >= 0.4 / fps) is on screen at some target
    frames = read_frames(path, FixedRate(truth.fps * 5), backend=backend, batch_size=50)
    assert len(frames) == len(truth_t)
    times = np.array([f.time for f in frames])
    assert np.abs(times - truth_t).max() < 1e-3  # well within one frame (>= 40 ms here)
    assert [f.index for f in frames] == list(range(len(truth_t)))
    codes = [block_code(f.image) for f in frames]
    assert codes == [k % 8 for k in range(len(truth_t))]  # the image is the frame drawn at that PTS


def test_a_probe_leaves_its_decoder_warm_for_the_next_request(cfr_video):
    """A probe returned from inside the worker's message loop, so the worker was killed as abandoned and every
    probe started a new one (~2 s each when indexing a library)."""
    path, _ = cfr_video
    probe(path)
    warm = _idle_decoders()
    assert warm, "the probe's worker was not kept"
    probe(path)
    assert _idle_decoders() & warm, "the second probe did not reuse a warm worker"


@pytest.mark.parametrize("backend", BACKENDS)
def test_probe_reports_rate_duration_and_vfr(cfr_video, vfr_video, backend):
    (cpath, ctruth), (vpath, vtruth) = cfr_video, vfr_video
    c = probe(cpath, backend=backend)
    assert (c.frames, c.width, c.height, c.codec, c.backend) == (300, 320, 180, "h264", backend)
    assert c.vfr is False and c.fps == pytest.approx(25.0, rel=1e-3)
    assert c.duration == pytest.approx(12.0, abs=1e-3)
    assert np.allclose(c.timestamps, ctruth.frame_times, atol=1e-3)
    v = probe(vpath, backend=backend)
    assert v.vfr is True and v.frames == len(vtruth.frame_times)
    assert np.allclose(v.timestamps, vtruth.frame_times, atol=1e-3)
    assert v.fps == pytest.approx((v.frames - 1) / vtruth.frame_times[-1], rel=1e-3)
    assert abs(v.duration - 30.0) < 0.2  # last frame's start + median interval
    assert c.to_dict()["timestamps"] == c.timestamps


def test_sampling_policies_pick_the_frame_on_screen(vfr_video):
    path, truth = vfr_video
    t = np.array(truth.frame_times)
    wanted = (0.0, 3.333, 7.05, 20.0, 29.9)
    frames = read_frames(path, AtTimes(wanted), backend="pyav")
    expect = sorted({int(np.searchsorted(t, x + 1e-3, side="right") - 1) for x in wanted})
    assert [f.index for f in frames] == expect
    assert all(f.time <= x + 1e-3 for f, x in zip(frames, sorted(wanted)))
    win = read_frames(path, Window(10.0, 12.0, fps=4.0), backend="decord")
    assert 6 <= len(win) <= 8 and all(9.6 < f.time < 12.0 for f in win)
    assert [f.time for f in win] == sorted(f.time for f in win)


# ---------------------------------------------------------------- the hour-long video


@pytest.mark.parametrize("backend", BACKENDS)
def test_hour_long_video_sampled_by_every_policy(hour_video, backend):
    path, spec, truth = hour_video
    n, batches = 0, []
    for batch in iter_frames(path, FixedRate(1.0), backend=backend, size=90, batch_size=256):
        batches.append(len(batch))
        assert batch[0].image.shape == (90, 160, 3) and batch[0].image.dtype == np.uint8
        assert [f.time for f in batch] == pytest.approx([f.index for f in batch], abs=1e-3)
        n += len(batch)
    assert n == 3600 and max(batches) == 256 and len(batches) == 15

    uni = read_frames(path, Uniform(12), backend=backend, size=90)
    assert [f.time for f in uni] == pytest.approx([150.0 + 300.0 * i for i in range(12)], abs=1e-3)

    at = read_frames(path, AtTimes((3599.5, 5.2, 1800.0)), backend=backend)
    assert [f.time for f in at] == pytest.approx([5.0, 1800.0, 3599.0], abs=1e-3)
    assert at[0].image.shape == (180, 320, 3)  # native size

    s, e, _ = HOUR_CAPTIONS[1]
    win = read_frames(path, Window(s - 5, e + 5, fps=0.5), backend=backend)
    assert [f.time for f in win] == pytest.approx(list(np.arange(s - 5, e + 5, 2.0)), abs=1e-3)
    # content: the caption is drawn exactly inside its window
    paint = _Painter(spec)
    for f in win:
        err = np.abs(f.image.astype(int) - paint.frame(f.time)).mean()
        off = np.abs(f.image.astype(int) - paint.frame(f.time + 60.0)).mean()
        assert err < 6 and err < off / 2, (f.time, err, off)


def test_stopping_early_ends_the_worker(hour_video):
    path, _, _ = hour_video
    it = iter_frames(path, FixedRate(1.0), batch_size=8)
    first = next(it)
    assert [f.index for f in first] == list(range(8))
    busy = _live_decoders() - _idle_decoders()
    assert len(busy) == 1
    it.close()
    assert not busy & _live_decoders()
    assert _live_decoders() == _idle_decoders()  # the abandoned worker was killed, not kept


def test_in_process_decoding_matches_isolated(cfr_video):
    path, _ = cfr_video
    a = read_frames(path, Uniform(7), backend="pyav", isolated=False)
    b = read_frames(path, Uniform(7), backend="pyav", isolated=True)
    assert [f.time for f in a] == [f.time for f in b]
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b))


def test_backend_names_and_versions():
    assert resolve_backend("auto") == "decord"
    assert resolve_backend("pyav") == "pyav"
    assert decoder_version("decord").startswith("decord-3.")
    assert decoder_version("pyav").startswith(f"pyav-{av.__version__}/lavc-")
    assert decoder_version("pyav").endswith("/frames-2")  # cache keys change with the rules of which frames count
    with pytest.raises(InputError, match="unknown decoder .opencv.; choose from auto, decord, pyav"):
        resolve_backend("opencv")


# ---------------------------------------------------------------- isolation


def test_crashing_decoder_raises_and_parent_survives(cfr_video):
    path, _ = cfr_video
    got = []
    with pytest.raises(VideoDecodeError, match="crashed \\(SIGSEGV\\)") as e:
        for batch in iter_frames(path, FixedRate(5.0), batch_size=10, backend="decord",
                                 fault=DecoderFault("crash", after_batches=1)):
            got.append(batch)
    assert str(path) in str(e.value) and e.value.reason == "crashed"
    assert len(got) == 1 and len(got[0]) == 10  # what came before the crash was delivered
    with pytest.raises(VideoDecodeError, match="crashed") as e:
        probe(path, fault=DecoderFault("crash"))  # "auto" retried with PyAV, whose worker crashed too
    assert e.value.reason == "crashed"
    assert probe(path).frames == 300  # and decoding works again afterwards


def test_hanging_decoder_is_killed_after_timeout(cfr_video):
    path, _ = cfr_video
    with pytest.raises(VideoDecodeError, match="hung \\(no progress for 1.5 s\\)") as e:
        read_frames(path, Uniform(3), backend="pyav", timeout=1.5, fault=DecoderFault("hang"))
    assert str(path) in str(e.value) and e.value.reason == "hung"
    assert _live_decoders() == _idle_decoders()  # the abandoned worker was killed, not kept
    # only a worker acts a fault out: in-process decoding refuses one rather than crash the caller
    with pytest.raises(InputError, match="isolated=True"):
        read_frames(path, Uniform(3), isolated=False, fault=DecoderFault("hang"))
    with pytest.raises(InputError, match="kind must be one of crash, hang"):
        DecoderFault("explode")


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("backend", ["auto", "decord", "pyav"])
def test_bad_inputs_raise_one_error_class_per_cause(tmp_path, cfr_video, backend):
    with pytest.raises(VideoNotFoundError, match="no such file"):
        probe(tmp_path / "missing.mp4", backend=backend)
    text = tmp_path / "notes.mp4"
    text.write_text("these are meeting notes, not a video\n" * 50)
    with pytest.raises(NotAVideoError, match="notes.mp4"):
        read_frames(text, Uniform(2), backend=backend)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(NoVideoStreamError, match="empty"):
        probe(empty, backend=backend)
    with pytest.raises(NotAVideoError, match="directory"):
        probe(tmp_path, backend=backend)


def _audio_only(path, rng) -> None:
    with av.open(str(path), "w") as out:
        s = out.add_stream("aac", rate=16000)
        s.layout = "mono"
        for i in range(20):
            f = av.AudioFrame.from_ndarray(rng.uniform(-0.3, 0.3, (1, 1024)).astype(np.float32),
                                           format="fltp", layout="mono")
            f.sample_rate, f.pts = 16000, i * 1024
            out.mux(s.encode(f))
        out.mux(s.encode(None))


def test_audio_only_file_has_no_video_stream(tmp_path, rng):
    path = tmp_path / "voice memo.m4a"
    _audio_only(path, rng)
    for backend in BACKENDS:
        with pytest.raises(NoVideoStreamError, match="only audio stream"):
            probe(path, backend=backend)


def test_unsupported_codec(tmp_path, cfr_video):
    """An MP4 whose sample entry names a codec no FFmpeg knows (as a proprietary camera codec would)."""
    data = bytearray(cfr_video[0].read_bytes())
    stsd = data.find(b"stsd")
    at = data.find(b"avc1", stsd)
    assert stsd > 0 and at > stsd
    data[at : at + 4] = b"xq7z"
    path = tmp_path / "camera.mp4"
    path.write_bytes(bytes(data))
    for backend in ["auto", *BACKENDS]:
        with pytest.raises(UnsupportedCodecError, match="does not recognise its codec"):
            read_frames(path, Uniform(2), backend=backend)


@pytest.mark.parametrize("backend", ["auto", *BACKENDS])
def test_truncated_file_gives_frames_before_the_damage_with_a_warning(tmp_path, hour_video, vfr_video, backend):
    path, _, truth = hour_video  # MP4 with its index in front (faststart)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.warns(TruncatedVideoWarning, match="cut short"):
        info = probe(cut, backend=backend)
    assert info.truncated and 900 < info.frames < 1500
    with pytest.warns(TruncatedVideoWarning):
        frames = read_frames(cut, FixedRate(0.01), backend=backend)  # every 100 s
    assert [f.time for f in frames] == pytest.approx([100.0 * i for i in range(len(frames))])
    assert len(frames) == int((info.frames - 1) // 100) + 1
    # Matroska cut in half: the demuxer stops at the damage
    mkv = vfr_video[0].read_bytes()
    cut_mkv = tmp_path / "cut.mkv"
    cut_mkv.write_bytes(mkv[: len(mkv) // 2])
    with pytest.warns(TruncatedVideoWarning):
        info = probe(cut_mkv, backend=backend)
    assert info.truncated and 0 < info.frames < len(vfr_video[1].frame_times)
    assert np.allclose(info.timestamps, vfr_video[1].frame_times[: info.frames], atol=1e-3)
    with pytest.warns(TruncatedVideoWarning):
        last = read_frames(cut_mkv, AtTimes((info.timestamps[-1],)), backend=backend)
    assert [f.index for f in last] == [info.frames - 1]


def test_truncated_file_without_index_cannot_be_recovered(tmp_path):
    path = tmp_path / "unfinished.mp4"
    make_video(path, SynthSpec(duration=20.0, size=(64, 64), faststart=False), show_progress=False)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the index ('moov') was to be written at the end
    for backend in ["auto", *BACKENDS]:
        with pytest.raises(TruncatedVideoError, match="no frames can be recovered"):
            probe(path, backend=backend)


def test_unicode_and_spaces_in_paths(tmp_path, cfr_video):
    path = tmp_path / "vidéos d'été 夏" / "clip № 1 — final.mp4"
    path.parent.mkdir()
    shutil.copy(cfr_video[0], path)
    for backend in BACKENDS:
        assert probe(path, backend=backend).frames == 300
        assert [f.index for f in read_frames(path, AtTimes((1.0, 2.0)), backend=backend)] == [25, 50]


def test_bad_arguments_are_input_errors(cfr_video):
    path, _ = cfr_video
    with pytest.raises(InputError):
        iter_frames(path, FixedRate(1.0), size=0)
    with pytest.raises(InputError):
        iter_frames(path, FixedRate(1.0), batch_size=0)
    with pytest.raises(InputError, match="sampling must be"):
        iter_frames(path, 1.0)
    with pytest.raises(InputError, match="past the end"):
        read_frames(path, AtTimes((5.0, 99.0)))
    with pytest.raises(InputError, match="past the end"):
        read_frames(path, Window(50.0, 60.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a sound file raises no warnings
        assert len(read_frames(path, Window(11.0, 60.0, fps=2))) == 2  # end clipped to the video
    assert os.path.exists(path)


# ---------------------------------------------------------------- edit lists (stream-copy cuts)


def _ffprobe_frame_times(path) -> list[float]:
    """pts_time of every frame ffprobe decodes (the frames players show)."""
    out = subprocess.run([FFPROBE, "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=pts_time",
                          "-of", "csv=p=0", str(path)], check=True, capture_output=True, text=True).stdout
    return [float(x) for x in out.split()]


@pytest.fixture(scope="module")
def cut_video(tmp_path_factory, cfr_video):
    """cfr_video cut at 3.3 s by stream copy: an MP4 whose edit list starts 8 frames after the keyframe at 3 s."""
    if FFMPEG is None or FFPROBE is None:
        pytest.skip("needs the ffmpeg and ffprobe programs")
    path = tmp_path_factory.mktemp("cut") / "cut at 3.3.mp4"
    subprocess.run([FFMPEG, "-v", "error", "-ss", "3.3", "-i", str(cfr_video[0]), "-c", "copy", str(path)], check=True)
    return path


@pytest.mark.parametrize("backend", ["auto", "pyav"])
def test_stream_copy_cut_has_only_the_frames_players_show(cut_video, backend):
    shown = _ffprobe_frame_times(cut_video)
    count = subprocess.run([FFPROBE, "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                            "stream=nb_read_frames", "-of", "csv=p=0", str(cut_video)],
                           check=True, capture_output=True, text=True).stdout
    assert len(shown) == int(count) == 300 - 83  # the cut starts at frame 83 (3.32 s)
    info = probe(cut_video, backend=backend)
    assert (info.frames, info.truncated, info.backend) == (len(shown), False, "pyav")
    assert np.allclose(info.timestamps, shown, atol=1e-3) and info.timestamps[0] == 0.0  # ffprobe's clock
    assert info.duration == pytest.approx(len(shown) / 25.0, abs=1e-3)
    frames = read_frames(cut_video, FixedRate(50.0), backend=backend, batch_size=100)
    assert [f.index for f in frames] == list(range(len(shown)))
    assert np.allclose([f.time for f in frames], shown, atol=1e-3) and frames[0].time == 0.0
    assert [block_code(f.image) for f in frames] == [(83 + k) % 8 for k in range(len(shown))]  # the right pictures
    at = read_frames(cut_video, AtTimes((5.0, 0.0, 1.0)), backend=backend)
    assert [(f.index, block_code(f.image)) for f in at] == [(0, 83 % 8), (25, 108 % 8), (125, 208 % 8)]


def test_decord_declines_a_stream_copy_cut(cut_video):
    """decord lists the cut-away frames at negative times and returns wrong pictures for such files."""
    with pytest.raises(VideoDecodeError, match="edit list cuts away the first 8 frames") as e:
        probe(cut_video, backend="decord")
    assert e.value.reason == "failed"
