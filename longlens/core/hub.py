"""Whether the model hub can be used right now, decided in milliseconds.

huggingface_hub reads HF_HUB_OFFLINE once, at import, and on a machine without network it spends close to
a minute retrying each file before it fails. We decide once per process instead: offline when
HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE say so (as set now), or when a TCP connection to the hub's endpoint
(or to the HTTPS proxy, when one is set) fails within two seconds. Models then load from local files only.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import socket
from collections.abc import Iterator
from urllib.parse import urlparse

from longlens.core import env

log = logging.getLogger(__name__)

def offline_requested() -> bool:
    return env.hub_offline_requested()


@functools.cache
def _reachable(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError as e:
        log.info("model hub unreachable (%s:%d: %s): loading models from local files only", host, port, e)
        return False


def hub_offline() -> bool:
    """True when models must come from local files (asked for, or the hub cannot be reached)."""
    if offline_requested():
        return True
    url = urlparse(env.hub_url())
    if not url.hostname:
        return False
    return not _reachable(url.hostname, url.port or (443 if url.scheme == "https" else 80))


@contextlib.contextmanager
def hub_mode() -> Iterator[bool]:
    """Within the block, huggingface_hub is offline exactly when `hub_offline()`; yields that."""
    offline = hub_offline()
    from huggingface_hub import constants

    old = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = old or offline
    try:
        yield offline
    finally:
        constants.HF_HUB_OFFLINE = old
