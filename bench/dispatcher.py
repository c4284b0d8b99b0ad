"""Throughput of the bot itself: questionnaire taps through the real Dispatcher.

Many teachers answer the deficits questionnaire at once (a school's methodical day): each
tap is a full update (session, roles, FSM, upsert, next question rendered). Telegram is
replaced by the in-process mocked session of the tests, so the figure is the bot's own cost.

    python bench/dispatcher.py [--teachers 200] [--database-url URL]

Prints updates per second and the 50th/95th percentile latency of one update.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import create_app
from models import Base
from models.db import make_engine
from tests.conftest import Clock, make_settings, reset_schema
from tests.helpers import add_schools, register
from tests.telegram import MockedBot, TgChat


async def main(teachers: int, url: str, concurrency: int) -> None:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        await reset_schema(engine)
    else:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
    app = await create_app(make_settings(url), engine=engine, clock=Clock())
    await add_schools(app.sessionmaker)
    bot = MockedBot()
    chats = [TgChat(app.dispatcher, bot, 100_000 + i) for i in range(teachers)]
    for chat in chats:
        await register(chat, name="Тестова Анна Ивановна")
        await chat.send("🏠 Главное меню")
        await chat.tap("Анкеты")
        await chat.tap("Профессиональные затруднения")
        await chat.tap("Начать")

    latencies: list[float] = []

    async def teacher(chat: TgChat, sem: asyncio.Semaphore) -> None:
        for _ in range(28):
            async with sem:
                start = time.perf_counter()
                await chat.tap("незначительные")
                latencies.append(time.perf_counter() - start)

    sem = asyncio.Semaphore(concurrency)
    started = time.perf_counter()
    await asyncio.gather(*(teacher(c, sem) for c in chats))
    elapsed = time.perf_counter() - started
    await app.close()
    n = len(latencies)
    latencies.sort()
    print(
        f"backend: {engine.dialect.name}; teachers: {teachers}; taps: {n}; concurrency: {concurrency}"
    )
    print(f"throughput: {n / elapsed:.0f} updates/s")
    print(
        f"latency per update: p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {latencies[int(n * 0.95)] * 1000:.1f} ms"
    )
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--teachers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    asyncio.run(main(args.teachers, url, args.concurrency))
