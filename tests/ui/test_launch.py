import pytest

from longlens.cli import main
from longlens.core.errors import InputError
from longlens.core.progress import progress, report_progress
from longlens.ui.app import parse_args
from longlens.ui.config import ExplorerConfig
from longlens.ui.launch import APP, run_ui, ui_command


def test_command_line_serves_the_app_headless_on_the_port(tmp_path):
    config = ExplorerConfig(tmp_path / "lib", tmp_path / "cache", max_upload_mb=300)
    cmd = ui_command(config, 8612)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == str(APP) and APP.is_file()
    opts = dict(zip(cmd[5:cmd.index("--")][::2], cmd[5:cmd.index("--")][1::2]))
    assert opts["--server.port"] == "8612" and opts["--server.headless"] == "true"
    assert opts["--browser.gatherUsageStats"] == "false" and opts["--server.address"] == "localhost"
    assert opts["--server.maxUploadSize"] == "300"
    args = cmd[cmd.index("--") + 1:]
    assert args == ["--library", str(tmp_path / "lib"), "--cache", str(tmp_path / "cache"), "--max-upload-mb", "300"]
    assert parse_args(args) == config  # what the app makes of it


def test_environment_read_at_the_edge_only(tmp_path, monkeypatch):
    monkeypatch.setenv("LONGLENS_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("LONGLENS_PROGRESS", "0")
    config = parse_args(["--library", str(tmp_path / "videos")])
    assert (config.library, config.cache, config.progress) == (tmp_path / "videos", tmp_path / "c", False)
    assert config.webm == tmp_path / "c" / "webm"
    home = ExplorerConfig.from_env(env={"LONGLENS_HOME": str(tmp_path / "h")})
    assert (home.library, home.cache, home.progress) == (tmp_path / "h" / "library", tmp_path / "h" / "cache", None)


@pytest.mark.parametrize("kwargs, message", [({"port": 0}, "port"), ({"port": 70000}, "port"),
                                             ({"max_upload_mb": 0}, "max_upload_mb")])
def test_bad_arguments_refused(tmp_path, kwargs, message):
    with pytest.raises(InputError, match=message):
        run_ui(tmp_path, **kwargs)


def test_library_that_is_a_file_refused(tmp_path, capsys):
    f = tmp_path / "videos.mp4"
    f.write_bytes(b"x")
    assert main(["ui", "--library", str(f), "--port", "8613"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_progress_reaches_a_page_callback():
    seen = []
    with report_progress(lambda done, total, desc: seen.append((done, total, desc))):
        for _ in progress(range(3), desc="frames"):
            pass
        with progress(total=10, desc="index") as bar:
            bar.update(4)
            bar.update(6)
    assert seen == [(1, 3, "frames"), (2, 3, "frames"), (3, 3, "frames"), (4, 10, "index"), (10, 10, "index")]
    assert list(progress(range(2))) == [0, 1]  # no listener: a plain bar
