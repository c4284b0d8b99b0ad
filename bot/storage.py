"""aiogram FSM storage in our database: a conversation survives a restart.

Inside an update the storage writes through the update's own session (set by
``DbSessionMiddleware`` in :data:`current_session`), so the conversation state commits or
rolls back together with the handler's changes, and SQLite never sees two writers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import FsmRecord, utcnow

current_session: ContextVar[AsyncSession | None] = ContextVar("pedbot_session", default=None)


def _key(key: StorageKey) -> str:
    parts = [str(key.bot_id), str(key.chat_id), str(key.user_id)]
    if key.thread_id:
        parts.append(f"t{key.thread_id}")
    if key.business_connection_id:
        parts.append(f"b{key.business_connection_id}")
    parts.append(key.destiny)
    return ":".join(parts)


class SqlStorage(BaseStorage):
    """One row per conversation key; each call is its own short transaction."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        shared = current_session.get()
        if shared is not None:
            yield shared
            await shared.flush()
            return
        async with self.sessionmaker.begin() as session:
            yield session

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        shared = current_session.get()
        if shared is not None:
            yield shared
            return
        async with self.sessionmaker() as session:
            yield session

    async def _row(self, session: AsyncSession, key: StorageKey) -> FsmRecord | None:
        return await session.get(FsmRecord, _key(key))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with self._write() as session:
            row = await self._row(session, key)
            if row is None:
                if value is None:
                    return
                session.add(FsmRecord(key=_key(key), user_id=key.user_id, state=value, data={}))
            elif row.state != value:
                row.state = value
                row.updated_at = utcnow()

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._read() as session:
            return await session.scalar(select(FsmRecord.state).where(FsmRecord.key == _key(key)))

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with self._write() as session:
            row = await self._row(session, key)
            if row is None:
                if not data:
                    return
                session.add(
                    FsmRecord(key=_key(key), user_id=key.user_id, state=None, data=dict(data))
                )
            elif row.data != dict(data):
                row.data = dict(data)
                row.updated_at = utcnow()

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._read() as session:
            data = await session.scalar(select(FsmRecord.data).where(FsmRecord.key == _key(key)))
            return dict(data or {})

    async def close(self) -> None:
        return None
