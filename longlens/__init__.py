"""longlens: question answering and temporal grounding over hour-long videos."""

__version__ = "0.1.0"
__all__ = ["__version__"]
