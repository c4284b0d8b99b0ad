"""Shared pieces of the benchmarks: a light mocked Bot API, update builders, teachers, figures.

The mocked session answers like tests/telegram.py ``MockedSession`` (a plausible result,
parsed by aiogram exactly like a server response) without its HTML checks and request log.
It can wait a fixed time per request, and it remembers the last screen with an inline
keyboard per chat, so a driver taps buttons the bot really sent.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncGenerator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Update
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.app import App  # noqa: E402
from models import School, User, UserSubject  # noqa: E402
from tests.helpers import add_schools, register  # noqa: E402
from tests.telegram import MockedBot, TgChat  # noqa: E402

BOT_ID = 4242
TOKEN = "42:TEST_TOKEN_abcdefghijklmnopqrstuvwxyz"
TEMPLATE_ID = 99_999  # the one teacher registered through the dialog, then copied
FIRST_TEACHER_ID = 100_000


# ---------------------------------------------------------------- the mocked Bot API


@dataclass
class Screen:
    """The last message with an inline keyboard in a chat (``markup`` None once removed)."""

    message_id: int
    text: str
    markup: InlineKeyboardMarkup | None


class BenchSession(BaseSession):
    """A light mocked Bot API session: plausible results, an optional delay per request."""

    def __init__(self, delay: float = 0.0, record_replies: bool = False) -> None:
        super().__init__()
        self.delay = delay
        self.record_replies = record_replies
        self.screens: dict[int, Screen] = {}
        self.edits: dict[int, int] = {}  # editMessageText per chat
        self.alerts: dict[int, int] = {}  # answerCallbackQuery with show_alert, per user
        self.replies: list[tuple[int, float]] = []  # (chat id, perf_counter) per sendMessage
        self.requests = 0
        self._ids = itertools.count(1000)

    async def close(self) -> None:
        return None

    async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        yield b""

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> TelegramType:
        await asyncio.sleep(self.delay)  # a real request always gives the loop away
        self.requests += 1
        result = self._result(method)
        content = json.dumps({"ok": True, "result": result}, default=str)
        response = self.check_response(bot=bot, method=method, status_code=200, content=content)
        if self.record_replies and isinstance(method, SendMessage):
            self.replies.append((int(method.chat_id), time.perf_counter()))
        return response.result  # type: ignore[return-value]

    @staticmethod
    def _message(chat_id: int, message_id: int, text: str | None, markup: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "pedbot"},
        }
        if text is not None:
            data["text"] = text
        if isinstance(markup, InlineKeyboardMarkup):
            data["reply_markup"] = markup.model_dump(mode="json", exclude_none=True)
        return data

    def _result(self, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, SendMessage):
            chat_id = int(method.chat_id)
            mid = next(self._ids)
            if isinstance(method.reply_markup, InlineKeyboardMarkup):
                self.screens[chat_id] = Screen(mid, method.text, method.reply_markup)
            return self._message(chat_id, mid, method.text, method.reply_markup)
        if isinstance(method, EditMessageText):
            chat_id = int(method.chat_id or 0)
            mid = int(method.message_id or 0)
            self.edits[chat_id] = self.edits.get(chat_id, 0) + 1
            self.screens[chat_id] = Screen(mid, method.text, method.reply_markup)
            return self._message(chat_id, mid, method.text, method.reply_markup)
        if isinstance(method, EditMessageReplyMarkup):
            chat_id = int(method.chat_id or 0)
            mid = int(method.message_id or 0)
            old = self.screens.get(chat_id)
            shown = old.text if old is not None and old.message_id == mid else "…"
            self.screens[chat_id] = Screen(mid, shown, method.reply_markup)
            return self._message(chat_id, mid, shown, method.reply_markup)
        if isinstance(method, SendDocument | SendPhoto):
            chat_id = int(method.chat_id)
            mid = next(self._ids)
            data = self._message(chat_id, mid, None, method.reply_markup)
            if isinstance(method, SendDocument):
                data["document"] = {"file_id": f"doc{mid}", "file_unique_id": f"u{mid}"}
            else:
                data["photo"] = [
                    {"file_id": f"ph{mid}", "file_unique_id": f"u{mid}", "width": 9, "height": 9}
                ]
            return data
        if isinstance(method, AnswerCallbackQuery):
            if method.show_alert:
                user = int(method.callback_query_id.split(":", 1)[0])
                self.alerts[user] = self.alerts.get(user, 0) + 1
            return True
        if type(method).__name__ == "GetMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "pedbot", "username": "bench_bot"}
        return True


def make_bot(session: BenchSession) -> Bot:
    """A Bot with the defaults the app runs with (HTML, no link previews)."""
    return Bot(
        TOKEN,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


# ---------------------------------------------------------------- updates

_update_ids = itertools.count(1)


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Мария", "language_code": "ru"}


def message_update(bot: Bot, user_id: int, text: str) -> Update:
    """A private text message, mounted on ``bot`` as aiogram's polling delivers it."""
    uid = next(_update_ids)
    raw = {
        "update_id": uid,
        "message": {
            "message_id": uid,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": _user(user_id),
            "text": text,
        },
    }
    return Update.model_validate(raw, context={"bot": bot})


def callback_update(bot: Bot, user_id: int, screen: Screen, data: str) -> Update:
    """A tap on a button of ``screen``, with a fresh update id and callback query id.

    The query id starts with the user id, so the session can tell whose tap was refused."""
    uid = next(_update_ids)
    raw = {
        "update_id": uid,
        "callback_query": {
            "id": f"{user_id}:{uid}",
            "from": _user(user_id),
            "chat_instance": f"ci{user_id}",
            "data": data,
            "message": {
                "message_id": screen.message_id,
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "pedbot"},
                "text": screen.text or "…",
            },
        },
    }
    return Update.model_validate(raw, context={"bot": bot})


def buttons(screen: Screen | None) -> list[InlineKeyboardButton]:
    if screen is None or screen.markup is None:
        return []
    return [b for row in screen.markup.inline_keyboard for b in row]


def button_with(screen: Screen | None, label: str) -> InlineKeyboardButton | None:
    return next((b for b in buttons(screen) if label in b.text and b.callback_data), None)


async def tap_label(dp: Dispatcher, bot: Bot, session: BenchSession, chat: int, label: str) -> None:
    screen = session.screens.get(chat)
    found = button_with(screen, label)
    if found is None or screen is None or found.callback_data is None:
        shown = [b.text for b in buttons(screen)]
        raise RuntimeError(f"chat {chat}: no button with {label!r}; buttons: {shown}")
    await dp.feed_update(bot, callback_update(bot, chat, screen, found.callback_data))


# ---------------------------------------------------------------- the database and teachers


def temp_sqlite_url(directory: str) -> str:
    return f"sqlite+aiosqlite:///{directory}/bench.db"


@contextmanager
def use_database(given: str | None) -> Iterator[str]:
    """The given URL, or a fresh SQLite file in a temporary directory removed afterwards."""
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="pedbot-bench-") as directory:
        yield temp_sqlite_url(directory)


async def database_version(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return "SQLite " + str(await conn.scalar(text("select sqlite_version()")))
        full = str(await conn.scalar(text("select version()")))
        return " ".join(full.split()[:2])


async def add_teachers(app: App, count: int, first_id: int = FIRST_TEACHER_ID) -> list[int]:
    """``count`` registered teachers, Telegram ids from ``first_id``.

    One teacher registers through the real dialog; their row (and subjects) is copied for the
    others directly in the database, spread over the schools. Returns the Telegram ids."""
    await add_schools(app.sessionmaker)
    await register(TgChat(app.dispatcher, MockedBot(), TEMPLATE_ID), name="Тестова Анна Ивановна")
    ids = list(range(first_id, first_id + count))
    users = User.__table__
    subjects = UserSubject.__table__
    async with app.engine.begin() as conn:
        template = (
            (await conn.execute(select(users).where(users.c.telegram_id == TEMPLATE_ID)))
            .mappings()
            .one()
        )
        if template["registered_at"] is None:
            raise RuntimeError("the template teacher did not finish registration")
        schools = list((await conn.execute(select(School.id).order_by(School.id))).scalars())
        base = {k: v for k, v in template.items() if k != "id"}
        rows = []
        for i, tid in enumerate(ids):
            row = {**base, "telegram_id": tid}
            if "school_id" in row and schools:
                row["school_id"] = schools[i % len(schools)]
            rows.append(row)
        for start in range(0, len(rows), 500):
            await conn.execute(insert(users), rows[start : start + 500])
        own = (
            (await conn.execute(select(subjects).where(subjects.c.user_id == template["id"])))
            .mappings()
            .all()
        )
        if own:
            new_ids = list(
                (
                    await conn.execute(select(users.c.id).where(users.c.telegram_id >= first_id))
                ).scalars()
            )
            copies = [{**dict(s), "user_id": uid} for uid in new_ids for s in own]
            for start in range(0, len(copies), 500):
                await conn.execute(insert(subjects), copies[start : start + 500])
    return ids


# ---------------------------------------------------------------- figures


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of unsorted values; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line() -> str:
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return (
        f"machine: {cpu_model()}, {cores} cores ({usable} usable), "
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.release()}; {load_average()}"
    )


def goal(met: bool) -> str:
    return "met" if met else "NOT met"


class GcPauses:
    """The garbage collector's pauses while inside ``with GcPauses() as pauses:``."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self) -> str:
        full = [p for generation, p in self.pauses if generation == 2]
        total = sum(p for _, p in self.pauses)
        longest = f", longest {ms(max(full))}" if full else ""
        return f"GC paused {ms(total)} in all, {len(full)} full collections{longest}"


class LoggedErrors(logging.Handler):
    """Collects what the app logs at WARNING and above instead of printing every traceback;
    :meth:`take` summarises and forgets what was collected since the last call."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> LoggedErrors:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        logging.getLogger().removeHandler(self)

    def take(self) -> str:
        """ "" when nothing was logged, else a count and the first record with its cause."""
        records, self.records = self.records, []
        if not records:
            return ""
        first = records[0]
        cause = ""
        if first.exc_info and first.exc_info[1] is not None:
            exc = first.exc_info[1]
            cause = f" ({type(exc).__module__}.{type(exc).__name__}: {str(exc)[:200]})"
        return f"{len(records)} warnings or errors logged, the first: {first.getMessage()}{cause}"


def load_average() -> str:
    if not hasattr(os, "getloadavg"):
        return "load average unknown"
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
