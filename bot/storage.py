"""aiogram FSM storage in our database: a conversation survives a restart.

Inside an update the storage works through the update's own session (see
:mod:`bot.scope`), so the conversation state commits or rolls back together with the
handler's changes. The state is read once per update (usually together with the person, by
the context middleware, which primes :attr:`UpdateScope.conversations`) and written only when
it changed: once per update, as one upsert just before the commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, StateType, StorageKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.scope import Conversation, current_scope, upsert_conversation
from models import FsmRecord

_KEEP: Any = object()


def storage_key(key: StorageKey) -> str:
    """The row's key for aiogram's key. An update asks for the same key several times in a
    row (the context read, then its handler's state and data): the last one is kept."""
    if key is _LAST[0]:
        return _LAST[1]  # type: ignore[no-any-return]
    parts = [str(key.bot_id), str(key.chat_id), str(key.user_id)]
    if key.thread_id:
        parts.append(f"t{key.thread_id}")
    if key.business_connection_id:
        parts.append(f"b{key.business_connection_id}")
    parts.append(key.destiny)
    name = ":".join(parts)
    _LAST[0], _LAST[1] = key, name
    return name


_LAST: list[Any] = [None, None]  # the last key asked for (compared by identity), its name


def _changed(now: Conversation, state: Any, data: Any) -> Conversation:
    return (now[0] if state is _KEEP else state, now[1] if data is _KEEP else dict(data))


class SqlStorage(BaseStorage):
    """One row per conversation key."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    @staticmethod
    def prime(key: str, conversation: Conversation) -> None:
        """Record the conversation row read with the person, so this update reads no more."""
        scope = current_scope.get()
        if scope is not None:
            scope.conversations[key] = conversation

    @staticmethod
    async def _load(session: AsyncSession, key: str) -> Conversation:
        row = (
            await session.execute(
                select(FsmRecord.state, FsmRecord.data).where(FsmRecord.key == key)
            )
        ).first()
        return (row.state, dict(row.data or {})) if row is not None else (None, {})

    @staticmethod
    def _known(key: str) -> Conversation | None:
        """The conversation already read in this update, if it was."""
        scope = current_scope.get()
        return scope.conversations.get(key) if scope is not None else None

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
        """Inside an update a change is only noted; it is written once, before the update's
        next commit (:meth:`UpdateScope.flush`). Outside an update it is written at once."""
        name = storage_key(key)
        scope = current_scope.get()
        if scope is None:
            async with self.sessionmaker.begin() as session:
                now = await self._load(session, name)
                new = _changed(now, state, data)
                if new != now:
                    await upsert_conversation(session, name, key.user_id, new)
            return
        now = await self._current(name)
        new = _changed(now, state, data)
        if new != now:
            scope.conversations[name] = new
            scope.changed[name] = key.user_id

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await self._store(key, state=state.state if isinstance(state, State) else state)

    async def get_state(self, key: StorageKey) -> str | None:
        name = storage_key(key)
        return (self._known(name) or await self._current(name))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._store(key, data=data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        name = storage_key(key)
        return dict((self._known(name) or await self._current(name))[1])

    async def close(self) -> None:
        return None


class ChatLocks(BaseEventIsolation):
    """One conversation's updates one at a time, in this process (several processes share
    Redis' locks instead, see ``bot.app.create_storage``).

    Unlike aiogram's ``SimpleEventIsolation`` there is no generator-based context manager
    around the lock on every update, and a conversation's lock is kept only while an update
    holds it or waits for it, not for ever for every person who ever wrote."""

    def __init__(self) -> None:
        self._locks: dict[StorageKey, _ChatLock] = {}

    def lock(self, key: StorageKey) -> _ChatLock:  # type: ignore[override]
        found = self._locks.get(key)
        if found is None:
            found = self._locks[key] = _ChatLock(self._locks, key)
        return found

    async def close(self) -> None:
        self._locks.clear()


class _ChatLock(asyncio.Lock):
    """A conversation's lock that leaves its table when the last update using it is done."""

    def __init__(self, table: dict[StorageKey, _ChatLock], key: StorageKey) -> None:
        super().__init__()
        self._table = table
        self._key = key
        self._users = 0  # updates holding or waiting for it

    async def __aenter__(self) -> None:
        self._users += 1
        try:
            await self.acquire()
        except BaseException:
            self._left()
            raise

    async def __aexit__(self, *_exc: object) -> None:
        self.release()
        self._left()

    def _left(self) -> None:
        self._users -= 1
        if self._users == 0 and self._table.get(self._key) is self:
            del self._table[self._key]
