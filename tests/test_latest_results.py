"""``scale_results.latest``: the rows of each teacher's latest attempt per instrument.

Completing an attempt flags its rows and clears those of the teacher's previous attempt of
the same instrument (not of another instrument, not of another teacher); rows of an older
attempt written late are not the latest; rows written with plain ``INSERT`` statements are
flagged by :func:`services.surveys.mark_latest`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Attempt, ScaleResult, User
from services.instruments import InstrumentRegistry, sync_instruments
from services.surveys import complete, mark_latest
from surveys.loader import load_instruments

NOW = datetime(2026, 10, 12, 9, 30, tzinfo=UTC)


async def teacher(session: AsyncSession, telegram_id: int) -> User:
    user = User(telegram_id=telegram_id, registered_at=NOW)
    session.add(user)
    await session.flush()
    return user


async def attempt(
    session: AsyncSession, registry: InstrumentRegistry, user: User, instrument: str
) -> Attempt:
    reg = registry.current[instrument]
    a = Attempt(
        user_id=user.id,
        instrument_version_id=reg.version_id,
        instrument_id=instrument,
        started_at=NOW,
        updated_at=NOW,
    )
    session.add(a)
    await session.flush()
    return a


async def finish(
    session: AsyncSession, registry: InstrumentRegistry, a: Attempt, days: int = 0
) -> None:
    await complete(
        session, a, registry.current[a.instrument_id].instrument, {}, NOW + timedelta(days=days)
    )


async def flags(session: AsyncSession) -> dict[int, set[bool]]:
    rows = (await session.execute(select(ScaleResult.attempt_id, ScaleResult.latest))).all()
    out: dict[int, set[bool]] = {}
    for attempt_id, latest in rows:
        out.setdefault(attempt_id, set()).add(bool(latest))
    return out


async def test_completing_an_attempt_moves_the_flag(session: AsyncSession) -> None:
    registry = await sync_instruments(session, load_instruments())
    anna, boris = await teacher(session, 1), await teacher(session, 2)
    first = await attempt(session, registry, anna, "deficits")
    await finish(session, registry, first)
    burnout = await attempt(session, registry, anna, "burnout")
    await finish(session, registry, burnout)
    other = await attempt(session, registry, boris, "deficits")
    await finish(session, registry, other)
    assert await flags(session) == {first.id: {True}, burnout.id: {True}, other.id: {True}}

    second = await attempt(session, registry, anna, "deficits")
    await finish(session, registry, second, days=1)
    assert await flags(session) == {
        first.id: {False},
        second.id: {True},
        burnout.id: {True},
        other.id: {True},
    }


async def test_an_older_attempt_written_late_is_not_the_latest(session: AsyncSession) -> None:
    registry = await sync_instruments(session, load_instruments())
    anna = await teacher(session, 1)
    older = await attempt(session, registry, anna, "deficits")
    newer = await attempt(session, registry, anna, "deficits")
    await finish(session, registry, newer)
    await finish(session, registry, older)
    assert await flags(session) == {older.id: {False}, newer.id: {True}}


async def test_mark_latest_flags_plain_inserts(session: AsyncSession) -> None:
    registry = await sync_instruments(session, load_instruments())
    anna = await teacher(session, 1)
    ids = [(await attempt(session, registry, anna, "burnout")).id for _ in range(2)]
    await session.execute(
        insert(ScaleResult),
        [
            {
                "attempt_id": a,
                "user_id": anna.id,
                "instrument_id": "burnout",
                "instrument_version": 1,
                "scale_id": scale,
                "completed_at": NOW,
            }
            for a in ids
            for scale in ("personal", "work")
        ],
    )
    assert await flags(session) == {ids[0]: {False}, ids[1]: {False}}
    await session.execute(mark_latest())
    assert await flags(session) == {ids[0]: {False}, ids[1]: {True}}
