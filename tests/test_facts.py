"""The stored facts of ``models.facts`` cannot drift from their source rows.

A random sequence of the writes that change them — questionnaires completed, teachers moved
to another school, blocked and unblocked, unregistered, deleted; courses added, moved in
time and deleted; routes drafted, activated, completed, archived, drafts discarded; mentor
pairs formed and ended — leaves the stored facts equal to a fresh rebuild, and the
indicators computed from them equal to those computed from the source rows alone.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Attempt,
    AttemptStatus,
    Course,
    MentorPair,
    PairStatus,
    ResultCount,
    Route,
    RouteStatus,
    ScaleResult,
    School,
    User,
)
from models.db import make_engine, make_sessionmaker
from services import facts
from services import indicators as ind
from services.courses import delete_course
from services.instruments import InstrumentRegistry, sync_instruments
from services.people import delete_user, set_blocked
from services.routes import discard_draft
from services.surveys import complete
from surveys.loader import load_instruments
from tests.conftest import reset_schema, scratch_url, truncate_all
from tests.helpers import add_schools

NOW = datetime(2027, 3, 10, 9, 30, tzinfo=UTC)
TODAY = NOW.date()
TEACHERS = 8
INSTRUMENTS = (
    *("deficits", "deficits_preschool", "burnout", "burnout_preschool"),
    *("activity", "satisfaction"),
)

teacher = st.integers(0, TEACHERS - 1)
days_back = st.integers(0, 500)
operation = st.one_of(
    st.tuples(st.just("complete"), teacher, st.sampled_from(INSTRUMENTS), days_back, st.randoms()),
    st.tuples(st.just("complete_empty"), teacher, st.sampled_from(INSTRUMENTS), days_back),
    st.tuples(st.just("school"), teacher, st.integers(0, 2)),
    st.tuples(st.just("block"), teacher, st.booleans()),
    st.tuples(st.just("unregister"), teacher, st.booleans()),
    st.tuples(st.just("delete"), teacher),
    st.tuples(
        st.just("course"),
        teacher,
        st.sampled_from(("qualification", "retraining", "seminar")),
        st.integers(-100, 1500),
    ),
    st.tuples(st.just("course_move"), teacher, st.integers(-100, 1500)),
    st.tuples(st.just("course_delete"), teacher),
    st.tuples(st.just("route"), teacher, days_back),
    st.tuples(st.just("route_next"), teacher, days_back),
    st.tuples(st.just("discard"), teacher),
    st.tuples(st.just("pair"), teacher, teacher),
    st.tuples(st.just("pair_end"), teacher),
    st.tuples(
        st.just("commit"),
    ),
)


async def _teachers(session: AsyncSession, schools: list[School]) -> list[int]:
    users = [
        User(
            telegram_id=5000 + n,
            registered_at=NOW - timedelta(days=900),
            school_id=schools[n % 3].id,
            birth_year=1996 if n % 2 else 1970,
            teaching_since=2024 if n % 2 else 1995,
            category=("first", "highest", None)[n % 3],
            category_year=2024 if n % 3 != 2 else None,
        )
        for n in range(TEACHERS)
    ]
    session.add_all(users)
    await session.flush()
    return [u.id for u in users]


async def _result(
    session: AsyncSession,
    registry: InstrumentRegistry,
    user_id: int,
    instrument_id: str,
    done: datetime,
    rng: random.Random | None,
) -> None:
    reg = registry.current[instrument_id]
    attempt = Attempt(
        user_id=user_id,
        instrument_version_id=reg.version_id,
        instrument_id=instrument_id,
        started_at=done,
        updated_at=done,
    )
    session.add(attempt)
    await session.flush()
    if rng is None:  # through the service, with no answers: results without bands
        await complete(session, attempt, reg.instrument, {}, done)
        return
    attempt.status = AttemptStatus.COMPLETED.value
    attempt.completed_at = done
    for scale in reg.instrument.scales:
        band = rng.choice([*scale.bands, None])
        session.add(
            ScaleResult(
                attempt_id=attempt.id,
                user_id=user_id,
                instrument_id=instrument_id,
                instrument_version=reg.instrument.version,
                scale_id=scale.id,
                score=float(rng.randint(1, 5)) if band else None,
                band=band.code if band else None,
                completed_at=done,
            )
        )
    await session.flush()


async def _apply(
    session: AsyncSession,
    registry: InstrumentRegistry,
    ids: list[int],
    schools: list[School],
    op: tuple,
) -> None:
    kind = op[0]
    if kind == "commit":
        await session.commit()
        return
    uid = ids[op[1]]
    user = await session.get(User, uid)
    if user is None:  # deleted earlier
        return
    if kind in ("complete", "complete_empty"):
        rng = random.Random(op[4].random()) if kind == "complete" else None
        await _result(session, registry, uid, op[2], NOW - timedelta(days=op[3]), rng)
    elif kind == "school":
        user.school_id = schools[op[2]].id
    elif kind == "block":
        await set_blocked(session, user.telegram_id, op[2])
        await session.refresh(user)
    elif kind == "unregister":
        user.registered_at = None if op[2] else NOW - timedelta(days=10)
    elif kind == "delete":
        await delete_user(session, user)
    elif kind == "course":
        ends = TODAY - timedelta(days=op[3])
        session.add(
            Course(
                user_id=uid,
                title="Курс",
                kind=op[2],
                hours=36,
                starts_on=ends - timedelta(days=10),
                ends_on=ends,
                format=("distance", "in_person")[op[3] % 2],
            )
        )
    elif kind in ("course_move", "course_delete"):
        course = await session.scalar(
            select(Course).where(Course.user_id == uid).order_by(Course.id).limit(1)
        )
        if course is None:
            return
        if kind == "course_move":
            course.ends_on = TODAY - timedelta(days=op[2])
        else:
            await delete_course(session, uid, course.id)
    elif kind == "route":
        draft = await session.scalar(
            select(Route).where(Route.user_id == uid, Route.status == RouteStatus.DRAFT.value)
        )
        if draft is None:
            session.add(Route(user_id=uid, created_at=NOW - timedelta(days=op[2])))
    elif kind == "route_next":
        routes = (
            await session.scalars(select(Route).where(Route.user_id == uid).order_by(Route.id))
        ).all()
        at = NOW - timedelta(days=op[2])
        for route in routes:
            if route.status == RouteStatus.DRAFT.value:
                for old in routes:
                    if old.status == RouteStatus.ACTIVE.value:
                        old.status = RouteStatus.ARCHIVED.value
                await session.flush()
                route.status, route.activated_at = RouteStatus.ACTIVE.value, at
                break
            if route.status == RouteStatus.ACTIVE.value:
                route.status, route.completed_at = RouteStatus.COMPLETED.value, at
                break
    elif kind == "discard":
        await discard_draft(session, uid)
    elif kind == "pair":
        mentee = ids[op[2]]
        taken = await session.scalar(  # a mentee has one active pair at most
            select(MentorPair.id).where(
                MentorPair.mentee_id == mentee, MentorPair.status == PairStatus.ACTIVE.value
            )
        )
        if mentee != uid and taken is None and await session.get(User, mentee) is not None:
            session.add(MentorPair(mentor_id=uid, mentee_id=mentee, started_on=TODAY))
    elif kind == "pair_end":
        pair = await session.scalar(
            select(MentorPair).where(
                MentorPair.mentor_id == uid, MentorPair.status == PairStatus.ACTIVE.value
            )
        )
        if pair is not None:
            pair.status = PairStatus.COMPLETED.value
    await session.flush()


async def _figures(session: AsyncSession, stored: bool) -> dict[int, dict[str, ind.Value]]:
    """The indicators of each school, from the stored facts or from the source rows."""
    period = ind.academic_year(TODAY)
    w = ind._window(period, TODAY, UTC)
    g = ind._groups(load_instruments())
    cbi_since = NOW - timedelta(days=round(ind.CBI_MONTHS * 365 / 12))
    group = User.school_id
    if stored:
        f = ind._stored_facts_statement("region", None, w, TODAY, NOW, group)
        r = ind._counted_results_statement("region", None, w, cbi_since, g)
    else:
        f = ind._facts_statement("region", None, w, TODAY, NOW, group)
        r = ind._latest_results_statement("region", None, w, cbi_since, g, group, None)
    facts_ = ind._fold_facts(await session.execute(f))
    results = ind._fold_results(await session.execute(r), g)
    return {
        k: ind._values({**facts_.get(k, {}), **results.get(k, {})})
        for k in set(facts_) | set(results)
    }


_ready: set[str] = set()


async def _fresh(url: str) -> None:
    """An empty schema: created once per database, then emptied."""
    engine = make_engine(url)
    try:
        if url in _ready and engine.dialect.name == "postgresql":
            await truncate_all(engine)
        else:
            await reset_schema(engine)
            _ready.add(url)
    finally:
        await engine.dispose()


async def _scenario(url: str, ops: list[tuple]) -> None:
    await _fresh(url)
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    try:
        schools = await add_schools(sessionmaker, count=3)
        async with sessionmaker() as session:
            registry = await sync_instruments(session, load_instruments())
            ids = await _teachers(session, schools)
            for op in ops:
                await _apply(session, registry, ids, schools, op)
            await session.commit()
        async with sessionmaker() as session:
            assert await facts.drift(session) == []
            assert await _figures(session, stored=True) == await _figures(session, stored=False)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_stored_facts_equal_a_rebuild_after_any_writes(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = scratch_url(backend, tmp_path_factory)

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(operation, min_size=1, max_size=20))
    def run(ops: list[tuple]) -> None:
        asyncio.run(_scenario(url, ops))

    run()


async def _drifted(url: str) -> list[str]:
    engine = make_engine(url)
    await reset_schema(engine)
    sessionmaker = make_sessionmaker(engine)
    try:
        schools = await add_schools(sessionmaker, count=3)
        async with sessionmaker() as session:
            registry = await sync_instruments(session, load_instruments())
            ids = await _teachers(session, schools)
            await _result(session, registry, ids[0], "burnout", NOW, random.Random(1))
            session.add(
                Course(
                    user_id=ids[1],
                    title="Курс",
                    kind="qualification",
                    hours=36,
                    starts_on=date(2026, 1, 1),
                    ends_on=date(2026, 2, 1),
                    format="distance",
                )
            )
            await session.commit()
            assert await facts.drift(session) == []
            # a plain write that bypasses the hooks is what the check is for
            await session.execute(ResultCount.__table__.update().values(n=ResultCount.n + 1))
            await session.execute(
                User.__table__.update()
                .where(User.id == ids[1])
                .values(fact_qualification_last=None)
            )
            lines = await facts.drift(session)
            rebuilt = await facts.rebuild(session)
            assert rebuilt.teachers == 1 and rebuilt.counters > 0
            assert await facts.drift(session) == []
            return lines
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_drift_is_reported_and_rebuild_repairs_it(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    lines = asyncio.run(_drifted(scratch_url(backend, tmp_path_factory)))
    assert any(line.startswith("counter ") for line in lines)
    assert any(line.startswith("teacher ") for line in lines)
