"""The database work of one update: a session made only when something asks for it, and
short transactions of plain statements on the driver for the paths every tap takes."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from models.db import DriverLane, SqliteLine, driver_lane, sqlite_line
from models.driver import SessionStatements, Statements


class Work:
    """One update's (or one job's) access to the database.

    ``session`` is created on first use: most taps never need the ORM. ``statements()``
    gives :class:`models.driver.Statements` in a transaction of their own, committed when
    the block ends, on a connection taken for the block only (on SQLite the pool's one
    connection, used directly while idle: :class:`models.db.SqliteLine`); once the session
    has a transaction open, they join it instead (and commit with it).

    A block is short: it waits for nothing but its statements, makes no Bot API request and
    does not use the session (on SQLite that would ask the pool for the very connection the
    block holds, and fail).

    A block opened with ``keep=True`` leaves the connection it took from the pool
    (PostgreSQL), with no transaction open, to the update's next block: a read and the
    writes that follow it take and give back one connection, not one each. It goes back to
    the pool with that block, or at :meth:`commit` (before each Bot API request, see
    :mod:`bot.outgoing`: no connection waits on the network) or :meth:`close`, or when the
    session is made.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        engine = sessionmaker.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            raise TypeError("the sessionmaker must be bound to an AsyncEngine")
        self.engine = engine
        # SQLite through models.db.InlineSqlite: its one connection, used directly when idle
        self.line = sqlite_line(engine)
        # PostgreSQL through models.db.make_engine: connections kept apart from the pool
        self.lane = driver_lane(engine)
        self._session: AsyncSession | None = None
        self._held: _Taken | None = None  # between blocks, no transaction

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            held, self._held = self._held, None
            if held is not None:
                # the session takes a connection of its own: two at once for one update
                # could wait on each other when connections run short. No transaction is
                # open on it (a kept block committed), so giving it back does no I/O.
                held.give_back_now()
            self._session = self.sessionmaker()
        return self._session

    @property
    def opened(self) -> AsyncSession | None:
        """The session, if something has asked for it."""
        return self._session

    def statements(self, *, write: bool = True, keep: bool = False) -> _Block:
        """Plain statements in one transaction (``write=False``: reads, no transaction;
        ``keep``: the connection stays for the update's next block)::

        async with work.statements() as db:
            rows = await db.fetch(STATEMENT, id=...)
        """
        return _Block(self, write, keep)

    @property
    def settled(self) -> bool:
        """Nothing for :meth:`commit` to do: no connection held, no transaction open."""
        return self._held is None and (self._session is None or not self._session.in_transaction())

    async def commit(self) -> None:
        """Commit the session and give back the connection held between blocks."""
        await self._give_back()
        if self._session is not None and self._session.in_transaction():
            await self._session.commit()

    async def rollback(self) -> None:
        if self._session is not None:
            await self._session.rollback()

    @property
    def untouched(self) -> bool:
        """Nothing for :meth:`close` to do: no connection held, no session made."""
        return self._held is None and self._session is None

    async def close(self) -> None:
        try:
            await self._give_back()
        finally:
            if self._session is not None:
                await self._session.close()

    async def _give_back(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            await held.give_back(healthy=True)


class _Taken:
    """A connection a block took: from the driver lane (PostgreSQL, see
    :class:`models.db.DriverLane`) or from the pool."""

    __slots__ = ("driver", "fairy", "lane")

    def __init__(
        self, driver: Any, lane: DriverLane | None, fairy: PoolProxiedConnection | None
    ) -> None:
        self.driver = driver
        self.lane = lane
        self.fairy = fairy

    @classmethod
    async def take(cls, work: Work) -> _Taken:
        lane = work.lane
        if lane is not None:
            return cls(await lane.take(), lane, None)
        fairy = await work.engine.raw_connection()
        return cls(fairy.driver_connection, None, fairy)

    async def give_back(self, *, healthy: bool) -> None:
        if self.lane is not None:
            self.lane.give_back(self.driver, healthy=healthy)
            return
        assert self.fairy is not None
        if not healthy:
            self.fairy.invalidate()  # its state is unknown: not back to the pool
        # the pool's reset on return talks to the driver through SQLAlchemy's greenlet
        # bridge, so it runs inside one
        await greenlet_spawn(self.fairy.close)

    def give_back_now(self) -> None:
        """Given back with no transaction open: no I/O (the pool's reset on return finds
        nothing to roll back)."""
        if self.lane is not None:
            self.lane.give_back(self.driver, healthy=True)
        else:
            assert self.fairy is not None
            self.fairy.close()


class _Block:
    """One ``statements()`` block: a connection for its duration (or the session's, inside
    its transaction), committed at the end unless it raised."""

    __slots__ = ("_keep", "_line", "_statements", "_taken", "_work", "_write")

    def __init__(self, work: Work, write: bool, keep: bool) -> None:
        self._work = work
        self._write = write
        self._keep = keep
        self._taken: _Taken | None = None
        self._line: SqliteLine | None = None
        self._statements: Statements | None = None

    async def __aenter__(self) -> Statements:
        work = self._work
        session = work._session
        if session is not None and session.in_transaction():
            self._statements = SessionStatements(await session.connection())
            return self._statements
        line = work.line
        if line is not None:
            direct = line.take()
            if direct is not None:
                self._line = line
                self._statements = Statements(direct, work.engine.dialect)
                return self._statements
        held, work._held = work._held, None
        self._taken = held if held is not None else await _Taken.take(work)
        self._statements = Statements(
            self._taken.driver, work.engine.dialect, transaction=self._write
        )
        return self._statements

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        st = self._statements
        if st is None or (self._line is None and self._taken is None):
            return  # the session's transaction: it commits or rolls back
        clean = False  # no transaction left open on the connection
        committed = False
        try:
            if exc is None:
                try:
                    await st.commit()  # after reads only there is nothing to commit
                    committed = clean = True
                except BaseException:
                    await st.rollback()
                    clean = True
                    raise
            else:
                await st.rollback()
                clean = True
        finally:
            await self._release(clean, committed)

    async def _release(self, clean: bool, committed: bool) -> None:
        line, self._line = self._line, None
        if line is not None:
            line.give_back()
        taken, self._taken = self._taken, None
        if taken is None:
            return
        work = self._work
        if committed and self._keep and work._held is None and work._session is None:
            work._held = taken  # no transaction open
        else:
            # a connection whose rollback failed is in a state unknown: closed
            await taken.give_back(healthy=clean)
