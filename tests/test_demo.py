"""The synthetic municipality: plausible counts and profiles, real scores, determinism."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import mean
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models import (
    LIVE_REQUEST,
    Answer,
    Attempt,
    AttemptStatus,
    Base,
    MeetingFormat,
    MentorCheckin,
    MentorMeeting,
    MentorOffer,
    MentorPair,
    MentorProfile,
    MentorRequest,
    PairStatus,
    RequestStatus,
    Route,
    RouteStep,
    ScaleResult,
    School,
    User,
)
from models.db import make_engine, make_sessionmaker
from services.demo import (
    DEMO_TELEGRAM_ID_BASE,
    DemoError,
    DemoReport,
    female_surname,
    fill_demo,
)
from services.instruments import InstrumentRegistry, sync_instruments
from services.people import is_young
from services.reference import CATEGORIES
from services.routes import PRESCHOOL_TITLES
from services.schools import SAMPLE_SCHOOLS_CSV, import_schools
from services.surveys import in_audience
from surveys import engine
from surveys.loader import load_instruments

TODAY = date(2026, 10, 12)


@asynccontextmanager
async def open_db(path: Path) -> AsyncIterator[AsyncSession]:
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


@pytest.fixture
async def _session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    async with open_db(tmp_path / "t.db") as session:
        yield session


async def registry_for(session: AsyncSession) -> InstrumentRegistry:
    return await sync_instruments(session, load_instruments())


async def all_users(session: AsyncSession) -> list[User]:
    stmt = select(User).options(selectinload(User.subjects), selectinload(User.school))
    return list((await session.execute(stmt.order_by(User.telegram_id))).scalars())


def test_female_surnames() -> None:
    assert female_surname("Иванов") == "Иванова"
    assert female_surname("Соловьёв") == "Соловьёва"
    assert female_surname("Ильин") == "Ильина"
    assert female_surname("Вишневский") == "Вишневская"
    assert female_surname("Заречный") == "Заречная"
    assert female_surname("Шевченко") == "Шевченко"
    assert female_surname("Черных") == "Черных"


async def test_fill_demo_makes_a_plausible_municipality(_session: AsyncSession) -> None:
    registry = await registry_for(_session)
    report = await fill_demo(_session, registry, today=TODAY)
    await _session.commit()

    assert report.schools == 12
    assert report.teachers == 400
    users = await all_users(_session)
    assert len(users) == 400
    assert 0.10 <= report.young / 400 <= 0.17
    assert report.young == sum(is_young(u, TODAY) for u in users)

    now = datetime.combine(TODAY, datetime.min.time(), UTC)
    male_endings = ("ова", "ева", "ёва", "ина", "ская")
    female_endings = ("ов", "ев", "ёв", "ин", "ский", "ный")
    for u in users:
        assert u.telegram_id > DEMO_TELEGRAM_ID_BASE
        assert u.full_name is not None
        surname, _, patronymic = u.full_name.split(" ")
        if patronymic.endswith("ич"):
            assert not surname.endswith(male_endings), u.full_name
        else:
            assert patronymic.endswith("на"), u.full_name
            assert not surname.endswith(female_endings), u.full_name
        assert u.birth_year is not None and 1960 <= u.birth_year <= 2003
        assert u.teaching_since is not None
        assert u.teaching_since - u.birth_year >= 20
        assert u.teaching_since <= TODAY.year
        assert u.category in CATEGORIES
        if u.category == "none":
            assert u.category_year is None
            if u.conformity_date is not None:
                assert date(u.teaching_since, 1, 1) < u.conformity_date <= TODAY
        else:
            assert u.category_year is not None
            assert u.teaching_since < u.category_year <= TODAY.year
        assert u.registered_at is not None
        assert u.consent_at <= u.registered_at < now
        assert u.school is not None
        if u.position == "teacher":
            assert u.subject_codes, u.full_name
            assert u.school.kind == "school"
        else:
            assert u.subject_codes == []
        if u.school.kind == "kindergarten":
            assert u.position in ("preschool", "deputy", "psychologist", "other")
    assert len({u.full_name for u in users}) == 400
    by_kind = Counter(u.position for u in users)
    assert by_kind["teacher"] > 250 and by_kind["preschool"] > 15
    women = sum(1 for u in users if u.full_name and u.full_name.endswith("на"))
    assert 0.7 <= women / 400 <= 0.92

    # questionnaires
    attempts = list((await _session.execute(select(Attempt))).scalars())
    completed = [a for a in attempts if a.status == AttemptStatus.COMPLETED.value]
    in_progress = [a for a in attempts if a.status == AttemptStatus.IN_PROGRESS.value]
    assert len(completed) == report.attempts_completed
    assert len(in_progress) == report.attempts_in_progress >= 1
    takers: dict[str, set[int]] = defaultdict(set)
    for a in completed:
        takers[a.instrument_id].add(a.user_id)
        assert a.completed_at is not None
        assert now - timedelta(days=57) <= a.completed_at < now
        assert a.started_at < a.completed_at
    # each person answers the self-assessment and the CBI written for their setting
    diagnosed = takers["deficits"] | takers["deficits_preschool"]
    assert 0.6 <= len(diagnosed) / 400 <= 0.8
    assert 0.3 <= len(takers["burnout"] | takers["burnout_preschool"]) / 400 <= 0.5
    kindergarten = {u.id for u in users if u.school is not None and u.school.kind == "kindergarten"}
    assert takers["deficits_preschool"] and takers["deficits_preschool"] >= (
        kindergarten & diagnosed
    )
    assert not kindergarten & takers["deficits"]
    # their routes speak of their work: no lessons or exams, pre-school step titles
    steps = (
        await _session.execute(
            select(RouteStep.catalog_item_id, RouteStep.title, RouteStep.kind)
            .join(Route, RouteStep.route_id == Route.id)
            .where(Route.user_id.in_(kindergarten))
        )
    ).all()
    assert steps
    for item, title, kind in steps:
        assert "ОГЭ" not in title and "урок" not in title, title
        if item is None and kind in ("self_study", "seminar"):
            assert title in PRESCHOOL_TITLES.values(), title
    young_ids = {u.id for u in users if is_young(u, TODAY)}
    young_takers = takers["young"] | takers["young_preschool"]
    assert young_takers <= young_ids
    assert len(young_takers) >= 0.6 * len(young_ids)
    # young kindergarten staff answer the young-teacher survey written for kindergartens
    assert takers["young_preschool"] and takers["young_preschool"] <= kindergarten | {
        u.id for u in users if u.position == "preschool"
    }
    assert not kindergarten & takers["young"]

    by_id = {u.id: u for u in users}
    open_pairs = Counter((a.user_id, a.instrument_id) for a in in_progress)
    assert max(open_pairs.values()) == 1
    for a in attempts:
        inst = registry.get(a.instrument_id)
        assert inst is not None and a.instrument_version_id == inst.version_id
        person = by_id[a.user_id]
        assert person.school is not None
        assert in_audience(inst.instrument, person, TODAY, person.school.kind)
    for a in in_progress:
        assert a.current_question is not None and a.completed_at is None

    # every completed attempt has one result per scale, from the real scoring
    results = list((await _session.execute(select(ScaleResult))).scalars())
    assert len(results) == report.scale_results
    per_attempt = Counter(r.attempt_id for r in results)
    for a in completed:
        inst = registry.get(a.instrument_id)
        assert inst is not None
        assert per_attempt[a.id] == len(inst.instrument.scales)
    assert not {a.id for a in in_progress} & set(per_attempt)
    scored = [(r, r.score) for r in results if r.score is not None]
    assert len(scored) >= 0.95 * len(results)
    assert all(0 <= score <= 100 for _, score in scored)
    assert all(r.band is not None for r, _ in scored)
    burnout = [score for r, score in scored if r.instrument_id == "burnout"]
    assert burnout and any(s > 50 for s in burnout) and any(s < 50 for s in burnout)
    bands = {r.band for r, _ in scored if r.instrument_id == "deficits"}
    assert len(bands) >= 3  # high, medium and minimal deficits all occur

    # young teachers report more methodical and psychological difficulties
    deficits = registry.get("deficits")
    assert deficits is not None
    hard = [s.id for s in deficits.instrument.scales if s.block in ("methodical", "psychological")]
    if hard:
        young_scores = [x for r, x in scored if r.scale_id in hard and r.user_id in young_ids]
        other_scores = [x for r, x in scored if r.scale_id in hard and r.user_id not in young_ids]
        assert mean(young_scores) < mean(other_scores) - 5

    # answers follow the questionnaire: only shown questions, complete when completed
    rows = (await _session.execute(select(Answer).order_by(Answer.id))).scalars().all()
    assert len(rows) == report.answers
    given: dict[int, dict[str, Any]] = defaultdict(dict)
    for row in rows:
        assert row.final
        given[row.attempt_id][row.question_id] = row.value
    for a in attempts:
        inst = registry.get(a.instrument_id)
        assert inst is not None
        answers = given[a.id]
        assert engine.effective_answers(inst.instrument, answers) == answers
        if a.status == AttemptStatus.COMPLETED.value:
            assert engine.is_complete(inst.instrument, answers)
        else:
            nxt = engine.next_question(inst.instrument, answers)
            assert nxt is not None and nxt.id == a.current_question

    await check_mentoring(_session, report, users)


async def rows(session: AsyncSession, model: type[Any]) -> list[Any]:
    return list((await session.execute(select(model).order_by(model.__table__.c[0]))).scalars())


async def check_mentoring(session: AsyncSession, report: DemoReport, users: list[User]) -> None:
    now = datetime.combine(TODAY, datetime.min.time(), UTC)
    by_id = {u.id: u for u in users}
    young_ids = {u.id for u in users if is_young(u, TODAY)}
    experienced = {
        u.id
        for u in users
        if u.category in ("first", "highest", "methodist", "mentor")
        and u.teaching_since is not None
        and TODAY.year - u.teaching_since >= 5
    }

    # mentors: 8–12 % of the experienced teachers, their own subjects, room for 1–3
    profiles = {p.user_id: p for p in await rows(session, MentorProfile)}
    assert len(profiles) == report.mentors
    assert 0.08 * len(experienced) - 1 <= len(profiles) <= 0.12 * len(experienced) + 1
    for p in profiles.values():
        mentor = by_id[p.user_id]
        assert p.user_id in experienced and p.active
        assert set(p.subjects) <= set(mentor.subject_codes)
        assert 1 <= p.max_mentees <= 3
        assert mentor.registered_at is not None and mentor.registered_at <= p.created_at < now

    # pairs: a mentor with a profile and a fitting subject, not the mentee, within capacity
    pairs = await rows(session, MentorPair)
    active = [p for p in pairs if p.status == PairStatus.ACTIVE.value]
    finished = [p for p in pairs if p.status != PairStatus.ACTIVE.value]
    assert len(active) == report.pairs_active >= 8
    assert len(finished) == report.pairs_finished >= 2
    assert f"активных пар {len(active)}, закрытых пар {len(finished)}" in report.mentoring_line()
    assert any(p.status == PairStatus.COMPLETED.value for p in finished)
    same_school = 0
    for p in pairs:
        mentor, mentee = by_id[p.mentor_id], by_id[p.mentee_id]
        assert p.mentor_id != p.mentee_id
        assert p.mentor_id in profiles and p.mentee_id in young_ids
        if mentee.subject_codes:
            assert set(mentee.subject_codes) & set(mentor.subject_codes)
        else:
            assert mentor.position == mentee.position
        same_school += mentor.school_id == mentee.school_id
        for person in (mentor, mentee):
            assert person.registered_at is not None
            assert person.registered_at.date() <= p.started_on < TODAY
        if p.status == PairStatus.ACTIVE.value:
            assert p.closed_at is None and p.rating is None
        else:
            assert p.closed_at is not None and p.started_on < p.closed_at.date()
            assert p.closed_at < now
        if p.status == PairStatus.COMPLETED.value:
            assert p.rating is not None and 1 <= p.rating <= 5
    assert same_school >= 0.5 * len(pairs)
    load = Counter(p.mentor_id for p in active)
    assert all(n <= profiles[m].max_mentees for m, n in load.items())
    assert max(Counter(p.mentee_id for p in active).values()) == 1

    # meetings: 1–6 per active pair, during the pair, in the different formats
    meetings = await rows(session, MentorMeeting)
    assert len(meetings) == report.meetings
    pair_of = {p.id: p for p in pairs}
    per_pair = Counter(m.pair_id for m in meetings)
    assert all(1 <= per_pair[p.id] <= 6 for p in active)
    for m in meetings:
        pair = pair_of[m.pair_id]
        end = pair.closed_at.date() if pair.closed_at else TODAY
        assert pair.started_on <= m.held_on < end
        assert m.logged_by in (pair.mentor_id, pair.mentee_id)
        assert m.minutes > 0 and m.topic and m.created_at < now
    assert {m.format for m in meetings} == {f.value for f in MeetingFormat}
    checkins = await rows(session, MentorCheckin)
    assert checkins
    for c in checkins:
        pair = pair_of[c.pair_id]
        assert 1 <= c.score <= 5
        assert pair.started_on < c.created_at.date() and c.created_at < now

    # requests: about half of the young teachers have a live one, at most one each
    requests = await rows(session, MentorRequest)
    live = [r for r in requests if r.status in LIVE_REQUEST]
    assert max(Counter(r.mentee_id for r in live).values()) == 1
    assert 0.35 <= len(live) / len(young_ids) <= 0.7
    assert not {r.mentee_id for r in live} & {p.mentee_id for p in active}
    by_status = Counter(r.status for r in requests)
    assert by_status[RequestStatus.DRAFT.value] == report.mentor_requests_draft > 0
    waiting = by_status[RequestStatus.OPEN.value] + by_status[RequestStatus.OFFERED.value]
    assert waiting == report.mentor_requests_waiting
    assert by_status[RequestStatus.OPEN.value] > 0 and by_status[RequestStatus.OFFERED.value] > 0
    assert by_status[RequestStatus.MATCHED.value] == len(pairs)
    request_of = {r.id: r for r in requests}
    for p in pairs:
        assert p.request_id is not None
        assert request_of[p.request_id].mentee_id == p.mentee_id
    offers = await rows(session, MentorOffer)
    offers_of: dict[int, list[MentorOffer]] = defaultdict(list)
    for o in offers:
        offers_of[o.request_id].append(o)
        assert o.mentor_id in profiles
    for r in requests:
        mentee = by_id[r.mentee_id]
        assert r.mentee_id in young_ids and r.young
        assert mentee.registered_at is not None and mentee.registered_at <= r.created_at < now
        if r.status == RequestStatus.DRAFT.value:
            assert r.shared_at is None and not offers_of[r.id]
            continue
        assert r.shared_at is not None and r.created_at <= r.shared_at < now
        if r.status in (RequestStatus.OPEN.value, RequestStatus.OFFERED.value):
            assert timedelta(minutes=30) <= now - r.shared_at <= timedelta(days=20)
        pending = [o for o in offers_of[r.id] if o.accepted is None]
        assert len(pending) == (r.status == RequestStatus.OFFERED.value)
        for o in offers_of[r.id]:
            assert o.mentor_id != r.mentee_id
            assert r.shared_at <= o.offered_at < now
        if r.status == RequestStatus.MATCHED.value:
            assert [o.accepted for o in offers_of[r.id]] == [True]


async def _snapshot(session: AsyncSession) -> dict[str, Any]:
    users = [
        (
            u.telegram_id,
            u.full_name,
            u.school.code if u.school else None,
            u.position,
            u.birth_year,
            u.teaching_since,
            u.category,
            u.category_year,
            tuple(u.subject_codes),
            u.registered_at,
        )
        for u in await all_users(session)
    ]
    answers = (
        await session.execute(
            select(
                User.telegram_id,
                Attempt.instrument_id,
                Attempt.status,
                Attempt.started_at,
                Answer.question_id,
                Answer.value,
                Answer.answered_at,
            )
            .join(Attempt, Attempt.user_id == User.id)
            .join(Answer, Answer.attempt_id == Attempt.id)
            .order_by(User.telegram_id, Attempt.started_at, Answer.question_id)
        )
    ).all()
    results = (
        await session.execute(
            select(
                User.telegram_id,
                ScaleResult.instrument_id,
                ScaleResult.scale_id,
                ScaleResult.score,
                ScaleResult.band,
                ScaleResult.completed_at,
            )
            .join(User, User.id == ScaleResult.user_id)
            .order_by(User.telegram_id, ScaleResult.completed_at, ScaleResult.scale_id)
        )
    ).all()
    schools = (await session.execute(select(School.code, School.name).order_by(School.id))).all()
    tg = {u.id: u.telegram_id for u in await all_users(session)}
    mentoring = {
        "profiles": sorted(
            (tg[p.user_id], tuple(p.subjects), p.max_mentees, p.created_at)
            for p in await rows(session, MentorProfile)
        ),
        "requests": sorted(
            (tg[r.mentee_id], r.status, r.subject, tuple(r.topics), r.created_at, r.shared_at)
            for r in await rows(session, MentorRequest)
        ),
        "pairs": sorted(
            (tg[p.mentor_id], tg[p.mentee_id], p.status, p.started_on, p.rating)
            for p in await rows(session, MentorPair)
        ),
        "meetings": sorted(
            (m.held_on, m.format, m.topic, m.minutes, tg[m.logged_by] if m.logged_by else None)
            for m in await rows(session, MentorMeeting)
        ),
    }
    return {
        "users": users,
        "answers": answers,
        "results": results,
        "schools": schools,
        "mentoring": mentoring,
    }


async def test_same_seed_same_data(tmp_path: Path) -> None:
    snapshots = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        async with open_db(tmp_path / f"{name}.db") as session:
            registry = await registry_for(session)
            await fill_demo(session, registry, seed=seed, teachers=90, today=TODAY)
            await session.commit()
            snapshots.append(await _snapshot(session))
    a, b, c = snapshots
    assert len(a["users"]) == 90 and a["answers"] and a["results"]
    assert a["mentoring"]["profiles"] and a["mentoring"]["requests"] and a["mentoring"]["pairs"]
    assert a == b
    assert a["mentoring"] != c["mentoring"]
    assert [u[1] for u in a["users"]] != [u[1] for u in c["users"]]
    assert a["answers"] != c["answers"]


async def test_refuses_a_database_with_schools(_session: AsyncSession) -> None:
    registry = await registry_for(_session)
    await import_schools(_session, SAMPLE_SCHOOLS_CSV)
    with pytest.raises(DemoError, match=r"^База не пуста"):
        await fill_demo(_session, registry, today=TODAY)


async def test_refuses_a_database_with_users(_session: AsyncSession) -> None:
    registry = await registry_for(_session)
    _session.add(User(telegram_id=12345, language="ru"))
    await _session.flush()
    with pytest.raises(DemoError, match=r"^База не пуста"):
        await fill_demo(_session, registry, today=TODAY)
    assert int(await _session.scalar(select(func.count()).select_from(School)) or 0) == 0
