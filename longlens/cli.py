"""The `longlens` command: a thin shell over library functions with the same arguments.

Each subcommand is one `_cmd_<name>(sub)` function below that declares its arguments and the
library call it makes. Register only subcommands that work.

This is the edge where the environment is read (longlens.core.env, nowhere else) and turned into config
fields. Choices come from core.registry and defaults from the config dataclasses (`_default`), never
restated. Building the parser imports no model library (no torch): `longlens search` on an indexed video
must start fast.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys

from longlens import __version__
from longlens.core import env
from longlens.core.errors import InputError, LonglensError
from longlens.core.registry import (
    ANSWERERS,
    ATTENTION,
    CHANNELS,
    DECODERS,
    ENGINES,
    GROUNDING_FORMATS,
    METRIC_SETS,
    PREDICTION_FORMATS,
    QA_FORMATS,
    SELECTORS,
)


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


COMMANDS: list = []  # functions (subparsers) -> None, in help order


def command(fn):
    COMMANDS.append(fn)
    return fn


def _default(cls, name: str):
    """The default of field `name` of dataclass `cls` (its default_factory called)."""
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return f.default if f.default_factory is dataclasses.MISSING else f.default_factory()


def _probe_summary(info) -> str:
    ts = ", ".join(f"{t:.3f}" for t in info.timestamps[:5])
    more = f", ... ({len(info.timestamps)} listed with --json)" if len(info.timestamps) > 5 else ""
    lines = [
        f"video:      {info.path}",
        f"duration:   {info.duration:.3f} s",
        f"frames:     {info.frames} at {info.fps:.4g} fps average "
        f"({'variable' if info.vfr else 'constant'} frame rate)",
        f"size:       {info.width}x{info.height}",
        f"codec:      {info.codec} (decoded with {info.backend})",
        f"timestamps: {ts}{more}",
    ]
    if info.truncated:
        lines.append("truncated:  yes - the file is cut short; figures cover the frames before the damage")
    return "\n".join(lines)


def _audio_summary(streams) -> str:
    if not streams:
        return "audio:      none (the speech channel is off for this video)"
    lines = []
    for s in streams:
        length = f", {s.duration:.3f} s" if s.duration is not None else ""
        lines.append(f"audio {s.track}:    {s.codec}, {s.sample_rate} Hz, {s.channels} ch, "
                     f"starts at {s.start:.3f} s{length}"
                     + (f", language {s.language}" if s.language else "") + (" (default)" if s.default else ""))
    return "\n".join(lines)


@command
def _cmd_probe(sub) -> None:
    def run(a) -> int:
        from longlens.data.audio import probe_audio
        from longlens.data.video import probe

        info, streams = probe(a.video, backend=a.backend), probe_audio(a.video)
        if a.json:
            print(json.dumps({**info.to_dict(), "audio": [s.to_dict() for s in streams]}, ensure_ascii=False))
        else:
            print(_probe_summary(info) + "\n" + _audio_summary(streams))
        return 0

    p = sub.add_parser("probe", help="describe a video: duration, fps, VFR, frames, size, codec, decoder timestamps, "
                                     "audio streams")
    p.add_argument("video", help="path of the video file")
    p.add_argument("--json", action="store_true", help="print one JSON object (timestamps of the first 1000 frames)")
    p.add_argument("--backend", choices=DECODERS.names, default=DECODERS.default,
                   help="decoder (default %(default)s: decord, else PyAV)")
    p.set_defaults(func=run)


@command
def _cmd_eval(sub) -> None:
    def run(a) -> int:
        from longlens.core.io import atomic_write_json

        if a.qa:
            from longlens.eval.qa import evaluate_qa, qa_table

            if a.pred_format != "auto" or a.metrics is not None:
                raise InputError("--pred-format and --metrics are for grounding predictions, not with --qa")
            result = evaluate_qa(a.pred, a.gt, gt_format=a.gt_format)
            text = qa_table(result)
        else:
            from longlens.eval.score import evaluate, table

            result = evaluate(a.pred, a.gt, metrics=a.metrics or METRIC_SETS.default, pred_format=a.pred_format,
                              gt_format=a.gt_format, tolerance=a.tolerance)
            text = table(result)
        if a.out:
            atomic_write_json(a.out, result)
        if a.json:
            _print_json(result)
        else:
            print(text)
        return 0

    p = sub.add_parser("eval", help="score predictions with the benchmarks' official metrics (moment retrieval, "
                                    "highlights, temporal F1; --qa: multiple-choice accuracy)")
    p.add_argument("--pred", required=True, help="predictions: `longlens ground` output or a benchmark's submission "
                                                 "layout (--qa: `longlens answer` output)")
    p.add_argument("--gt", required=True, help=f"ground truth: any of {', '.join(GROUNDING_FORMATS)} "
                                               f"(--qa: questions, any of {', '.join(QA_FORMATS)})")
    p.add_argument("--qa", action="store_true", help="multiple-choice accuracy, overall and per category and "
                                                     "duration, as VideoMME / LVBench / LongVideoBench report it")
    p.add_argument("--pred-format", default="auto", choices=("auto", *PREDICTION_FORMATS),
                   help="layout of --pred (default: detected from its content)")
    p.add_argument("--gt-format", default="auto", choices=("auto", *dict.fromkeys([*GROUNDING_FORMATS, *QA_FORMATS])),
                   help="layout of --gt (default: detected from its content)")
    p.add_argument("--metrics", choices=METRIC_SETS.names,
                   help=f"which benchmarks' metrics (default {METRIC_SETS.default}: every one)")
    p.add_argument("--tolerance", type=float, default=5.0, help="temporal F1 tolerance in seconds (default 5)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (official key names) instead of "
                                                       "the table")
    p.add_argument("--out", metavar="PATH", help="also write the JSON result here (atomically)")
    p.set_defaults(func=run)


@command
def _cmd_demo(sub) -> None:
    p = sub.add_parser("demo", help="offline end-to-end demo: build a synthetic video, index it, ask, ground a batch")
    p.add_argument("--duration", type=float, default=1200.0, help="seconds of demo video (default 1200)")
    p.add_argument("--seed", type=int, default=0, help="where the facts fall in time")
    p.add_argument("--out", help="directory for the video and its files (default: the library, $LONGLENS_LIBRARY)")
    p.add_argument("--force", action="store_true", help="rebuild the video even if it exists")
    p.add_argument("--workers", type=int, help="grounding-batch worker processes (default: all cores)")

    def run(a) -> int:
        from longlens.pipeline.demo import demo

        demo(out_dir=a.out or env.paths().library, duration=a.duration, seed=a.seed, force=a.force,
             workers=a.workers, config=retrieval_config(a))
        return 0

    p.set_defaults(func=run)


@command
def _cmd_bench(sub) -> None:
    from longlens.bench import SUITES, bench

    if not SUITES:  # register only what works
        return
    p = sub.add_parser("bench", help="run a benchmark suite: print a table, write JSON")
    p.add_argument("suite", choices=sorted(SUITES))
    p.add_argument("--out", help="JSON path (default benchmarks/results/SUITE-DEVICE-DATE.json)")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.set_defaults(func=lambda a: bench(a.suite, out=a.out, quick=a.quick) and 0)


def _channels(text: str) -> tuple[str, ...]:
    """--channels: comma-separated names of core.registry.CHANNELS."""
    try:
        return tuple(CHANNELS.check(c.strip()) for c in text.split(",") if c.strip())
    except LonglensError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


# --option -> RetrievalConfig field, for the options every retrieval command takes
RETRIEVAL_OPTIONS = {"--fps": "fps", "--channels": "channels", "--clip-model": "clip_model",
                     "--clip-pretrained": "clip_pretrained", "--clip-checkpoint": "clip_checkpoint"}
# --option -> SpeechConfig field: taken by `transcribe` and, for the speech channel, by every retrieval command
SPEECH_OPTIONS = {"--language": "language", "--audio-track": "audio_track"}


def _speech_args(p) -> None:
    from longlens.speech.config import SpeechConfig

    p.add_argument("--language", default=_default(SpeechConfig, "language"), metavar="CODE",
                   help="language spoken, a Whisper code such as en or de (default: detected)")
    p.add_argument("--audio-track", type=int, default=_default(SpeechConfig, "audio_track"), metavar="N",
                   help="which audio stream to transcribe, 0 = the first (default: the default stream)")


def speech_config(a, **fields):
    """SpeechConfig from the command's speech options and `fields`, with the cache root and progress from the
    environment."""
    from longlens.speech.config import SpeechConfig

    given = {name: getattr(a, name) for name in SPEECH_OPTIONS.values() if hasattr(a, name)}
    return SpeechConfig(**given, **fields, cache_dir=env.paths().cache, progress=env.progress())


def _retrieval_args(p) -> None:
    from longlens.retrieval.config import RetrievalConfig

    d = {flag: _default(RetrievalConfig, name) for flag, name in RETRIEVAL_OPTIONS.items()}
    p.add_argument("--fps", type=float, default=d["--fps"], help="frames per second to index (default %(default)g)")
    p.add_argument("--channels", type=_channels, default=d["--channels"], metavar="NAMES",
                   help=f"comma-separated, any of {', '.join(CHANNELS)} (default {','.join(d['--channels'])})")
    p.add_argument("--clip-model", default=d["--clip-model"], help="open_clip architecture (default %(default)s)")
    p.add_argument("--clip-pretrained", default=d["--clip-pretrained"],
                   help="open_clip pretrained tag (default %(default)s)")
    p.add_argument("--clip-checkpoint", default=d["--clip-checkpoint"],
                   help="local folder with open_clip_config.json + weights")
    _speech_args(p)


def retrieval_config(a):
    """RetrievalConfig from the command's options (those it has) and the environment: cache root, progress."""
    from longlens.retrieval.config import RetrievalConfig

    given = {name: getattr(a, name) for name in RETRIEVAL_OPTIONS.values() if hasattr(a, name)}
    return RetrievalConfig(**given, speech=speech_config(a), cache_dir=env.paths().cache, progress=env.progress())


@command
def _cmd_transcribe(sub) -> None:
    from longlens.speech.config import SpeechConfig
    from longlens.speech.transcript import FORMATS

    p = sub.add_parser("transcribe", help="what is said in a video, with word times: SRT, WebVTT, JSON or text")
    p.add_argument("video", metavar="VIDEO")
    p.add_argument("--format", choices=FORMATS, help="srt, vtt, json (every word with its times) or txt "
                                                     "(default: from --out's suffix, else txt)")
    p.add_argument("--out", metavar="PATH", help="write it here (atomically) instead of printing it")
    p.add_argument("--model", default=_default(SpeechConfig, "model"),
                   help="Whisper: base or tiny.en (offline, from the speech extra), a faster-whisper folder, or a hub "
                        "id such as small (default %(default)s)")
    _speech_args(p)

    def run(a) -> int:
        from longlens.speech import render, save, transcribe

        t = transcribe(a.video, config=speech_config(a, model=a.model))
        if a.out:
            save(t, a.out, a.format)
            print(f"{a.out}: {len(t.utterances)} lines, {len(t.words)} words, language {t.language or 'unknown'} "
                  f"({t.speech:.0f} s of speech in {t.duration:.0f} s)", file=sys.stderr)
        else:
            sys.stdout.write(render(t, a.format or "txt"))
        return 0

    p.set_defaults(func=run)


@command
def _cmd_index(sub) -> None:
    p = sub.add_parser("index", help="index videos or a whole library: per-video caches + the library's FAISS index")
    p.add_argument("paths", nargs="+", metavar="DIR|VIDEO", help="a library folder, or videos")
    p.add_argument("--recursive", action="store_true", help="also the videos in sub-folders")
    p.add_argument("--engine", choices=ENGINES.names, default=ENGINES.default,
                   help="where it runs (default %(default)s)")
    p.add_argument("--workers", type=int, help="worker processes / Ray actors (default: all cores)")
    p.add_argument("--ray-address", help='a Ray cluster to join ("auto": the one this machine is part of; default: '
                                         "start one here)")
    p.add_argument("--index", metavar="PATH", help="the library index folder (default DIR/.longlens/index)")
    p.add_argument("--check", action="store_true",
                   help="change nothing: verify the library index against the caches and the files, list what is stale")
    p.add_argument("--rebuild", action="store_true", help="a fresh library index from the videos' caches")
    p.add_argument("--json", action="store_true", help="print one JSON row per video")
    _retrieval_args(p)

    def run(a) -> int:
        from longlens.library import index_library

        bad = 0
        for row in index_library(a.paths, recursive=a.recursive, engine=a.engine, workers=a.workers,
                                 address=a.ray_address, index=a.index, config=retrieval_config(a), check=a.check,
                                 rebuild=a.rebuild):
            bad += row["status"] in ("error", "stale")
            print(json.dumps(row, ensure_ascii=False) if a.json else _index_line(row), flush=True)
        return 1 if bad else 0

    p.set_defaults(func=run)


def _index_line(row: dict) -> str:
    """One video's status row as a line: what indexing it did, and what went into the library index."""
    status, vectors = row["status"], ", ".join(f"{c} {n}" for c, n in row.get("vectors", {}).items())
    if status in ("error", "stale"):
        return f"{row['video']}: {status}: {row.get('error')}"
    if "frames" not in row:  # merged before, unchanged (or removed): nothing was run
        return f"{row['video']}: {status}" + (f"; library vectors: {vectors}" if vectors else "")
    return (f"{row['video']}: {status}; {row['frames']} frames, channels {', '.join(row['channels']) or 'none'}; "
            f"cached: {', '.join(row['cached']) or 'nothing'}; computed: {', '.join(row['computed']) or 'nothing'}"
            + (f"; OCR ran on {row['ocr_calls']} frames" if row.get("ocr_calls") is not None else "")
            + f"; library vectors: {vectors or 'none'}; {row['seconds']:.1f} s")


@command
def _cmd_search(sub) -> None:
    p = sub.add_parser("search", help="best moments of a video, or of a whole library (--library), for a text query "
                                      "or a picture")
    p.add_argument("video", nargs="?", metavar="VIDEO", help="the video (not with --library)")
    p.add_argument("query", nargs="?", metavar="QUERY")
    p.add_argument("--library", metavar="DIR", help="search every video of this library (indexed by `longlens index "
                                                    "DIR`); moments grouped by video")
    p.add_argument("--index", metavar="PATH", help="--library's index folder (default DIR/.longlens/index)")
    p.add_argument("--image", metavar="PNG", help="search with a picture instead of text")
    p.add_argument("-k", type=int, default=10, help="how many moments (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _retrieval_args(p)

    def run(a) -> int:
        if a.library is not None:
            return _search_library(a)
        if a.video is None:
            raise InputError("give a video to search (or --library DIR)")
        from longlens.retrieval.jobs import search_video

        moments = search_video(a.video, a.query, image=a.image, k=a.k, config=retrieval_config(a))
        if a.json:
            _print_json([m.to_dict() for m in moments])
            return 0
        if not moments:  # not found is an answer, said as one (not an empty screen)
            print(f"{a.video}: not found (no channel has evidence for this query above its noise)")
            return 0
        for m in moments:
            print(_moment_line(m))
        return 0

    p.set_defaults(func=run)


def _moment_line(m, indent: str = "") -> str:
    parts = " ".join(f"{c} {v:.3f}" for c, v in m.scores.items())
    return f"{indent}{m.time:9.2f} s  score {m.score:7.3f}  [{parts}]" + (f"  {m.text!r}" if m.text else "")


def _search_library(a) -> int:
    """`search --library DIR (QUERY | --image PNG)`: moments grouped by video, best video first."""
    from longlens.library import search_library

    if a.video is not None and a.query is not None:
        raise InputError("with --library give the query alone (the library names the videos)")
    hits = search_library(a.library, a.query if a.query is not None else a.video, image=a.image, k=a.k,
                          config=retrieval_config(a), index=a.index)
    if a.json:
        _print_json([h.to_dict() for h in hits])
        return 0
    if not hits:
        print(f"{a.library}: not found (no video has evidence for this query above its noise)")
        return 0
    for h in hits:
        print(f"{h.video}  (best {h.score:.3f})")
        for m in h.moments:
            print(_moment_line(m, "  "))
    return 0


def _answer_args(p) -> None:
    """How a question is answered (pipeline.config.AskConfig's fields), for `ask` and `answer`."""
    from longlens.pipeline.config import FRAMES, AskConfig

    p.add_argument("--answerer", choices=ANSWERERS.names, default=_default(AskConfig, "answerer"),
                   help="auto (default): the VLM when one can be loaded, else answer from on-screen text (extractive)")
    p.add_argument("--frames", type=int, help=f"frame budget for the VLM (default {FRAMES})")
    p.add_argument("--selector", choices=SELECTORS.names,
                   help=f"how the VLM's frames are chosen (default {SELECTORS.default})")
    p.add_argument("--zoom", action="store_true",
                   help="coarse-to-fine (zoom-in) frame search (VLM; not with --reflect)")
    p.add_argument("--reflect", action="store_true",
                   help="rerank candidate windows by the VLM's P(yes) (VLM; not with --zoom)")
    # No default here: AskConfig leaves model / attn to longlens.lvlm.VlmConfig, which imports torch with its package
    p.add_argument("--model", help="VLM hub id or local directory (default: longlens.lvlm.VlmConfig's)")
    p.add_argument("--attn", choices=ATTENTION.names,
                   help=f"the VLM's attention (default {ATTENTION.default}; auto: our sparse kernels on CUDA, stock "
                        "sdpa on CPU)")


def ask_config(a):
    """AskConfig from the command's answer options, with the kernel backend from the environment."""
    from longlens.pipeline.config import AskConfig

    given = {f.name: getattr(a, f.name) for f in dataclasses.fields(AskConfig) if hasattr(a, f.name)}
    return AskConfig(**given, kernels=env.kernels())


@command
def _cmd_ask(sub) -> None:
    from longlens.pipeline.library import LIBRARY_VIDEOS

    p = sub.add_parser("ask", help="answer a question about a video (or a library), citing the times that support it",
                       usage="longlens ask [options] (VIDEO | --library DIR) QUESTION")
    p.add_argument("video", nargs="?", metavar="VIDEO", help="the video (not with --library)")
    p.add_argument("question", nargs="?", metavar="QUESTION")
    p.add_argument("--library", metavar="DIR", help="answer from a library indexed by `longlens index DIR`: its best "
                                                    "videos for the question first; the evidence names each video")
    p.add_argument("--videos", type=int, default=LIBRARY_VIDEOS, metavar="N",
                   help="with --library: how many of its best videos are read (default %(default)s)")
    p.add_argument("--option", action="append", dest="options", metavar="TEXT",
                   help="a multiple-choice option (repeat for each; the answer gives its letter)")
    _answer_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _retrieval_args(p)

    def run(a) -> int:
        from longlens.core.types import clock
        from longlens.pipeline.ask import answer_json, ask, ask_library

        if a.library is not None:
            if a.question is not None:
                raise InputError("with --library DIR give only the QUESTION (the library's best videos are read)")
            ans = ask_library(a.library, a.video, videos=a.videos, options=a.options, config=retrieval_config(a),
                              ask_config=ask_config(a))
        elif a.question is None:
            raise InputError("give VIDEO and QUESTION (or --library DIR and QUESTION)")
        else:
            ans = ask(a.video, a.question, options=a.options, config=retrieval_config(a), ask_config=ask_config(a))
        out = answer_json(ans, videos=a.library is not None)
        if a.json:
            _print_json(out)
            return 0
        print(f"{out['answer']}\n  (answered by: {out['answerer']})")
        if out["evidence"]:
            print("evidence:")
            for m in out["evidence"]:
                text = f'  "{m["text"]}"' if m["text"] else ""
                where = f"  {m['video']}" if "video" in m else ""
                print(f"{where}  {clock(m['time'])}  ({m['time']:.1f} s)  score {m['score']:.2f}{text}")
        return 0

    p.set_defaults(func=run)


def _batch_args(p, what: str) -> None:
    """Where a batch runs and what becomes of an existing output, for `ground` and `answer`."""
    p.add_argument("--video-dir", help="where the videos of a benchmark's file live (not for longlens's own)")
    p.add_argument("--engine", choices=ENGINES.names, default=ENGINES.default,
                   help="where it runs (default %(default)s)")
    p.add_argument("--workers", type=int, help=f"worker processes / Ray actors (default: {what})")
    p.add_argument("--ray-address", help="an existing Ray cluster (default: start one locally)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted output: skip ids done, retry errors once")
    p.add_argument("--overwrite", action="store_true", help="start the output over")


def _batch_report(s: dict, output: str, unit: str) -> int:
    print(f"{s['ok']} ok, {s['error']} errors, {s['skipped_done']} already done; "
          f"{s['queries_per_s']} {unit}/s over {s['elapsed_s']} s -> {output}")
    return 0 if s["error"] == 0 else 1


@command
def _cmd_ground(sub) -> None:
    from longlens.pipeline.library import LIBRARY_VIDEOS

    p = sub.add_parser("ground",
                       help="resumable temporal-grounding batch: jobs JSONL in, one prediction line per id out")
    p.add_argument("--input", required=True, help='JSONL of {"id", "video", "query"} or {"id", "video", "image"}; '
                                                  'a line with "library": DIR instead of "video" (or neither, with '
                                                  "--library) is searched across that library")
    p.add_argument("--output", required=True, help="predictions JSONL (a .summary.json is written beside it)")
    p.add_argument("--format", choices=GROUNDING_FORMATS.names, default=GROUNDING_FORMATS.default,
                   help="layout of --input (default %(default)s)")
    p.add_argument("--library", metavar="DIR", help="the library (indexed by `longlens index DIR`) searched by job "
                                                    "lines that name no video and no library")
    p.add_argument("--videos", type=int, default=LIBRARY_VIDEOS, metavar="N",
                   help="library jobs: how many of its best videos are grounded, best first, until one has a segment "
                        "(default %(default)s)")
    _batch_args(p, "all cores")
    p.add_argument("--top", type=int, default=5, help="segments per query (default 5)")
    _retrieval_args(p)

    def run(a) -> int:
        from longlens.pipeline.ground import ground_batch

        s = ground_batch(a.input, a.output, engine=a.engine, workers=a.workers, resume=a.resume, overwrite=a.overwrite,
                         format=a.format, video_dir=a.video_dir, library=a.library, top=a.top, videos=a.videos,
                         ray_address=a.ray_address, config=retrieval_config(a))
        return _batch_report(s, a.output, "queries")

    p.set_defaults(func=run)


@command
def _cmd_answer(sub) -> None:
    p = sub.add_parser("answer", help="resumable multiple-choice run: `ask` per question of a VideoMME / LVBench / "
                                      "LongVideoBench (or our) file, one answer line per id out")
    p.add_argument("--input", required=True, help='questions: a benchmark\'s file, or JSONL of {"id", "video", '
                                                  '"question", "options", "answer"}')
    p.add_argument("--output", required=True, help="answers JSONL (a .summary.json is written beside it); "
                                                   "score it with longlens eval --qa")
    p.add_argument("--format", choices=("auto", *QA_FORMATS), default="auto",
                   help="layout of --input (default: told by its first record)")
    _batch_args(p, "1 when a VLM may answer, as each worker loads its own; else all cores")
    _answer_args(p)
    _retrieval_args(p)

    def run(a) -> int:
        from longlens.pipeline.answer import answer_batch

        s = answer_batch(a.input, a.output, engine=a.engine, workers=a.workers, resume=a.resume,
                         overwrite=a.overwrite, format=a.format, video_dir=a.video_dir, ray_address=a.ray_address,
                         config=retrieval_config(a), ask_config=ask_config(a))
        return _batch_report(s, a.output, "questions")

    p.set_defaults(func=run)


@command
def _cmd_ui(sub) -> None:
    from longlens.ui.launch import DEFAULT_MAX_UPLOAD_MB, DEFAULT_PORT, run_ui

    p = sub.add_parser("ui", help="open the explorer (Streamlit) on a video library")
    p.add_argument("--library", help="folder of videos (default $LONGLENS_LIBRARY, else $LONGLENS_HOME/library)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s)")
    p.add_argument("--host", default="localhost", help="interface to listen on (default %(default)s)")
    p.add_argument("--max-upload-mb", type=int, default=DEFAULT_MAX_UPLOAD_MB,
                   help="upload limit in MB (default %(default)s)")
    p.set_defaults(func=lambda a: run_ui(a.library or env.paths().library, a.port, host=a.host,
                                         max_upload_mb=a.max_upload_mb))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="longlens", description="Understand hour-long videos: ask, search, ground.")
    parser.add_argument("--version", action="version", version=f"longlens {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except LonglensError as e:
        print(f"longlens {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"longlens {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
