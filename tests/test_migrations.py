"""Alembic: upgrade → downgrade → upgrade on an empty database, and the migrated schema
matches the models; the stairway walks every revision one step down and up again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeEngine

from bot import migrate
from models import Base
from models.db import make_engine
from tests.conftest import PG_URL, pg_admin, pg_or_skip


def _pg_scratch_url() -> Iterator[str]:
    pg_or_skip()
    name = f"pedbot_mig_{uuid.uuid4().hex[:8]}"

    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/migrations.db"
    else:
        yield from _pg_scratch_url()


def _diff(url: str) -> list[object]:
    async def run() -> list[object]:
        engine = make_engine(url)

        def compare(conn: Connection) -> list[object]:
            ctx = MigrationContext.configure(conn, opts={"compare_type": False})
            return list(compare_metadata(ctx, Base.metadata))

        async with engine.connect() as conn:
            result = await conn.run_sync(compare)
        await engine.dispose()
        return result

    return asyncio.run(run())


def _tables(url: str) -> set[str]:
    async def run() -> set[str]:
        engine = make_engine(url)
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda c: set(c.dialect.get_table_names(c)))
        await engine.dispose()
        return names

    return asyncio.run(run())


def test_upgrade_downgrade_upgrade(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    assert _diff(empty_url) == []
    assert {t.name for t in Base.metadata.sorted_tables} <= _tables(empty_url)
    migrate.downgrade(empty_url, "base")
    assert _tables(empty_url) <= {"alembic_version"}
    migrate.upgrade(empty_url)
    assert _diff(empty_url) == []

    async def up_to_date() -> bool:
        engine = make_engine(empty_url)
        try:
            return await migrate.is_up_to_date(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(up_to_date())


def _revisions() -> list[Script]:
    """Every revision, base first: new migrations join the stairway on their own."""
    return list(reversed(list(ScriptDirectory(migrate.SCRIPT_LOCATION).walk_revisions())))


def _current(url: str) -> str | None:
    async def run() -> str | None:
        engine = make_engine(url)
        try:
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _schema(url: str) -> dict[str, Any]:
    """What the database holds, in a comparable form: tables with their columns, keys,
    indexes and constraints, views, and on PostgreSQL enum types and sequences.
    Alembic's own ``alembic_version`` is left out (it outlives ``downgrade base``)."""

    def snapshot(conn: Connection) -> dict[str, Any]:
        insp = inspect(conn)

        def plain(value: Any) -> Any:
            """Reflected values made comparable: SQL expressions (a partial index's WHERE)
            and types as their text, dicts as sorted pairs."""
            if isinstance(value, dict):
                return tuple(sorted((k, plain(v)) for k, v in value.items()))
            if isinstance(value, list | tuple):
                return tuple(plain(v) for v in value)
            if isinstance(value, TypeEngine):
                return value.compile(dialect=conn.dialect)
            if isinstance(value, ClauseElement):
                return str(value)
            return value

        def rows(items: list[Any]) -> list[str]:
            return sorted(repr(plain(item)) for item in items)

        tables: dict[str, Any] = {}
        for name in sorted(set(insp.get_table_names()) - {"alembic_version"}):
            tables[name] = {
                "columns": [repr(plain(c)) for c in insp.get_columns(name)],
                "pk": rows([insp.get_pk_constraint(name)]),
                "fks": rows(insp.get_foreign_keys(name)),
                "indexes": rows(insp.get_indexes(name)),
                "uniques": rows(insp.get_unique_constraints(name)),
                "checks": rows(insp.get_check_constraints(name)),
            }
        result: dict[str, Any] = {"tables": tables, "views": sorted(insp.get_view_names())}
        if conn.dialect.name == "postgresql":
            result["enums"] = rows(insp.get_enums())  # type: ignore[attr-defined]
            result["sequences"] = sorted(insp.get_sequence_names())
        return result

    async def run() -> dict[str, Any]:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(snapshot)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_migrations_stairway(empty_url: str) -> None:
    """For each revision, base to head: upgrade to it, downgrade one step, upgrade again.

    A downgrade that leaves a table, column, index, constraint or enum type behind (or
    removes too much) shows up as a schema different from the one before that upgrade, or
    as the repeated upgrade failing to create what is still there."""
    revisions = _revisions()
    assert revisions, "no Alembic revisions found"
    # One step down is well defined on a straight line of revisions; a branch or merge
    # revision needs this test extended rather than silently half-tested.
    for script in revisions:
        assert script.down_revision is None or isinstance(script.down_revision, str), (
            f"{script.revision} is a merge revision: the stairway handles linear history only"
        )
    assert len({s.down_revision for s in revisions}) == len(revisions), "branched history"

    schema_before = _schema(empty_url)  # the empty database
    for script in revisions:
        down = script.down_revision
        migrate.upgrade(empty_url, script.revision)
        assert _current(empty_url) == script.revision
        schema_at = _schema(empty_url)

        migrate.downgrade(empty_url, down or "base")
        assert _current(empty_url) == down
        assert _schema(empty_url) == schema_before, (
            f"downgrade of {script.revision} does not restore the schema of {down or 'base'}"
        )

        migrate.upgrade(empty_url, script.revision)
        assert _current(empty_url) == script.revision
        assert _schema(empty_url) == schema_at, (
            f"{script.revision}: upgrade after a downgrade builds a different schema"
        )
        schema_before = schema_at

    assert revisions[-1].revision == migrate.head_revision()
    assert _diff(empty_url) == []


def test_conformity_leaves_the_categories_with_its_date(empty_url: str) -> None:
    """0006: «соответствие занимаемой должности» becomes an attestation with its own date
    (1 January when only the year was known); other categories are kept; down restores."""

    async def run(sql: str, **params: object) -> list[Any]:
        engine = make_engine(empty_url)
        try:
            async with engine.begin() as conn:
                result = await conn.execute(text(sql), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    def rows() -> list[Any]:
        return asyncio.run(
            run(
                "SELECT telegram_id, category, category_year, category_date, conformity_date"
                " FROM users ORDER BY telegram_id"
            )
        )

    migrate.upgrade(empty_url, "0005")
    for tg, category, year, day in (
        (1, "conformity", 2021, "2021-12-01"),
        (2, "conformity", 2022, None),
        (3, "first", 2023, None),
        (4, "none", None, None),
    ):
        asyncio.run(
            run(
                "INSERT INTO users (telegram_id, language, consent_at, category, category_year,"
                " category_date, blocked_bot) VALUES (:tg, 'ru', CURRENT_TIMESTAMP, :c, :y,"
                " :d, false)",
                tg=tg,
                c=category,
                y=year,
                d=date.fromisoformat(day) if day else None,
            )
        )
    # a route step made from a catalog conference, and one from a seminar
    for sql in (
        "INSERT INTO providers (id, name) VALUES (1, 'ИРО')",
        "INSERT INTO catalog_items (id, title, provider_id, hours, format, kind, blocks,"
        " positions, subjects, federal_register, active, updated_at) VALUES"
        " (1, 'Конференция', 1, 8, 'in_person', 'conference', '[]', '[]', '[]', false, true,"
        " CURRENT_TIMESTAMP), (2, 'Семинар', 1, 4, 'distance', 'seminar', '[]', '[]', '[]',"
        " false, true, CURRENT_TIMESTAMP)",
        "INSERT INTO routes (id, user_id, status, baseline, created_at) SELECT 1, id,"
        " 'active', '{}', CURRENT_TIMESTAMP FROM users WHERE telegram_id = 3",
        "INSERT INTO route_steps (id, route_id, position, kind, catalog_item_id, title,"
        " target_date, status) VALUES (1, 1, 0, 'seminar', 1, 'Конференция', '2027-01-31',"
        " 'planned'), (2, 1, 1, 'seminar', 2, 'Семинар', '2027-01-31', 'planned')",
    ):
        asyncio.run(run(sql))
    migrate.upgrade(empty_url)
    kinds = asyncio.run(run("SELECT id, kind FROM route_steps ORDER BY id"))
    assert [tuple(r) for r in kinds] == [(1, "conference"), (2, "seminar")]
    got = [(r[0], r[1], r[2], r[3], _day(r[4])) for r in rows()]
    assert got == [
        (1, "none", None, None, date(2021, 12, 1)),
        (2, "none", None, None, date(2022, 1, 1)),
        (3, "first", 2023, None, None),
        (4, "none", None, None, None),
    ]
    migrate.downgrade(empty_url, "0005")
    kinds = asyncio.run(run("SELECT id, kind FROM route_steps ORDER BY id"))
    assert [tuple(r) for r in kinds] == [(1, "seminar"), (2, "seminar")]
    engine_rows = asyncio.run(
        run("SELECT telegram_id, category, category_year FROM users ORDER BY telegram_id")
    )
    assert [tuple(r) for r in engine_rows] == [
        (1, "conformity", 2021),
        (2, "conformity", 2022),
        (3, "first", 2023),
        (4, "none", None),
    ]


def _day(value: object) -> date | None:
    """A DATE column as SQLite (text) or PostgreSQL (date) returns it."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
