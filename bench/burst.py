"""A burst: many teachers open the menu at the same moment, with a slow Bot API.

Every request to the mocked Bot API is answered after ``--delay`` seconds (50 ms by default,
a plausible round trip to Telegram). ``--teachers`` registered teachers send "/menu" at once;
each update is fed as its own task (as aiogram's polling does with ``handle_as_tasks``) through
the app's Dispatcher: every middleware and the database. Measured: the time from the start
until the last reply (the last sendMessage to arrive at the mocked server), and the median of
the teachers' reply times.

    python bench/burst.py [--teachers 40] [--delay 0.05] [--rounds 3] [--database-url URL]

Goal: the last reply within 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    TEMPLATE_ID,
    BenchSession,
    GcPauses,
    LoggedErrors,
    add_teachers,
    database_version,
    goal,
    load_average,
    machine_line,
    make_bot,
    median,
    message_update,
    percentile,
    use_database,
)
from bot.app import create_app, settle
from models.db import make_engine
from tests.conftest import Clock, make_settings, reset_schema

GOAL_SECONDS = 0.5
COMMAND = "/menu"


async def main(
    *,
    teachers: int = 40,
    delay: float = 0.05,
    rounds: int = 3,
    database_url: str | None = None,
) -> dict[str, float]:
    """Run the benchmark, print its figures; returns the headline figures."""
    print(machine_line(), flush=True)
    with use_database(database_url) as url, LoggedErrors() as logged:
        engine = make_engine(url)
        await reset_schema(engine)
        where = "a temporary file" if not database_url else "the given database, schema reset"
        print(f"database: {await database_version(engine)} ({where})")
        print(
            f"teachers: {teachers}, each sends {COMMAND!r} at the same moment; every Bot API "
            f"request answered after {delay * 1000:g} ms; rounds: {rounds}",
            flush=True,
        )
        app = await create_app(make_settings(url), engine=engine, clock=Clock())
        settle()  # as `pedbot run` does after start-up
        session = BenchSession(delay=delay, record_replies=True)
        bot = make_bot(session)
        try:
            chats = await add_teachers(app, teachers)
            # one update before the rounds (not measured), so the first round is not the
            # first update this process handles
            await app.dispatcher.feed_update(bot, message_update(bot, TEMPLATE_ID, COMMAND))

            lasts: list[float] = []
            medians: list[float] = []
            for r in range(1, rounds + 1):
                updates = [message_update(bot, c, COMMAND) for c in chats]
                session.replies.clear()
                requests = session.requests
                gc.collect()  # outside the time: the round pays only for its own garbage
                with GcPauses() as pauses:
                    start = time.perf_counter()
                    tasks = [
                        asyncio.create_task(app.dispatcher.feed_update(bot, u)) for u in updates
                    ]
                    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
                    handled = time.perf_counter() - start
                failed = sum(isinstance(o, BaseException) for o in outcomes)
                replied: dict[int, float] = {}
                for chat, at in session.replies:
                    replied[chat] = max(replied.get(chat, 0.0), at - start)
                times = [replied[c] for c in chats if c in replied]
                last = max(times, default=float("nan"))
                p50 = percentile(times, 50)
                lasts.append(last)
                medians.append(p50)
                print(
                    f"round {r}: last reply after {last:.3f} s; p50 of reply times {p50:.3f} s; "
                    f"{len(times)}/{teachers} teachers got a reply ({len(session.replies)} "
                    f"sendMessage, {session.requests - requests} Bot API requests); every update "
                    f"handled after {handled:.3f} s; {pauses.summary()}"
                    + (f"; {failed} updates FAILED" if failed else ""),
                    flush=True,
                )
                summary = logged.take()
                if summary:
                    print(f"round {r}: {summary}", flush=True)
            print(
                f"over {rounds} rounds: last reply min {min(lasts):.3f} s / median "
                f"{median(lasts):.3f} s; p50 of reply times min {min(medians):.3f} s / median "
                f"{median(medians):.3f} s (goal: last reply <= {GOAL_SECONDS:g} s: "
                f"{goal(median(lasts) <= GOAL_SECONDS)}, judged on the median); "
                f"{load_average()} at the end"
            )
            return {"last_reply": median(lasts), "p50": median(medians)}
        finally:
            await app.close()
            await session.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teachers", type=int, default=40)
    parser.add_argument(
        "--delay", type=float, default=0.05, help="seconds before each Bot API answer"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--database-url", default="", help="default: a fresh SQLite file in a temporary dir"
    )
    args = parser.parse_args()
    asyncio.run(
        main(
            teachers=args.teachers,
            delay=args.delay,
            rounds=args.rounds,
            database_url=args.database_url or None,
        )
    )
