"""Putting messages into the outbox: the one way out for bulk and scheduled work.

A handler or a job never loops over recipients sending; it inserts one row per message
with a unique ``key`` (enqueueing the same key again does nothing, so a job that runs twice
sends once) and :mod:`scheduler.sender` delivers them under Telegram's limits, outside quiet
hours, at most one personal reminder per teacher per day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from models import Outbox, OutboxFile, OutboxStatus, utcnow

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


@dataclass(frozen=True)
class OutFile:
    kind: str  # "photo" | "document"
    filename: str
    content: bytes
    caption: str | None = None


async def enqueue(
    session: AsyncSession,
    *,
    key: str,
    kind: str,
    telegram_id: int,
    text: str,
    keyboard: dict[str, Any] | None = None,
    files: Sequence[OutFile] = (),
    due_at: datetime | None = None,
    reminder: bool = False,
    user_id: int | None = None,
) -> bool:
    """Add a message unless one with ``key`` exists; True when added.

    ``keyboard`` is an inline keyboard as JSON (``InlineKeyboardMarkup.model_dump(mode="json",
    exclude_none=True)``); ``due_at`` (UTC) defaults to now. ``reminder`` marks a personal
    reminder: the sender delivers at most one of those per teacher per local day.
    """
    if len(text) > TEXT_LIMIT:
        raise ValueError(f"outbox text of {len(text)} characters")
    for f in files:
        if f.caption is not None and len(f.caption) > CAPTION_LIMIT:
            raise ValueError(f"caption of {len(f.caption)} characters")
    if await session.scalar(select(Outbox.id).where(Outbox.key == key)) is not None:
        return False
    row = Outbox(
        key=key,
        kind=kind,
        telegram_id=telegram_id,
        user_id=user_id,
        text=text,
        keyboard=keyboard,
        reminder=reminder,
        due_at=due_at or utcnow(),
        status=OutboxStatus.PENDING.value,
    )
    row.files = [
        OutboxFile(
            position=i, kind=f.kind, filename=f.filename, content=f.content, caption=f.caption
        )
        for i, f in enumerate(files)
    ]
    try:
        async with session.begin_nested():  # another process may insert the same key
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True


def in_quiet_hours(settings: Settings, moment: datetime) -> bool:
    window = settings.quiet
    if window is None:
        return False
    start, end = window
    local = moment.astimezone(settings.tz).time()
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def next_morning(settings: Settings, moment: datetime) -> datetime:
    """The next end of quiet hours after ``moment`` (the next local midnight without
    them), in UTC."""
    tz = settings.tz
    local = moment.astimezone(tz)
    window = settings.quiet
    at = window[1] if window is not None else datetime.min.time()
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate.astimezone(UTC)


def local_day_start(settings: Settings, moment: datetime) -> datetime:
    day: date = moment.astimezone(settings.tz).date()
    return datetime.combine(day, datetime.min.time(), tzinfo=settings.tz).astimezone(UTC)


async def cancel(session: AsyncSession, key_prefix: str) -> int:
    """Cancel pending messages whose key starts with ``key_prefix`` (e.g. reminders of a
    campaign the teacher has answered); how many."""
    result = await session.execute(
        update(Outbox)
        .where(Outbox.status == OutboxStatus.PENDING.value, Outbox.key.startswith(key_prefix))
        .values(status=OutboxStatus.CANCELLED.value)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
