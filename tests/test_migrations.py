"""Alembic: upgrade → downgrade → upgrade on an empty database, and the migrated schema
matches the models."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

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
