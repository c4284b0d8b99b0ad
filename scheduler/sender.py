"""The one sender: drains the outbox under Telegram's limits.

- About ``SEND_RATE`` messages per second in all (default 25), and at least a second between
  two messages to one chat; a message with files is sent part by part under the same limits.
- 429 «Too Many Requests» pauses all sending for ``retry_after``, then the same part is sent
  again (not counted as a failed attempt).
- 403 (the bot was blocked, the user is deactivated) or «chat not found»: the person is
  marked inactive (``users.blocked_bot``) and nothing more is sent to them; a later /start
  makes them active again.
- Any other failure is retried a bounded number of times with a growing delay, then the row
  is marked failed.
- Quiet hours: nothing is sent; what is due waits for the morning. At most one personal
  reminder per teacher per local day: a second one waits for the next morning.
- Each part sent is recorded at once (``parts_sent``, then ``sent_at``) in a transaction of
  its own, so a crash repeats at most the one part that was in flight; rows already sent are
  never sent again.
"""

from __future__ import annotations

import asyncio
import logging
import time as monotonic_time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from bot.config import Settings
from models import Outbox, OutboxStatus, User, utcnow
from services.outbox import in_quiet_hours, local_day_start, next_morning
from services.people import set_blocked

log = logging.getLogger("pedbot.sender")

MAX_ATTEMPTS = 5  # sends of one part that failed for another reason than 429 or 403
RETRY_BASE = timedelta(minutes=1)  # then 2, 4, 8 minutes
CHAT_SPACING = 1.0  # seconds between two messages to one chat
BATCH = 200  # rows taken in one pass
WORKERS = 30  # chats served at a time
GONE = ("chat not found", "user is deactivated", "bot was blocked", "peer_id_invalid")


class RateLimiter:
    """At most ``rate`` sends per second in all; :meth:`pause` holds every sender."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = monotonic_time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self.clock = clock
        self.sleep = sleep
        self.next_slot = 0.0
        self.paused_until = 0.0
        self.lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self.lock:
            while True:
                now = self.clock()
                wait = max(self.paused_until, self.next_slot) - now
                if wait <= 0:
                    break
                await self.sleep(wait)
            self.next_slot = max(now, self.next_slot) + self.interval

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, self.clock() + seconds)


@dataclass
class DrainReport:
    sent: int = 0  # rows completely sent
    skipped: int = 0  # recipient inactive
    failed: int = 0  # gave up
    retried: int = 0  # will be tried again later
    postponed: int = 0  # a second reminder on one day: tomorrow morning
    held: bool = False  # quiet hours: nothing sent
    paused: list[float] = field(default_factory=list)  # retry_after waits

    def __bool__(self) -> bool:
        return bool(self.sent or self.skipped or self.failed or self.retried or self.postponed)


class Sender:
    def __init__(
        self,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        now: Callable[[], datetime] = utcnow,
        limiter: RateLimiter | None = None,
        clock: Callable[[], float] = monotonic_time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.bot = bot
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.now = now
        self.clock = clock
        self.sleep = sleep
        self.limiter = limiter or RateLimiter(settings.send_rate, clock, sleep)
        self.last_sent: dict[int, float] = {}  # chat -> monotonic time of the last message
        self.lock = asyncio.Lock()  # one drain at a time in this process

    async def drain(self, limit: int = BATCH) -> DrainReport:
        """Send what is due now; returns what happened."""
        report = DrainReport()
        async with self.lock:
            now = self.now()
            if in_quiet_hours(self.settings, now):
                report.held = True
                return report
            rows = await self._due(now, limit, report)
            by_chat: dict[int, list[int]] = {}
            for row_id, chat in rows:
                by_chat.setdefault(chat, []).append(row_id)
            gate = asyncio.Semaphore(WORKERS)

            async def serve(chat: int, ids: list[int]) -> None:
                async with gate:
                    for row_id in ids:
                        if not await self._send_row(row_id, report):
                            return  # the chat is gone: its other rows were skipped

            await asyncio.gather(*(serve(c, ids) for c, ids in by_chat.items()))
        return report

    async def _due(self, now: datetime, limit: int, report: DrainReport) -> list[tuple[int, int]]:
        """The due rows to send, after skipping inactive people and holding a second
        reminder of the day."""
        async with self.sessionmaker.begin() as session:
            rows = (
                await session.execute(
                    select(Outbox.id, Outbox.telegram_id, Outbox.reminder)
                    .where(Outbox.status == OutboxStatus.PENDING.value, Outbox.due_at <= now)
                    .order_by(Outbox.due_at, Outbox.id)
                    .limit(limit)
                )
            ).all()
            if not rows:
                return []
            chats = {r.telegram_id for r in rows}
            blocked = set(
                (
                    await session.scalars(
                        select(User.telegram_id).where(
                            User.telegram_id.in_(chats), User.blocked_bot.is_(True)
                        )
                    )
                ).all()
            )
            if blocked:
                await self._skip_chats(session, blocked)
            reminded = set(
                (
                    await session.scalars(
                        select(Outbox.telegram_id)
                        .where(
                            Outbox.reminder.is_(True),
                            Outbox.telegram_id.in_(chats),
                            Outbox.sent_at >= local_day_start(self.settings, now),
                        )
                        .group_by(Outbox.telegram_id)
                    )
                ).all()
            )
            out: list[tuple[int, int]] = []
            later: list[int] = []
            for r in rows:
                if r.telegram_id in blocked:
                    report.skipped += 1
                    continue
                if r.reminder:
                    if r.telegram_id in reminded:
                        later.append(r.id)
                        continue
                    reminded.add(r.telegram_id)
                out.append((r.id, r.telegram_id))
            if later:
                await session.execute(
                    update(Outbox)
                    .where(Outbox.id.in_(later))
                    .values(due_at=next_morning(self.settings, now))
                )
                report.postponed += len(later)
            return out

    async def _skip_chats(self, session: AsyncSession, chats: set[int]) -> None:
        await session.execute(
            update(Outbox)
            .where(Outbox.status == OutboxStatus.PENDING.value, Outbox.telegram_id.in_(chats))
            .values(status=OutboxStatus.SKIPPED.value)
        )

    async def _chat_gap(self, chat: int) -> None:
        last = self.last_sent.get(chat)
        if last is not None:
            wait = last + CHAT_SPACING - self.clock()
            if wait > 0:
                await self.sleep(wait)

    async def _send_row(self, row_id: int, report: DrainReport) -> bool:
        """Send the remaining parts of one row. False when the chat turned out to be gone."""
        async with self.sessionmaker() as session:
            row = await session.get(Outbox, row_id, options=[selectinload(Outbox.files)])
            if row is None or row.status != OutboxStatus.PENDING.value:
                return True
            chat, text, keyboard = row.telegram_id, row.text, row.keyboard
            files = [(f.kind, f.filename, f.content, f.caption) for f in row.files]
            done = row.parts_sent
        parts = 1 + len(files)
        while done < parts:
            await self.limiter.acquire()
            await self._chat_gap(chat)
            try:
                if done == 0:
                    markup = InlineKeyboardMarkup.model_validate(keyboard) if keyboard else None
                    await self.bot.send_message(chat, text, reply_markup=markup)
                else:
                    kind, name, content, caption = files[done - 1]
                    upload = BufferedInputFile(content, filename=name)
                    if kind == "photo":
                        await self.bot.send_photo(chat, upload, caption=caption)
                    else:
                        await self.bot.send_document(chat, upload, caption=caption)
            except TelegramRetryAfter as exc:
                log.info("429 from the Bot API: all sending paused for %s s", exc.retry_after)
                report.paused.append(float(exc.retry_after))
                self.limiter.pause(float(exc.retry_after))
                continue
            except (TelegramForbiddenError, TelegramBadRequest) as exc:
                if isinstance(exc, TelegramForbiddenError) or any(
                    g in str(exc).lower() for g in GONE
                ):
                    log.info("a recipient is no longer reachable; marked inactive")
                    await self._gone(chat)
                    report.skipped += 1
                    return False
                await self._failed(row_id, exc, report, final=True)
                return True
            except (TelegramAPIError, TelegramNetworkError, OSError, TimeoutError) as exc:
                await self._failed(row_id, exc, report, final=False)
                return True
            self.last_sent[chat] = self.clock()
            done += 1
            await self._progress(row_id, done, parts)
        report.sent += 1
        return True

    async def _progress(self, row_id: int, done: int, parts: int) -> None:
        values: dict[str, object] = {"parts_sent": done}
        if done == parts:
            values.update(status=OutboxStatus.SENT.value, sent_at=self.now())
        async with self.sessionmaker.begin() as session:
            await session.execute(update(Outbox).where(Outbox.id == row_id).values(**values))

    async def _gone(self, chat: int) -> None:
        async with self.sessionmaker.begin() as session:
            await set_blocked(session, chat, True)
            await self._skip_chats(session, {chat})

    async def _failed(
        self, row_id: int, exc: Exception, report: DrainReport, *, final: bool
    ) -> None:
        async with self.sessionmaker.begin() as session:
            row = await session.get(Outbox, row_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = type(exc).__name__
            if final or row.attempts >= MAX_ATTEMPTS:
                row.status = OutboxStatus.FAILED.value
                report.failed += 1
                log.warning("an outbox message failed for good: %s", type(exc).__name__)
            else:
                row.due_at = self.now() + RETRY_BASE * (2 ** (row.attempts - 1))
                report.retried += 1

    async def pending(self) -> int:
        async with self.sessionmaker() as session:
            return int(
                await session.scalar(
                    select(func.count())
                    .select_from(Outbox)
                    .where(Outbox.status == OutboxStatus.PENDING.value)
                )
                or 0
            )
