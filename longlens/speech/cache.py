"""Transcripts in the content-keyed cache: cache_dir/speech/transcript-<key>/ (manifest + transcript.json).

The key covers the audio (the file's content hash and the track), the recogniser (name + weights hash),
the VAD and decoding settings, and SCHEMA; changing any of them misses, and a second call with the same ones
reads the entry instead of running Whisper.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from longlens.core.errors import CacheError
from longlens.core.io import read_entry, write_entry
from longlens.speech.transcript import Transcript

log = logging.getLogger(__name__)

SCHEMA = 1  # bump when the transcript layout or the way it is computed changes
FORMAT = "longlens-transcript"
FILE = "transcript.json"

# Files are identified by a sample of their bytes, as the retrieval cache does (longlens.retrieval.cache).



def entry_key(fields: dict) -> str:
    blob = json.dumps({**fields, "schema": SCHEMA}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def entry_dir(cache_dir: Path, fields: dict) -> Path:
    return Path(cache_dir) / "speech" / f"transcript-{entry_key(fields)}"


def load(cache_dir: Path, fields: dict) -> Transcript | None:
    """The cached transcript for `fields`, or None (absent; a damaged entry is logged and treated as absent)."""
    folder = entry_dir(cache_dir, fields)
    if not folder.exists():
        return None
    try:
        _, blobs = read_entry(folder, expect={"format": FORMAT, "schema": SCHEMA})
        return Transcript.from_dict(json.loads(blobs[FILE]))
    except (CacheError, KeyError, TypeError, ValueError) as e:
        log.warning("%s: unusable cached transcript, transcribing again (%s)", folder, e)
        return None


def store(cache_dir: Path, fields: dict, transcript: Transcript) -> Path:
    data = json.dumps(transcript.to_dict(), ensure_ascii=False).encode()
    return write_entry(entry_dir(cache_dir, fields), {FILE: data},
                       {"format": FORMAT, "schema": SCHEMA, "key": fields})
