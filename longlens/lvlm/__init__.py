"""Vision-language models fed timestamp-stamped frames, on our hybrid sparse/linear attention."""

__all__: list[str] = []
