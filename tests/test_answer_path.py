"""The answer path: what one tap costs in SQL, and what happens when Telegram refuses.

- An answer tap runs at most four statements (the person with roles and conversation state;
  the attempt with its answers and drafts; the attempt's move, guarded by the question it is
  on; the answer upsert — on PostgreSQL the move and the answer are one statement), counted
  where the driver runs them, and the FSM state is written only when it changes.
- The answer is committed before the reply leaves: a reply that fails afterwards (400, or a
  429 beyond the retries) never undoes it, and the pressed button is answered exactly once.
- 429 with ``retry_after`` is waited out and the reply sent again.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiogram import Bot
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, TelegramMethod
from sqlalchemy import event, select

from models import Answer, Attempt, FsmRecord, Role
from models.db import driver_lane, sqlite_line
from models.work import Work
from services.people import load_context
from services.surveys import OPEN_ATTEMPT
from tests.conftest import Harness
from tests.helpers import add_schools, register
from tests.telegram import MockedSession, TgChat

CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE", ";")


@asynccontextmanager
async def statements(harness: Harness) -> AsyncIterator[list[str]]:
    """Every statement sent to the database, whoever sends it (the ORM, Core, or the answer
    path's own statements on the driver). SQLite: sqlite3's trace callback on the connection,
    which sees them all. PostgreSQL: SQLAlchemy's cursor event for its statements and
    asyncpg's query logger for those called on the driver (it does not see SQLAlchemy's
    prepared statements; it calls its loggers soon after the query, not during it).
    Transaction control is left out."""
    seen: list[str] = []
    hooked: list[Any] = []

    def record(statement: str) -> None:
        text = statement.strip()
        if not text.upper().startswith(CONTROL):
            seen.append(text.split()[0].upper() + " " + text)

    def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        driver = dbapi_connection.driver_connection
        if driver in hooked or getattr(driver, "sqlite", None) in hooked:
            return
        hooked.append(driver)
        if hasattr(driver, "sqlite"):
            driver.sqlite.set_trace_callback(record)
        else:
            driver.add_query_logger(on_query)

    def on_query(logged: Any) -> None:
        record(logged.query)

    def on_cursor(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        record(statement)

    engine = harness.app.engine.sync_engine
    sqlite = engine.dialect.name == "sqlite"
    line = sqlite_line(harness.app.engine)
    if line is not None and line.connection is not None:  # used directly, not checked out
        line.connection.set_trace_callback(record)
        hooked.append(line.connection)
    event.listen(engine.pool, "checkout", on_checkout)
    if not sqlite:
        event.listen(engine, "before_cursor_execute", on_cursor)
    lane = driver_lane(harness.app.engine)
    if lane is not None:  # the driver blocks' own connections, kept apart from the pool
        take = lane.take

        async def hooked_take() -> Any:
            driver = await take()
            if driver not in hooked:
                hooked.append(driver)
                driver.add_query_logger(on_query)
            return driver

        lane.take = hooked_take  # type: ignore[method-assign]
    try:
        yield seen
        await asyncio.sleep(0)  # asyncpg's loggers of the last queries
    finally:
        if lane is not None:
            del lane.take
        event.remove(engine.pool, "checkout", on_checkout)
        if not sqlite:
            event.remove(engine, "before_cursor_execute", on_cursor)
        for driver in hooked:
            if isinstance(driver, sqlite3.Connection):
                driver.set_trace_callback(None)
            elif hasattr(driver, "sqlite"):
                driver.sqlite.set_trace_callback(None)
            else:
                driver.remove_query_logger(on_query)


async def started(harness: Harness, telegram_id: int = 7001) -> TgChat:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(telegram_id)
    await register(chat)
    await chat.send("🏠 Главное меню")
    await chat.tap("Анкеты")
    await chat.tap("Профессиональные затруднения")
    await chat.tap("Начать")
    return chat


async def answers(harness: Harness) -> dict[str, Any]:
    async with harness.sessionmaker() as s:
        rows = (await s.execute(select(Answer.question_id, Answer.value))).all()
    return dict(rows)


async def test_an_answer_tap_is_one_read_and_its_writes(harness: Harness) -> None:
    """The person, their conversation and the attempt with its answers in one read; the
    move and the answer (one statement on PostgreSQL, two on SQLite)."""
    chat = await started(harness)
    await chat.tap("незначительные")  # the first answer creates nothing special
    async with statements(harness) as seen:
        await chat.tap("незначительные")
    reads = [s for s in seen if s.startswith("SELECT")]
    assert len(reads) == 1, seen
    assert all(table in reads[0] for table in ("users", "fsm_states", "attempts", "answers"))
    backend = harness.app.engine.dialect.name
    assert len(seen) == (2 if backend == "postgresql" else 3), seen
    assert not any("fsm_states" in s for s in seen if not s.startswith("SELECT")), seen
    assert len(await answers(harness)) == 2
    assert "Вопрос 3 из" in chat.last.text


async def test_the_attempt_read_along_is_the_tapping_teachers_own(harness: Harness) -> None:
    """The attempt a button names comes with the person behind the update only when it is
    theirs and open; a second teacher (also holding two roles, so the person's read is two
    rows) gets nothing of the first one's."""
    chat = await started(harness)
    await chat.tap("незначительные")
    other = harness.chat(7009)
    await register(other)
    async with harness.sessionmaker.begin() as s:
        attempt = await s.scalar(select(Attempt).where(Attempt.status == "in_progress"))
        assert attempt is not None
        s.add_all(
            [
                Role(telegram_id=other.id, role="methodist", scope="region"),
                Role(telegram_id=other.id, role="admin", scope="region"),
            ]
        )
    work = Work(harness.sessionmaker)
    mine = await load_context(work, chat.id, "", OPEN_ATTEMPT, {"attempt": attempt.id})
    assert mine.along is not None
    version, current, given, drafts = mine.along
    assert (version, current) == (attempt.instrument_version_id, attempt.current_question)
    assert len(given) == 1 and not drafts
    theirs = await load_context(work, other.id, "", OPEN_ATTEMPT, {"attempt": attempt.id})
    assert theirs.person is not None and len(theirs.roles) == 2
    assert theirs.along is not None and set(theirs.along) == {None}
    await work.close()

    # the other teacher forges a tap on the first one's attempt: refused, nothing changes
    shown = chat.last_with_buttons()
    data = next(
        b.callback_data
        for row in shown.markup.inline_keyboard  # type: ignore[union-attr]
        for b in row
        if b.callback_data and b.callback_data.startswith("qa:")
    )
    await other.press(data)
    assert "Этот вопрос уже закрыт" in other.alerts()[-1]
    assert len(await answers(harness)) == 1


async def test_typed_question_writes_its_state_once(harness: Harness) -> None:
    """The conversation state changes only when a typed question starts or ends."""
    await add_schools(harness.sessionmaker)
    chat = harness.chat(7002)
    await register(chat, birth=2001, since=2024, category="Без категории")
    await chat.send("🏠 Главное меню")
    await chat.tap("Анкеты")
    await chat.tap("молод")
    await chat.tap("Начать")
    writes: list[str] = []
    for _ in range(40):
        text = chat.last_with_buttons().text
        async with statements(harness) as seen:
            if "Напишите ответ числом" in text:
                await chat.send("2")
            elif "Напишите ответ" in text:
                await chat.send("Нужна помощь с рабочими программами")
            else:
                labels = [
                    b
                    for b in chat.buttons()
                    if not any(n in b for n in ("Назад", "Прервать", "Пропустить", "Главное"))
                ]
                await chat.tap(labels[0])
                if "Готово" in " ".join(chat.buttons()):
                    await chat.tap("Готово")
        writes += [s for s in seen if "fsm_states" in s and not s.startswith("SELECT")]
        if any("Анкета заполнена" in t for t in chat.texts()):
            break
    else:
        raise AssertionError("the questionnaire did not end")
    typed = sum(1 for t in chat.texts() if "Напишите ответ" in t)
    assert typed >= 1
    # entering a typed question writes the state with its attempt (once); leaving clears it
    assert 0 < len(writes) <= 2 * typed, writes
    async with harness.sessionmaker() as s:
        row = await s.scalar(select(FsmRecord).where(FsmRecord.user_id == chat.id))
    assert row is None or row.state is None


class FlakySession(MockedSession):
    """Answers the next requests of the given kinds with an error status, then normally."""

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[tuple[type, int, dict[str, Any]]] = []

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        for i, (kind, status, body) in enumerate(self.errors):
            if isinstance(method, kind):
                del self.errors[i]
                self.requests.append(method)
                content = json.dumps({"ok": False, "error_code": status, **body})
                response = self.check_response(
                    bot=bot, method=method, status_code=status, content=content
                )
                return response.result  # pragma: no cover - check_response raises
        return await super().make_request(bot, method, timeout)


def flaky(harness: Harness) -> FlakySession:
    session = FlakySession()
    session.shown = harness.bot.api.shown  # what the chats show so far
    harness.bot.session = session
    return session


async def test_429_is_waited_out_and_the_reply_arrives(harness: Harness) -> None:
    chat = await started(harness)
    api = flaky(harness)
    api.errors.append(
        (
            EditMessageText,
            429,
            {"description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}},
        )
    )
    await chat.tap("незначительные")
    edits = api.of(EditMessageText)
    assert len(edits) == 2 and "Вопрос 2 из" in edits[-1].text
    assert len(api.of(AnswerCallbackQuery)) == 1
    assert len(await answers(harness)) == 1


async def test_a_message_that_cannot_be_edited_is_replaced_by_a_new_one(
    harness: Harness,
) -> None:
    chat = await started(harness)
    api = flaky(harness)
    api.errors.append(
        (EditMessageText, 400, {"description": "Bad Request: message to edit not found"})
    )
    await chat.tap("незначительные")
    assert "Вопрос 2 из" in api.of(SendMessage)[-1].text
    assert len(api.of(AnswerCallbackQuery)) == 1
    assert len(await answers(harness)) == 1


async def test_a_failed_reply_keeps_the_answer_and_answers_the_button_once(
    harness: Harness,
) -> None:
    chat = await started(harness)
    api = flaky(harness)
    gone = {"description": "Bad Request: chat not found"}
    api.errors += [(EditMessageText, 400, gone), (SendMessage, 400, gone)]
    await chat.tap("незначительные")
    # the answer was committed before the reply was attempted
    assert len(await answers(harness)) == 1
    async with harness.sessionmaker() as s:
        attempt = await s.scalar(select(Attempt))
    assert attempt is not None and attempt.current_question == "subj8"
    # the error handler answers the button (once) and says the answers are kept
    assert len(api.of(AnswerCallbackQuery)) == 1
    assert "Ваши ответы сохранены" in api.of(SendMessage)[-1].text


async def test_a_forged_huge_id_is_a_stale_button(harness: Harness, caplog: Any) -> None:
    chat = await started(harness)
    before = await answers(harness)
    harness.bot.api.clear()
    for data in (
        "qa:99999999999999999999:0:0",
        "qa:1:99999999999999999999:0",
        "qt:1:0:-99999999999",
        "r:99999999999999999999",
        "qo:../../etc",
    ):
        await chat.press(data)
    assert len(harness.bot.api.of(AnswerCallbackQuery)) == 5
    assert all("не действует" in a for a in chat.alerts())
    assert await answers(harness) == before
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
