"""`longlens search --library`: the best moments across a library, grouped by video.

Coarse, then fine: the query's vector in each channel space (the Retriever's channels embed it) is searched in
the library index (library.store), which names the candidate videos; each candidate is then re-scored exactly
from its own cache by the Retriever (`Retriever.search`, the very call single-video search makes), so a video's
moments here are those `longlens search VIDEO` gives. Videos without evidence drop out; none left: [].
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from longlens.core.errors import InputError
from longlens.core.types import Moment
from longlens.library.store import LibraryIndex, default_folder
from longlens.retrieval.config import RetrievalConfig
from longlens.retrieval.retriever import Retriever

log = logging.getLogger(__name__)
COARSE = 64  # vectors asked of each channel space at least (k * 8 when more)
VIDEOS = 8  # candidate videos re-scored at least (k when more)


@dataclass
class VideoHits:
    """One video's moments for a library query (best first); score: its best moment's."""

    video: str
    score: float
    moments: list[Moment] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"video": self.video, "score": self.score, "moments": [m.to_dict() for m in self.moments]}


def candidates(lib: LibraryIndex, r: Retriever, q, k: int) -> list[str]:
    """The library's videos most likely to answer the prepared query `q`, best first: each channel space's best
    vectors, interleaved by rank (scores of different spaces do not compare), first sighting of a video wins."""
    ranked = []
    for channel in lib.spaces:
        if channel not in r.config.channels or q.kind not in r.channel(channel).queries:
            continue
        vector = r.query_vector(q, channel)  # the Retriever's own query embedding (cached per text)
        if vector is not None:
            ranked.append(lib.search(channel, vector, max(COARSE, 8 * k)))
    if not ranked:  # no space of the library scores this query (a picture without CLIP): every video, exactly
        log.warning("no channel space of the library scores a %s query (spaces: %s): scoring every video",
                    q.kind, ", ".join(lib.spaces) or "none")
        return sorted(lib.videos)
    out: list[str] = []
    for rank in range(max((len(h) for h in ranked), default=0)):
        for hits in ranked:
            if rank < len(hits) and hits[rank][0] not in out:
                out.append(hits[rank][0])
    return out[:max(VIDEOS, k)]


def search_library(library: str | Path, query: str | None = None, *, image: str | Path | None = None, k: int = 10,
                   config: RetrievalConfig | None = None, index: Path | None = None,
                   retriever: Retriever | None = None) -> list[VideoHits]:
    """The best k moments for a text query or a picture across the library's videos, grouped by video (best
    video first); [] when no video has evidence. `index`: the library index folder (default
    <library>/.longlens/index, as `longlens index` writes it); `config`: the retrieval config the videos were
    indexed with (its cache_dir holds their caches)."""
    if not isinstance(k, int) or k <= 0:
        raise InputError(f"k must be a whole number > 0, got {k!r}")
    folder = Path(index) if index is not None else default_folder(library)
    lib = LibraryIndex.open(folder, root=library)
    if not lib.videos:
        raise InputError(f"{folder}: no library index here; run `longlens index {library}` first")
    if config is None and lib.config:
        config = RetrievalConfig(fps=lib.config["fps"], size=lib.config["size"], channels=tuple(lib.config["channels"]))
    r = retriever or Retriever(config or RetrievalConfig())
    q = r.prepare(query, None if image is None else str(image))  # bad queries fail before any search
    found: list[VideoHits] = []
    for name in candidates(lib, r, q, k):
        path = lib.path(name)
        if not path.is_file():
            log.warning("%s: in the library index but gone (run `longlens index` to update it)", path)
            continue
        # read from its cache as merged (no probe of the file); changed since: the Retriever's full path
        video = r.index_cached(str(path), lib.videos[name].get("probe")) or str(path)
        moments = r.search(video, q.text, q.image, k=k)
        if moments:
            found.append(VideoHits(str(path), moments[0].score, moments))
    # the best k moments overall, kept with their videos
    best = sorted(((m.score, h.video, m.time) for h in found for m in h.moments), key=lambda t: (-t[0], t[1], t[2]))[:k]
    keep = {(v, t) for _, v, t in best}
    out = []
    for h in sorted(found, key=lambda h: (-h.score, h.video)):
        ms = [m for m in h.moments if (h.video, m.time) in keep]
        if ms:
            out.append(VideoHits(h.video, h.score, ms))
    return out
