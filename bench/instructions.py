"""Instructions per answer tap, the bot against a bare aiogram Dispatcher, under cachegrind.

Wall and CPU time per tap move by ±5 % from one run to the next on a shared machine, more
than most single changes to the answer path make. The number of instructions a tap runs
does not: this script runs the taps of ``bench/updates.py`` (the bot with SQLite, then the
bare Dispatcher with a question-sized text and keyboard) under ``valgrind --tool=cachegrind``
twice each, with no taps and with ``--taps`` taps after the same set-up, and prints the
difference divided by the taps (``PYTHONHASHSEED=0``, and no WAL checkpoints, whose number
would follow the wall clock). Two runs made at the same time agree within 0.1 %; runs made
hours apart have differed by up to 4 %, so compare a change with the base run at the same
time (a git worktree of it, say). It counts instructions only: cache misses and system
calls (SQLite's WAL writes and locks), which make the rest of the time ratio, are not in it
(see the README's Performance part).

    python bench/instructions.py [--teachers 40] [--taps 800]

Needs valgrind; each of the four runs takes one to three minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import BenchSession, add_teachers, make_bot, use_database
from bench.updates import (
    Side,
    bare_side,
    closed_loop,
    limited,
    load_questionnaire,
    open_questionnaire,
)
from bot.app import create_app, settle
from models.db import make_engine, wal_checkpointer
from tests.conftest import Clock, make_settings, reset_schema

CONCURRENCY = 20


async def run_side(side_name: str, teachers: int, taps: int) -> int:
    """Set up one side, tap each teacher's answers twice (warming up), then ``taps`` taps;
    returns the taps made after the warm-up."""
    q = load_questionnaire()
    with use_database(None) as url:
        engine = make_engine(url)
        checkpointer = wal_checkpointer(engine)
        if checkpointer is not None:
            # its checkpoints, and the loop's part of them, come every half second of wall
            # time: under valgrind a different number each run
            checkpointer.interval = 3600.0
        await reset_schema(engine)
        app = await create_app(make_settings(url), engine=engine, clock=Clock())
        settle()
        session = BenchSession()
        project = Side(
            "project", app.dispatcher, make_bot(session), session, q.answers, random.Random(1)
        )
        chats = await add_teachers(app, teachers)
        await limited([partial(open_questionnaire, project, c, q) for c in chats], CONCURRENCY)
        await closed_loop(project, chats, 2, CONCURRENCY)
        side = project
        if side_name == "bare":
            sample = project.question_shown or session.screens[chats[0]]
            side = bare_side(sample, chats, q, BenchSession(), seed=1)
            await closed_loop(side, chats, 2, CONCURRENCY)
        done = 0
        while done < taps:
            run = await closed_loop(side, chats, 1, CONCURRENCY)
            if not run.taps:
                raise RuntimeError("no tap was made: the questionnaire ran out (fewer --taps)")
            done += run.taps
        await app.close()
        return done


def instructions(side: str, teachers: int, taps: int) -> tuple[int, int]:
    """(instructions, taps made) of one run under cachegrind."""
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--inner",
        side,
        "--teachers",
        str(teachers),
        "--taps",
        str(taps),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    refs = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    made = re.search(r"^taps (\d+)$", done.stdout, re.M)
    if refs is None or made is None:
        raise RuntimeError(f"cachegrind printed no count: {done.stderr[-500:]}")
    return int(refs.group(1).replace(",", "")), int(made.group(1))


def main(teachers: int, taps: int) -> dict[str, float]:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    per_tap: dict[str, float] = {}
    for side in ("project", "bare"):
        base, _ = instructions(side, teachers, 0)
        total, made = instructions(side, teachers, taps)
        per_tap[side] = (total - base) / made
        print(f"{side}: {per_tap[side] / 1e6:.3f} M instructions a tap ({made} taps)", flush=True)
    ratio = per_tap["bare"] / per_tap["project"]
    print(
        f"instruction ratio bare/project {ratio:.3f} (the time ratio of bench/updates.py is lower)"
    )
    return {**per_tap, "ratio": ratio}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teachers", type=int, default=40)
    parser.add_argument("--taps", type=int, default=800, help="taps counted, after the set-up")
    parser.add_argument("--inner", choices=("project", "bare"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        print(f"taps {asyncio.run(run_side(args.inner, args.teachers, args.taps))}")
    else:
        main(args.teachers, args.taps)
