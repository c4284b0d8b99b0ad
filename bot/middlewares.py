"""Per-update context: one database session, the current person, their roles, their texts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TgUser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import DEFAULT_LANGUAGE, Translator
from bot.storage import current_session
from services.people import get_user
from services.roles import Access, access_for

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DbSessionMiddleware(BaseMiddleware):
    """One ``AsyncSession`` per update: committed when the handler returns, rolled back if it raises."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], serialize: bool = False
    ) -> None:
        self.sessionmaker = sessionmaker
        # SQLite has one writer at a time; waiting here is cheaper and fairer than SQLite's
        # busy-wait, which sleeps up to 100 ms between retries under concurrent updates.
        self.lock: asyncio.Lock | contextlib.nullcontext[None] = (
            asyncio.Lock() if serialize else contextlib.nullcontext()
        )

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.lock, self.sessionmaker() as session:
            data["session"] = session
            token = current_session.set(session)
            try:
                result = await handler(event, data)
            except BaseException:
                await session.rollback()
                raise
            finally:
                current_session.reset(token)
            await session.commit()
            return result


class ContextMiddleware(BaseMiddleware):
    """Loads the teacher (or ``None`` before consent), their :class:`Access` and translator."""

    def __init__(
        self, admin_ids: frozenset[int], clock: Callable[[], datetime], tz: tzinfo
    ) -> None:
        self.admin_ids = admin_ids
        self.clock = clock
        self.tz = tz

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        session: AsyncSession = data["session"]
        data["now"] = self.clock().astimezone(self.tz)  # local time of the municipality
        if tg_user is None:
            data["user"] = None
            data["access"] = Access(telegram_id=0)
            data["t"] = Translator(DEFAULT_LANGUAGE, self.tz)
            return await handler(event, data)
        user = await get_user(session, tg_user.id)
        data["user"] = user
        data["access"] = await access_for(session, tg_user.id, self.admin_ids)
        data["t"] = Translator(user.language if user else DEFAULT_LANGUAGE, self.tz)
        return await handler(event, data)
