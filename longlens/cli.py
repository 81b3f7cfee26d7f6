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
