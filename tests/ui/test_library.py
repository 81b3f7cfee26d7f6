import io
import os

import pytest

from longlens.core.errors import InputError, UnsafePathError
from longlens.ui.library import list_files, safe_path, save_upload


@pytest.fixture
def lib(tmp_path):
    root = tmp_path / "library"
    (root / "sub").mkdir(parents=True)
    (root / "a.mp4").write_bytes(b"a" * 10)
    (root / "sub" / "b.webm").write_bytes(b"b" * 20)
    (root / "notes.txt").write_text("not a video")
    (root / ".hidden.mp4").write_bytes(b"h")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.mp4").write_bytes(b"s")
    os.symlink(outside / "secret.mp4", root / "escape.mp4")
    os.symlink(outside, root / "escape_dir")
    os.symlink(root / "a.mp4", root / "alias.mp4")  # a link that stays inside is fine
    return root


def test_listing_shows_videos_inside_only(lib):
    names = [f.name for f in list_files(lib)]
    assert names == ["a.mp4", "alias.mp4", "sub/b.webm"]
    sizes = {f.name: f.size for f in list_files(lib)}
    assert sizes["sub/b.webm"] == 20
    assert list_files(lib.parent / "missing") == []


@pytest.mark.parametrize("name", ["../outside/secret.mp4", "sub/../../outside/secret.mp4", "/etc/passwd",
                                  "\\\\server\\share\\x.mp4", "C:\\x.mp4", "~/x.mp4", "", "   ",
                                  "escape.mp4", "escape_dir/secret.mp4", "sub\\..\\..\\x.mp4"])
def test_traversal_refused(lib, name):
    with pytest.raises(UnsafePathError):
        safe_path(lib, name)


def test_safe_path_resolves_inside(lib):
    assert safe_path(lib, "sub/b.webm") == (lib / "sub" / "b.webm").resolve()
    assert safe_path(lib, "alias.mp4") == (lib / "a.mp4").resolve()


def test_upload_saved_atomically_without_overwrite(lib, rng):
    data = rng.bytes(3000)
    p1 = save_upload(lib, "clip.mp4", io.BytesIO(data))
    p2 = save_upload(lib, "clip.mp4", data)
    assert p1.name == "clip.mp4" and p2.name == "clip (1).mp4"
    assert p1.read_bytes() == data and p2.read_bytes() == data
    assert not [f for f in os.listdir(lib) if f.endswith(".tmp")]


def test_upload_name_cannot_escape(lib):
    p = save_upload(lib, "../../evil.mp4", b"x")
    assert p.parent == lib and p.name == "evil.mp4"
    with pytest.raises(UnsafePathError):
        save_upload(lib, "..", b"x")
    with pytest.raises(InputError, match="accepted types"):
        save_upload(lib, "run.sh", b"x")


def test_upload_size_limit(lib, rng):
    with pytest.raises(InputError, match="upload limit"):
        save_upload(lib, "big.mp4", rng.bytes(2000), max_bytes=1000)

    class Stream(io.BytesIO):  # a stream that does not tell its size up front
        size = None

    with pytest.raises(InputError, match="upload limit"):
        save_upload(lib, "big.mp4", Stream(rng.bytes(3 << 20)), max_bytes=1 << 20)
    assert not any(f.startswith(("big", ".big")) for f in os.listdir(lib))
