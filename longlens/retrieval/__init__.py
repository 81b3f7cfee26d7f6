"""Frame embeddings, content-keyed cache, FAISS indexes, frame selection and temporal grounding."""

__all__: list[str] = []
