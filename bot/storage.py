"""aiogram FSM storage in our database: a conversation survives a restart.

Inside an update the storage writes through the update's own session (see
:mod:`bot.scope`), so the conversation state commits or rolls back together with the
handler's changes. The state is read once per update (usually together with the person, by
the context middleware, which primes :attr:`UpdateScope.conversations`) and written only when
it changes, as one upsert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.scope import Conversation, current_scope
from models import FsmRecord, utcnow
from models.db import upsert

_KEEP: Any = object()


def storage_key(key: StorageKey) -> str:
    parts = [str(key.bot_id), str(key.chat_id), str(key.user_id)]
    if key.thread_id:
        parts.append(f"t{key.thread_id}")
    if key.business_connection_id:
        parts.append(f"b{key.business_connection_id}")
    parts.append(key.destiny)
    return ":".join(parts)


class SqlStorage(BaseStorage):
    """One row per conversation key."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    @staticmethod
    def prime(key: StorageKey, rows: Iterable[FsmRecord]) -> None:
        """Record the conversation rows loaded with the person, so this update reads no more.

        ``rows`` are all the conversation rows of this Telegram user: a key not among them
        has no row.
        """
        scope = current_scope.get()
        if scope is None:
            return
        wanted = storage_key(key)
        row = next((r for r in rows if r.key == wanted), None)
        scope.conversations[wanted] = (row.state, dict(row.data or {})) if row else (None, {})

    @staticmethod
    async def _load(session: AsyncSession, key: str) -> Conversation:
        row = (
            await session.execute(
                select(FsmRecord.state, FsmRecord.data).where(FsmRecord.key == key)
            )
        ).first()
        return (row.state, dict(row.data or {})) if row is not None else (None, {})

    async def _current(self, key: str) -> Conversation:
        scope = current_scope.get()
        if scope is None:
            async with self.sessionmaker() as session:
                return await self._load(session, key)
        known = scope.conversations.get(key)
        if known is None:
            known = scope.conversations[key] = await self._load(scope.session, key)
        return known

    async def _store(self, key: StorageKey, state: Any = _KEEP, data: Any = _KEEP) -> None:
        name = storage_key(key)
        scope = current_scope.get()
        session = scope.session if scope is not None else None
        if session is None:
            async with self.sessionmaker.begin() as own:
                await self._write(own, key, name, await self._load(own, name), state, data)
            return
        assert scope is not None
        now = await self._current(name)
        written = await self._write(session, key, name, now, state, data)
        scope.conversations[name] = written

    @staticmethod
    async def _write(
        session: AsyncSession,
        key: StorageKey,
        name: str,
        now: Conversation,
        state: Any,
        data: Any,
    ) -> Conversation:
        new: Conversation = (
            now[0] if state is _KEEP else state,
            now[1] if data is _KEEP else dict(data),
        )
        if new == now:
            return now
        values = {
            "key": name,
            "user_id": key.user_id,
            "state": new[0],
            "data": new[1],
            "updated_at": utcnow(),
        }
        await session.execute(
            upsert(session, FsmRecord, values, ["key"], ["state", "data", "updated_at"])
        )
        return new

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await self._store(key, state=state.state if isinstance(state, State) else state)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._current(storage_key(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._store(key, data=data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._current(storage_key(key)))[1])

    async def close(self) -> None:
        return None
