"""Speech: what is said in a video, as a transcript with word times on the video's clock.

Sits between longlens.data (which decodes the audio) and longlens.retrieval (which will search it).
Importing this package loads no model: faster-whisper is imported on the first transcription.
"""
from longlens.core.errors import NoAudioStreamError
from longlens.data.audio import AudioStream, probe_audio
from longlens.speech.config import SpeechConfig
from longlens.speech.transcriber import transcribe
from longlens.speech.transcript import FORMATS, Transcript, Utterance, Word, render, save

__all__ = [
    "AudioStream",
    "FORMATS",
    "NoAudioStreamError",
    "SpeechConfig",
    "Transcript",
    "Utterance",
    "Word",
    "probe_audio",
    "render",
    "save",
    "transcribe",
]
