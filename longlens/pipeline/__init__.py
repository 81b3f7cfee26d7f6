"""The jobs users run: ask with cited timestamps, resumable grounding batches, demo, benchmarks."""

__all__: list[str] = []
