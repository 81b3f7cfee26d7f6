"""The hub check decides offline in milliseconds: by request, or because the endpoint cannot be reached."""
import socket
import time

from longlens.core import hub


def test_offline_when_asked(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.hub_offline()


def test_offline_when_the_endpoint_refuses_and_online_when_it_listens(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    for v in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(v, raising=False)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
        assert not hub.hub_offline()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    t = time.perf_counter()
    assert hub.hub_offline()
    assert time.perf_counter() - t < 10  # not the hub client's minute of retries
    with hub.hub_mode() as offline:
        from huggingface_hub import constants

        assert offline and constants.HF_HUB_OFFLINE
