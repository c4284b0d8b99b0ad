"""Statements run on the database driver itself, for the paths every tap takes.

A statement through SQLAlchemy's ``AsyncSession`` costs about 70 µs of CPU in SQLAlchemy
(greenlet hop, cache lookup, result objects), a session with a connection and a commit
about 120 µs more; the same statement on SQLite's own connection costs 5–10 µs. An answer
tap makes four statements and one commit, so SQLAlchemy was most of its cost.

Here a Core statement is compiled once per dialect into the driver's SQL with its
parameters in order, and the column types' own bind and result processors (SQLAlchemy's
public type API) convert the values, so a row written here reads back through the ORM as
if the ORM had written it, and the reverse. :class:`Statements` runs them on the pool's
connection: sqlite3 called inline (see :class:`models.db.InlineSqlite`), or asyncpg.

Only plain statements belong here (no ORM objects, no events): what they change must not
be something the ORM's flush hooks keep (``models.facts``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.selectable import Select
from sqlalchemy.types import JSON

from models.base import UTCDateTime

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class Compiled:
    """One statement for one dialect: its SQL, its parameters in order with their fixed
    values (literals in the statement) and processors, the processors of its columns."""

    sql: str
    binds: tuple[tuple[str, Any, Processor], ...]  # each parameter: name, fixed value, processor
    converted: tuple[tuple[int, Callable[[Any], Any]], ...]  # columns with a result processor

    def parameters(self, values: dict[str, Any]) -> list[Any]:
        return [
            value
            if (value := values.get(name, fixed)) is None or process is None
            else process(value)
            for name, fixed, process in self.binds
        ]

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
        converted = self.converted
        if not converted:
            return list(raw)
        out: list[Sequence[Any]] = []
        for row in raw:
            values = list(row)
            for i, process in converted:
                if values[i] is not None:
                    values[i] = process(values[i])
            out.append(values)
        return out


class Statement:
    """A Core statement (select, insert, update, delete with ``bindparam`` placeholders),
    compiled for a dialect the first time it runs there. A statement that differs between
    dialects (``INSERT … ON CONFLICT`` comes from each dialect's own module) is given as a
    function of the dialect's name."""

    def __init__(self, stmt: ClauseElement | Callable[[str], ClauseElement]) -> None:
        self._make = stmt if callable(stmt) else (lambda _name: stmt)
        self._built: dict[str, ClauseElement] = {}
        self._compiled: dict[str, Compiled] = {}

    def stmt(self, dialect: Dialect) -> ClauseElement:
        found = self._built.get(dialect.name)
        if found is None:
            found = self._built[dialect.name] = self._make(dialect.name)
        return found

    def compiled(self, dialect: Dialect) -> Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compile(self.stmt(dialect), dialect)
        return found


def _compile(stmt: ClauseElement, dialect: Dialect) -> Compiled:
    compiled = stmt.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    defaults = compiled.params
    binds: list[tuple[str, Any, Processor]] = []
    for name in names:
        bind_type = compiled.binds[name].type
        process = bind_type.dialect_impl(dialect).bind_processor(dialect)
        if dialect.name == "sqlite" and isinstance(bind_type, UTCDateTime):
            process = _utc_on_sqlite
        elif isinstance(bind_type, JSON) and process is not None:
            process = partial(_json_bound, process)
        binds.append((name, defaults.get(name), process))
    results: list[Processor] = []
    if isinstance(stmt, Select):
        for column in stmt.selected_columns:
            impl = column.type.dialect_impl(dialect)
            process = impl.result_processor(dialect, None)
            if dialect.name == "sqlite" and isinstance(column.type, JSON) and process is not None:
                process = partial(_json_read, process)
            results.append(process)
    return Compiled(
        compiled.string,
        tuple(binds),
        tuple((i, p) for i, p in enumerate(results) if p is not None),
    )


# JSON is bound as text (on PostgreSQL asyncpg sends that text). SQLAlchemy's processors
# wrap ``json.dumps`` and ``json.loads`` in checks for its NULL markers; an answer (a number)
# and the JSON objects an update reads skip them. Anything else goes to SQLAlchemy's own, so
# the values are the same (``tests/test_work.py`` compares them).
def _json_bound(process: Callable[[Any], Any], value: Any) -> Any:
    return str(value) if type(value) is int else process(value)


def _json_read(process: Callable[[Any], Any], value: Any) -> Any:
    """SQLite: a JSON column's text as SQLAlchemy's result processor reads it."""
    if type(value) is not str:
        return process(value)
    return loads_json(value)


def loads_json(text: str) -> Any:
    """``json.loads(text)``, by the C scanner json.loads runs, without the two regular
    expressions around it that skip whitespace before and after the value (none in what
    json.dumps, SQLite's or PostgreSQL's JSON functions write; spaces inside are the
    scanner's own). The engine's JSON deserializer on PostgreSQL (``models.db``)."""
    try:
        found, end = _SCAN(text, 0)
    except StopIteration:
        return json.loads(text)  # raises as it always did
    return found if end == len(text) else json.loads(text)


_SCAN = json.JSONDecoder().scan_once


_UTC_LAST: list[Any] = [None, None]  # the last datetime bound on SQLite, and its text
_SQLITE = sqlite_dialect.dialect()
_SQLITE_UTC = UTCDateTime().dialect_impl(_SQLITE).bind_processor(_SQLITE)  # SQLAlchemy's own


def _utc_on_sqlite(value: Any) -> Any:
    """What :class:`models.base.UTCDateTime` binds on SQLite (the UTC time as SQLAlchemy's
    SQLite ``DATETIME`` writes it, ``YYYY-MM-DD HH:MM:SS.ffffff``), in one C call instead of
    two Python processors; the update's ``now``, bound by several statements, is converted
    once. ``tests/test_work.py`` compares it with SQLAlchemy's own."""
    if value is _UTC_LAST[0]:
        return _UTC_LAST[1]
    if not isinstance(value, datetime) or value.tzinfo is None:
        return _SQLITE_UTC(value)  # type: ignore[misc]  # refuses a naive one, as always
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    _UTC_LAST[0], _UTC_LAST[1] = value, text
    return text


class Statements:
    """Statements on one connection of the pool, called on the driver.

    In a block that writes (``Work.statements()``) the transaction on PostgreSQL begins
    with the first :meth:`execute`: reads before it see what is committed, as on SQLite
    (whose driver begins the transaction before the first change). A block whose one write
    is a single statement runs it with :meth:`write_alone`, atomic by itself: no BEGIN and
    COMMIT round trips.
    """

    def __init__(self, driver: Any, dialect: Dialect, *, transaction: bool = False) -> None:
        """``driver``: an sqlite3 connection, an :class:`models.db.InlineSqlite` or an asyncpg
        connection; ``transaction``: the block's writes share one transaction (on SQLite
        they always do, the driver begins it)."""
        self.dialect = dialect
        self._sqlite: sqlite3.Connection | None = (
            driver if isinstance(driver, sqlite3.Connection) else getattr(driver, "sqlite", None)
        )
        self._asyncpg = driver if self._sqlite is None else None
        self._wanted = transaction  # PostgreSQL: begun at the first write
        self._began = False
        self._alone = False  # the block's one write has run by itself

    async def fetch(self, statement: Statement, **values: Any) -> list[Sequence[Any]]:
        """Rows of a query."""
        c = statement.compiled(self.dialect)
        params = c.parameters(values)
        if self._sqlite is not None:
            return c.rows(self._sqlite.execute(c.sql, params).fetchall())
        return c.rows(await self._asyncpg.fetch(c.sql, *params))

    async def execute(self, statement: Statement, **values: Any) -> int:
        """Run a statement that changes rows; how many it changed."""
        c = statement.compiled(self.dialect)
        params = c.parameters(values)
        if self._sqlite is not None:
            return self._sqlite.execute(c.sql, params).rowcount
        if self._alone:
            raise RuntimeError("a write after the block's one write_alone")
        if self._wanted and not self._began:
            await self._asyncpg.execute("BEGIN")
            self._began = True
        status = await self._asyncpg.execute(c.sql, *params)
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def write_alone(self, statement: Statement, **values: Any) -> list[Sequence[Any]]:
        """The block's one write, a single statement atomic by itself; the rows it returns
        (``RETURNING``). Nothing may be written after it in the block."""
        c = statement.compiled(self.dialect)
        params = c.parameters(values)
        if self._sqlite is not None:
            cursor = self._sqlite.execute(c.sql, params)
            return c.rows(cursor.fetchall()) if cursor.description else []
        if self._alone:
            raise RuntimeError("a write after the block's one write_alone")
        self._alone = not self._began
        return c.rows(await self._asyncpg.fetch(c.sql, *params))

    async def commit(self) -> None:
        if self._sqlite is not None:
            self._sqlite.commit()
        elif self._began:
            await self._asyncpg.execute("COMMIT")
            self._began = False

    async def rollback(self) -> None:
        if self._sqlite is not None:
            self._sqlite.rollback()
        elif self._began:
            await self._asyncpg.execute("ROLLBACK")
            self._began = False


class SessionStatements(Statements):
    """The same statements through a session already in a transaction (an update that
    has used the ORM before): they join its transaction and commit with it."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.dialect = connection.dialect
        self._connection = connection

    async def fetch(self, statement: Statement, **values: Any) -> list[Sequence[Any]]:
        result = await self._connection.execute(statement.stmt(self.dialect), values)
        return [tuple(r) for r in result.all()]

    async def execute(self, statement: Statement, **values: Any) -> int:
        result = await self._connection.execute(statement.stmt(self.dialect), values)
        return int(getattr(result, "rowcount", 0) or 0)

    async def write_alone(self, statement: Statement, **values: Any) -> list[Sequence[Any]]:
        result = await self._connection.execute(statement.stmt(self.dialect), values)
        return [tuple(r) for r in result.all()] if result.returns_rows else []

    async def commit(self) -> None:
        return None  # the session commits

    async def rollback(self) -> None:
        return None  # the session rolls back
