"""`transcribe(video, config=...)`: what is said in a video, with word times on its clock, cached."""
from __future__ import annotations

import dataclasses
import logging
import os
import time

from longlens.core.io import content_hash
from longlens.data.audio import iter_audio, pick_track, probe_audio
from longlens.speech import asr, cache, models
from longlens.speech.config import SpeechConfig
from longlens.speech.transcript import Transcript

log = logging.getLogger(__name__)


def cache_fields(path: str, track: int, model_identity: str, config: SpeechConfig, compute_type: str) -> dict:
    """What a transcript depends on: the cache key's fields."""
    return {
        "audio": content_hash(path), "track": track, "model": model_identity, "compute_type": compute_type,
        "language": config.language, "beam_size": config.beam_size, "vad": dict(asr.VAD) if config.vad else None,
        "decoding": asr.DECODING, "window": [asr.WINDOW_S, asr.SEARCH_S],
    }


def transcribe(video: str | os.PathLike, *, config: SpeechConfig | None = None) -> Transcript:
    """The transcript of `video`'s audio track `config.audio_track` (default: its default track).

    Raises NoAudioStreamError (longlens.data.audio) when the video has no audio, InputError for a track or
    language that does not exist, ModelUnavailableError when the Whisper weights are missing or fail their
    check, and the VideoError subclasses for files that are not readable videos. A damaged audio stream gives
    the transcript of what decodes before the damage, with a TruncatedVideoWarning.
    """
    config = config or SpeechConfig()
    path = os.fspath(video)
    stream = pick_track(probe_audio(path), config.audio_track, path)
    device = config.resolved_device()
    compute_type = config.resolved_compute_type(device)
    files = None
    identity = models.identity(config.model)
    if identity is None:  # a folder or hub id: its identity is the hash of the weights it holds
        files = models.resolve(config.model, config.cache_dir)
        identity = files.identity
    fields = cache_fields(path, stream.track, identity, config, compute_type)
    hit = cache.load(config.cache_dir, fields)
    if hit is not None:
        log.info("%s: transcript from the cache", path)
        return dataclasses.replace(hit, video=path)

    files = files or models.resolve(config.model, config.cache_dir)
    whisper = asr.load_whisper(str(files.path), device, compute_type)
    asr.check_language(whisper, config.language)
    t0 = time.perf_counter()
    utterances, language, probability, seconds, speech = asr.recognize(
        iter_audio(path, track=stream.track), whisper, config, total=stream.duration)
    wall = time.perf_counter() - t0
    log.info("%s: transcribed %.0f s of audio (%.0f s of speech) in %.1f s with Whisper %s on %s/%s", path, seconds,
             speech, wall, config.model, device, compute_type)
    transcript = Transcript(video=path, language=language, language_probability=probability,
                            model=f"{config.model}@{identity.rsplit('@', 1)[-1][:12]}", track=stream.track,
                            duration=seconds, speech=speech, utterances=utterances)
    cache.store(config.cache_dir, fields, transcript)
    return transcript
