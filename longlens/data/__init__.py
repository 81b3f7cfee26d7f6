"""Video decoding with true timestamps, synthetic videos and datasets. (Errors, Frame, Segment and the atomic
writers live in longlens.core; the benchmarks' metrics in longlens.eval.)"""
from longlens.data.datasets import (
    GroundingSample,
    QASample,
    load_activitynet,
    load_charades_sta,
    load_grounding,
    load_mcq,
    load_qvhighlights,
    read_jsonl,
    write_activitynet,
    write_charades_sta,
    write_grounding,
    write_jsonl,
    write_mcq,
    write_qvhighlights,
)
from longlens.data.decoders import VideoInfo
from longlens.data.sampling import AtTimes, FixedRate, Sampling, Uniform, Window, select_frames
from longlens.data.synth import Caption, Picture, SynthSpec, SynthTruth, demo_spec, make_picture, make_video
from longlens.data.video import decoder_version, iter_frames, probe, read_frames, resolve_backend

__all__ = [
    "AtTimes",
    "Caption",
    "FixedRate",
    "GroundingSample",
    "Picture",
    "QASample",
    "Sampling",
    "SynthSpec",
    "SynthTruth",
    "Uniform",
    "VideoInfo",
    "Window",
    "decoder_version",
    "demo_spec",
    "iter_frames",
    "load_activitynet",
    "load_charades_sta",
    "load_grounding",
    "load_mcq",
    "load_qvhighlights",
    "make_picture",
    "make_video",
    "probe",
    "read_frames",
    "read_jsonl",
    "resolve_backend",
    "select_frames",
    "write_activitynet",
    "write_charades_sta",
    "write_grounding",
    "write_jsonl",
    "write_mcq",
    "write_qvhighlights",
]
