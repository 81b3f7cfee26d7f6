"""The first step of a job over a library: its best videos for a query, from the library index.

`longlens ground` (a job line without a video) and `longlens ask --library` both start here, then handle each
video found exactly as a job naming it. The library is a folder indexed by `longlens index DIR`
(longlens.library.index_library); the search is longlens.library.search_library's.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI reads LIBRARY_VIDEOS to build its parser: nothing heavy at import
    from longlens.retrieval import RetrievalConfig, Retriever

LIBRARY_VIDEOS = 3  # a job over a library reads at most this many of its best videos
SEARCH_K = 10  # the best moments across the library that name its best videos


def best_videos(library: str | os.PathLike, query: str | None = None, *, image=None, videos: int = LIBRARY_VIDEOS,
                config: RetrievalConfig | None = None, index: str | os.PathLike | None = None,
                retriever: Retriever | None = None) -> list:
    """At most `videos` videos of `library` for a text query or a picture (a path), best first: those holding
    its best SEARCH_K moments (or `videos`, when more), as longlens.library.VideoHits (`video`: the path). Empty
    when no video has evidence. index: the library index folder (default <library>/.longlens/index); retriever:
    a loaded one to reuse (else one for `config`)."""
    from longlens.library import search_library  # FAISS and the library index: only when a library is searched

    hits = search_library(library, query, image=image, k=max(SEARCH_K, videos), config=config, index=index,
                          retriever=retriever)
    return hits[:videos]
