"""`longlens bench SUITE`: run a benchmark suite, print a table, write JSON.

Benchmarks live here, outside the layers they measure (the library never imports this package): one module
per suite, registered in SUITES below. A suite is a function `run(*, quick: bool) -> dict`, returning
`{"rows": [dict, ...], "notes": [str, ...], "meta": {...}}` and optionally `"figures": {name: PNG bytes}`.
This module only runs it, adds the machine's description, prints the rows as a table and writes everything
as JSON (figures as PNG files beside it).
"""
from __future__ import annotations

import datetime as _dt
import importlib
import json
import logging
import platform
from pathlib import Path

from longlens.core.errors import InputError
from longlens.core.io import atomic_write_bytes, atomic_write_json

log = logging.getLogger(__name__)

# suite name -> "module:function": one line per suite.
SUITES: dict[str, str] = {
    "attention": "longlens.bench.attention:run",
    "data": "longlens.bench.data:run",
    "kernels": "longlens.bench.kernels:run",
    "library": "longlens.bench.library:run",
    "linearize": "longlens.bench.linearize:run",
    "lvlm": "longlens.bench.lvlm:run",
    "pipeline": "longlens.bench.pipeline:run",
    "retrieval": "longlens.bench.retrieval:run",
    "speech": "longlens.bench.speech:run",
    "ui": "longlens.bench.ui:run",
}

DEFAULT_DIR = Path("benchmarks") / "results"


def machine() -> dict:
    import torch

    info = {
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cuda": torch.cuda.is_available(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    try:
        import triton

        info["triton"] = triton.__version__
    except ImportError:
        pass
    return info


def format_table(rows: list[dict]) -> str:
    """Rows of dicts as an aligned text table (columns in first-seen order)."""
    if not rows:
        return "(no rows)"
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]

    def cell(v) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return "" if v is None else str(v)

    table = [cols] + [[cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    lines = ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def bench(suite: str, *, out: str | Path | None = None, quick: bool = False) -> dict:
    """Run benchmark `suite`, print its table, write JSON to `out` (default benchmarks/results/)."""
    if suite not in SUITES:
        raise InputError(f"unknown benchmark suite {suite!r}; choose from {sorted(SUITES)}")
    module, fn = SUITES[suite].split(":")
    result = getattr(importlib.import_module(module), fn)(quick=quick)
    figures = result.pop("figures", {})  # name -> PNG bytes, written beside the JSON
    result = {"suite": suite, "machine": machine(), "quick": quick, **result}
    hardware = "GPU " + result["machine"].get("gpu", "") if result["machine"]["cuda"] else "CPU"
    print(f"== longlens bench {suite} ({hardware})")
    print(format_table(result.get("rows", [])))
    for note in result.get("notes", []):
        print(f"note: {note}")
    if out is None:
        stamp = result["machine"]["date"][:19].replace(":", "").replace("-", "")
        out = DEFAULT_DIR / f"{suite}-{'gpu' if result['machine']['cuda'] else 'cpu'}-{stamp}.json"
    out = Path(out)
    for name, png in figures.items():
        path = out.with_name(f"{out.stem}-{name}.png")
        atomic_write_bytes(path, png)
        result.setdefault("figures", []).append(str(path))
        print(f"wrote {path}")
    atomic_write_json(out, result)
    print(f"wrote {out}")
    log.info("benchmark %s written to %s", suite, out)
    return json.loads(json.dumps(result, default=str))
