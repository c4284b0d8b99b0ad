"""Fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is taken from ``PEDBOT_TEST_PG_URL`` (default: the local server on 127.0.0.1,
database ``test``). Without a server those tests skip with the reason; under ``CI=true`` its
absence is a failure.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import App, create_app
from bot.config import Settings
from models import Base
from models.db import make_engine, make_sessionmaker
from tests.telegram import MockedBot, TgChat

PG_SERVER_URL = os.environ.get(
    "PEDBOT_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
# Each test run works in a database of its own on that server, so two runs (a developer's
# and CI's, say) never see each other's rows. It is dropped when the run ends.
PG_URL = PG_SERVER_URL.rsplit("/", 1)[0] + f"/pedbot_t{os.getpid()}_{uuid.uuid4().hex[:6]}"
IN_CI = os.environ.get("CI", "").lower() == "true"
NOW = datetime(2026, 10, 12, 9, 30, tzinfo=UTC)

_pg_state: dict[str, object] = {}


async def pg_admin(sql: str) -> None:
    engine = make_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def _pg_available() -> str | None:
    """None if PostgreSQL answers (and this run's database is created), else the reason."""
    try:
        await pg_admin(f'CREATE DATABASE "{PG_URL.rsplit("/", 1)[1]}"')
    except Exception as exc:  # any failure to connect means "absent"
        return f"PostgreSQL at {PG_SERVER_URL} is not reachable ({type(exc).__name__})"
    return None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _pg_state.get("reason") is None and "reason" in _pg_state:
        name = PG_URL.rsplit("/", 1)[1]
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pg_or_skip() -> None:
    if "reason" not in _pg_state:
        _pg_state["reason"] = asyncio.run(_pg_available())
    reason = _pg_state["reason"]
    if reason:
        if IN_CI:
            pytest.fail(f"{reason}; CI requires it")
        pytest.skip(str(reason))


async def reset_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        else:
            await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)


async def truncate_all(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def scratch_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database URL for tests that run their own event loop (hypothesis over asyncio.run)."""
    if backend == "postgresql":
        pg_or_skip()
        return PG_URL
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db')}/pedbot.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "postgresql":
        pg_or_skip()
        return PG_URL
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db')}/pedbot.db"


_pg_schema_ready = False


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    global _pg_schema_ready
    engine = make_engine(db_url)
    if engine.dialect.name == "postgresql":
        if not _pg_schema_ready:
            await reset_schema(engine)
            _pg_schema_ready = True
        else:
            await truncate_all(engine)
    else:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Harness:
    app: App
    bot: MockedBot
    clock: Clock
    sessionmaker: async_sessionmaker[AsyncSession]

    def chat(self, user_id: int, first_name: str = "Мария") -> TgChat:
        return TgChat(self.app.dispatcher, self.bot, user_id, first_name)


ADMIN_ID = 900001


def make_settings(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url,
        "bot_token": "42:TEST_TOKEN_abcdefghijklmnopqrstuvwxyz",
        "admin_ids": frozenset({ADMIN_ID}),
        "redis_url": None,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def harness(engine: AsyncEngine, db_url: str) -> AsyncIterator[Harness]:
    clock = Clock()
    app = await create_app(make_settings(db_url), engine=engine, clock=clock)
    bot = MockedBot()
    yield Harness(app, bot, clock, app.sessionmaker)
    violations = list(bot.api.violations)
    await app.dispatcher.storage.close()
    assert not violations, f"requests Telegram would refuse: {violations}"


@pytest.fixture
def make_harness(engine: AsyncEngine, db_url: str) -> Callable[[], object]:
    """Build another app on the same database (a restart)."""

    async def build() -> Harness:
        clock = Clock()
        app = await create_app(make_settings(db_url), engine=engine, clock=clock)
        return Harness(app, MockedBot(), clock, app.sessionmaker)

    return build
