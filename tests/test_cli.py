"""The CLI's edge: choices from core.registry, defaults from the config dataclasses, the environment read here
(through core.env) into config fields, and a parser that imports no model library."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from longlens.cli import build_parser, main, retrieval_config
from longlens.core import registry
from longlens.pipeline.config import AskConfig
from longlens.retrieval import RetrievalConfig

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "open_clip", "transformers", "sentence_transformers", "rapidocr_onnxruntime", "faster_whisper")


def test_building_the_parser_imports_no_model_library():
    """`longlens --help` and every command's start stay light (bug 5: a search on a cached video under 2 s)."""
    code = (f"import json, sys; from longlens.cli import build_parser; build_parser(); "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == []


@pytest.mark.parametrize("argv, option, registry", [
    (["ask", "v.mp4", "q"], "--selector", registry.SELECTORS),
    (["ask", "v.mp4", "q"], "--answerer", registry.ANSWERERS),
    (["ask", "v.mp4", "q"], "--attn", registry.ATTENTION),
    (["ground", "--input", "j", "--output", "o"], "--engine", registry.ENGINES),
    (["ground", "--input", "j", "--output", "o"], "--format", registry.GROUNDING_FORMATS),
    (["eval", "--pred", "p", "--gt", "g"], "--gt-format", registry.GROUNDING_FORMATS),
    (["eval", "--pred", "p", "--gt", "g", "--qa"], "--gt-format", registry.QA_FORMATS),
    (["eval", "--pred", "p", "--gt", "g"], "--pred-format", registry.PREDICTION_FORMATS),
    (["eval", "--pred", "p", "--gt", "g"], "--metrics", registry.METRIC_SETS),
    (["answer", "--input", "q", "--output", "o"], "--format", registry.QA_FORMATS),
    (["answer", "--input", "q", "--output", "o"], "--engine", registry.ENGINES),
    (["answer", "--input", "q", "--output", "o"], "--answerer", registry.ANSWERERS),
    (["probe", "v.mp4"], "--backend", registry.DECODERS),
])
def test_choices_are_the_registry_names(argv, option, registry, capsys):
    parser = build_parser()
    for name in registry:
        assert getattr(parser.parse_args([*argv, option, name]), option[2:].replace("-", "_")) == name
    with pytest.raises(SystemExit):
        parser.parse_args([*argv, option, "no-such-name"])
    assert "invalid choice" in capsys.readouterr().err


def test_defaults_are_the_config_dataclasses_and_registries():
    parser = build_parser()
    search = parser.parse_args(["search", "v.mp4", "q"])
    d = RetrievalConfig()
    assert (search.fps, search.channels, search.clip_model, search.clip_pretrained, search.clip_checkpoint) == \
           (d.fps, d.channels, d.clip_model, d.clip_pretrained, d.clip_checkpoint)
    ground = parser.parse_args(["ground", "--input", "j", "--output", "o"])
    assert (ground.engine, ground.format) == (registry.ENGINES.default, registry.GROUNDING_FORMATS.default)
    ask = parser.parse_args(["ask", "v.mp4", "q"])
    assert ask.answerer == AskConfig().answerer and ask.frames is None and ask.selector is None
    assert parser.parse_args(["search", "v.mp4", "q", "--channels", "ocr, image"]).channels == ("ocr", "image")


def test_an_unknown_channel_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        main(["search", "v.mp4", "q", "--channels", "ocr,speech2"])
    err = capsys.readouterr().err
    assert "speech2" in err and all(c in err for c in registry.CHANNELS)


def test_the_environment_becomes_config_fields(tmp_path, monkeypatch):
    monkeypatch.setenv("LONGLENS_CACHE", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("LONGLENS_PROGRESS", "0")
    config = retrieval_config(build_parser().parse_args(["search", "v.mp4", "q", "--fps", "2"]))
    assert config.cache_dir == tmp_path / "elsewhere" and config.progress is False and config.fps == 2.0
    monkeypatch.delenv("LONGLENS_CACHE")
    monkeypatch.setenv("LONGLENS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LONGLENS_PROGRESS", "1")
    config = retrieval_config(build_parser().parse_args(["index", "v.mp4"]))
    assert config.cache_dir == tmp_path / "home" / "cache" and config.progress is True


def test_ask_takes_its_kernel_backend_from_the_environment(monkeypatch, capsys):
    from longlens.lvlm import Answer
    from longlens.pipeline import ask as ask_module

    seen = {}

    def fake_ask(video, question, *, ask_config, **kw):
        seen.update(config=ask_config, retrieval=kw["config"])
        return Answer(text="42", answerer="extractive")

    monkeypatch.setattr(ask_module, "ask", fake_ask)
    monkeypatch.setenv("LONGLENS_KERNELS", "reference")
    assert main(["ask", "v.mp4", "what?", "--selector", "mmr", "--frames", "4"]) == 0
    assert seen["config"] == AskConfig(frames=4, selector="mmr", kernels="reference")
    assert "42" in capsys.readouterr().out
    monkeypatch.setenv("LONGLENS_KERNELS", "fastest")
    assert main(["ask", "v.mp4", "what?"]) == 2
    assert "LONGLENS_KERNELS" in capsys.readouterr().err
