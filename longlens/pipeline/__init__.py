"""The jobs users run: ask with cited timestamps, resumable grounding batches, demo, benchmarks."""
from longlens.pipeline.demo import demo

__all__ = ["demo"]
