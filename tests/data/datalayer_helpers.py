"""Helpers shared by the data-layer tests (the fixtures live in conftest.py)."""
from __future__ import annotations

import numpy as np

from longlens.data.synth import TIME_BASE, Picture, SynthSpec, frame_times

# Eight well-separated colours: frame k shows PALETTE[k % 8] in its top-left block, so a decoded frame
# can be checked against the frame the generator drew at that PTS (an off-by-one shows the wrong colour).
PALETTE = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0],
                    [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255]], dtype=np.uint8)
BLOCK = (0.0, 0.0, 0.25, 0.25)


def coded_spec(duration: float, fps: float, *, vfr: bool, seed: int) -> SynthSpec:
    """A spec whose every frame carries its own number (mod 8) as the colour of its top-left block."""
    spec = SynthSpec(duration=duration, fps=fps, size=(320, 180), vfr=vfr, seed=seed, gop=1.0)
    ticks = np.append(frame_times(spec), np.iinfo(np.int64).max // 2)
    tb = TIME_BASE.denominator
    spec.pictures = [Picture(ticks[k] / tb, ticks[k + 1] / tb, np.full((8, 8, 3), PALETTE[k % 8]), box=BLOCK)
                     for k in range(len(ticks) - 1)]
    return spec


def block_code(image: np.ndarray) -> int:
    """Which palette colour the top-left block of a decoded frame shows."""
    h, w = image.shape[:2]
    mean = image[h // 32 : h // 5, w // 32 : w // 5].reshape(-1, 3).mean(0)
    return int(np.argmin(((PALETTE.astype(float) - mean) ** 2).sum(1)))


HOUR_CAPTIONS = [(600.0, 660.0, "THE VAULT CODE IS 8142"), (2400.0, 2430.0, "CHECKOUT LANE 12 CLOSED")]
