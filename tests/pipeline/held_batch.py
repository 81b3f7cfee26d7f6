"""`longlens ground` / `longlens answer` in a child process whose workers hold at one job: `python held_batch.py
ID ARGS...` runs the CLI on ARGS with the batch's on_job hook set to HoldAt(ID) (see pipeline_helpers). The
CLI has no test hooks of its own, so this driver adds one around it."""
from __future__ import annotations

import functools
import sys

if __name__ == "__main__":  # guarded: spawned workers import this file again as __mp_main__
    import signal

    # Ctrl-C as at a terminal: a suite started in the background by a shell without job control inherits an
    # ignored SIGINT, and so would this child (the test's Ctrl-C then never arrives)
    signal.signal(signal.SIGINT, signal.default_int_handler)

    from pipeline_helpers import HoldAt

    from longlens import cli
    from longlens.pipeline import answer, ground

    hold = HoldAt(sys.argv[1])
    ground.ground_batch = functools.partial(ground.ground_batch, on_job=hold)
    answer.answer_batch = functools.partial(answer.answer_batch, on_job=hold)
    sys.exit(cli.main(sys.argv[2:]))
