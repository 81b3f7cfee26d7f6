"""Real video files for the data-layer tests, made once per session by our own generator."""
from __future__ import annotations

import pytest
from datalayer_helpers import HOUR_CAPTIONS, coded_spec

from longlens.data.synth import Caption, SynthSpec, make_video


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="session")
def cfr_video(video_dir):
    """25 fps CFR, 12 s, B-frames, a keyframe every second; every frame colour-coded."""
    path = video_dir / "cfr 25fps.mp4"
    return path, make_video(path, coded_spec(12.0, 25.0, vfr=False, seed=1), show_progress=False)


@pytest.fixture(scope="session")
def vfr_video(video_dir):
    """VFR around 10 fps (intervals 40..160 ms), 30 s, in Matroska; every frame colour-coded."""
    path = video_dir / "vfr 10fps.mkv"
    return path, make_video(path, coded_spec(30.0, 10.0, vfr=True, seed=2), show_progress=False)


@pytest.fixture(scope="session")
def hour_video(video_dir):
    """A 60-minute 1-fps video (3600 frames, 320x180) with two captions at known times."""
    path = video_dir / "hour long.mp4"
    spec = SynthSpec(duration=3600.0, fps=1.0, size=(320, 180), seed=3,
                     captions=[Caption(s, e, t) for s, e, t in HOUR_CAPTIONS])
    return path, spec, make_video(path, spec, show_progress=False)
