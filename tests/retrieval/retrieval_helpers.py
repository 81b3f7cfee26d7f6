"""Small helpers shared by the retrieval tests (imported by name: pytest puts this folder on sys.path)."""
from __future__ import annotations

FACT_A = "THE VAULT CODE IS 8142"
FACT_B = "CHECKOUT LANE 12 CLOSED"


def iou(a, b) -> float:
    """Temporal IoU of two (start, end) windows in seconds."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else 0.0
