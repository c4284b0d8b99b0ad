"""The mentoring step of the route (ИОМ): proposed only to a teacher who asked for a mentor or
has one, filed under its own heading «Наставничество», naming the mentor of the pair, and
marked done when the pair is completed. Pure proposal and screens, then the services on
SQLite and PostgreSQL, then a journey through the real Dispatcher."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import docx
import pytest
from aiogram.methods import SendDocument
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from handlers.route import screens as route_screens
from models import MentorPair, MentorRequest, Route, RouteStatus, RouteStep, User
from services import routes as svc
from services.instruments import InstrumentRegistry, sync_instruments
from services.people import get_user
from services.route_docx import mentor_title
from services.routes import BlockDeficit, TeacherProfile, add_months, propose_route
from surveys.loader import load_instruments
from tests.conftest import Harness
from tests.helpers import add_route_catalog, add_schools, register
from tests.test_route_journeys import (
    methodical_high_psychological_medium,
    routes_of,
    steps_of,
)
from tests.test_route_journeys import self_assess as self_assess_in_chat
from tests.test_routes_unit import CATALOG, DEFICITS, TEACHER, YOUNG, entry, make_teacher
from tests.test_routes_unit import self_assess as self_assess_in_db

TODAY = date(2026, 10, 12)
NOW = datetime(2026, 10, 12, 9, 30, tzinfo=UTC)
MENTORING_TITLE = svc.DEFAULT_TITLES["mentoring"]


# ---------------------------------------------------------------- the proposal (pure)


def kinds(steps: list[svc.ProposedStep]) -> list[str]:
    return [s.kind for s in steps]


def test_no_mentoring_step_without_a_request_or_a_pair() -> None:
    for teacher in (TEACHER, YOUNG):
        assert "mentoring" not in kinds(propose_route(DEFICITS, teacher, CATALOG, TODAY))
    minimal = {"methodical": BlockDeficit("minimal", 95.0)}
    assert propose_route(minimal, YOUNG, CATALOG, TODAY) == []


def test_a_teacher_who_asked_gets_the_step_young_or_not() -> None:
    without = propose_route(DEFICITS, TEACHER, CATALOG, TODAY)
    for teacher in (
        TeacherProfile(**{**_fields(TEACHER), "wants_mentor": True}),  # not young
        TeacherProfile(**{**_fields(YOUNG), "wants_mentor": True}),
        TeacherProfile(**{**_fields(TEACHER), "mentor_name": "Петрова А. И."}),  # has one
    ):
        steps = propose_route(DEFICITS, teacher, CATALOG, TODAY)
        first = steps[0]
        assert (first.kind, first.block, first.level) == ("mentoring", None, None)
        assert first.title == MENTORING_TITLE  # the name is not stored, it is shown
        assert first.form is None and first.catalog_item_id is None
        # the end of the route: 8 months for two deficit blocks
        assert first.target_date == date(2027, 6, 12) == max(s.target_date for s in steps)
        if teacher.is_young(TODAY):
            continue
        # the other steps are the same as without mentoring
        assert steps[1:] == without


def test_the_term_is_the_end_of_the_route_even_after_a_late_course() -> None:
    asked = TeacherProfile(position="teacher", wants_mentor=True)
    only = {"methodical": BlockDeficit("medium", 70.0)}
    late = entry(1, {"methodical"}, ends=date(2027, 9, 30))  # after the 6-month span
    steps = propose_route(only, asked, [late], TODAY)
    assert [(s.kind, s.target_date) for s in steps] == [
        ("mentoring", date(2027, 9, 30)),
        ("course", date(2027, 9, 30)),
        ("seminar", add_months(TODAY, 6)),
    ]


def test_without_deficits_a_teacher_who_asked_gets_the_mentoring_step_alone() -> None:
    minimal = {b: BlockDeficit("minimal", 95.0) for b in svc.BLOCKS}
    asked = TeacherProfile(position="teacher", wants_mentor=True)
    [step] = propose_route(minimal, asked, CATALOG, TODAY)
    assert (step.kind, step.block, step.target_date) == ("mentoring", None, add_months(TODAY, 6))


def _fields(profile: TeacherProfile) -> dict[str, object]:
    return {name: getattr(profile, name) for name in TeacherProfile.__slots__}


def test_names_and_titles() -> None:
    assert svc.short_name("Петрова Анна Ивановна") == "Петрова А. И."
    assert svc.short_name("  Петрова   Анна ") == "Петрова А."
    assert svc.short_name("Петрова") == "Петрова"
    assert svc.short_name(None) == ""
    assert mentor_title(MENTORING_TITLE, "Петрова А. И.").startswith(
        "Работа с наставником (Петрова А. И.): совместное планирование"
    )
    assert mentor_title("Наставник", "Петрова А. И.") == "Наставник (Петрова А. И.)"
    assert mentor_title(MENTORING_TITLE, None) == MENTORING_TITLE
    assert mentor_title(MENTORING_TITLE, "") == MENTORING_TITLE
    once = mentor_title(MENTORING_TITLE, "Петрова А. И.")
    assert mentor_title(once, "Петрова А. И.") == once


# ---------------------------------------------------------------- screens (pure)


def _step(n: int, kind: str, block: str | None, level: str | None, title: str) -> svc.StepView:
    return svc.StepView(
        id=100 + n,
        n=n,
        title=title,
        kind=kind,
        form=None,
        block=block,
        level=level,
        target_date=date(2027, 6, 30),
        status="planned",
        done_at=None,
        closed_reason=None,
    )


def test_the_screen_files_mentoring_under_its_own_heading() -> None:
    t = Translator("ru")
    steps = (
        _step(1, "mentoring", None, None, "Работа с наставником (Петрова А. И.): разбор"),
        _step(2, "mentoring", "methodical", "high", "Работа с наставником: старый шаг"),
        _step(3, "self_study", "methodical", "high", "Самообразование"),
    )
    route = svc.RouteView(
        id=7, status="draft", steps=steps, since=NOW, completed_at=None, diagnosed_at=NOW
    )
    [screen] = route_screens.route_screen(route, t)
    assert screen.text.count("🤝 Наставничество") == 2
    assert "1. <b>Работа с наставником (Петрова А. И.): разбор</b>\nсрок: 30.06.2027" in (
        screen.text
    )
    # an older mentoring step under a deficit block no longer «answers» it
    assert screen.text.count("отвечает на:") == 1
    assert "rtp:101" in [b.callback_data for row in screen.keyboard.inline_keyboard for b in row]  # type: ignore[union-attr]
    [en] = route_screens.route_screen(route, Translator("en"))
    assert "🤝 Mentoring" in en.text


# ---------------------------------------------------------------- services (DB)


@pytest.fixture
async def registry(session: AsyncSession) -> InstrumentRegistry:
    reg = await sync_instruments(session, load_instruments())
    await session.flush()
    return reg


async def make_mentor(session: AsyncSession, telegram_id: int, name: str) -> User:
    mentor = User(telegram_id=telegram_id, full_name=name, position="teacher")
    session.add(mentor)
    await session.flush()
    return mentor


async def add_pair(
    session: AsyncSession, mentor: User, mentee: User, status: str = "active", **more: object
) -> MentorPair:
    pair = MentorPair(
        mentor_id=mentor.id,
        mentee_id=mentee.id,
        status=status,
        started_on=TODAY - timedelta(days=30),
        **more,  # type: ignore[arg-type]
    )
    session.add(pair)
    await session.flush()
    return pair


async def test_teacher_profile_knows_the_request_and_the_mentor(session: AsyncSession) -> None:
    user = await make_teacher(session)
    other = await make_teacher(session, 7002)
    mentor = await make_mentor(session, 7100, "Петрова Анна Ивановна")

    async def facts() -> tuple[bool, str | None, bool]:
        profile = await svc.teacher_profile(session, user)
        return profile.wants_mentor, profile.mentor_name, profile.in_mentoring

    assert await facts() == (False, None, False)
    # someone else's request and pair say nothing about this teacher
    session.add(MentorRequest(mentee_id=other.id, status="open", subject="math"))
    await add_pair(session, mentor, other)
    assert await facts() == (False, None, False)

    request = MentorRequest(mentee_id=user.id, status="draft")
    session.add(request)
    await session.flush()
    assert await facts() == (False, None, False)  # a draft without a subject yet
    for status, subject, wants in (
        ("draft", "general", True),
        ("open", "math", True),
        ("offered", "math", True),
        ("matched", "math", True),  # accepted, the pair not written yet
        ("withdrawn", "math", False),
    ):
        request.status, request.subject = status, subject
        await session.flush()
        assert (await facts())[0] is wants, status

    request.status = "matched"
    pair = await add_pair(session, mentor, user, request_id=request.id)
    assert await facts() == (True, "Петрова А. И.", True)
    # the pair ends: the matched request no longer counts, nor the pair
    pair.status, pair.closed_at = "completed", NOW
    await session.flush()
    assert await facts() == (False, None, False)
    pair.status = "cancelled"
    await session.flush()
    assert await facts() == (False, None, False)

    # a pair without a request (a methodist paired them directly) is enough
    nameless = await make_mentor(session, 7101, "")
    await add_pair(session, nameless, user)
    assert await facts() == (False, "", True)


async def active_route_with_mentoring(
    session: AsyncSession, registry: InstrumentRegistry, user: User
) -> Route:
    session.add(MentorRequest(mentee_id=user.id, status="open", subject="math"))
    await session.flush()
    await self_assess_in_db(session, registry, user, {"methodical": "medium"}, NOW)
    draft = await svc.build_for_latest(session, registry, user, NOW)
    assert draft.steps[0].kind == "mentoring"
    return await svc.confirm(session, user.id, NOW)


async def test_mentoring_completed_marks_only_planned_mentoring_steps_of_the_active_route(
    session: AsyncSession, registry: InstrumentRegistry
) -> None:
    user = await make_teacher(session)
    other = await make_teacher(session, 7002)
    await svc.mentoring_completed(session, user.id, NOW)  # no route: nothing to do
    route = await active_route_with_mentoring(session, registry, user)
    theirs = await active_route_with_mentoring(session, registry, other)
    # an older mentoring step under a deficit block, and one closed by the teacher
    session.add_all(
        [
            RouteStep(
                route_id=route.id,
                position=10,
                block="methodical",
                level="high",
                kind="mentoring",
                title=MENTORING_TITLE,
                target_date=date(2027, 4, 30),
            ),
            RouteStep(
                route_id=route.id,
                position=11,
                kind="mentoring",
                title="Наставник по ОГЭ",
                target_date=date(2027, 4, 30),
                status="closed",
                closed_reason="Наставник уволился",
                done_at=NOW,
            ),
        ]
    )
    await session.flush()
    # a newer self-assessment: a draft with its own mentoring step, the active route stays
    later = NOW + timedelta(days=40)
    await self_assess_in_db(session, registry, user, {"psychological": "high"}, later)
    draft = await svc.build_for_latest(session, registry, user, later)

    done = NOW + timedelta(days=200)
    await svc.mentoring_completed(session, user.id, done)
    active = await svc.active_of(session, user.id)
    assert active is not None and active.id == route.id
    assert active.status == RouteStatus.ACTIVE.value  # other steps are still planned
    got = [(s.kind, s.block, s.status, s.done_at) for s in active.steps]
    assert got == [
        ("mentoring", None, "done", done),
        ("seminar", "methodical", "planned", None),
        ("mentoring", "methodical", "done", done),
        ("mentoring", None, "closed", NOW),
    ]
    draft = await svc.route_by_id(session, user.id, draft.id)
    assert draft.steps[0].kind == "mentoring" and draft.steps[0].status == "planned"
    other_route = await svc.route_by_id(session, other.id, theirs.id)
    assert other_route.steps[0].status == "planned"

    # idempotent: a second call changes nothing
    await svc.mentoring_completed(session, user.id, done + timedelta(days=1))
    again = await svc.route_by_id(session, user.id, route.id)
    assert [(s.status, s.done_at) for s in again.steps] == [(s[2], s[3]) for s in got]


async def test_mentoring_completed_completes_a_route_with_nothing_else_planned(
    session: AsyncSession, registry: InstrumentRegistry
) -> None:
    user = await make_teacher(session)
    route = await active_route_with_mentoring(session, registry, user)
    for step in route.steps[1:]:
        await svc.mark_done(session, user.id, step.id, NOW)
    done = NOW + timedelta(days=150)
    await svc.mentoring_completed(session, user.id, done)
    route = await svc.route_by_id(session, user.id, route.id)
    assert (route.status, route.completed_at) == ("completed", done)
    assert route.steps[0].done_at == done


async def test_the_mentor_is_named_while_the_pair_lasts_and_after_it_is_completed(
    session: AsyncSession, registry: InstrumentRegistry
) -> None:
    user = await make_teacher(session)
    first = await make_mentor(session, 7100, "Петрова Анна Ивановна")
    second = await make_mentor(session, 7101, "Сидоров Павел Олегович")
    route = await active_route_with_mentoring(session, registry, user)
    step_id = route.steps[0].id

    async def shown() -> tuple[str, str, str]:
        view = await svc.route_view(session, registry, route)
        picker = await svc.month_picker(session, user.id, step_id, TODAY)
        _, closing = await svc.start_closing(session, user.id, step_id)
        return view.steps[0].title, picker.step.title, closing.title

    assert await shown() == (MENTORING_TITLE,) * 3  # no pair yet
    pair = await add_pair(session, first, user)
    named = mentor_title(MENTORING_TITLE, "Петрова А. И.")
    assert await shown() == (named,) * 3
    assert (await svc.route_by_id(session, user.id, route.id)).steps[0].title == MENTORING_TITLE

    # the pair changes: the new mentor is named
    pair.status, pair.closed_at = "cancelled", NOW + timedelta(days=5)
    await session.flush()
    assert await shown() == (MENTORING_TITLE,) * 3  # a cancelled pair names nobody
    pair = await add_pair(session, second, user)
    assert (await shown())[0].startswith("Работа с наставником (Сидоров П. О.): ")

    # completed: the step is done and still names the mentor; a newer route does not
    pair.status, pair.closed_at = "completed", NOW + timedelta(days=100)
    await session.flush()
    await svc.mentoring_completed(session, user.id, NOW + timedelta(days=100))
    view = await svc.route_view(session, registry, route)
    assert view.steps[0].status == "done"
    assert view.steps[0].title.startswith("Работа с наставником (Сидоров П. О.): ")
    newer = Route(user_id=user.id, status="draft", created_at=NOW + timedelta(days=101))
    assert await svc.mentor_for_route(session, newer) is None


async def test_older_mentoring_steps_keep_working(
    session: AsyncSession, registry: InstrumentRegistry
) -> None:
    """A mentoring step built before the rule changed (any young teacher, under the worst
    block) is shown under «Наставничество», its term can be moved, and it can be removed."""
    user = await make_teacher(session)
    await self_assess_in_db(session, registry, user, {"methodical": "high"}, NOW)
    draft = await svc.build_for_latest(session, registry, user, NOW)
    assert "mentoring" not in [s.kind for s in draft.steps]
    session.add(
        RouteStep(
            route_id=draft.id,
            position=-1,
            block="methodical",
            level="high",
            kind="mentoring",
            title=MENTORING_TITLE,
            target_date=date(2027, 4, 12),
        )
    )
    await session.flush()
    view = await svc.home(session, registry, user.id)
    assert view.route is not None
    old = view.route.steps[0]
    assert (old.kind, old.block) == ("mentoring", "methodical")
    [screen] = route_screens.route_screen(view.route, Translator("ru"))
    assert screen.text.count("🤝 Наставничество") == 1
    moved = await svc.set_month(session, registry, user.id, old.id, 3, TODAY)
    assert moved.step.target_date == date(2027, 1, 31)
    left = await svc.remove(session, registry, user.id, old.id)
    assert "mentoring" not in [s.kind for s in left.steps]
    assert [s.n for s in left.steps] == list(range(1, len(left.steps) + 1))


async def test_the_docx_files_mentoring_under_its_heading_and_names_the_mentor(
    session: AsyncSession, registry: InstrumentRegistry
) -> None:
    user = await make_teacher(session)
    mentor = await make_mentor(session, 7100, "Петрова Анна Ивановна")
    route = await active_route_with_mentoring(session, registry, user)
    await add_pair(session, mentor, user)
    data = await svc.route_document(session, registry, user, route.id, Translator("ru"), TODAY)
    document = docx.Document(io.BytesIO(data))
    [table] = document.tables
    cells = [[c.text for c in row.cells] for row in table.rows]
    assert cells[1][:4] == [
        "1",
        "Наставничество",
        mentor_title(MENTORING_TITLE, "Петрова А. И."),
        "Наставничество",
    ]
    assert cells[1][4] == "до 12.04.2027"  # the end of the route (6 months, one deficit block)
    assert cells[2][1] == "Методический блок\nсредний дефицит"
    # the mentor signs too
    signatures = [p.text for p in document.paragraphs]
    assert "Наставник ______________________ / Петрова А. И. /" in signatures


# ---------------------------------------------------------------- through the Dispatcher


async def test_the_route_screen_shows_the_mentoring_heading_and_the_mentor(
    harness: Harness,
) -> None:
    await add_schools(harness.sessionmaker)
    async with harness.sessionmaker.begin() as s:
        await add_route_catalog(s)
    chat = harness.chat(8701)
    await register(chat)  # not a young teacher
    async with harness.sessionmaker.begin() as s:
        user = await get_user(s, 8701)
        assert user is not None
        mentor = await make_mentor(s, 8799, "Петрова Анна Ивановна")
        request = MentorRequest(mentee_id=user.id, status="matched", subject="math")
        s.add(request)
        await s.flush()
        await add_pair(s, mentor, user, request_id=request.id)

    await self_assess_in_chat(chat, methodical_high_psychological_medium)
    await chat.tap("Построить маршрут")
    text = chat.last.text
    assert "<b>🤝 Наставничество</b>\n1. <b>Работа с наставником (Петрова А. И.): " in text
    assert text.count("отвечает на:") == 5  # the mentoring step answers no deficit
    [draft] = await routes_of(harness, 8701)
    [mentoring, *_] = await steps_of(harness, draft.id)
    assert (mentoring.kind, mentoring.block, mentoring.title) == (
        "mentoring",
        None,
        MENTORING_TITLE,
    )

    await chat.tap("Сохранить маршрут")
    assert "🤝 Наставничество" in chat.last.text
    assert "⏳ 1. <b>Работа с наставником (Петрова А. И.)" in chat.last.text

    # the pair is completed (the mentoring feature calls this): the step is done
    async with harness.sessionmaker.begin() as s:
        await s.execute(
            update(MentorPair)
            .where(MentorPair.mentee_id == user.id)
            .values(status="completed", closed_at=harness.clock.now)
        )
        await svc.mentoring_completed(s, user.id, harness.clock.now)
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой маршрут")
    text = chat.last.text
    assert "✅ 1. <b>Работа с наставником (Петрова А. И.)" in text
    assert "Выполнено: <b>16 %</b> (1 из 6)" in text

    harness.bot.api.clear()
    await chat.tap("Скачать маршрут")
    [sent] = harness.bot.api.of(SendDocument)
    [table] = docx.Document(io.BytesIO(sent.document.data)).tables
    row = [c.text for c in table.rows[1].cells]
    assert row[:2] == ["1", "Наставничество"] and "(Петрова А. И.)" in row[2]
    assert row[6] == "выполнено 12.10.2026"
    async with harness.sessionmaker() as s:
        stored = await s.scalar(select(RouteStep.title).where(RouteStep.id == mentoring.id))
    assert stored == MENTORING_TITLE
