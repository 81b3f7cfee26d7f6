"""The `longlens` command: a thin shell over library functions with the same arguments.

Each subcommand is one `_cmd_<name>(sub)` function below that declares its arguments and the
library call it makes. Register only subcommands that work.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys

from longlens import __version__
from longlens.data.errors import LonglensError


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


COMMANDS: list = []  # functions (subparsers) -> None, in help order


def command(fn):
    COMMANDS.append(fn)
    return fn


@command
def _cmd_bench(sub) -> None:
    from longlens.pipeline.bench import SUITES, bench

    if not SUITES:  # register only what works
        return
    p = sub.add_parser("bench", help="run a benchmark suite: print a table, write JSON")
    p.add_argument("suite", choices=sorted(SUITES))
    p.add_argument("--out", help="JSON path (default benchmarks/results/SUITE-DEVICE-DATE.json)")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.set_defaults(func=lambda a: bench(a.suite, out=a.out, quick=a.quick) and 0)


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


if __name__ == "__main__":
    sys.exit(main())
