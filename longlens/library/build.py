"""`longlens index`: index every video of a library (per-video caches, as `Retriever.index`), on a batch engine
(pipeline.engines: a local process pool or Ray, one model load per worker), and merge each video's vectors into
the library index on the driver (library.store), incrementally: a video already merged with the same content
is skipped, a changed one replaced, a deleted one removed.

Resumable: the per-video caches are written as each video finishes, and the library index is committed after
every chunk of CHUNK videos (and at the end), so a re-run after Ctrl-C or a crash skips what was merged and
reads the rest from the caches.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from longlens.core.errors import CacheError, InputError
from longlens.core.io import content_hash, read_manifest
from longlens.core.progress import progress
from longlens.core.registry import ENGINES
from longlens.library.store import LibraryIndex, default_folder, writer
from longlens.library.vectors import video_vectors
from longlens.pipeline.batch import VideoTask, error_text
from longlens.pipeline.engines import run_engine
from longlens.pipeline.jobs import Job
from longlens.retrieval.config import RetrievalConfig
from longlens.retrieval.jobs import index_summary
from longlens.retrieval.retriever import Retriever, probe_record

log = logging.getLogger(__name__)
CHUNK = 64  # videos per engine run: the library index is committed after each (what a crash can cost)


@dataclass
class IndexTask(VideoTask):
    """One video: build its cache (VideoTask indexes it; one Retriever, i.e. one model load, per worker)."""

    def item(self, state, index, job: Job) -> dict:
        from longlens.data import probe

        return {**index_summary(index), "probe": probe_record(probe(job.video, backend=self.config.backend))}


def video_files(paths, *, recursive: bool = False) -> tuple[Path, list[Path], list[dict]]:
    """(library folder, video files, error rows for paths that are not there). The library folder is the one
    folder given, else the deepest folder holding everything given. Hidden files and folders are skipped."""
    from longlens.core.paths import VIDEO_EXTS

    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    if not paths:
        raise InputError("give a library folder or one or more videos")
    files, errors = [], []
    for p in paths:
        if p.is_dir():
            pattern = "**/*" if recursive else "*"
            found = [f for f in p.glob(pattern) if f.is_file() and f.suffix.lower() in VIDEO_EXTS
                     and not any(part.startswith(".") for part in f.relative_to(p).parts)]
            files += sorted(found)
        elif p.exists():
            files.append(p)
        else:
            errors.append({"video": str(p), "status": "error", "error": "no such file or folder", "vectors": {},
                           "seconds": 0.0})
    if len(paths) == 1 and paths[0].is_dir():
        root = paths[0]
    else:
        root = Path(os.path.commonpath([str((p if p.is_dir() else p.parent).absolute()) for p in paths]))
    seen, unique = set(), []
    for f in files:
        if f.absolute() not in seen:
            seen.add(f.absolute())
            unique.append(f)
    return root, unique, errors


def library_config(config: RetrievalConfig) -> dict:
    """What of the retrieval config makes a library's vectors (a change re-merges every video)."""
    return {"fps": config.fps, "size": config.size, "channels": list(config.channels)}


def _stat(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime": st.st_mtime_ns}


def _unchanged(lib: LibraryIndex, name: str, path: Path, config: RetrievalConfig) -> bool:
    """Whether the video is merged with the same content (size + mtime, else its content hash)."""
    rec = lib.videos.get(name)
    if rec is None:
        return False
    st = _stat(path)
    if st == {"size": rec.get("size"), "mtime": rec.get("mtime")}:
        return True
    if content_hash(path, full=config.full_hash) == rec.get("content"):
        rec.update(st)  # touched, not changed
        return True
    return False


def index_library(paths, *, recursive: bool = False, engine: str = ENGINES.default, workers: int | None = None,
                  address: str | None = None, index: Path | None = None, config: RetrievalConfig | None = None,
                  check: bool = False, rebuild: bool = False, show: bool | None = None) -> Iterator[dict]:
    """Index a library (folders and/or videos) and keep its library index current -> a status row per video:
    {"video", "status": "ok" | "cached" | "error" | "removed", "error"?, "vectors": {channel: n}, "seconds",
    + what indexing did (frames, channels, cached, computed, ocr_calls) for the videos the engine ran}.

    engine / workers / address: the batch engine (core.registry.ENGINES; address "auto" joins a Ray cluster).
    index: the library index folder (default <library>/.longlens/index). check=True: change nothing, report
    each video as "ok" or "stale" (see `check_library`). rebuild=True: a fresh library index from the caches.
    show: the progress bar over the library (None: when stderr is a terminal)."""
    ENGINES.check(engine)
    config = config or RetrievalConfig()
    root, files, missing = video_files(paths, recursive=recursive)
    folder = Path(index) if index is not None else default_folder(root)
    if check:
        yield from missing
        yield from check_library(folder, files, config=config, root=root)
        return
    yield from missing
    with writer(folder):
        lib = _fresh(folder, root) if rebuild else LibraryIndex.open(folder, root=root)
        settings = library_config(config)
        if lib.videos and lib.config and lib.config != settings:
            log.warning("%s: indexed with %s, now %s: every video is merged again", folder, lib.config, settings)
            for name in list(lib.videos):
                lib.remove_video(name)
        lib.config = settings
        removed = [name for name in lib.videos if not lib.path(name).is_file()]
        for name in removed:
            lib.remove_video(name)
        if removed:
            lib.commit()
        for name in removed:
            yield {"video": str(lib.path(name)), "status": "removed", "vectors": {}, "seconds": 0.0}
        todo = []
        for f in files:
            name = lib.name(f)
            if _unchanged(lib, name, f, config):
                yield {"video": str(f), "status": "cached", "vectors": lib.videos[name]["vectors"], "seconds": 0.0}
            else:
                todo.append(f)
        bar = progress(total=len(files), initial=len(files) - len(todo), desc="index library", unit="video",
                       show=config.progress if show is None else show)
        with bar:
            merger = Retriever(config)  # reads the caches the workers wrote (no model: every part is cached)
            rows: list[dict] = []

            def emit(row: dict) -> None:
                rows.append(_merge(lib, merger, row, config))
                bar.update(1)

            task = IndexTask(config=config)
            for a in range(0, len(todo), CHUNK):
                groups = {str(f): [Job(id=str(f), video=str(f))] for f in todo[a:a + CHUNK]}
                if engine == "local" and len(groups) == 1 and address is None:
                    # one video: no process pool to start (nor models to load twice): in this process
                    for video, jobs in groups.items():
                        for row in task.run(merger, video, jobs):
                            emit(row)
                else:
                    run_engine(engine, task, groups, emit, workers=workers, ray_address=address)
                lib.commit()
                yield from rows
                rows.clear()
        if not todo and not removed and (rebuild or not (folder / "manifest.json").is_file()):
            lib.commit()


def _fresh(folder: Path, root: Path) -> LibraryIndex:
    """An empty index that will replace whatever is in `folder` (its generation numbers go on)."""
    lib = LibraryIndex(folder, root)
    try:
        m = read_manifest(folder)
        lib.generation, lib.counters["shard"] = int(m["generation"]), int(m["counters"]["shard"])
    except (CacheError, KeyError, TypeError, ValueError):
        pass
    return lib


def _merge(lib: LibraryIndex, merger: Retriever, row: dict, config: RetrievalConfig) -> dict:
    """A worker's row -> the status row, the video's vectors merged into `lib` when it was indexed."""
    video = row.get("video") or row["id"]
    out = {"video": video, **{k: v for k, v in row.items() if k not in ("id", "video", "status", "elapsed_s", "probe")}}
    if row.get("status") != "ok":
        return {**out, "status": "error", "error": row.get("error", "failed"), "vectors": {},
                "seconds": row.get("elapsed_s", 0.0)}
    t0 = time.perf_counter()
    try:
        path = Path(video)
        idx = merger.index_cached(video, row.get("probe")) or merger.index(video, progress=False)
        record = {"content": content_hash(path, full=config.full_hash), **_stat(path), "key": idx.key,
                  "probe": row.get("probe")}
        lib.add_video(lib.name(path), record, video_vectors(idx))
        merger._indexes.clear()  # the driver keeps no video in memory
    except Exception as e:  # noqa: BLE001 - a video that cannot be merged is an error row; the run goes on
        log.warning("%s: %s", video, error_text(e))
        return {**out, "status": "error", "error": error_text(e), "vectors": {}, "seconds": row.get("elapsed_s", 0.0)}
    status = "ok" if row.get("computed") else "cached"
    return {**out, "status": status, "vectors": lib.videos[lib.name(path)]["vectors"], "stages": row.get("seconds", {}),
            "seconds": round(row.get("elapsed_s", 0.0) + time.perf_counter() - t0, 3)}


def check_library(folder: Path, files: list[Path], *, config: RetrievalConfig, root: Path) -> Iterator[dict]:
    """Verify a library index against the videos' caches and files, changing nothing: a row per video, status
    "ok" or "stale" with the reason ("file is gone", "not indexed", "file changed", "cache missing", "counts
    differ"). Every shard is read and checked byte by byte: a damaged one raises CacheError naming its file."""
    lib = LibraryIndex.open(folder, root=root)
    held: dict[str, int] = {}
    for channel, names in lib.shards.items():
        for n in names:
            s = lib.shard(n, verify=True)
            held[channel] = held.get(channel, 0) + s.count
        if held.get(channel, 0) != lib.count(channel):
            raise CacheError(f"{folder / 'manifest.json'}: the {channel} shards hold {held.get(channel, 0)} vectors, "
                             f"the id table {lib.count(channel)}")
    r = Retriever(config)
    names = {lib.name(f): f for f in files}
    for name in sorted(set(names) | set(lib.videos)):
        path = names.get(name, lib.path(name))
        rec = lib.videos.get(name)
        why = None
        if rec is None:
            why = "not indexed"
        elif not path.is_file():
            why = "file is gone"
        elif not _unchanged(lib, name, path, config):
            why = "file changed"
        elif any(len(lib.ids_of(name, c)) != n for c, n in rec["vectors"].items()):
            why = "counts differ"
        elif r.index_cached(str(path), rec.get("probe")) is None:
            why = "cache missing"
        row = {"video": str(path), "status": "stale" if why else "ok", "vectors": rec["vectors"] if rec else {},
               "seconds": 0.0}
        yield {**row, "error": why} if why else row
