"""Engine and session factory. SQLite gets WAL mode and foreign keys on every connection."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from functools import cache, partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiosqlite
from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool, Pool, QueuePool
from sqlalchemy.sql.dml import Insert

from models.driver import loads_json

log = logging.getLogger(__name__)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_dir(url: str) -> None:
    """Create the directory of an SQLite file so the default works on a fresh clone."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # deleted rows (a teacher's data after «Удалить мои данные») are overwritten in the file
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


PG_POOL_SIZE = 10  # the sessions' pool (handlers that use the ORM, jobs)
PG_POOL_OVERFLOW = 10
PG_LANE_SIZE = 10  # the driver blocks' connections (every update's first read), DriverLane

# How long an update waits for the SQLite connection before it fails (it is held only while
# a handler works on the database, never across a network call, so waits are short).
SQLITE_WAIT = 60.0


class InlineSqlite(aiosqlite.Connection):
    """aiosqlite without the thread hop: each call runs on the event loop's thread.

    aiosqlite sends every call (cursor, execute, fetch, close, commit) to a worker thread and
    back, a queue put, a thread wake-up and an event-loop wake-up each; for the short
    statements of the bot those hops cost several times the statements themselves (about
    half of a tap's CPU). SQLite in WAL mode with ``synchronous=NORMAL`` does not wait for
    the disk on commit, and the process has one connection anyway, so a statement running
    inline blocks nothing that could have run.

    This overrides aiosqlite's ``_execute`` (its one entry point for calls) and keeps its
    worker thread for what SQLAlchemy sends through the queue directly (setting the
    isolation level); ``tests/test_infra.py`` fails if aiosqlite changes either.
    """

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The sqlite3 connection, for :class:`models.driver.Statements` to call directly."""
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return self._connection


def _inline_sqlite(path: str) -> Callable[[], Awaitable[InlineSqlite]]:
    async def connect() -> InlineSqlite:
        connection = InlineSqlite(
            partial(sqlite3.connect, path, check_same_thread=False), iter_chunk_size=64
        )
        connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite
        return await connection

    return connect


class WalCheckpointer:
    """SQLite: the WAL is copied into the database file by a thread of its own, not by the
    commit that happens to cross SQLite's threshold (every 1,000 pages), which did it on the
    event loop with two fsyncs: a tap every few hundred waited several milliseconds for the
    disk, and every other update with it.

    The bot's connection runs with ``wal_autocheckpoint=0``; this thread, on a connection
    of its own, makes a passive checkpoint every ``interval`` seconds (it never waits for
    or blocks the writer; sqlite3 lets go of the interpreter lock meanwhile). Started with
    the engine's first connection, stopped when the engine is disposed of; it never creates
    the database file (it opens it read-write only).

    The WAL must also start again from its beginning, or the file grows without end and
    every commit writes to pages the file never had (on ext4 about 50 µs more a commit than
    rewriting pages it has). A write starts it again only when it finds every frame copied,
    and under steady writes the thread never leaves it so: it runs when sqlite3 lets go of
    the interpreter, which on the event loop's side is mostly during a commit, so a few
    frames are always appended while it copies. So once the thread has copied what it
    found, the event loop copies what was appended meanwhile (:meth:`_finish`, a few frames
    and two fsyncs, between two updates, on the bot's own connection: nothing can append
    then), and the next write starts the WAL again. That part takes about a millisecond
    here (its two fsyncs); when it takes longer than ``finish_within`` (a slow disk), the
    loop is not asked again for the next ``backoff`` checkpoints: the WAL grows meanwhile
    rather than every update waiting on the disk.
    """

    def __init__(
        self,
        path: str,
        interval: float = 0.5,
        line: SqliteLine | None = None,
        finish_within: float = 0.01,
        backoff: int = 20,
    ) -> None:
        self.path = path
        self.interval = interval
        self.line = line  # the bot's connection, for the loop's part (_finish)
        self.finish_within = finish_within
        self.backoff = backoff
        self._skip = 0  # thread checkpoints left before the loop is asked again
        self.checkpoints = 0  # made by the thread, for tests and curiosity
        self.finished = 0  # completed by the event loop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._finish_asked = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start the thread (if it is not running); ``loop``: the event loop that uses the
        bot's connection, which completes the checkpoints (none: the thread alone)."""
        with self._lock:
            if loop is not None:
                self._loop = loop
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name="pedbot-wal-checkpoint", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self, stop: threading.Event) -> None:
        try:
            con = sqlite3.connect(f"file:{quote(self.path)}?mode=rw", uri=True)
        except sqlite3.Error as exc:
            log.warning("WAL checkpoints not started: %s", type(exc).__name__)
            return
        try:
            while not stop.wait(self.interval):
                try:
                    busy, frames, copied = con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # the file went away, the disk is full…
                    log.warning("WAL checkpoint failed: %s", type(exc).__name__)
                    continue
                if not busy and 0 < frames == copied:
                    self._ask_finish()
        finally:
            con.close()

    def _ask_finish(self) -> None:
        """Ask the event loop for :meth:`_finish` (from the thread)."""
        loop = self._loop
        if self._skip > 0:
            self._skip -= 1
            return
        if loop is None or self.line is None or self._finish_asked:
            return
        self._finish_asked = True
        try:
            loop.call_soon_threadsafe(self._finish)
        except RuntimeError:  # the loop is closed
            self._finish_asked = False

    def _finish(self) -> None:
        """On the event loop: copy the frames appended while the thread checkpointed, on the
        bot's connection, when no session or block holds it (no transaction is open then:
        blocks never wait, see :class:`SqliteLine`). Nothing can be appended meanwhile, so
        the WAL is then wholly copied and the next write starts it again."""
        self._finish_asked = False
        line = self.line
        if line is None:
            return
        connection = line.take()
        if connection is None:
            return  # in use: the thread's next checkpoint asks again
        began = time.monotonic()
        try:
            if not connection.in_transaction:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                self.finished += 1
                if time.monotonic() - began > self.finish_within:
                    self._skip = self.backoff
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint failed: %s", type(exc).__name__)
        finally:
            line.give_back()


class SqliteLine:
    """The one connection of an SQLite engine made by :func:`make_engine` for a file, for
    :mod:`models.work` to call directly while the pool has it idle.

    Taking it through the pool costs a checkout and a checkin (about 12 µs, twice an
    update); a direct use costs a flag. The use must not wait for anything (sqlite3 runs
    inline on this thread, so a block of statements runs from start to commit without
    giving the event loop a turn): should it wait after all, the pool refuses to hand the
    connection to anyone else meanwhile (its checkout event raises, and the pool drops the
    connection with the block's uncommitted work), so the mistake fails loudly instead of
    mixing two transactions.
    """

    def __init__(self, pool: QueuePool) -> None:
        self.pool = pool
        self.connection: sqlite3.Connection | None = None
        self.busy = False
        event.listen(pool, "connect", self._connected)
        event.listen(pool, "checkout", self._checkout)
        for name in ("close", "invalidate", "soft_invalidate", "detach"):
            event.listen(pool, name, self._gone)

    def take(self) -> sqlite3.Connection | None:
        """The connection, if no session, connection or other block holds it."""
        if self.busy or self.connection is None or self.pool.checkedout():
            return None
        self.busy = True
        return self.connection

    def give_back(self) -> None:
        self.busy = False

    def _connected(self, _dbapi: Any, record: Any) -> None:
        driver = record.driver_connection
        self.connection = driver.sqlite if isinstance(driver, InlineSqlite) else None

    def _checkout(self, _dbapi: Any, _record: Any, _proxy: Any) -> None:
        if self.busy:
            raise RuntimeError(
                "the SQLite connection is in direct use: a statements() block waited for "
                "something before its commit"
            )

    def _gone(self, *_args: Any) -> None:
        self.connection = None


_LINES: weakref.WeakKeyDictionary[Pool, SqliteLine] = weakref.WeakKeyDictionary()


def sqlite_line(engine: AsyncEngine) -> SqliteLine | None:
    """The :class:`SqliteLine` of an engine made by :func:`make_engine` for an SQLite file."""
    return _LINES.get(engine.sync_engine.pool)


class DriverLane:
    """PostgreSQL: the connections that :mod:`models.work`'s blocks run their statements
    on (the person read with every update, the answer path), kept apart from SQLAlchemy's
    pool.

    A checkout from the pool and the checkin after it cost about 30 µs of CPU (two hops
    through SQLAlchemy's greenlet bridge, a finalizer per checkout, the reset on return);
    here they are a pop and an append. The connections are made by the engine, so the
    dialect sets them up as it sets up its own, then detached from its pool. At most
    ``size`` exist; a block that finds none free waits for one. One given back in a
    transaction or closed, or after a failure, is closed (and every free one with it when
    the failure closed it: the server has most likely gone away); new ones are made when
    needed. ``Engine.dispose()`` closes the free ones, as it closes the pool's.
    """

    def __init__(self, engine: AsyncEngine, size: int, recycle: float) -> None:
        self.engine = engine
        self.size = size
        self.recycle = recycle
        self._free: list[tuple[Any, float]] = []  # (asyncpg connection, made at)
        # id of a connection in use -> (made at, generation it was made in)
        self._in_use: dict[int, tuple[float, int]] = {}
        self._making = 0  # connections being opened
        self._generation = 0  # one more at each dispose(): older ones are closed when back
        self._waiting: deque[asyncio.Future[Any]] = deque()
        event.listen(engine.sync_engine, "engine_disposed", self._disposed)

    @property
    def made(self) -> int:
        """Connections open (or being opened): free and in use."""
        return len(self._free) + len(self._in_use) + self._making

    @property
    def in_use(self) -> int:
        return len(self._in_use) + self._making

    @property
    def free(self) -> int:
        return len(self._free)

    async def take(self) -> Any:
        """A free connection, a new one while fewer than ``size`` exist, else the next one
        given back."""
        while True:
            now = time.monotonic()
            while self._free:
                driver, born = self._free.pop()
                if now - born < self.recycle and not driver.is_closed():
                    self._in_use[id(driver)] = (born, self._generation)
                    return driver
                driver.terminate()
            if self.made < self.size:
                return await self._make(now)
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                driver = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                    self.give_back(waiter.result(), healthy=True)
                raise
            if driver is not None:
                return driver
            # None: a place was freed: make a connection in it

    async def _make(self, now: float) -> Any:
        generation = self._generation  # disposed of while connecting: closed when back
        self._making += 1  # the place is taken while connecting
        try:
            fairy = await self.engine.raw_connection()
            driver = fairy.driver_connection
            fairy.detach()  # from now on ours: the pool forgets it
        except BaseException:
            self._making -= 1
            self._wake(None)
            raise
        self._making -= 1
        self._in_use[id(driver)] = (now, generation)
        return driver

    def give_back(self, driver: Any, *, healthy: bool) -> None:
        """A connection from :meth:`take`, after its block: ``healthy`` when the block
        ended with no error."""
        found = self._in_use.pop(id(driver), None)
        if found is None:
            return  # given back twice
        born, generation = found
        if generation != self._generation:
            healthy = False  # in use at a dispose()
        if healthy and not driver.is_closed() and not driver.is_in_transaction():
            self._in_use[id(driver)] = found  # in use again, if a block is waiting for it
            if not self._wake(driver):
                del self._in_use[id(driver)]
                self._free.append((driver, born))
            return
        if driver.is_closed():
            self._close_free()
        driver.terminate()
        self._wake(None)

    def _wake(self, driver: Any) -> bool:
        """Hand ``driver`` (or None: a place to make one) to the first block waiting."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(driver)
                return True
        return False

    def _close_free(self) -> None:
        free, self._free = self._free, []
        for driver, _born in free:
            driver.terminate()

    def _disposed(self, _engine: Any) -> None:
        self._close_free()
        self._generation += 1  # those in use, or being made, are closed when given back


_LANES: weakref.WeakKeyDictionary[Any, DriverLane] = weakref.WeakKeyDictionary()


def driver_lane(engine: AsyncEngine) -> DriverLane | None:
    """The :class:`DriverLane` of a PostgreSQL engine made by :func:`make_engine`."""
    return _LANES.get(engine.sync_engine)


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """The engine for ``url``.

    SQLite has one writer at a time. Rather than letting concurrent transactions meet in
    SQLite's busy loop (it sleeps up to 100 ms between retries) or fail with "database is
    locked" when a read transaction turns into a write, the process keeps a single
    connection: an update takes it at its first statement and gives it back at commit, which
    happens before any Bot API request (see ``bot.outgoing``). Waiting updates queue in
    order on the pool.

    PostgreSQL: a normal pool, without a ping before every checkout (that was a third of the
    round trips of a tap); a connection found dead is dropped and the pool refilled.
    """
    ensure_sqlite_dir(url)
    kwargs.setdefault("hide_parameters", True)  # SQL errors in logs must not carry personal data
    if is_sqlite(url):
        if make_url(url).database not in (None, "", ":memory:"):
            kwargs.setdefault("poolclass", AsyncAdaptedQueuePool)
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
            kwargs.setdefault("pool_timeout", SQLITE_WAIT)
            kwargs.setdefault("async_creator", _inline_sqlite(str(make_url(url).database)))
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        pool = engine.sync_engine.pool
        if isinstance(pool, QueuePool) and kwargs.get("async_creator") is not None:
            line = _LINES[pool] = SqliteLine(pool)
            _checkpoint_apart(engine, str(make_url(url).database), line)
        return engine
    kwargs.setdefault("pool_recycle", 1800)
    # Connections kept open: as many as updates are usually handled at once, so a burst does
    # not open and close connections beyond the pool for every update (each one a new
    # server process and a handshake); more may be opened for a moment, up to the overflow.
    kwargs.setdefault("pool_size", PG_POOL_SIZE)
    kwargs.setdefault("max_overflow", PG_POOL_OVERFLOW)
    # the driver decodes json columns with the dialect's deserializer: json.loads, less the
    # whitespace expressions around the C scanner (the answers of every tap are one object)
    kwargs.setdefault("json_deserializer", loads_json)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.driver == "asyncpg":
        _LANES[engine.sync_engine] = DriverLane(engine, PG_LANE_SIZE, kwargs["pool_recycle"])
    return engine


def _checkpoint_apart(engine: AsyncEngine, path: str, line: SqliteLine) -> None:
    """The engine's connections leave checkpoints to a :class:`WalCheckpointer`."""
    checkpointer = WalCheckpointer(path, line=line)

    def connected(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # connected outside an event loop: the thread alone
            loop = None
        checkpointer.start(loop)

    event.listen(engine.sync_engine, "connect", connected)
    event.listen(engine.sync_engine, "engine_disposed", lambda _engine: checkpointer.stop())
    _CHECKPOINTERS[engine.sync_engine] = checkpointer


_CHECKPOINTERS: weakref.WeakKeyDictionary[Any, WalCheckpointer] = weakref.WeakKeyDictionary()


def wal_checkpointer(engine: AsyncEngine) -> WalCheckpointer | None:
    """The :class:`WalCheckpointer` of an SQLite file engine made by :func:`make_engine`."""
    return _CHECKPOINTERS.get(engine.sync_engine)


@cache
def upsert_statement(
    table: Table, dialect: str, keys: tuple[str, ...], update: tuple[str, ...]
) -> Insert:
    """``INSERT … ON CONFLICT (keys) DO UPDATE SET update`` for SQLite or PostgreSQL."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={name: stmt.excluded[name] for name in update}
    )


async def upsert(
    session: AsyncSession,
    model: Any,
    values: dict[str, Any],
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """``INSERT … ON CONFLICT (keys) DO UPDATE SET update`` for SQLite and PostgreSQL, in the
    session's transaction. The statement is built once per table and compiled once."""
    conn = await session.connection()
    stmt = upsert_statement(model.__table__, conn.dialect.name, tuple(keys), tuple(update))
    await conn.execute(stmt, values)


_WIPE_WAL = "pedbot.wipe_wal"


def wipe_wal_after_commit(session: AsyncSession) -> None:
    """Ask for :func:`wipe_wal_if_asked` once this session's transaction is committed (a
    person's data was deleted)."""
    session.info[_WIPE_WAL] = True


async def wipe_wal_if_asked(session: AsyncSession) -> None:
    """SQLite: after a committed deletion, copy the WAL into the database file and truncate
    it to zero bytes. ``secure_delete`` zeroes deleted rows in the database file, but the WAL
    keeps earlier versions of the same pages until they are overwritten, and a reader of the
    file would find the deleted person there. Nothing to do on PostgreSQL."""
    if not session.info.pop(_WIPE_WAL, False):
        return
    conn = await session.connection()
    if conn.dialect.name == "sqlite":
        for _ in range(WIPE_TRIES):
            # (busy, frames in the WAL, frames copied): busy while the checkpoint thread
            # (WalCheckpointer) holds the checkpoint lock; then the WAL was not truncated
            busy = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).first()
            if busy is not None and busy[0] == 0:
                break
            await asyncio.sleep(0.01)
        else:
            log.warning("WAL not truncated after a deletion: the checkpoint stayed busy")
    await session.commit()


WIPE_TRIES = 100


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
