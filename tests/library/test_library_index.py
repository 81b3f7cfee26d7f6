"""`index_library`: status rows, the library index on disk, incremental add / replace / remove, resuming after a
crash, damaged shards, two indexers at once, and the Ray engine."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from library_helpers import ids_by_video, make_clip, shard_ids, texts_of

from longlens.core.errors import CacheError
from longlens.library import LibraryIndex, check_library, default_folder, index_library, search_library
from longlens.library import build as build_mod

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def inline(monkeypatch):
    """One video per engine run: the local engine then runs it in this process (no pool to start)."""
    monkeypatch.setattr(build_mod, "CHUNK", 1)


def _valid(root, config) -> LibraryIndex:
    """The library index of `root`, checked: every shard read byte by byte, counts agree, ids match the shards."""
    rows = list(check_library(default_folder(root), sorted(root.glob("*.mp4")), config=config, root=root))
    assert [r["status"] for r in rows] == ["ok"] * len(rows), rows
    lib = LibraryIndex.open(default_folder(root))
    assert shard_ids(lib) == set(lib.table["ids"].tolist())
    return lib


def test_index_rows_and_library_index(indexed_library, lib_config):
    rows = {Path(r["video"]).name: r for r in indexed_library["rows"]}
    assert set(rows) == {"a.mp4", "b.mp4", "c.mp4"}
    for r in rows.values():
        assert r["status"] in ("ok", "cached") and r["frames"] == 20 and r["channels"] == ["ocr"]
        assert r["vectors"]["ocr"] >= 1  # the caption's line
    lib = _valid(indexed_library["root"], lib_config)
    assert sorted(lib.videos) == ["a.mp4", "b.mp4", "c.mp4"]
    assert any("8142" in t for t in texts_of(lib, "a.mp4")) and not any("8142" in t for t in texts_of(lib, "b.mp4"))
    again = list(index_library([indexed_library["root"]], config=lib_config))
    assert [r["status"] for r in again] == ["cached"] * 3  # merged with the same content: skipped


def test_unreadable_file_is_an_error_row_and_the_rest_goes_on(library_copy, lib_config, inline):
    bad = library_copy / "broken.mp4"
    bad.write_bytes(os.urandom(4000))
    rows = {Path(r["video"]).name: r for r in index_library([library_copy], config=lib_config)}
    assert rows["broken.mp4"]["status"] == "error" and rows["broken.mp4"]["error"]
    assert all(rows[n]["status"] in ("ok", "cached") for n in ("a.mp4", "b.mp4", "c.mp4"))
    assert sorted(LibraryIndex.open(default_folder(library_copy)).videos) == ["a.mp4", "b.mp4", "c.mp4"]


def test_incremental_add_replace_remove_touch_only_that_video(library_copy, lib_config, inline, rng):
    list(index_library([library_copy], config=lib_config))
    before = ids_by_video(LibraryIndex.open(default_folder(library_copy)))

    truth = make_clip(library_copy / "d.mp4", 7, rng)  # add
    rows = {Path(r["video"]).name: r["status"] for r in index_library([library_copy], config=lib_config)}
    assert rows == {"a.mp4": "cached", "b.mp4": "cached", "c.mp4": "cached", "d.mp4": "ok"}
    lib = _valid(library_copy, lib_config)
    after = ids_by_video(lib)
    assert {n: after[n] for n in before} == before  # the others' ids untouched
    assert after["d.mp4"] and not after["d.mp4"] & set().union(*before.values())
    hits = search_library(library_copy, truth["fact"].lower(), k=3, config=lib_config)
    assert hits and Path(hits[0].video).name == "d.mp4"

    make_clip(library_copy / "b.mp4", 1, rng)  # replace: another caption, new content key
    rows = {Path(r["video"]).name: r["status"] for r in index_library([library_copy], config=lib_config)}
    assert rows["b.mp4"] == "ok" and [rows[n] for n in ("a.mp4", "c.mp4", "d.mp4")] == ["cached"] * 3
    lib = _valid(library_copy, lib_config)
    replaced = ids_by_video(lib)
    assert replaced["b.mp4"] and not replaced["b.mp4"] & after["b.mp4"]  # all new ids
    assert {n: replaced[n] for n in ("a.mp4", "c.mp4", "d.mp4")} == {n: after[n] for n in ("a.mp4", "c.mp4", "d.mp4")}

    (library_copy / "c.mp4").unlink()  # remove
    rows = {Path(r["video"]).name: r["status"] for r in index_library([library_copy], config=lib_config)}
    assert rows["c.mp4"] == "removed"
    lib = _valid(library_copy, lib_config)
    assert "c.mp4" not in lib.videos and ids_by_video(lib) == {n: replaced[n] for n in ("a.mp4", "b.mp4", "d.mp4")}
    assert not shard_ids(lib) & replaced["c.mp4"]  # gone from the FAISS shards too (remove_ids)


def test_a_crashed_run_resumes_without_redoing_what_was_merged(library_copy, lib_config, inline, monkeypatch):
    merged = []
    real = build_mod._merge

    def crash_on_second(lib, merger, row, config):
        if merged:
            raise RuntimeError("driver killed")  # as a crash of the indexing process after one commit
        merged.append(row["video"])
        return real(lib, merger, row, config)

    monkeypatch.setattr(build_mod, "_merge", crash_on_second)
    with pytest.raises(RuntimeError, match="driver killed"):
        list(index_library([library_copy], config=lib_config))
    assert list(LibraryIndex.open(default_folder(library_copy)).videos) == [Path(merged[0]).name]
    monkeypatch.setattr(build_mod, "_merge", real)
    rows = {Path(r["video"]).name: r for r in index_library([library_copy], config=lib_config)}
    first = Path(merged[0]).name
    assert rows[first]["status"] == "cached" and "frames" not in rows[first]  # skipped: merged before the crash
    assert all("frames" in r for n, r in rows.items() if n != first)
    assert sorted(_valid(library_copy, lib_config).videos) == ["a.mp4", "b.mp4", "c.mp4"]


def test_truncated_shard_names_the_file_and_rebuild_fixes_it(library_copy, lib_config, inline):
    list(index_library([library_copy], config=lib_config))
    lib = LibraryIndex.open(default_folder(library_copy))
    shard = default_folder(library_copy) / "shards" / lib.shards["ocr"][-1] / "index.faiss"
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 2])
    with pytest.raises(CacheError, match=str(shard)):
        search_library(library_copy, "the vault code", config=lib_config)
    with pytest.raises(CacheError, match=str(shard)):
        list(index_library([library_copy], config=lib_config, check=True))
    rows = list(index_library([library_copy], config=lib_config, rebuild=True))
    assert [r["status"] for r in rows] == ["cached"] * 3  # from the caches: nothing computed
    _valid(library_copy, lib_config)
    assert not shard.exists()


CHILD = """
import sys
from longlens.library import build, index_library
from longlens.retrieval import RetrievalConfig
build.CHUNK = 1
print("start", flush=True)
sys.stdin.readline()
config = RetrievalConfig(cache_dir=sys.argv[2], channels=("ocr",), progress=False)
rows = list(index_library([sys.argv[1]], config=config))
print(" ".join(sorted(r["status"] for r in rows)), flush=True)
"""


def test_two_indexers_at_once_leave_a_valid_index(library_copy, lib_config, library_cache):
    """Two processes index the same library, released together: the writer lock serialises them; the index is
    complete and consistent, every video merged once."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(library_copy), str(library_cache)], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "start"
        for p in procs:  # both go at once
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [p.communicate(timeout=300)[0].strip() for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0, 0]
    assert sorted(outs)[0] == "cached cached cached"  # the second to get the lock found everything merged
    lib = _valid(library_copy, lib_config)
    assert sorted(lib.videos) == ["a.mp4", "b.mp4", "c.mp4"]
    assert len(lib.table["ids"]) == sum(sum(v["vectors"].values()) for v in lib.videos.values())


def test_ray_engine_builds_the_same_library_index(library_copy, indexed_library, lib_config, tmp_path):
    import ray  # the `ray` extra, which `make test` installs

    try:
        rows = list(index_library([library_copy], engine="ray", workers=2, config=lib_config,
                                  index=tmp_path / "ray-index"))
    finally:
        ray.shutdown()
    assert sorted(r["status"] for r in rows) == ["cached"] * 3 and all(r["frames"] == 20 for r in rows)
    ray_lib = LibraryIndex.open(tmp_path / "ray-index", root=library_copy)
    local = LibraryIndex.open(default_folder(indexed_library["root"]))
    assert {n: v["vectors"] for n, v in ray_lib.videos.items()} == {n: v["vectors"] for n, v in local.videos.items()}
    assert sorted(ray_lib.texts) == sorted(local.texts)
    q = ray_lib.shard(ray_lib.shards["ocr"][0]).vectors_of()[1][0]
    assert [h[:3] for h in ray_lib.search("ocr", q, 3)] == [h[:3] for h in local.search("ocr", q, 3)]
