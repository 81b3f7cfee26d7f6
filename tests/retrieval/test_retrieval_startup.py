"""A search on an indexed video loads only what the query needs: no OCR engine (indexing only), no CLIP library
for a cache key, no torch / transformers for a query's MiniLM embedding (a fresh process, as `longlens search`)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("open_clip", "transformers", "sentence_transformers", "torch", "rapidocr_onnxruntime")

SEARCH = textwrap.dedent("""
    import json, sys
    from longlens.retrieval import RetrievalConfig
    from longlens.retrieval.jobs import search_video
    video, cache_dir, picture = sys.argv[1:4]
    config = RetrievalConfig(channels=("ocr", "image"), cache_dir=cache_dir)
    text = search_video(video, "what is the vault code", k=1, config=config)[0]
    image = search_video(video, image=picture, k=1, config=config)[0]
    print(json.dumps({"loaded": sorted(m for m in %r if m in sys.modules), "text": [text.time, text.text, text.kind],
                      "image": [image.time, image.kind]}))
""" % (HEAVY,))


def test_search_on_an_indexed_video_loads_no_heavy_library(indexed, synth, session_cache, tmp_path):
    png = tmp_path / "picture.png"
    cv2.imwrite(str(png), synth["pictures"][0][:, :, ::-1])
    script = tmp_path / "search.py"
    script.write_text(SEARCH)
    proc = subprocess.run([sys.executable, str(script), synth["path"], str(session_cache), str(png)],
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["loaded"] == [], f"a search on a cached video imported {out['loaded']}"
    (t, text, kind), (pt, pkind) = out["text"], out["image"]
    assert synth["fact_a"][0] - 1 <= t < synth["fact_a"][1] + 1 and "8142" in text and kind == "screen"
    assert synth["pic1"][0] <= pt < synth["pic1"][1] and pkind == "picture"
