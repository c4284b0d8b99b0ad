"""The database work of one update: a session made only when something asks for it, and
short transactions of plain statements on the driver for the paths every tap takes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.util import greenlet_spawn

from models.driver import SessionStatements, Statements


class Work:
    """One update's (or one job's) access to the database.

    ``session`` is created on first use: most taps never need the ORM. ``statements()``
    gives :class:`models.driver.Statements` in a transaction of their own, committed when
    the block ends, on a connection taken from the pool for the block only; once the
    session has a transaction open, they join it instead (and commit with it).

    On SQLite the pool has one connection: nothing may use the session inside a
    ``statements()`` block that took its own connection (it would wait for that very
    connection). The block is short and makes no Bot API request.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        engine = sessionmaker.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            raise TypeError("the sessionmaker must be bound to an AsyncEngine")
        self.engine = engine
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self.sessionmaker()
        return self._session

    @property
    def opened(self) -> AsyncSession | None:
        """The session, if something has asked for it."""
        return self._session

    @asynccontextmanager
    async def statements(self, *, write: bool = True) -> AsyncIterator[Statements]:
        """Plain statements in one transaction (``write=False``: reads, no transaction)."""
        session = self._session
        if session is not None and session.in_transaction():
            yield SessionStatements(await session.connection())
            return
        fairy = await self.engine.raw_connection()
        try:
            st = Statements(fairy.driver_connection, self.engine.dialect)
            if not write:
                yield st
                return
            await st.begin()
            try:
                yield st
            except BaseException:
                try:
                    await st.rollback()
                except BaseException:
                    fairy.invalidate()  # its state is unknown: never back into the pool
                    raise
                raise
            await st.commit()
        finally:
            # back to the pool; the pool's reset may talk to the driver through SQLAlchemy's
            # greenlet bridge, so it runs inside one
            await greenlet_spawn(fairy.close)

    async def commit(self) -> None:
        if self._session is not None and self._session.in_transaction():
            await self._session.commit()

    async def rollback(self) -> None:
        if self._session is not None:
            await self._session.rollback()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
