"""Storage, ordering of fast taps, the error handler, message splitting, languages."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from aiogram.methods import EditMessageText, SendMessage
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import create_app
from handlers.common import MESSAGE_LIMIT, esc, split_text
from models import Answer, User
from models.db import WalCheckpointer, make_engine
from services import people
from tests.conftest import IN_CI, Clock, Harness, make_settings
from tests.helpers import add_schools, count, register, user_row
from tests.telegram import MockedBot, html_errors, html_length
from tests.test_survey_journeys import open_survey

REDIS_URL = os.environ.get("PEDBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def _redis_or_skip() -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
        await client.flushdb()
    except Exception as exc:
        if IN_CI:
            pytest.fail(
                f"Redis at {REDIS_URL} is not reachable ({type(exc).__name__}); CI requires it"
            )
        pytest.skip(f"Redis at {REDIS_URL} is not reachable ({type(exc).__name__})")
    finally:
        await client.aclose()


async def test_fsm_state_in_redis_survives_restart(engine: AsyncEngine, db_url: str) -> None:
    await _redis_or_skip()
    settings = make_settings(db_url, redis_url=REDIS_URL)
    app = await create_app(settings, engine=engine, clock=Clock())
    assert type(app.dispatcher.storage).__name__ == "RedisStorage"
    await add_schools(app.sessionmaker)
    bot = MockedBot()
    from tests.telegram import TgChat

    chat = TgChat(app.dispatcher, bot, 6001)
    await chat.send("/start")
    await chat.tap("Согласен")
    await chat.send("Морозова Ирина")
    await chat.tap("Школа № 1")
    await chat.tap("Учитель")
    await chat.tap("Биология")
    await app.dispatcher.storage.close()

    again = await create_app(settings, engine=engine, clock=Clock())
    chat2 = TgChat(again.dispatcher, MockedBot(), 6001)
    chat2.bot.api.shown = bot.api.shown
    await chat2.tap("Готово")  # the ticked subject came back from Redis
    user = await user_row(again.sessionmaker, 6001)
    assert user is not None and user.subject_codes == ["biology"]
    await again.dispatcher.storage.close()


async def test_fast_double_tap_is_recorded_once(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(6002)
    await register(chat)
    await open_survey(chat, "Профессиональные затруднения")
    await chat.tap("Начать")
    data, mid = chat.button_data("заметные")
    await asyncio.gather(chat.press(data, mid), chat.press(data, mid), chat.press(data, mid))
    async with harness.sessionmaker() as s:
        rows = (await s.execute(select(Answer))).scalars().all()
    assert [(a.question_id, a.value) for a in rows] == [("subj1", 2)]
    assert "Вопрос 2 из 43" in chat.last.text


async def test_a_crash_in_a_handler_is_reported_plainly_and_rolled_back(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(6003)
    await chat.send("/start")
    await chat.tap("Согласен")

    def boom(text: str) -> str:
        raise RuntimeError("database went away")

    monkeypatch.setattr(people, "normalize_full_name", boom)
    caplog.set_level(logging.INFO)
    await chat.send("Тайная Фамилия Отчество")
    assert "Что-то пошло не так. Ваши ответы сохранены" in chat.texts()[-1]
    user = await user_row(harness.sessionmaker, 6003)
    assert user is not None and user.full_name is None
    logged = "\n".join(r.getMessage() + str(r.exc_info) for r in caplog.records)
    assert "RuntimeError" in logged and "Тайная" not in logged
    monkeypatch.undo()
    await chat.send("Тайная Фамилия Отчество")
    assert (await user_row(harness.sessionmaker, 6003)).full_name == "Тайная Фамилия Отчество"  # type: ignore[union-attr]


async def test_language_switch(harness: Harness) -> None:
    from bot.i18n import languages

    if len(languages()) < 2:
        pytest.skip("one locale installed: no language switch is shown")
    await add_schools(harness.sessionmaker)
    chat = harness.chat(6004)
    await register(chat)
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой профиль")
    await chat.tap("Язык")
    user = await user_row(harness.sessionmaker, 6004)
    assert user is not None and user.language != "ru"
    await chat.tap("🌐")
    assert (await user_row(harness.sessionmaker, 6004)).language == "ru"  # type: ignore[union-attr]
    assert "Мой профиль" in chat.last.text
    assert await count(harness.sessionmaker, User) == 1


block = st.builds(
    lambda words, bold: (f"<b>{esc(words[0])}</b>\n" if bold else "") + esc(" ".join(words)),
    st.lists(st.text(min_size=1, max_size=400), min_size=1, max_size=30),
    st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(block, min_size=1, max_size=40))
def test_split_text_respects_the_limit_and_keeps_html_valid(blocks: list[str]) -> None:
    messages = split_text(blocks)
    assert messages
    for m in messages:
        assert len(m) <= MESSAGE_LIMIT
        assert html_length(m) <= MESSAGE_LIMIT
    joined = "".join(messages).replace("\n", "")
    assert joined == "".join(blocks).replace("\n", "")
    for m in messages:
        if all(len(b) <= MESSAGE_LIMIT for b in blocks):
            assert not html_errors(m)


async def test_long_results_are_split(harness: Harness) -> None:
    """Results of an attempt always go out within the limits (checked by the mocked API)."""
    await add_schools(harness.sessionmaker)
    chat = harness.chat(6005)
    await register(chat)
    await open_survey(chat, "Профессиональные затруднения")
    await chat.tap("Начать")
    from tests.test_survey_journeys import answer_all

    await answer_all(chat, lambda text, labels: labels[3])
    sent = [r for r in harness.bot.api.requests if isinstance(r, SendMessage | EditMessageText)]
    assert all(html_length(r.text) <= MESSAGE_LIMIT for r in sent)


async def test_sqlite_statements_run_on_the_event_loop_thread(tmp_path) -> None:
    """models.db.InlineSqlite overrides aiosqlite's ``_execute``: if aiosqlite renames it or
    stops routing every call through it, statements go back to its worker thread and this
    fails (and SQLAlchemy's isolation-level setter still uses the queue, kept working)."""
    import threading

    import aiosqlite
    from sqlalchemy import event as sa_event
    from sqlalchemy import text

    from models.db import InlineSqlite, make_engine

    assert "_execute" in vars(aiosqlite.Connection)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/inline.db")
    seen: list[int] = []

    def add_probe(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.create_function(
            "probe", 0, lambda: seen.append(threading.get_ident()) or 1
        )  # type: ignore[attr-defined]

    sa_event.listen(engine.sync_engine, "connect", add_probe)
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert isinstance(raw.driver_connection, InlineSqlite)
            assert (await conn.execute(text("select probe()"))).scalar() == 1
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            assert (await conn.execute(text("select probe()"))).scalar() == 1
    finally:
        await engine.dispose()
    assert seen == [threading.get_ident()] * 2


async def test_sqlite_wal_is_checkpointed_apart_from_the_event_loop(tmp_path) -> None:
    """The bot's connection never checkpoints (``wal_autocheckpoint=0``): a thread of its own
    copies the WAL into the database file, and the WAL starts again from its beginning."""
    import threading

    from models.db import make_engine, wal_checkpointer

    path = tmp_path / "wal.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    checkpointer = wal_checkpointer(engine)
    assert checkpointer is not None
    checkpointer.interval = 0.02

    async def write(rows: int) -> None:
        for _ in range(rows):
            async with engine.begin() as conn:
                await conn.exec_driver_sql("INSERT INTO t VALUES (?)", ("x" * 3000,))

    async def checkpointed() -> None:
        seen = checkpointer.checkpoints
        for _ in range(500):
            if checkpointer.checkpoints >= seen + 2:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("no checkpoint")

    try:
        async with engine.begin() as conn:
            setting = await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")
            assert setting.scalar() == 0
            await conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
        before = path.stat().st_size
        await write(100)
        await checkpointed()
        assert path.stat().st_size > before + 250_000  # the rows are in the file itself
        wal = path.with_name("wal.db-wal").stat().st_size
        for _ in range(3):
            await write(100)
            await checkpointed()
        assert path.with_name("wal.db-wal").stat().st_size <= wal + 50_000  # reused, not grown
    finally:
        await engine.dispose()
    assert "pedbot-wal-checkpoint" not in [t.name for t in threading.enumerate()]


async def _steady_writes(
    tmp_path: Path, **checkpointer_settings: Any
) -> tuple[WalCheckpointer, int]:
    """Write a row at every turn of the event loop, through a driver block as an answer is
    written, until the WAL checkpoint thread has run ten times; the checkpointer and how
    many times the WAL started again meanwhile."""
    from sqlalchemy import Column, MetaData, String, Table, insert

    from models.db import make_engine, make_sessionmaker, wal_checkpointer
    from models.driver import Statement
    from models.work import Work

    path = tmp_path / "steady.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    sessionmaker = make_sessionmaker(engine)
    checkpointer = wal_checkpointer(engine)
    assert checkpointer is not None
    checkpointer.interval = 0.02
    for name, value in checkpointer_settings.items():
        setattr(checkpointer, name, value)
    table = Table("t", MetaData(), Column("x", String))
    add = Statement(insert(table))
    row = "x" * 3000  # a page of its own
    wal = path.with_name("steady.db-wal")

    def starts() -> int:
        """The WAL's checkpoint sequence number: one more each time it starts again."""
        return int.from_bytes(wal.read_bytes()[12:16], "big")

    try:
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
        async with Work(sessionmaker).statements() as db:
            await db.execute(add, x=row)
        first, started = checkpointer.checkpoints, starts()
        for _ in range(50_000):
            async with Work(sessionmaker).statements() as db:
                await db.execute(add, x=row)
            await asyncio.sleep(0)  # one turn of the loop between updates, no more
            if checkpointer.checkpoints >= first + 10:
                break
        assert checkpointer.checkpoints >= first + 10
        return checkpointer, starts() - started
    finally:
        await engine.dispose()


async def test_sqlite_wal_starts_again_under_steady_writes(tmp_path: Path) -> None:
    """Writes that never pause still let the WAL start again from its beginning.

    The thread's checkpoint runs while the event loop's commits append to the WAL (it gets
    the interpreter when sqlite3 lets it go, that is, during a statement or a commit), so
    it always leaves a few frames behind, the next write never finds the WAL wholly copied
    and keeps appending to it: a file that grows without end, each commit writing to pages
    the file never had (about 50 µs more a commit on ext4). The few frames left are copied
    on the event loop between two updates, and the next write starts the WAL again."""
    # (however long the loop's part takes on this disk: writing as fast as this, it copies
    # more frames than an update's pace leaves)
    checkpointer, restarts = await _steady_writes(tmp_path, finish_within=1.0)
    assert checkpointer.finished > 0  # the last frames were copied on the loop
    assert restarts >= 5  # the WAL started again after most checkpoints


async def test_sqlite_wal_loop_part_backs_off_on_a_slow_disk(tmp_path: Path) -> None:
    """When the loop's part of a checkpoint takes longer than it should (its fsyncs on a
    slow disk), the loop is left alone for the next checkpoints."""
    checkpointer, _restarts = await _steady_writes(tmp_path, finish_within=0.0, backoff=1000)
    assert checkpointer.finished == 1


async def test_sqlite_overwrites_deleted_rows(tmp_path) -> None:
    """``secure_delete``: a deleted teacher's rows do not stay readable in the file."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA secure_delete")).scalar() == 1
    finally:
        await engine.dispose()


async def test_one_conversations_updates_run_one_at_a_time_and_free_locks_are_dropped() -> None:
    from aiogram.fsm.storage.base import StorageKey

    from bot.storage import ChatLocks

    locks = ChatLocks()
    mine = StorageKey(bot_id=1, chat_id=2, user_id=2)
    other = StorageKey(bot_id=1, chat_id=3, user_id=3)
    order: list[str] = []

    async def update(name: str, key: StorageKey, hold: float) -> None:
        async with locks.lock(key):
            order.append(f"{name} in")
            await asyncio.sleep(hold)
            order.append(f"{name} out")

    await asyncio.gather(
        update("a", mine, 0.02), update("b", mine, 0), update("x", other, 0), update("c", mine, 0)
    )
    assert [o for o in order if o[0] != "x"] == ["a in", "a out", "b in", "b out", "c in", "c out"]
    assert order.index("x out") < order.index("a out")  # another conversation did not wait
    assert locks._locks == {}  # nothing kept for conversations with no update

    # an update cancelled while it waits for the lock leaves nothing behind either
    holder = asyncio.create_task(update("d", mine, 0.05))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(update("e", mine, 0))
    await asyncio.sleep(0.01)
    waiter.cancel()
    await holder
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert "e in" not in order
    assert locks._locks == {}


async def test_a_stopping_process_waits_for_the_updates_being_handled(engine: AsyncEngine) -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from bot.middlewares import DbSessionMiddleware

    middleware = DbSessionMiddleware(async_sessionmaker(engine))
    bot = MockedBot()
    release = asyncio.Event()

    async def handler(_event: object, _data: dict[str, object]) -> None:
        await release.wait()

    assert await middleware.wait(0.01) == 0
    updates = [
        asyncio.create_task(middleware(handler, object(), {"bot": bot}))  # type: ignore[arg-type]
        for _ in range(3)
    ]
    await asyncio.sleep(0)
    assert middleware.in_flight == 3
    assert await middleware.wait(0.01) == 3  # the grace ran out: three left
    asyncio.get_running_loop().call_later(0.01, release.set)
    assert await middleware.wait(5) == 0
    await asyncio.gather(*updates)
    assert middleware.in_flight == 0


async def test_a_deletion_truncates_the_wal_even_while_a_checkpoint_is_busy(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``wal_checkpoint(TRUNCATE)`` reports busy while the checkpoint thread works; the
    deletion's wipe tries again until the WAL is empty."""
    from sqlalchemy.ext.asyncio import AsyncConnection

    from models.db import make_engine, make_sessionmaker, wipe_wal_after_commit, wipe_wal_if_asked

    path = tmp_path / "wipe.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    tries: list[str] = []
    real = AsyncConnection.exec_driver_sql

    async def busy_twice(self: AsyncConnection, statement: str, *args: object) -> object:
        if "TRUNCATE" in statement:
            tries.append(statement)
            if len(tries) <= 2:
                return await real(self, "SELECT 1, -1, -1")  # as SQLite says «busy»
        return await real(self, statement, *args)  # type: ignore[arg-type]

    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
            await conn.exec_driver_sql("INSERT INTO t VALUES ('Тестова')")
        assert path.with_name("wipe.db-wal").stat().st_size > 0
        monkeypatch.setattr(AsyncConnection, "exec_driver_sql", busy_twice)
        async with make_sessionmaker(engine)() as session:
            wipe_wal_after_commit(session)
            await wipe_wal_if_asked(session)
        assert len(tries) == 3
        assert path.with_name("wipe.db-wal").stat().st_size == 0
    finally:
        await engine.dispose()
