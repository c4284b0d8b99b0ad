"""The database work of an update (models.work) and statements on the driver (models.driver).

- What the driver writes, the ORM reads back the same, and the reverse: the column types'
  own processors convert the values (JSON, aware datetimes, booleans), on both databases.
- A block commits at its end and rolls back when it raises; inside a session's transaction
  it joins it (and commits or rolls back with it).
- On SQLite the one connection is used directly while the pool has it idle; a block that
  waits for something makes anyone else's use of the connection fail loudly (and loses its
  own transaction), never share its transaction.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models import FsmRecord
from models.db import DriverLane, driver_lane, sqlite_line, upsert_statement
from models.driver import Statement
from models.work import Work

_fsm = FsmRecord.__table__
WRITE = Statement(
    lambda dialect: upsert_statement(
        _fsm, dialect, ("key",), ("user_id", "state", "data", "updated_at")
    ).values(
        key=bindparam("key"),
        user_id=bindparam("user_id"),
        state=bindparam("state"),
        data=bindparam("data", type_=_fsm.c.data.type),
        updated_at=bindparam("updated_at"),
    )
)
READ = Statement(
    select(_fsm.c.user_id, _fsm.c.state, _fsm.c.data, _fsm.c.updated_at).where(
        _fsm.c.key == bindparam("key")
    )
)

# PostgreSQL text holds no NUL character (whoever writes it)
CHARACTERS = st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"])


def texts(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(CHARACTERS, min_size=min_size, max_size=max_size)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | texts(0, 20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts(0, 8), inner),
    max_leaves=8,
)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.dictionaries(texts(1, 8), json_values, max_size=4),
    state=st.none() | texts(1, 30),
    when=moments,
    user_id=st.integers(1, 2**62),
)
async def test_what_the_driver_writes_the_orm_reads_and_back(
    sessionmaker: async_sessionmaker[AsyncSession],
    data: dict[str, Any],
    state: str | None,
    when: datetime,
    user_id: int,
) -> None:
    work = Work(sessionmaker)
    async with work.statements() as db:
        await db.execute(WRITE, key="k", user_id=user_id, state=state, data=data, updated_at=when)
    async with sessionmaker() as s:
        row = await s.get(FsmRecord, "k")
        assert row is not None
        assert (row.user_id, row.state, row.data, row.updated_at) == (user_id, state, data, when)
        row.data = {"back": data}
        row.updated_at = when + timedelta(seconds=1)
        await s.commit()
    async with Work(sessionmaker).statements(write=False) as db:
        rows = await db.fetch(READ, key="k")
    assert [tuple(r) for r in rows] == [(user_id, state, {"back": data}, row.updated_at)]


async def test_a_block_commits_at_its_end_and_rolls_back_when_it_raises(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    with pytest.raises(LookupError):
        async with Work(sessionmaker).statements() as db:
            await db.execute(WRITE, key="gone", user_id=1, state="x", data={}, updated_at=now)
            raise LookupError
    async with Work(sessionmaker).statements() as db:
        await db.execute(WRITE, key="kept", user_id=2, state="y", data={}, updated_at=now)
    async with sessionmaker() as s:
        assert set((await s.scalars(select(FsmRecord.key))).all()) == {"kept"}


async def test_inside_a_session_transaction_a_block_joins_it(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    work = Work(sessionmaker)
    work.session.add(FsmRecord(key="orm", user_id=1, state="a", data={}))
    await work.session.flush()
    async with work.statements() as db:
        # the row flushed by the session is seen: the same transaction
        assert [r[1] for r in await db.fetch(READ, key="orm")] == ["a"]
        await db.execute(WRITE, key="joined", user_id=1, state="b", data={}, updated_at=now)
    await work.rollback()  # the session's rollback takes the block's write with it
    await work.close()
    async with sessionmaker() as s:
        assert (await s.scalars(select(FsmRecord.key))).all() == []


async def test_sqlite_uses_its_idle_connection_directly_and_refuses_to_share_it(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    line = sqlite_line(engine)
    if engine.dialect.name != "sqlite":
        assert line is None  # PostgreSQL: always through the pool
        return
    assert line is not None
    async with sessionmaker() as s:  # the connection exists once something has used it
        await s.scalar(select(FsmRecord.key))
    pool = engine.sync_engine.pool
    now = datetime.now(UTC)
    async with Work(sessionmaker).statements() as db:
        assert line.busy and pool.checkedout() == 0  # type: ignore[attr-defined]
        await db.execute(WRITE, key="direct", user_id=1, state="a", data={}, updated_at=now)
    assert not line.busy

    # a block that waits (a mistake): a session wanting the connection meanwhile fails
    # loudly, and the pool drops the connection, so the block's transaction is lost with
    # it instead of being shared; then everything works again on a new connection
    entered = asyncio.Event()
    release = asyncio.Event()

    async def waiting_block() -> None:
        async with Work(sessionmaker).statements() as db:
            await db.execute(WRITE, key="waited", user_id=1, state="a", data={}, updated_at=now)
            entered.set()
            await release.wait()

    task = asyncio.create_task(waiting_block())
    await entered.wait()
    with pytest.raises(RuntimeError, match="direct use"):
        async with sessionmaker() as s:
            await s.scalar(select(FsmRecord.key))
    release.set()
    with pytest.raises(sqlite3.ProgrammingError):
        await task
    assert not line.busy
    async with Work(sessionmaker).statements() as db:
        await db.execute(WRITE, key="after", user_id=1, state="a", data={}, updated_at=now)
    async with sessionmaker() as s:
        assert set((await s.scalars(select(FsmRecord.key))).all()) == {"direct", "after"}


async def test_a_kept_connection_serves_the_next_block_then_goes_back(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """PostgreSQL: a block opened with ``keep`` leaves its connection to the next block,
    which gives it back; it also goes back at commit and when the session is made, so an
    update never holds two. SQLite uses its one connection directly either way."""
    pool = engine.sync_engine.pool
    lane = driver_lane(engine)
    now = datetime.now(UTC)
    postgres = engine.dialect.name == "postgresql"
    assert (lane is not None) == postgres

    def held() -> int:
        """Connections the update holds for its blocks (on PostgreSQL from the lane)."""
        return lane.in_use if lane is not None else pool.checkedout()  # type: ignore[attr-defined,no-any-return]

    work = Work(sessionmaker)
    async with work.statements(write=False, keep=True) as db:
        await db.fetch(READ, key="none")
        first = getattr(db, "_asyncpg", None)
    assert held() == (1 if postgres else 0)
    async with work.statements() as db:
        assert getattr(db, "_asyncpg", None) is first  # the same connection
        await db.execute(WRITE, key="one", user_id=1, state="a", data={}, updated_at=now)
    assert held() == 0
    await work.close()

    # given back at commit (before a Bot API request), and at close
    for end in ("commit", "close"):
        work = Work(sessionmaker)
        async with work.statements(write=False, keep=True) as db:
            await db.fetch(READ, key="one")
        await getattr(work, end)()
        assert held() == 0
        await work.close()

    # given back when the session is made: the session then has a connection of its own
    work = Work(sessionmaker)
    async with work.statements(write=False, keep=True) as db:
        await db.fetch(READ, key="one")
    assert (await work.session.get(FsmRecord, "one")) is not None
    assert pool.checkedout() == 1  # type: ignore[attr-defined]  # the session's
    assert lane is None or lane.in_use == 0
    await work.close()
    assert held() == 0

    # a block that raises gives its connection back (nothing kept in an unknown state)
    work = Work(sessionmaker)
    with pytest.raises(LookupError):
        async with work.statements(write=False, keep=True) as db:
            await db.fetch(READ, key="one")
            raise LookupError
    assert held() == 0
    await work.close()


async def test_the_driver_lane_bounds_its_connections_and_replaces_broken_ones(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """PostgreSQL: at most ``size`` connections, a block waits for one given back; an
    application error inside a block keeps the connection (rolled back); a connection the
    server closed fails its block once, is dropped with the free ones, and the next block
    gets a new one; dispose() closes the free ones."""
    if engine.dialect.name != "postgresql":
        assert driver_lane(engine) is None
        return
    lane = DriverLane(engine, size=2, recycle=1800)
    pids: list[int] = []
    inside = 0
    most = 0
    release = asyncio.Event()

    async def block() -> None:
        nonlocal inside, most
        driver = await lane.take()
        try:
            inside += 1
            most = max(most, inside)
            pids.append(await driver.fetchval("SELECT pg_backend_pid()"))
            await release.wait()
        finally:
            inside -= 1
            lane.give_back(driver, healthy=True)

    tasks = [asyncio.create_task(block()) for _ in range(3)]
    await asyncio.sleep(0.3)
    assert lane.made == 2 and most == 2  # the third waits
    release.set()
    await asyncio.gather(*tasks)
    assert len(pids) == 3 and len(set(pids)) == 2 and lane.free == 2

    # an application error: rolled back, the connection stays
    driver = await lane.take()
    await driver.execute("BEGIN")
    await driver.execute("ROLLBACK")
    lane.give_back(driver, healthy=True)
    assert lane.free == 2

    # the server closes one: its block fails, every free one goes, then new ones come
    driver = await lane.take()
    async with sessionmaker() as s:
        await s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": driver.get_server_pid()})
    with pytest.raises(Exception):  # noqa: B017 - asyncpg's own error of a lost connection
        await driver.fetchval("SELECT 1")
    lane.give_back(driver, healthy=False)
    assert lane.made == 0
    driver = await lane.take()
    assert await driver.fetchval("SELECT 1") == 1
    lane.give_back(driver, healthy=True)

    # a connection given back inside a transaction is not kept
    driver = await lane.take()
    await driver.execute("BEGIN")
    lane.give_back(driver, healthy=True)
    assert lane.made == 0

    driver = await lane.take()
    lane.give_back(driver, healthy=True)
    assert lane.free == 1
    await engine.dispose()
    assert lane.free == 0 and driver.is_closed()


@settings(max_examples=500, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(1900, 1, 2), max_value=datetime(9998, 12, 30), timezones=st.timezones()
    )
)
def test_a_time_is_bound_on_sqlite_as_sqlalchemy_binds_it(moment: datetime) -> None:
    from models.driver import _SQLITE_UTC, _utc_on_sqlite

    assert _utc_on_sqlite(moment) == _SQLITE_UTC(moment)
    assert _utc_on_sqlite(moment) == _SQLITE_UTC(moment)  # remembered: the same text
    with pytest.raises(ValueError):
        _utc_on_sqlite(moment.replace(tzinfo=None))  # naive: refused, as SQLAlchemy's is


def _json_processors(name: str) -> tuple[Any, Any]:
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = {"sqlite": sqlite.dialect(), "postgresql": postgresql.asyncpg.dialect()}[name]
    impl = JSON().dialect_impl(dialect)
    return impl.bind_processor(dialect), impl.result_processor(dialect, None)


_JSON_TEXTS = json_values | st.integers() | st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(value=_JSON_TEXTS)
@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_json_is_bound_as_sqlalchemy_binds_it(dialect: str, value: Any) -> None:
    from models.driver import _json_bound

    bind, _result = _json_processors(dialect)
    text = bind(value)
    assert _json_bound(bind, value) == text
    assert type(_json_bound(bind, value)) is type(text)


@settings(max_examples=300, deadline=None)
@given(value=_JSON_TEXTS)
def test_json_is_read_on_sqlite_as_sqlalchemy_reads_it(value: Any) -> None:
    from models.driver import _json_read

    bind, result = _json_processors("sqlite")
    text = bind(value)
    # SQLite gives the text back, or a number where the column's affinity made it one
    for stored in (text, value) if isinstance(value, int | float) else (text,):
        assert _json_read(result, stored) == result(stored)


@settings(max_examples=300, deadline=None)
@given(value=_JSON_TEXTS, spaced=st.booleans())
def test_json_text_is_decoded_as_json_loads_decodes_it(value: Any, spaced: bool) -> None:
    """``loads_json``, the PostgreSQL engine's deserializer and SQLite's reader, against
    json.loads: compact text, PostgreSQL's spacing (``{ "a" : 1 }``), and text written by
    others (spaces around it, something after it)."""
    from models.driver import loads_json

    text = json.dumps(value, separators=(" , ", " : ") if spaced else None)
    for written in (text, f" {text}", f"{text} ", f"{text}\n", f"{text} 1", f"{text}]"):
        try:
            expected = json.loads(written)
        except ValueError as exc:
            with pytest.raises(type(exc)):
                loads_json(written)
        else:
            assert loads_json(written) == expected


async def test_json_the_database_writes_is_decoded_by_loads_json(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An object aggregated by the database (spaced as PostgreSQL spaces it) read by a driver
    block and by the ORM's session: both equal to what json.loads makes of it, and both
    through ``loads_json`` (on SQLite the session keeps SQLAlchemy's own reader)."""
    import models.driver

    scanned: list[str] = []
    scan = models.driver._SCAN

    def counting(found: str, at: int) -> Any:
        scanned.append(found)
        return scan(found, at)

    monkeypatch.setattr(models.driver, "_SCAN", counting)
    aggregate = "json_object_agg" if engine.dialect.name == "postgresql" else "json_group_object"
    pairs = (
        text(
            f"SELECT {aggregate}(k, v) AS pairs FROM "
            "(SELECT 'a' AS k, 1 AS v UNION ALL SELECT 'b', 2) AS t"
        )
        .columns(pairs=JSON)
        .subquery()
    )
    async with Work(sessionmaker).statements(write=False) as db:
        rows = await db.fetch(Statement(select(pairs.c.pairs)))
    assert [tuple(r) for r in rows] == [({"a": 1, "b": 2},)]
    assert scanned  # the driver block's read
    if engine.dialect.name == "postgresql":
        assert scanned[-1] == '{ "a" : 1, "b" : 2 }'
    scanned.clear()
    async with sessionmaker() as s:
        assert (await s.execute(select(pairs.c.pairs))).scalar_one() == {"a": 1, "b": 2}
    assert bool(scanned) == (engine.dialect.name == "postgresql")
