import os

import pytest
import torch

# Without a GPU, Triton kernels can only run in the interpreter, which must be switched on before any
# kernel is decorated (i.e. before longlens.kernels' Triton modules are imported).
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Each test gets its own longlens home (cache, library), never the user's."""
    home = tmp_path_factory.mktemp("longlens_home")
    monkeypatch.setenv("LONGLENS_HOME", str(home))
    monkeypatch.delenv("LONGLENS_CACHE", raising=False)
    monkeypatch.delenv("LONGLENS_LIBRARY", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    yield home
