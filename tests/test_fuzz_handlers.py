"""Property: random texts, commands and callback data (valid, stale, forged, oversized) never
raise out of a handler and never change another teacher's data."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import create_app
from models import Answer, Attempt, Course, Route, RouteStep, ScaleResult, User, UserSubject
from models.db import make_engine
from services import surveys as svc
from services.people import get_user
from tests.conftest import NOW, Clock, make_settings, reset_schema
from tests.helpers import add_schools
from tests.telegram import MockedBot, TgChat

VICTIM = 5001
ATTACKER = 5002

small = st.integers(min_value=-3, max_value=40)
ROUTE_ACTIONS = (
    *("home", "act", "build", "rm", "drop", "ok", "date", "setd", "add", "addb", "addc"),
    *("addo", "done", "undo", "close", "docx", "cw", "zz"),
)
callback = st.one_of(
    st.builds(
        lambda a, at, q, o, i: f"q:{a}:{at}:{q}:{o}:{i}",
        st.sampled_from(["a", "t", "d", "s", "b", "p", "open", "begin", "list", "zz"]),
        small,
        small,
        small,
        st.sampled_from(["deficits", "burnout", "young", "nope", ""]),
    ),
    st.builds(lambda a: f"r:{a}", small),
    st.builds(
        lambda f, v: f"p:{f}:{v}",
        st.sampled_from(["school", "position", "subject", "subjects_done", "category", "x"]),
        small,
    ),
    st.builds(
        lambda f, d, y: f"y:{f}:{d}:{y}",
        st.sampled_from(["birth", "teaching", "catyear", "zz"]),
        st.sampled_from([0, 1960, 1990, 2020, -10, 99999]),
        st.sampled_from([0, 1900, 1985, 2010, 2026, 3000]),
    ),
    st.builds(
        lambda a, f: f"pr:{a}:{f}",
        st.sampled_from(["view", "edit", "field", "export", "delete", "delete_yes", "??"]),
        st.sampled_from(["", "name", "school", "subjects", "catyear", "x"]),
    ),
    st.builds(lambda v: f"sp:{v}", small),
    st.builds(
        lambda a, i, v, p: f"rt:{a}:{i}:{v}:{p}",
        st.sampled_from(ROUTE_ACTIONS),
        small,
        small,
        small,
    ),
    st.builds(
        lambda a, i, v: f"co:{a}:{i}:{v}",
        st.sampled_from(
            ["list", "new", "view", "edit", "f", "del", "delok", "cert", "save", "att"]
        ),
        small,
        small,
    ),
    st.builds(
        lambda a: f"ct:{a}", st.sampled_from(["view", "upload", "replace", "export", "sample"])
    ),
    st.builds(
        lambda f, a, y, m, d: f"cal:{f}:{a}:{y}:{m}:{d}",
        st.sampled_from(["cs", "ce", "ca"]),
        st.sampled_from(["d", "m", "n"]),
        st.sampled_from([2025, 2026, 2027]),
        st.integers(0, 13),
        st.integers(0, 32),
    ),
    st.sampled_from(["m:courses", "m:route", "m:catalog"]),
    st.sampled_from(
        ["c:1:0", "c:0:0", "c:1:3", "c:1:999", "m:main", "m:help", "m:consent", "m:register", "m:x"]
    ),
    st.text(max_size=120),
)
message = st.one_of(
    st.sampled_from(
        ["/start", "/menu", "/help", "/start ssch1", "/start s" + "x" * 70, "🏠 Главное меню"]
    ),
    st.text(max_size=300),
    st.sampled_from(["Иванова Мария Петровна", "1985", "2010", "школа", "18", "-1", "9" * 40]),
)
action = st.one_of(st.tuples(st.just("msg"), message), st.tuples(st.just("cb"), callback))


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
        return (
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


async def _scenario(url: str, actions: list[tuple[str, str]]) -> None:
    engine = make_engine(url)
    await reset_schema(engine)
    app = await create_app(make_settings(url), engine=engine, clock=Clock())
    try:
        await add_schools(app.sessionmaker, count=3)
        await _victim(app.sessionmaker, app.registry)
        before = await _snapshot(app.sessionmaker)
        bot = MockedBot()
        attacker = TgChat(app.dispatcher, bot, ATTACKER)
        errors = _Errors()
        logging.getLogger("pedbot.errors").addHandler(errors)
        try:
            for kind, payload in actions:
                if kind == "msg":
                    await attacker.send(payload or ".")
                else:
                    await attacker.press(payload)
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
    def run(actions: list[tuple[str, str]]) -> None:
        asyncio.run(_scenario(url, actions))

    run()
