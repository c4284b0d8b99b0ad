"""The route proposal as a pure function (examples and properties), and the route lifecycle
at the service level (on SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from aiogram.filters.callback_data import CallbackData
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from handlers.common import MAX_ID
from handlers.route import callbacks as route_callbacks
from handlers.route import screens as route_screens
from models import (
    Course,
    MentorRequest,
    Route,
    RouteStatus,
    RouteStep,
    StepStatus,
    User,
    UserSubject,
)
from services import routes as svc
from services import surveys as surveys_svc
from services.instruments import InstrumentRegistry, sync_instruments
from services.people import get_user
from services.routes import (
    BlockDeficit,
    CatalogEntry,
    ProposedStep,
    TeacherProfile,
    add_months,
    propose_route,
)
from surveys.loader import load_instruments
from tests.helpers import add_route_catalog

TODAY = date(2026, 10, 12)
NOW = datetime(2026, 10, 12, 9, 30, tzinfo=UTC)

DEFICITS = {
    "subject": BlockDeficit("minimal", 90.0),
    "methodical": BlockDeficit("high", 45.0),
    "psychological": BlockDeficit("medium", 70.0),
    "communicative": BlockDeficit("minimal", 85.0),
}
TEACHER = TeacherProfile(
    position="teacher",
    subjects=frozenset({"math"}),
    birth_year=1985,
    teaching_since=2008,
    formats=("distance",),
)
YOUNG = TeacherProfile(
    position="teacher", subjects=frozenset({"math"}), birth_year=2000, teaching_since=2025
)


def entry(
    id: int,
    blocks: set[str],
    fmt: str = "distance",
    *,
    subjects: set[str] | None = None,
    positions: set[str] | None = None,
    starts: date | None = None,
    ends: date | None = None,
    enrol_until: date | None = None,
    kind: str = "qualification",
) -> CatalogEntry:
    return CatalogEntry(
        id=id,
        title=f"Программа {id}",
        format=fmt,
        kind=kind,
        blocks=frozenset(blocks),
        subjects=frozenset(subjects or ()),
        positions=frozenset(positions or ()),
        hours=36,
        starts_on=starts,
        ends_on=ends,
        enrol_until=enrol_until,
    )


CATALOG = [
    entry(1, {"methodical"}, subjects={"math"}, starts=date(2026, 11, 1), ends=date(2026, 11, 30)),
    entry(2, {"methodical"}, "in_person", starts=date(2027, 2, 1), ends=date(2027, 2, 20)),
    entry(3, {"methodical", "psychological"}, "blended"),
    entry(4, {"psychological"}, starts=date(2026, 12, 1), ends=date(2026, 12, 15)),
    entry(5, {"methodical"}, enrol_until=date(2026, 10, 1)),  # enrolment closed
    entry(6, {"psychological"}, ends=date(2026, 9, 30)),  # over
    entry(7, {"subject"}),  # no deficit there
    entry(8, {"methodical"}, positions={"preschool"}),  # another position
    entry(9, {"methodical"}, subjects={"physics"}),  # another subject
    entry(10, {"communicative"}),  # no deficit there
    entry(11, {"methodical"}, starts=date(2028, 1, 10), ends=date(2028, 2, 1)),  # too far
    entry(12, {"psychological"}, "in_person", starts=date(2027, 3, 1), ends=date(2027, 3, 5)),
]


def test_proposal_for_a_known_profile() -> None:
    steps = propose_route(DEFICITS, TEACHER, CATALOG, TODAY)
    got = [(s.kind, s.block, s.level, s.catalog_item_id, s.target_date) for s in steps]
    # methodical (high): 2 courses — 3 answers both deficits, then 1 (the teacher's subject
    # and format); then self-study. psychological (medium): 1 course — 3 is taken, 4 is
    # sooner than 12 and in the teacher's format; then a seminar.
    # Span: 8 months for two deficit blocks; the three undated steps at 3, 6 and 8 months.
    assert got == [
        ("course", "methodical", "high", 3, date(2027, 1, 12)),
        ("course", "methodical", "high", 1, date(2026, 11, 30)),
        ("self_study", "methodical", "high", None, date(2027, 4, 12)),
        ("course", "psychological", "medium", 4, date(2026, 12, 15)),
        ("seminar", "psychological", "medium", None, date(2027, 6, 12)),
    ]
    assert steps[0].title == "Программа 3" and steps[0].form == "blended"
    assert steps[2].title.startswith("Самообразование") and steps[2].form is None
    assert steps[4].title.startswith("Семинар")


def test_a_conference_is_a_conference_step() -> None:
    """A catalog conference is shown as a conference, a seminar as a seminar."""
    conference = entry(97, {"methodical", "psychological"}, "in_person", kind="conference")
    seminar = entry(98, {"methodical", "psychological"}, "distance", kind="seminar")
    steps = propose_route(DEFICITS, TEACHER, [conference, seminar], TODAY)
    kinds = {s.catalog_item_id: s.kind for s in steps if s.catalog_item_id}
    assert kinds == {97: "conference", 98: "seminar"}
    t = Translator("ru")
    [view] = [s for s in steps if s.catalog_item_id == 97]
    assert route_screens.step_form(view, t) == "Конференция, очно"


def test_retraining_is_never_proposed_by_itself() -> None:
    retraining = entry(99, {"methodical", "psychological"}, "distance", kind="retraining")
    steps = propose_route(DEFICITS, TEACHER, [retraining, *CATALOG], TODAY)
    assert 99 not in {s.catalog_item_id for s in steps}
    assert steps == propose_route(DEFICITS, TEACHER, CATALOG, TODAY)


def test_a_young_teacher_without_a_request_gets_no_mentoring_step() -> None:
    steps = propose_route(DEFICITS, YOUNG, CATALOG, TODAY)
    assert [s.kind for s in steps] == ["course", "course", "self_study", "course", "seminar"]
    # no recorded courses: formats don't count; 1 is for the teacher's subject
    assert [s.catalog_item_id for s in steps if s.kind == "course"] == [3, 1, 4]


def test_no_deficit_no_route_and_ranking_by_format_and_subject() -> None:
    minimal = {b: BlockDeficit("minimal", 95.0) for b in svc.BLOCKS}
    assert propose_route(minimal, YOUNG, CATALOG, TODAY) == []
    unscored = {"methodical": BlockDeficit(None, None)}
    assert propose_route(unscored, TEACHER, CATALOG, TODAY) == []

    only = {"methodical": BlockDeficit("medium", 75.0)}
    in_person = TeacherProfile(
        position="teacher", subjects=frozenset({"math"}), formats=("in_person",)
    )
    catalog = [entry(1, {"methodical"}), entry(2, {"methodical"}, "in_person")]
    assert [s.catalog_item_id for s in propose_route(only, in_person, catalog, TODAY)] == [2, None]
    assert [s.catalog_item_id for s in propose_route(only, TEACHER, catalog, TODAY)] == [1, None]
    catalog.append(entry(3, {"methodical"}, "in_person", subjects={"math"}))
    assert propose_route(only, in_person, catalog, TODAY)[0].catalog_item_id == 3
    # an item already taken by the teacher is not proposed again
    taken = TeacherProfile(
        position="teacher", subjects=frozenset({"math"}), taken_items=frozenset({3})
    )
    assert propose_route(only, taken, catalog, TODAY)[0].catalog_item_id != 3


def test_every_deficit_block_gets_a_step_even_with_an_empty_catalog() -> None:
    steps = propose_route(DEFICITS, TEACHER, [], TODAY)
    assert [(s.kind, s.block) for s in steps] == [
        ("self_study", "methodical"),
        ("seminar", "psychological"),
    ]
    assert [s.target_date for s in steps] == [date(2027, 2, 12), date(2027, 6, 12)]


def test_span_grows_with_the_number_of_deficit_blocks() -> None:
    all_high = {b: BlockDeficit("high", 10.0 + i) for i, b in enumerate(svc.BLOCKS)}
    steps = propose_route(all_high, TEACHER, [], TODAY)
    assert len(steps) == 4 and max(s.target_date for s in steps) == date(2027, 10, 12)
    assert [s.block for s in steps] == list(svc.BLOCKS)  # lower score first


def test_add_months_clamps_the_day() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2026, 10, 12), 12) == date(2027, 10, 12)
    assert svc.month_choices(date(2026, 10, 12))[:2] == [date(2026, 10, 31), date(2026, 11, 30)]
    assert len(svc.month_choices(TODAY)) == 12


# ---------------------------------------------------------------- properties

BLOCK_SETS = st.frozensets(st.sampled_from(svc.BLOCKS), min_size=1, max_size=4)
DAY = st.integers(min_value=-400, max_value=800).map(lambda d: TODAY + timedelta(days=d))
MAYBE_DAY = st.one_of(st.none(), DAY)


@st.composite
def catalogs(draw: st.DrawFn) -> list[CatalogEntry]:
    size = draw(st.integers(min_value=0, max_value=25))
    items: list[CatalogEntry] = []
    for i in range(1, size + 1):
        starts = draw(MAYBE_DAY)
        ends = draw(MAYBE_DAY)
        if starts is not None and ends is not None and ends < starts:
            starts, ends = ends, starts
        items.append(
            CatalogEntry(
                id=i,
                title=f"Курс {i}",
                format=draw(st.sampled_from(["in_person", "distance", "blended"])),
                kind=draw(st.sampled_from(["qualification", "seminar", "retraining"])),
                blocks=draw(BLOCK_SETS),
                positions=draw(
                    st.frozensets(st.sampled_from(["teacher", "preschool"]), max_size=2)
                ),
                subjects=draw(
                    st.frozensets(st.sampled_from(["math", "russian", "physics"]), max_size=2)
                ),
                starts_on=starts,
                ends_on=ends,
                enrol_from=draw(MAYBE_DAY),
                enrol_until=draw(MAYBE_DAY),
            )
        )
    return items


deficit_maps = st.dictionaries(
    st.sampled_from(svc.BLOCKS),
    st.builds(
        BlockDeficit,
        st.sampled_from(["high", "medium", "minimal", None]),
        st.one_of(st.none(), st.floats(min_value=0, max_value=100)),
    ),
)
teachers = st.builds(
    TeacherProfile,
    position=st.sampled_from(["teacher", "preschool", None]),
    subjects=st.frozensets(st.sampled_from(["math", "russian", "physics"]), max_size=2),
    birth_year=st.one_of(st.none(), st.integers(1960, 2004)),
    teaching_since=st.one_of(st.none(), st.integers(1980, 2026)),
    formats=st.lists(st.sampled_from(["in_person", "distance", "blended"]), unique=True).map(tuple),
    taken_items=st.frozensets(st.integers(1, 25), max_size=3),
    wants_mentor=st.booleans(),
    mentor_name=st.sampled_from([None, "Петрова А. И."]),
)


def check_proposal(
    steps: list[ProposedStep],
    deficits: dict[str, BlockDeficit],
    teacher: TeacherProfile,
    catalog: list[CatalogEntry],
    today: date,
) -> None:
    by_id = {c.id: c for c in catalog}
    deficit_blocks = {b for b, d in deficits.items() if d.level in ("high", "medium")}
    ids = [s.catalog_item_id for s in steps if s.catalog_item_id is not None]
    assert len(ids) == len(set(ids)), "an item proposed twice"
    for s in steps:
        if s.kind == "mentoring":
            continue
        assert s.block in deficit_blocks, "a step for a block without deficit"
        assert s.level == deficits[s.block].level
        if s.catalog_item_id is None:
            continue
        item = by_id[s.catalog_item_id]
        assert s.block in item.blocks
        assert item.enrol_until is None or item.enrol_until >= today, "enrolment closed"
        assert item.ends_on is None or item.ends_on >= today, "course over"
        assert not item.positions or teacher.position in item.positions
        assert not item.subjects or item.subjects & teacher.subjects
        assert item.id not in teacher.taken_items
    for block in deficit_blocks:
        courses = [s for s in steps if s.block == block and s.catalog_item_id is not None]
        wanted = svc.COURSES_PER_LEVEL[deficits[block].level or ""]
        assert len(courses) <= wanted
        if len(courses) < wanted:  # then nothing fitting was left unused
            assert not [
                c
                for c in catalog
                if block in c.blocks and svc.proposable(c, teacher, today) and c.id not in ids
            ]
        assert any(s.block == block and s.catalog_item_id is None for s in steps)
    if steps:
        dates = [s.target_date for s in steps]
        assert min(dates) >= today
        assert max(dates) <= add_months(today, 12)
        assert max(dates) >= add_months(today, 6)
    else:
        assert not deficit_blocks and not teacher.in_mentoring
    mentoring = [s for s in steps if s.kind == "mentoring"]
    assert len(mentoring) == (1 if teacher.in_mentoring else 0)
    for s in mentoring:  # first, under no deficit block, for the whole route
        assert s is steps[0] and (s.block, s.level) == (None, None)
        assert s.target_date == max(x.target_date for x in steps)


@settings(max_examples=300, deadline=None)
@given(deficit_maps, teachers, catalogs(), st.integers(min_value=-30, max_value=400))
def test_proposal_properties(
    deficits: dict[str, BlockDeficit],
    teacher: TeacherProfile,
    catalog: list[CatalogEntry],
    shift: int,
) -> None:
    today = TODAY + timedelta(days=shift)
    steps = propose_route(deficits, teacher, catalog, today)
    check_proposal(steps, deficits, teacher, catalog, today)
    # deterministic, and independent of the order of the catalog
    assert propose_route(deficits, teacher, catalog, today) == steps
    shuffled = list(catalog)
    random.Random(shift).shuffle(shuffled)
    assert propose_route(deficits, teacher, shuffled, today) == steps


# ---------------------------------------------------------------- lifecycle (DB)

LEVEL_ANSWERS = {
    "high": [3, 3, 3, 3, 3, 3, 3],  # 0 %
    "medium": [1, 1, 1, 1, 1, 1, 1],  # 66.7 %
    "minimal": [0, 0, 0, 0, 0, 0, 0],  # 100 %
}


async def make_teacher(
    session: AsyncSession, telegram_id: int = 7001, *, young: bool = False
) -> User:
    user = User(
        telegram_id=telegram_id,
        consent_at=NOW - timedelta(days=60),
        registered_at=NOW - timedelta(days=60),
        full_name="Иванова Мария Петровна",
        position="teacher",
        birth_year=2000 if young else 1985,
        teaching_since=2025 if young else 2008,
        category="first",
    )
    session.add(user)
    await session.flush()
    session.add(UserSubject(user_id=user.id, subject="math"))
    await session.flush()
    found = await get_user(session, telegram_id)
    assert found is not None
    return found


async def self_assess(
    session: AsyncSession,
    registry: InstrumentRegistry,
    user: User,
    levels: dict[str, str],
    when: datetime,
) -> int:
    attempt = await surveys_svc.start_or_resume(session, registry, user, "deficits", when)
    inst = registry.get("deficits").instrument  # type: ignore[union-attr]
    for scale in inst.scales:  # every item of a block answered alike
        value = LEVEL_ANSWERS[levels.get(scale.block or "", "minimal")][0]
        for item in scale.items:
            await surveys_svc.save_answer(session, attempt, item, value, when)
    step = await surveys_svc.advance(session, attempt, inst, when, after=None)
    assert step.question is None
    return attempt.id


@pytest.fixture
async def registry(session: AsyncSession) -> InstrumentRegistry:
    reg = await sync_instruments(session, load_instruments())
    await session.flush()
    return reg


async def test_diagnosis_profile_and_catalog_adapters(
    session: AsyncSession, registry: InstrumentRegistry
) -> None:
    user = await make_teacher(session)
    assert await svc.latest_diagnosis(session, registry, user.id) is None
    ids = await add_route_catalog(session)
    attempt = await self_assess(
        session, registry, user, {"methodical": "high", "psychological": "medium"}, NOW
    )
    diagnosis = await svc.latest_diagnosis(session, registry, user.id)
    assert diagnosis is not None and diagnosis.attempt_id == attempt
    assert {b: d.level for b, d in diagnosis.blocks.items()} == {
        "subject": "minimal",
        "methodical": "high",
        "psychological": "medium",
        "communicative": "minimal",
    }
    assert diagnosis.baseline["methodical"] == 0.0
    session.add_all(
        [
            Course(
                user_id=user.id,
                title=f"Курс {i}",
                kind="qualification",
                hours=36,
                starts_on=date(2025, i, 1),
                ends_on=date(2025, i, 20),
                format=fmt,
                catalog_item_id=ids["meth_all"] if i == 3 else None,
            )
            for i, fmt in enumerate(["in_person", "distance", "distance", "blended"], start=1)
        ]
    )
    await session.flush()
    profile = await svc.teacher_profile(session, user)
    assert profile.formats == ("distance", "blended", "in_person")
    assert profile.taken_items == frozenset({ids["meth_all"]})
    assert profile.subjects == frozenset({"math"}) and not profile.is_young(TODAY)
    entries = await svc.catalog_entries(session)
    assert ids["inactive"] not in {e.id for e in entries}
    assert {e.provider for e in entries} == {"ГАУ ДПО «Институт развития образования»"}


async def test_route_lifecycle(session: AsyncSession, registry: InstrumentRegistry) -> None:
    user = await make_teacher(session, young=True)
    other = await make_teacher(session, 7002)
    ids = await add_route_catalog(session)
    session.add(MentorRequest(mentee_id=user.id, status="open", subject="math"))
    await session.flush()
    attempt = await self_assess(
        session, registry, user, {"methodical": "high", "psychological": "medium"}, NOW
    )
    with pytest.raises(svc.RouteError):
        await svc.build_for_latest(session, registry, other, NOW)

    draft = await svc.build_for_latest(session, registry, user, NOW)
    assert draft.status == RouteStatus.DRAFT.value and draft.attempt_id == attempt
    assert draft.baseline == {
        "subject": 100.0,
        "methodical": 0.0,
        "psychological": pytest.approx(66.67, abs=0.01),
        "communicative": 100.0,
    }
    got = [(s.kind, s.block, s.level, s.catalog_item_id) for s in draft.steps]
    assert got == [
        ("mentoring", None, None, None),
        ("course", "methodical", "high", ids["meth_math"]),
        ("course", "methodical", "high", ids["meth_all"]),
        ("self_study", "methodical", "high", None),
        ("course", "psychological", "medium", ids["psy"]),
        ("seminar", "psychological", "medium", None),
    ]
    assert [s.position for s in draft.steps] == list(range(6))
    # a double tap builds once
    again = await svc.build_for_latest(session, registry, user, NOW)
    assert again.id == draft.id
    assert await session.scalar(select(func.count()).select_from(Route)) == 1

    # the other teacher can't touch these steps; nothing changes
    mentoring, meth_math, meth_all = draft.steps[0], draft.steps[1], draft.steps[2]
    await make_other_route(session, registry, other)
    for call in (
        svc.remove_step(session, other.id, meth_math.id),
        svc.set_target_month(session, other.id, meth_math.id, 3, TODAY),
        svc.mark_done(session, other.id, meth_math.id, NOW),
        svc.close_step(session, other.id, meth_math.id, "нет", NOW),
    ):
        with pytest.raises(svc.Stale):
            await call
    # a draft step cannot be marked done
    with pytest.raises(svc.Stale):
        await svc.mark_done(session, user.id, meth_math.id, NOW)

    route = await svc.remove_step(session, user.id, meth_all.id)
    assert len(route.steps) == 5 and [s.position for s in route.steps] == list(range(5))
    with pytest.raises(svc.Stale):
        await svc.remove_step(session, user.id, meth_all.id)  # already gone

    # add from the catalog by block: the closed and inactive items are refused
    with pytest.raises(svc.RouteError):
        await svc.add_catalog_step(session, registry, user, ids["closed"], "methodical", TODAY)
    with pytest.raises(svc.Stale):
        await svc.add_catalog_step(session, registry, user, ids["inactive"], "methodical", TODAY)
    with pytest.raises(svc.RouteError):  # the item does not develop this block
        await svc.add_catalog_step(session, registry, user, ids["psy"], "methodical", TODAY)
    with pytest.raises(svc.RouteError):  # already in the route
        await svc.add_catalog_step(session, registry, user, ids["psy"], "psychological", TODAY)
    listed = await svc.catalog_for_block(session, user, "methodical", TODAY)
    assert [e.id for e in listed] == [ids["meth_math"], ids["meth_all"]]
    added = await svc.add_catalog_step(
        session, registry, user, ids["meth_all"], "methodical", TODAY
    )
    assert (added.block, added.level, added.target_date) == (
        "methodical",
        "high",
        date(2027, 2, 12),
    )

    with pytest.raises(svc.RouteError) as too_long:
        await svc.add_custom_step(
            session, registry, user.id, "self_study", "communicative", "я" * 301, TODAY
        )
    assert too_long.value.code == "route.error.too_long"
    with pytest.raises(svc.RouteError):
        await svc.add_custom_step(
            session, registry, user.id, "self_study", "communicative", "  \n ", TODAY
        )
    with pytest.raises(svc.Stale):
        await svc.add_custom_step(
            session, registry, user.id, "mentoring", "communicative", "x", TODAY
        )
    own = await svc.add_custom_step(
        session, registry, user.id, "seminar", "communicative", "  Выступить   на МО ", TODAY
    )
    assert (own.title, own.level, own.kind) == ("Выступить на МО", "minimal", "seminar")

    step = await svc.set_target_month(session, user.id, mentoring.id, 5, TODAY)
    assert step.target_date == date(2027, 3, 31)
    with pytest.raises(svc.Stale):
        await svc.set_target_month(session, user.id, mentoring.id, 12, TODAY)

    active = await svc.confirm(session, user.id, NOW)
    assert active.status == RouteStatus.ACTIVE.value and active.activated_at == NOW
    with pytest.raises(svc.Stale):
        await svc.confirm(session, user.id, NOW)  # no draft any more
    assert svc.progress(active) == 0
    total = len(active.steps)
    assert total == 7

    route = await svc.mark_done(session, user.id, active.steps[0].id, NOW)
    assert svc.progress(route) == 100 // total
    with pytest.raises(svc.Stale):
        await svc.mark_done(session, user.id, active.steps[0].id, NOW)  # already done
    with pytest.raises(svc.RouteError):
        await svc.close_step(session, user.id, active.steps[1].id, "x" * 301, NOW)
    route = await svc.close_step(session, user.id, active.steps[1].id, "курс перенесли", NOW)
    assert route.steps[1].status == StepStatus.CLOSED.value
    assert route.steps[1].closed_reason == "курс перенесли"
    # a catalog course cannot be done before it starts (01.02.2027)
    later = next(s for s in route.steps if s.catalog_item_id == ids["meth_all"])
    with pytest.raises(svc.RouteError) as early:
        await svc.mark_done(session, user.id, later.id, NOW)
    assert (early.value.code, early.value.params) == (
        "route.error.not_started",
        {"date": "01.02.2027"},
    )
    assert later.status == StepStatus.PLANNED.value
    for s in route.steps[2:]:  # after the last course has started
        route = await svc.mark_done(session, user.id, s.id, NOW + timedelta(days=120))
    assert route.status == RouteStatus.COMPLETED.value and svc.progress(route) == 100
    assert route.completed_at == NOW + timedelta(days=120)

    # re-diagnosis after completion: before → after per block
    assert await svc.route_change(session, registry, route) is None
    await self_assess(session, registry, user, {"methodical": "medium"}, NOW + timedelta(days=130))
    change = await svc.route_change(session, registry, route)
    assert change is not None
    after, changes = change
    assert after.completed_at == NOW + timedelta(days=130)
    by_block = {c.block: c for c in changes}
    assert [c.block for c in changes] == list(svc.BLOCKS)
    assert (by_block["methodical"].before, by_block["methodical"].before_level) == (0.0, "high")
    assert by_block["methodical"].after_level == "medium"
    assert by_block["methodical"].delta == pytest.approx(66.67, abs=0.01)
    assert by_block["psychological"].after_level == "minimal"


async def make_other_route(
    session: AsyncSession, registry: InstrumentRegistry, user: User
) -> Route:
    await self_assess(session, registry, user, {"communicative": "high"}, NOW)
    return await svc.build_for_latest(session, registry, user, NOW)


async def test_new_diagnosis_proposes_an_update_without_overwriting(
    session: AsyncSession, registry: InstrumentRegistry
) -> None:
    user = await make_teacher(session)
    await add_route_catalog(session)
    first = await self_assess(session, registry, user, {"methodical": "high"}, NOW)
    await svc.build_for_latest(session, registry, user, NOW)
    active = await svc.confirm(session, user.id, NOW)
    steps_before = [(s.id, s.title, s.status) for s in active.steps]
    assert await svc.newer_diagnosis(session, registry, active) is None

    later = NOW + timedelta(days=40)
    second = await self_assess(session, registry, user, {"psychological": "high"}, later)
    view = await svc.overview(session, registry, user.id)
    assert view.active is not None and view.newer is not None
    assert view.newer.attempt_id == second

    draft = await svc.build_for_latest(session, registry, user, later)
    assert draft.status == RouteStatus.DRAFT.value and draft.attempt_id == second
    still = await svc.active_of(session, user.id)
    assert still is not None and still.id == active.id and still.attempt_id == first
    assert [(s.id, s.title, s.status) for s in still.steps] == steps_before
    assert {s.block for s in draft.steps} == {"psychological"}

    await svc.confirm(session, user.id, later)
    statuses = dict(
        (
            await session.execute(select(Route.id, Route.status).where(Route.user_id == user.id))
        ).all()
    )
    assert statuses == {active.id: "archived", draft.id: "active"}
    # a discarded draft leaves the active route alone
    assert await svc.discard_draft(session, user.id) is False


async def test_steps_matching_course_and_closing_with_it(
    session: AsyncSession, registry: InstrumentRegistry
) -> None:
    user = await make_teacher(session)
    other = await make_teacher(session, 7002)
    ids = await add_route_catalog(session)
    await self_assess(
        session, registry, user, {"methodical": "high", "psychological": "medium"}, NOW
    )
    await svc.build_for_latest(session, registry, user, NOW)

    def course(owner: User, **kw: object) -> Course:
        values: dict[str, object] = {
            "user_id": owner.id,
            "title": "Курс",
            "kind": "qualification",
            "hours": 36,
            "starts_on": date(2026, 11, 2),
            "ends_on": date(2026, 11, 27),
            "format": "distance",
            "blocks": [],
        }
        values.update(kw)
        return Course(**values)  # type: ignore[arg-type]

    same_item = course(user, catalog_item_id=ids["meth_math"], blocks=["methodical"])
    same_title = course(user, title="  методика обучения МАТЕМАТИКЕ по обновлённым ФГОС ")
    seminar = course(user, kind="seminar", title="Вебинар про травлю", blocks=["psychological"])
    unrelated = course(user, title="Что-то другое", blocks=["subject"])
    foreign = course(other, catalog_item_id=ids["meth_math"])
    session.add_all([same_item, same_title, seminar, unrelated, foreign])
    await session.flush()

    # only the active route counts: nothing while the route is a draft
    assert await svc.steps_matching_course(session, user.id, same_item) == []
    active = await svc.confirm(session, user.id, NOW)
    by_kind = {(s.kind, s.catalog_item_id): s for s in active.steps}
    meth_step = by_kind[("course", ids["meth_math"])]
    seminar_step = by_kind[("seminar", None)]

    assert [s.id for s in await svc.steps_matching_course(session, user.id, same_item)] == [
        meth_step.id
    ]
    assert [s.id for s in await svc.steps_matching_course(session, user.id, same_title)] == [
        meth_step.id
    ]
    assert [s.id for s in await svc.steps_matching_course(session, user.id, seminar)] == [
        seminar_step.id
    ]
    assert await svc.steps_matching_course(session, user.id, unrelated) == []
    assert await svc.steps_matching_course(session, other.id, same_item) == []  # not theirs
    assert await svc.steps_matching_course(session, user.id, foreign) == []

    for step_id, course_id, who in (
        (meth_step.id, foreign.id, user.id),  # another teacher's course
        (meth_step.id, same_item.id, other.id),  # another teacher's step
        (meth_step.id, unrelated.id, user.id),  # the course doesn't match the step
        (meth_step.id, 0, user.id),
        (0, same_item.id, user.id),
    ):
        with pytest.raises(svc.Stale):
            await svc.close_step_with_course(session, who, step_id, course_id, NOW)

    route = await svc.close_step_with_course(session, user.id, meth_step.id, same_item.id, NOW)
    closed = next(s for s in route.steps if s.id == meth_step.id)
    assert (closed.status, closed.course_id, closed.done_at) == ("done", same_item.id, NOW)
    # closed once: the step no longer matches
    assert await svc.steps_matching_course(session, user.id, same_title) == []
    with pytest.raises(svc.Stale):
        await svc.close_step_with_course(session, user.id, meth_step.id, same_item.id, NOW)
    rows = (
        await session.execute(select(RouteStep.status).where(RouteStep.route_id == route.id))
    ).scalars()
    assert sorted(rows) == ["done", "planned", "planned", "planned", "planned"]


async def test_empty_draft_cannot_be_confirmed(
    session: AsyncSession, registry: InstrumentRegistry
) -> None:
    user = await make_teacher(session)
    await self_assess(session, registry, user, {}, NOW)  # everything minimal
    draft = await svc.build_for_latest(session, registry, user, NOW)
    assert draft.steps == []
    with pytest.raises(svc.RouteError) as refused:
        await svc.confirm(session, user.id, NOW)
    assert refused.value.code == "route.error.empty_route"
    await svc.add_custom_step(
        session, registry, user.id, "self_study", "subject", "Олимпиадные задачи", TODAY
    )
    route = await svc.confirm(session, user.id, NOW)
    assert route.status == "active" and len(route.steps) == 1
    assert route.steps[0].target_date == add_months(TODAY, 6)


# ---------------------------------------------------------------- the screens' services


def test_editor_dialog_next_step_and_checks() -> None:
    assert svc.next_step({}) is None  # not a draft of this dialog
    assert svc.next_step({"aim": "zz"}) is None
    assert svc.next_step({"aim": "add"}) == "block"
    assert svc.next_step({"aim": "add", "block": "subject"}) == "kind"
    assert svc.next_step({"aim": "add", "block": "subject", "kind": "other"}) == "title"
    full = {"aim": "add", "block": "subject", "kind": "other", "title": "Шаг"}
    assert svc.next_step(full) is None
    assert svc.next_step({"aim": "close", "step": 3}) == "reason"
    assert svc.next_step({"aim": "close", "step": 3, "reason": "Нет набора"}) is None
    assert svc.check_answer("title", "  Изучить \n  рекомендации ") == "Изучить рекомендации"
    with pytest.raises(svc.RouteError) as long:
        svc.check_answer("reason", "я" * 301)
    assert (long.value.code, long.value.params) == (
        "route.error.too_long",
        {"length": 301, "max": 300},
    )
    with pytest.raises(svc.RouteError) as empty:
        svc.check_answer("title", "   ")
    assert empty.value.code == "route.error.empty_text"
    with pytest.raises(svc.Stale):
        svc.check_answer("block", "subject")  # chosen by a button, never typed


async def test_editor_dialog_writes_only_a_complete_own_draft(
    session: AsyncSession, registry: InstrumentRegistry
) -> None:
    user = await make_teacher(session)
    other = await make_teacher(session, 7002)
    await self_assess(session, registry, user, {"methodical": "medium"}, NOW)
    with pytest.raises(svc.Stale):  # no draft to add to yet
        await svc.start_own_step(session, user.id, 0, 0)
    draft = await svc.build_for_latest(session, registry, user, NOW)
    count = len(draft.steps)
    for block, kind in ((-1, 0), (4, 0), (0, -1), (0, 3), (9999, 9999)):
        with pytest.raises(svc.Stale):
            await svc.start_own_step(session, user.id, block, kind)
    with pytest.raises(svc.Stale):
        await svc.start_own_step(session, other.id, 0, 0)
    answers = await svc.start_own_step(session, user.id, 3, 1)
    assert answers == {"aim": "add", "block": "communicative", "kind": "seminar"}
    with pytest.raises(svc.Stale):  # the title is still missing
        await svc.finish(session, registry, user.id, answers, NOW)
    with pytest.raises(svc.Stale):  # another teacher cannot use it for their (missing) draft
        await svc.finish(session, registry, other.id, {**answers, "title": "Шаг"}, NOW)
    done = await svc.finish(session, registry, user.id, {**answers, "title": "Выступить"}, NOW)
    assert done.route.status == "draft" and len(done.route.steps) == count + 1
    assert (done.step.n, done.step.title, done.step.block, done.step.kind) == (
        count + 1,
        "Выступить",
        "communicative",
        "seminar",
    )

    # closing a step: only a planned step of the own active route
    with pytest.raises(svc.Stale):  # still a draft
        await svc.start_closing(session, user.id, done.step.id)
    route = await svc.confirm_draft(session, registry, user.id, done.route.id, NOW)
    first = route.steps[0]
    with pytest.raises(svc.Stale):
        await svc.start_closing(session, other.id, first.id)
    answers, step = await svc.start_closing(session, user.id, first.id)
    assert answers == {"aim": "close", "step": first.id} and step == first
    closed = await svc.finish(session, registry, user.id, {**answers, "reason": "Нет набора"}, NOW)
    assert (closed.step.status, closed.step.closed_reason) == ("closed", "Нет набора")
    assert closed.route.finished == 1
    with pytest.raises(svc.Stale):  # closed already
        await svc.finish(session, registry, user.id, {**answers, "reason": "Ещё раз"}, NOW)
    with pytest.raises(svc.Stale):  # a forged draft
        await svc.finish(
            session, registry, user.id, {"aim": "close", "step": "x", "reason": "r"}, NOW
        )


async def test_route_views_for_the_screens(
    session: AsyncSession, registry: InstrumentRegistry
) -> None:
    user = await make_teacher(session)
    other = await make_teacher(session, 7002)
    ids = await add_route_catalog(session)
    home = await svc.home(session, registry, user.id)
    assert (home.route, home.latest, home.survey) == (None, None, "deficits")
    await self_assess(session, registry, user, {"methodical": "high"}, NOW)
    home = await svc.home(session, registry, user.id)
    assert home.route is None and home.latest == NOW

    view = await svc.build(session, registry, user, NOW)
    assert view.status == "draft" and view.diagnosed_at == NOW
    assert not view.replaces_active and view.newer is None
    assert [s.n for s in view.steps] == list(range(1, len(view.steps) + 1))
    # only the draft on the screen can be confirmed or discarded
    with pytest.raises(svc.Stale):
        await svc.confirm_draft(session, registry, other.id, view.id, NOW)
    with pytest.raises(svc.Stale):
        await svc.discard(session, registry, other.id, view.id)
    with pytest.raises(svc.Stale):
        await svc.discard(session, registry, user.id, view.id + 1)

    # «Добавить шаг»: the blocks with the deficit level; a catalog page without the draft's items
    blocks = await svc.add_menu(session, registry, user.id)
    assert [(b.index, b.block, b.level) for b in blocks] == [
        (0, "subject", None),
        (1, "methodical", "high"),
        (2, "psychological", None),
        (3, "communicative", None),
    ]
    page = await svc.catalog_page(session, user, 1, 5, TODAY)
    assert (page.block, page.page, page.pages) == ("methodical", 0, 1)
    in_draft = {s.title for s in view.steps}
    assert not in_draft & {e.title for e in page.entries}
    with pytest.raises(svc.Stale):
        await svc.catalog_page(session, user, 4, 0, TODAY)
    with pytest.raises(svc.Stale):
        await svc.catalog_page(session, other, 1, 0, TODAY)  # no draft
    with pytest.raises(svc.Stale):
        await svc.add_from_catalog(session, registry, user, ids["psy"], -1, TODAY)
    added = await svc.add_from_catalog(session, registry, user, ids["psy"], 2, TODAY)
    assert (
        added.steps[-1].title.startswith("Инклюзивное") and added.steps[-1].block == "psychological"
    )

    picker = await svc.month_picker(session, user.id, added.steps[0].id, TODAY)
    assert picker.step.n == 1 and picker.months[0] == date(2026, 10, 31)
    moved = await svc.set_month(session, registry, user.id, added.steps[0].id, 5, TODAY)
    assert moved.step.target_date == date(2027, 3, 31)
    with pytest.raises(svc.Stale):
        await svc.month_picker(session, other.id, added.steps[0].id, TODAY)

    active = await svc.confirm_draft(session, registry, user.id, view.id, NOW)
    assert active.status == "active" and active.can_reopen and active.progress == 0
    home = await svc.home(session, registry, user.id)
    assert home.route == active
    assert (await svc.active_home(session, registry, user.id)).route == active
    later = NOW + timedelta(days=30)  # the course of the first step has started
    done = await svc.mark_step_done(session, registry, user.id, active.steps[0].id, later)
    assert done.step.status == "done" and done.route.finished == 1
    again = await svc.reopen(session, registry, user.id, active.steps[0].id)
    assert again.step.planned and again.route.finished == 0
    document = await svc.route_document(session, registry, user, active.id, Translator("ru"), TODAY)
    assert document.startswith(b"PK")
    with pytest.raises(svc.Stale):
        await svc.route_document(session, registry, other, active.id, Translator("ru"), TODAY)


async def test_close_offer_for_a_recorded_course(
    session: AsyncSession, registry: InstrumentRegistry
) -> None:
    user = await make_teacher(session)
    ids = await add_route_catalog(session)
    await self_assess(session, registry, user, {"methodical": "medium"}, NOW)
    draft = await svc.build_for_latest(session, registry, user, NOW)
    course = Course(
        user_id=user.id,
        title="Курс",
        kind="qualification",
        hours=36,
        starts_on=TODAY,
        ends_on=TODAY,
        format="distance",
        blocks=["methodical"],
        catalog_item_id=draft.steps[0].catalog_item_id,
    )
    session.add(course)
    await session.flush()
    assert await svc.close_offer(session, user.id, course) is None  # no active route yet
    await svc.confirm(session, user.id, NOW)
    offer = await svc.close_offer(session, user.id, course)
    assert offer is not None and offer.course_id == course.id
    assert [s.n for s in offer.steps] == [1]
    other = await make_teacher(session, 7002)
    assert await svc.close_offer(session, other.id, course) is None
    closed = await svc.close_with_course(
        session, registry, user.id, offer.steps[0].id, course.id, NOW
    )
    assert (closed.step.status, closed.course_title) == ("done", "Курс")
    assert ids["meth_math"] in {s.catalog_item_id for s in draft.steps}


# ---------------------------------------------------------------- screens and buttons (pure)


def _step(n: int, status: str = "planned", title: str = "Шаг") -> svc.StepView:
    return svc.StepView(
        id=100 + n,
        n=n,
        title=title,
        kind="course",
        form="distance",
        block="methodical",
        level="high",
        target_date=date(2027, 3, 31),
        status=status,
        done_at=NOW if status == "done" else None,
        closed_reason="Нет набора" if status == "closed" else None,
    )


def _route(status: str, steps: tuple[svc.StepView, ...], **more: object) -> svc.RouteView:
    return svc.RouteView(
        id=7,
        status=status,
        steps=steps,
        since=NOW,
        completed_at=None,
        diagnosed_at=NOW,
        **more,  # type: ignore[arg-type]
    )


def _data(screen: object) -> list[str]:
    keyboard = screen.keyboard  # type: ignore[attr-defined]
    return [b.callback_data for row in keyboard.inline_keyboard for b in row]


def test_route_screens_show_each_status_with_its_buttons() -> None:
    t = Translator("ru")
    [draft] = route_screens.route_screen(
        _route("draft", (_step(1), _step(2)), replaces_active=True, newer=NOW), t
    )
    assert "Черновик маршрута" in draft.text and "останется в силе" in draft.text
    assert "отвечает на: методический блок, высокий дефицит" in draft.text
    # one button per step opens its card; deleting the draft asks first (rty, not rtx)
    assert _data(draft) == [
        "rtp:101", "rtp:102", "rtn", "rtb", "rtk:7", "rty:7", "rta", "m:main"
    ]  # fmt: skip
    [active] = route_screens.route_screen(
        _route("active", (_step(1, "done"), _step(2, "closed"), _step(3))), t, notice="Готово"
    )
    assert active.text.startswith("Готово") and "Выполнено: <b>66 %</b> (2 из 3)" in active.text
    assert "отменён: Нет набора" in active.text
    assert _data(active) == ["rtp:101", "rtp:102", "rtp:103", "rtf:7", "m:main"]
    [done] = route_screens.route_screen(
        _route("completed", (_step(1, "done"),), survey="deficits", can_reopen=False), t
    )
    assert "Маршрут пройден" in done.text and "Пройдите самооценку" in done.text
    assert "rtp:101" not in _data(done) and "rtf:7" in _data(done)
    [none] = route_screens.home(svc.Home(None, None, None), t)
    assert "Вы её ещё не проходили" in none.text and _data(none) == ["m:main"]


def _labels(screen: object) -> list[str]:
    keyboard = screen.keyboard  # type: ignore[attr-defined]
    return [b.text for row in keyboard.inline_keyboard for b in row]


def test_step_cards_offer_the_actions_of_their_route() -> None:
    """One word per meaning: «Отменить шаг» drops a step (removed from a draft, cancelled with
    a reason in the active route), «Отметить выполненным» marks it done."""
    t = Translator("ru")
    planned, done, closed = _step(1), _step(2, "done"), _step(3, "closed")
    draft = route_screens.step_card(svc.StepCard(_route("draft", (planned,)), planned), t)
    assert _data(draft) == ["rtr:101", "rtt:101", "rth", "m:main"]
    assert _labels(draft)[:2] == ["❌ Отменить шаг", "📅 Изменить срок"]
    active = _route("active", (planned, done, closed), can_reopen=True)
    card = route_screens.step_card(svc.StepCard(active, planned), t)
    assert _data(card) == ["rtd:101", "rtz:101", "rth", "m:main"]
    assert _labels(card)[:2] == ["✅ Отметить выполненным", "❌ Отменить шаг"]
    assert "⏳ 1. <b>Шаг</b>" in card.text
    for step in (done, closed):
        card = route_screens.step_card(svc.StepCard(active, step), t)
        assert _data(card) == [f"rtu:{step.id}", "rth", "m:main"]
        assert _labels(card)[0] == "↩️ Вернуть в план"
    finished = _route("completed", (done,), can_reopen=False)
    assert _data(route_screens.step_card(svc.StepCard(finished, done), t)) == ["rth", "m:main"]
    ask = route_screens.discard_confirm(_route("draft", (planned, done)), t)
    assert "Удалить черновик маршрута?" in ask.text and "В нём 2 шага." in ask.text
    assert _data(ask) == ["rtx:7", "rth"]
    one = route_screens.discard_confirm(_route("draft", (planned,)), t)
    assert "В нём 1 шаг." in one.text


def test_a_long_route_is_split_with_the_keyboard_under_the_last_message() -> None:
    t = Translator("ru")
    steps = tuple(_step(n, title="<b>" + "длинное название шага " * 13) for n in range(1, 31))
    messages = route_screens.route_screen(_route("draft", steps), t)
    assert len(messages) >= 2 and all(len(m.text) <= 4096 for m in messages)
    assert all(m.keyboard is None for m in messages[:-1]) and messages[-1].keyboard is not None
    assert "&lt;b&gt;" in messages[0].text


def test_catalog_page_and_close_offer_screens() -> None:
    t = Translator("ru")
    entries = tuple(
        CatalogEntry(id=i, title=f"Программа {i}", format="distance", hours=36) for i in range(1, 4)
    )
    page = svc.CatalogPage("methodical", 1, 1, 3, entries)
    screen = route_screens.catalog_page(page, t)
    assert "стр. 2 из 3" in screen.text and "36 ч" in screen.text
    data = _data(screen)
    assert data[:3] == ["rti:1:1", "rti:2:1", "rti:3:1"]
    assert "rtc:1:0" in data and "rtc:1:2" in data
    assert [d for d in data if d.startswith("rto")] == ["rto:1:0", "rto:1:1", "rto:1:2"]
    offer = svc.CloseOffer(5, "Курс <ОВЗ>", (_step(2),))
    screen = route_screens.close_offer(offer, t)
    assert "«Курс &lt;ОВЗ&gt;»" in screen.text and _data(screen)[0] == "rtw:102:5"


def test_every_route_button_fits_telegram_and_prefixes_are_unique() -> None:
    biggest = {"Id": MAX_ID, "Num": 9999}
    prefixes: set[str] = set()
    for cls in vars(route_callbacks).values():
        if not (
            isinstance(cls, type)
            and issubclass(cls, CallbackData)
            and cls.__module__ == route_callbacks.__name__
        ):
            continue
        prefix = cls.__prefix__
        assert prefix not in prefixes
        prefixes.add(prefix)
        values = {
            name: biggest["Num"]
            if "block" in name or name in {"page", "month", "kind"}
            else biggest["Id"]
            for name in cls.model_fields
        }
        assert len(cls(**values).pack().encode()) <= 64
    assert len(prefixes) == 19
