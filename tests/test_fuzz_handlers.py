"""Property: random texts, commands and callback data (valid, stale, forged, oversized) never
raise out of a handler and never change another teacher's data."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from typing import Any

import pytest
from aiogram.filters.callback_data import CallbackData
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import create_app
from handlers import setup_routers
from models import (
    Answer,
    Attempt,
    Course,
    MentorCheckin,
    MentorMeeting,
    MentorOffer,
    MentorPair,
    MentorProfile,
    MentorRequest,
    Municipality,
    Role,
    Route,
    RouteStep,
    ScaleResult,
    School,
    User,
    UserSubject,
)
from models.db import make_engine
from services import surveys as svc
from services.people import get_user
from tests.conftest import NOW, Clock, make_settings, reset_schema
from tests.helpers import add_schools
from tests.telegram import MockedBot, TgChat

VICTIM = 5001
ATTACKER = 5002  # a registered teacher of another school
METHODIST = 5003  # a registered methodist of another school (the victim's is school 1)
STRANGER = 5004  # never started the bot
NEIGHBOUR = 5005  # a registered teacher of the victim's school, no role
FAR_METHODIST = 5006  # the methodist of another municipality (and so of the catalog)
ATTACKERS = (ATTACKER, METHODIST, STRANGER, NEIGHBOUR, FAR_METHODIST)


def _callback_classes() -> list[type[CallbackData]]:
    """Every CallbackData class of every feature (a new feature's buttons are fuzzed too)."""
    setup_routers()  # imports every feature package
    found: list[type[CallbackData]] = []
    todo = list(CallbackData.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("handlers.") and cls.__module__ != "handlers.common":
            found.append(cls)  # not the base of them all (handlers.common.Button)
    return sorted(found, key=lambda c: c.__prefix__)


# ids near the victim's rows, negatives, and numbers no database column can hold
number = st.one_of(
    st.integers(min_value=-3, max_value=40),
    st.sampled_from([2**31, 2**63, 10**20, -(10**12)]),
)
WORDS = (
    *("deficits", "burnout", "young", "main", "help", "consent", "register", "surveys"),
    *("results", "courses", "route", "catalog", "profile", "name", "school", "subjects"),
    *("birth", "teaching", "catyear", "position", "category", "view", "edit", "delete"),
    *("delete_yes", "export", "lang", "build", "cs", "ce", "ca", "d", "m", "n", "a", "x", ""),
)
word = st.one_of(st.sampled_from(WORDS), st.text(max_size=12))


def _value(annotation: Any) -> st.SearchStrategy[str]:
    text = str(annotation)
    if "bool" in text:
        return st.sampled_from(["0", "1", "true", "x"])
    if "int" in text or "Id" in text or "Num" in text:
        return number.map(str)
    return word


def _packed(cls: type[CallbackData]) -> st.SearchStrategy[str]:
    """Raw callback data of this class: valid, stale, forged or oversized values, packed by
    hand so that values the class would refuse get through to the bot as an attacker would."""
    fields = [_value(f.annotation) for f in cls.model_fields.values()]
    return st.tuples(*fields).map(lambda values: ":".join([cls.__prefix__, *values]))


callback = st.one_of(*(_packed(c) for c in _callback_classes()), st.text(max_size=120))
message = st.one_of(
    st.sampled_from(
        ["/start", "/menu", "/help", "/start ssch1", "/start s" + "x" * 70, "🏠 Главное меню"]
    ),
    st.text(max_size=300),
    st.sampled_from(["Иванова Мария Петровна", "1985", "2010", "школа", "18", "-1", "9" * 40]),
)
action = st.tuples(
    st.sampled_from(ATTACKERS),
    st.one_of(st.tuples(st.just("msg"), message), st.tuples(st.just("cb"), callback)),
)


async def _attackers(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """People of each role that does not cover the victim (school 1): registered, so forged
    buttons reach the ownership and scope checks behind the «registered» and role filters,
    and a stranger who never started the bot."""
    async with sessionmaker.begin() as s:
        far = Municipality(code="far", name="Дальний муниципальный округ")
        s.add(far)
        await s.flush()
        far_school = School(
            municipality_id=far.id, code="far1", name="МБОУ СОШ № 9", short_name="СОШ № 9"
        )
        s.add(far_school)
        await s.flush()
        people = ((ATTACKER, 2), (METHODIST, 3), (NEIGHBOUR, 1), (FAR_METHODIST, far_school.id))
        for telegram_id, school_id in people:
            s.add(
                User(
                    telegram_id=telegram_id,
                    consent_at=NOW - timedelta(days=10),
                    registered_at=NOW - timedelta(days=10),
                    full_name="Нарушитель Иван Иванович",
                    school_id=school_id,
                    position="teacher",
                    birth_year=1980,
                    teaching_since=2005,
                    category="first",
                    category_year=2022,
                )
            )
        s.add(Role(telegram_id=METHODIST, role="methodist", scope="school", school_id=3))
        s.add(
            Role(
                telegram_id=FAR_METHODIST,
                role="methodist",
                scope="municipality",
                municipality_id=far.id,
            )
        )


async def _victim(sessionmaker: async_sessionmaker[AsyncSession], registry: Any) -> None:
    async with sessionmaker.begin() as s:
        user = User(
            telegram_id=VICTIM,
            consent_at=NOW - timedelta(days=30),
            registered_at=NOW - timedelta(days=30),
            full_name="Жертва Анна Петровна",
            school_id=1,
            position="teacher",
            birth_year=1999,
            teaching_since=2024,
            category="none",
        )
        s.add(user)
        await s.flush()
        s.add(UserSubject(user_id=user.id, subject="math"))
        await s.flush()
        user = await get_user(s, VICTIM)
        assert user is not None
        done = await svc.start_or_resume(s, registry, user, "burnout", NOW - timedelta(days=3))
        inst = registry.get("burnout").instrument
        for q in inst.questions:
            await svc.save_answer(s, done, q.id, inst.options(q)[0].value, NOW - timedelta(days=3))
        await svc.advance(s, done, inst, NOW - timedelta(days=3), after=None)
        course = Course(
            user_id=user.id,
            title="Курс жертвы",
            kind="qualification",
            hours=36,
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 3, 20),
            format="distance",
            blocks=["methodical"],
        )
        s.add(course)
        route = Route(user_id=user.id, status="active", baseline={"methodical": 40.0})
        s.add(route)
        await s.flush()
        s.add(
            RouteStep(
                route_id=route.id,
                kind="course",
                block="methodical",
                level="high",
                title="Шаг жертвы",
                target_date=date(2027, 1, 31),
            )
        )
        # mentoring: the victim's mentor card, an active pair (as mentee) with a meeting and a
        # check-in, an earlier request that was matched and an offer the mentor accepted
        mentor = User(
            telegram_id=VICTIM + 100,
            consent_at=NOW - timedelta(days=30),
            registered_at=NOW - timedelta(days=30),
            full_name="Наставник Пётр Ильич",
            school_id=1,
            position="teacher",
            birth_year=1970,
            teaching_since=1995,
            category="highest",
        )
        s.add(mentor)
        await s.flush()
        s.add(MentorProfile(user_id=mentor.id, subjects=["math"], max_mentees=2))
        s.add(MentorProfile(user_id=user.id, subjects=["math"], max_mentees=1, note="Жертва"))
        request = MentorRequest(
            mentee_id=user.id,
            status="matched",
            subject="math",
            topics=["discipline"],
            shared_at=NOW - timedelta(days=9),
        )
        s.add(request)
        await s.flush()
        s.add(
            MentorOffer(
                request_id=request.id,
                mentor_id=mentor.id,
                offered_by=METHODIST,
                accepted=True,
                answered_at=NOW - timedelta(days=8),
            )
        )
        pair = MentorPair(
            request_id=request.id,
            mentor_id=mentor.id,
            mentee_id=user.id,
            started_on=date(2026, 10, 1),
            goals="Цели жертвы",
        )
        s.add(pair)
        await s.flush()
        s.add(
            MentorMeeting(
                pair_id=pair.id,
                held_on=date(2026, 10, 5),
                topic="Встреча жертвы",
                format="consultation",
                minutes=45,
                logged_by=user.id,
            )
        )
        s.add(MentorCheckin(pair_id=pair.id, score=4))
        open_ = await svc.start_or_resume(s, registry, user, "deficits", NOW)
        await svc.save_answer(s, open_, "subj1", 2, NOW)
        await svc.advance(s, open_, registry.get("deficits").instrument, NOW, after="subj1")


async def _snapshot(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[object, ...]:
    async with sessionmaker() as s:
        user = await s.scalar(select(User).where(User.telegram_id == VICTIM))
        assert user is not None
        attempts = [
            (a.id, a.status, a.current_question, a.completed_at)
            for a in (
                await s.execute(
                    select(Attempt).where(Attempt.user_id == user.id).order_by(Attempt.id)
                )
            ).scalars()
        ]
        ids = [a[0] for a in attempts]
        answers = sorted(
            (a.attempt_id, a.question_id, repr(a.value), a.final)
            for a in (await s.execute(select(Answer).where(Answer.attempt_id.in_(ids)))).scalars()
        )
        results = sorted(
            (r.scale_id, r.score, r.band)
            for r in (
                await s.execute(select(ScaleResult).where(ScaleResult.user_id == user.id))
            ).scalars()
        )
        courses = sorted(
            (c.id, c.title, c.hours, c.ends_on)
            for c in (await s.execute(select(Course).where(Course.user_id == user.id))).scalars()
        )
        steps = sorted(
            (st_.id, st_.status, st_.target_date, st_.course_id, st_.closed_reason)
            for st_ in (
                await s.execute(select(RouteStep).join(Route).where(Route.user_id == user.id))
            ).scalars()
        )
        routes_ = sorted(
            (r.id, r.status)
            for r in (await s.execute(select(Route).where(Route.user_id == user.id))).scalars()
        )
        subjects = sorted(
            (
                await s.execute(select(UserSubject.subject).where(UserSubject.user_id == user.id))
            ).scalars()
        )
        mentoring = (
            [
                (r.id, r.status, r.shared_at, tuple(r.topics))
                for r in (
                    await s.scalars(select(MentorRequest).where(MentorRequest.mentee_id == user.id))
                ).all()
            ],
            [
                (p.id, p.status, p.goals, p.rating, p.mentor_intro_sent, p.mentee_intro_sent)
                for p in (
                    await s.scalars(select(MentorPair).where(MentorPair.mentee_id == user.id))
                ).all()
            ],
            [
                (m.id, m.topic, m.held_on)
                for m in (
                    await s.scalars(
                        select(MentorMeeting)
                        .join(MentorPair)
                        .where(MentorPair.mentee_id == user.id)
                        .order_by(MentorMeeting.id)
                    )
                ).all()
            ],
            [
                (c.id, c.score)
                for c in (
                    await s.scalars(
                        select(MentorCheckin)
                        .join(MentorPair)
                        .where(MentorPair.mentee_id == user.id)
                        .order_by(MentorCheckin.id)
                    )
                ).all()
            ],
            [
                (o.id, o.accepted, o.answered_at)
                for o in (
                    await s.scalars(
                        select(MentorOffer)
                        .join(MentorRequest)
                        .where(MentorRequest.mentee_id == user.id)
                        .order_by(MentorOffer.id)
                    )
                ).all()
            ],
            [
                (c.user_id, tuple(c.subjects), c.max_mentees, c.note, c.active)
                for c in (
                    await s.scalars(
                        select(MentorProfile)
                        .join(User, User.id == MentorProfile.user_id)
                        .where(User.telegram_id.in_([VICTIM, VICTIM + 100]))
                        .order_by(MentorProfile.user_id)
                    )
                ).all()
            ],
        )
        return (
            repr(mentoring),
            user.full_name,
            user.school_id,
            user.position,
            user.birth_year,
            user.teaching_since,
            user.category,
            user.registered_at,
            tuple(subjects),
            tuple(attempts),
            tuple(answers),
            tuple(results),
            tuple(courses),
            tuple(steps),
            tuple(routes_),
        )


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def _scenario(url: str, actions: list[tuple[int, tuple[str, str]]]) -> None:
    engine = make_engine(url)
    await reset_schema(engine)
    app = await create_app(make_settings(url), engine=engine, clock=Clock())
    try:
        await add_schools(app.sessionmaker, count=3)
        await _victim(app.sessionmaker, app.registry)
        before = await _snapshot(app.sessionmaker)
        bot = MockedBot()
        await _attackers(app.sessionmaker)
        chats = {who: TgChat(app.dispatcher, bot, who) for who in ATTACKERS}
        errors = _Errors()
        logging.getLogger("pedbot.errors").addHandler(errors)
        try:
            for who, (kind, payload) in actions:
                if kind == "msg":
                    await chats[who].send(payload or ".")
                else:
                    await chats[who].press(payload)
        finally:
            logging.getLogger("pedbot.errors").removeHandler(errors)
        assert not errors.records, [r.getMessage() for r in errors.records]
        assert not bot.api.violations, bot.api.violations
        assert await _snapshot(app.sessionmaker) == before
    finally:
        await app.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_random_input_never_raises_nor_touches_others(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.conftest import scratch_url

    url = scratch_url(backend, tmp_path_factory)

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(action, min_size=1, max_size=12))
    def run(actions: list[tuple[int, tuple[str, str]]]) -> None:
        asyncio.run(_scenario(url, actions))

    run()
