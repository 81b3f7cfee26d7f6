"""Frame embeddings, content-keyed cache, FAISS indexes, frame selection and temporal grounding.

    r = Retriever(RetrievalConfig(fps=1.0))
    idx = r.index("talk.mp4")                        # decode + CLIP + OCR/MiniLM + ORB, cached on disk
    r.search("talk.mp4", "the vault code", k=5)      # -> list[Moment]
    r.ground("talk.mp4", image="poster.png")         # -> list[Segment]
    r.select(idx, r.curve(idx, "a red car"), 16)     # TASS keyframes for a VLM
"""
from longlens.core.errors import CacheError, ModelUnavailableError
from longlens.core.types import Moment
from longlens.retrieval.config import RetrievalConfig
from longlens.retrieval.faiss_index import CorpusIndex
from longlens.retrieval.fuse import fuse
from longlens.retrieval.ground import ground_segments
from longlens.retrieval.index import VideoIndex
from longlens.retrieval.jobs import index_videos, search_video
from longlens.retrieval.retriever import Retriever
from longlens.retrieval.select import mmr, tass, topk, uniform
from longlens.retrieval.text import keyword_hits
from longlens.retrieval.types import ScoreCurve

__all__ = [
    "CacheError",
    "CorpusIndex",
    "ModelUnavailableError",
    "Moment",
    "RetrievalConfig",
    "Retriever",
    "ScoreCurve",
    "VideoIndex",
    "fuse",
    "ground_segments",
    "index_videos",
    "keyword_hits",
    "mmr",
    "search_video",
    "tass",
    "topk",
    "uniform",
]
