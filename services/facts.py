"""The stored facts of :mod:`models.facts` for writers of plain statements, and their rebuild.

Writes through a session keep the facts by themselves (flush hooks). A plain ``UPDATE`` or
``DELETE`` of users, routes, courses or pairs does not pass through them: such a writer calls
:func:`teachers_changed` after it, or wraps it in :func:`teachers_status`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import ResultCount, User
from models.facts import (
    FACT_COLUMNS,
    Key,
    apply,
    contribution,
    partners,
    rebuild_all,
    refresh_teachers,
)


async def teachers_changed(session: AsyncSession, user_ids: Iterable[int]) -> None:
    """Recompute the facts of these teachers after a plain write to their routes, courses or
    pairs."""
    ids = list(user_ids)
    conn = await session.connection()
    await conn.run_sync(refresh_teachers, ids)


async def pair_partners(session: AsyncSession, user_ids: Iterable[int]) -> list[int]:
    """The other side of every pair of these teachers (whose facts change when they go)."""
    conn = await session.connection()
    return await conn.run_sync(partners, list(user_ids))


@asynccontextmanager
async def teachers_status(session: AsyncSession, user_ids: Iterable[int]) -> AsyncIterator[None]:
    """Around a plain write that changes these teachers' school or status or deletes them:
    their share of the result counters is taken off before and added back after."""
    ids = list(user_ids)
    conn = await session.connection()
    before = await conn.run_sync(contribution, ids)
    yield
    after = await conn.run_sync(contribution, ids)
    await conn.run_sync(apply, before, after)


@dataclass(frozen=True, slots=True)
class Rebuilt:
    teachers: int  # teachers with a route, a course or a pair
    counters: int  # result counters


async def rebuild(session: AsyncSession) -> Rebuilt:
    """Recompute every stored fact from the source rows, in the session's transaction."""
    conn = await session.connection()
    await conn.run_sync(rebuild_all)
    return Rebuilt(
        int(
            await session.scalar(
                select(func.count()).where(
                    or_(
                        User.fact_route_active.is_(True),
                        User.fact_route_done_at.is_not(None),
                        User.fact_qualification_last.is_not(None),
                        User.fact_retraining_last.is_not(None),
                        User.fact_mentor.is_(True),
                        User.fact_mentee.is_(True),
                    )
                )
            )
            or 0
        ),
        int(await session.scalar(select(func.count()).select_from(ResultCount)) or 0),
    )


@dataclass(frozen=True, slots=True)
class Snapshot:
    teachers: dict[int, tuple[Any, ...]]  # user id -> her fact columns
    counters: dict[Key, int]  # non-zero counters


async def snapshot(session: AsyncSession) -> Snapshot:
    """The stored facts as they are now (zero counters left out)."""
    columns = [getattr(User, name) for name in FACT_COLUMNS]
    teachers = {r[0]: tuple(r[1:]) for r in await session.execute(select(User.id, *columns))}
    rc = ResultCount
    counters = {
        (r.school_id, r.instrument_id, r.scale_id, r.band, r.month): int(r.n)
        for r in (await session.execute(select(rc).where(rc.n != 0))).scalars()
    }
    return Snapshot(teachers, counters)


async def drift(session: AsyncSession) -> list[str]:
    """How the stored facts differ from a fresh rebuild (nothing is changed): one line per
    teacher or counter that differs, at most 20; empty when they agree."""
    stored = await snapshot(session)
    nested = await session.begin_nested()
    try:
        await rebuild(session)
        fresh = await snapshot(session)
    finally:
        await nested.rollback()
    lines = [
        f"teacher {uid}: stored {stored.teachers.get(uid)}, rebuilt {fresh.teachers.get(uid)}"
        for uid in sorted(set(stored.teachers) | set(fresh.teachers))
        if stored.teachers.get(uid) != fresh.teachers.get(uid)
    ]
    lines += [
        f"counter {key}: stored {stored.counters.get(key, 0)}, rebuilt {fresh.counters.get(key, 0)}"
        for key in sorted(set(stored.counters) | set(fresh.counters))
        if stored.counters.get(key, 0) != fresh.counters.get(key, 0)
    ]
    return lines[:20]
