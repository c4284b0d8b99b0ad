"""The individual route (ИОМ): proposing it from diagnosed deficits, and its life in the DB.

Two halves:

* :func:`propose_route` is a pure function over plain dataclasses (:class:`BlockDeficit`,
  :class:`TeacherProfile`, :class:`CatalogEntry`), so it is unit-tested and benchmarked
  without a database. The adapters below it (:func:`latest_diagnosis`,
  :func:`teacher_profile`, :func:`catalog_entries`) build those dataclasses from rows.
* The lifecycle: a draft built from a proposal (linked to the deficits attempt, ``baseline``
  = block scores), edited by the teacher (remove, add, target date), confirmed (draft →
  active; the previous active route is archived then, never before), steps marked done or
  closed with a reason, completion when no step is left planned, and the before → after
  comparison with a later self-assessment.

Rules of the proposal (documented here and in the README):

* Only blocks whose band is ``high`` or ``medium`` get steps; a block with a ``minimal``
  band or without a score gets none.
* Catalog courses per block: **2 for a high deficit, 1 for a medium one**
  (:data:`COURSES_PER_LEVEL`). A catalog item is a candidate for a block when it develops
  that block, matches the teacher's position (empty ``positions``: everyone) and subjects
  (empty ``subjects``: everyone; otherwise at least one subject in common), is open
  (:func:`is_open`: enrolment not closed before today, course not ended; an item without
  dates is always open), can end within the route's year (an item ending, or starting
  without an end date, more than 12 months from today is outside the route period), and
  was not already taken by the teacher (a recorded course linked to that item), and is not a
  professional retraining (a new qualification: the teacher may add one, the route never
  proposes it by itself).
* Ranking (:func:`rank_key`): block match (fewer of the item's blocks outside the teacher's
  deficits, then more of the teacher's deficit blocks covered), subject match (an item for
  the teacher's subject before a general one), the format the teacher chose before (their
  recorded courses, most used first), nearer dates (an item already running or starting
  sooner first; an item without dates after the dated ones), then the item id.
* One catalog item is proposed once: blocks are served from the most severe (high before
  medium, lower score first), and an item taken by an earlier block is not repeated.
* **One self-study or seminar step per deficit block**: self-study for a high deficit (on top
  of two courses), a seminar or master class for a medium one. Per block, so that every
  deficit has at least one step even when the catalog has nothing for it, and so that each
  step answers one named deficit.
* **A mentoring step for a teacher who asked for a mentor or has one**
  (:attr:`TeacherProfile.in_mentoring`: a request with at least a subject chosen that is not
  withdrawn, or an active pair where they are the mentee), young or not, and even when the
  self-assessment shows no deficit. It answers no deficit block (``block`` and ``level`` are
  ``None``; the screens and the DOCX file it under «Наставничество»), it comes first, and
  its term is the end of the route (the end of the span, or a later course end). The
  mentor's name is not stored in the step: the screens and the DOCX derive it from the
  current pair (:func:`mentor_for_route`). The step is marked done when the pair is
  completed (:func:`mentoring_completed`), never when it is cancelled. A mentoring step of
  an older route, filed under a deficit block, is shown and edited like the new ones.
* Target dates (:func:`_horizon_months`): the route spans 6, 8, 10 or 12 months for 1, 2, 3
  or 4 deficit blocks (6 for a route of the mentoring step alone). A course step with an end
  date gets that date; the other steps are spread evenly over the span in route order, the
  last one at its end; mentoring lasts the whole route. So every date is between today and
  12 months ahead, and the last one at least 6 months ahead.
* Titles of generated steps (self-study, seminar, mentoring) are content stored in the
  step rows, in Russian like the catalog titles and the DOCX form (:data:`DEFAULT_TITLES`
  for schools, :data:`PRESCHOOL_TITLES` for pre-school staff: a воспитатель is never sent
  to «разбор заданий ОГЭ» or «самоанализ уроков»); ``titles`` overrides them.
* Pre-school staff (:func:`services.reference.setting_of`: a воспитатель, or anyone in a
  kindergarten) get catalog items meant for pre-school: an item whose ``positions`` are
  given fits them when it names «воспитатель» (``preschool``) or their own position; an
  item for everyone (no positions) fits as it does for anyone.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import Select, and_, case, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models import (
    Attempt,
    AttemptStatus,
    CatalogItem,
    Course,
    CourseKind,
    MentorPair,
    MentorRequest,
    PairStatus,
    RequestStatus,
    Route,
    RouteStatus,
    RouteStep,
    ScaleResult,
    StepKind,
    StepStatus,
    User,
)
from services.attestation import attestation
from services.errors import Refusal
from services.facts import teachers_changed
from services.instruments import InstrumentRegistry
from services.people import is_young
from services.reference import BLOCKS, PRESCHOOL, setting_of
from services.route_docx import (
    BlockResult,
    RouteFacts,
    StepSource,
    TeacherLine,
    Texts,
    mentor_title,
    route_docx,
)
from services.surveys import school_kind_of

DEFICIT_LEVELS: tuple[str, ...] = ("high", "medium")  # bands that call for steps, worst first
LEVELS: tuple[str, ...] = ("high", "medium", "minimal")
COURSES_PER_LEVEL: Mapping[str, int] = {"high": 2, "medium": 1}
MAX_HORIZON_MONTHS = 12
MIN_HORIZON_MONTHS = 6
TITLE_MAX = 300
REASON_MAX = 300
MAX_STEPS = 30  # a route is a plan for a year, not a wish list
MAX_ID = 2**31 - 1
CUSTOM_KINDS: tuple[str, ...] = (StepKind.SELF_STUDY, StepKind.SEMINAR, StepKind.OTHER)
SEMINAR_COURSE_KINDS = frozenset({CourseKind.SEMINAR.value, CourseKind.CONFERENCE.value})
_FAR = 10**9  # rank of "no date"

DEFAULT_TITLES: Mapping[str, str] = {
    "mentoring": "Работа с наставником: совместное планирование и взаимопосещение уроков с разбором",
    "self_study.subject": "Самообразование: разбор трудных тем и заданий по предмету (ОГЭ, ЕГЭ, олимпиадные задания)",
    "self_study.methodical": "Самообразование: материалы федеральных рабочих программ, конструктор рабочих программ, самоанализ своих уроков",
    "self_study.psychological": "Самообразование: управление классом, инклюзия, трудное поведение; консультации с педагогом-психологом",
    "self_study.communicative": "Самообразование: педагогическое общение, подготовка трудных разговоров и родительских собраний",
    "seminar.subject": "Семинар или заседание МО: решение трудных заданий по предмету вместе с коллегами",
    "seminar.methodical": "Семинар-практикум или мастер-класс методического центра; посещение уроков коллег",
    "seminar.psychological": "Семинар или вебинар по психолого-педагогическим вопросам (инклюзия, трудное поведение, травля)",
    "seminar.communicative": "Семинар или тренинг по педагогическому общению; подготовка выступления вместе с коллегой",
}

PRESCHOOL_TITLES: Mapping[str, str] = {
    "mentoring": "Работа с наставником: совместное планирование и взаимопосещение занятий с разбором",
    "self_study.subject": "Самообразование: содержание образовательных областей ФОП ДО для возраста детей группы, подготовка детей к школе",
    "self_study.methodical": "Самообразование: организация игры и развивающей предметно-пространственной среды, режимные моменты, педагогическая диагностика",
    "self_study.psychological": "Самообразование: адаптация, инклюзия, трудное поведение детей; консультации с педагогом-психологом и учителем-логопедом",
    "self_study.communicative": "Самообразование: взаимодействие с семьями воспитанников, подготовка родительских собраний и трудных разговоров",
    "seminar.subject": "Семинар или заседание методического объединения воспитателей: содержание образовательных областей ФОП ДО",
    "seminar.methodical": "Семинар-практикум или мастер-класс методического центра; посещение занятий коллег",
    "seminar.psychological": "Семинар или вебинар по психолого-педагогическим вопросам (адаптация, инклюзия, трудное поведение детей)",
    "seminar.communicative": "Семинар или тренинг по взаимодействию с семьями воспитанников; подготовка выступления вместе с коллегой",
}


# ---------------------------------------------------------------- plain data


@dataclass(frozen=True, slots=True)
class BlockDeficit:
    """One block of a self-assessment: its band code (``high``/``medium``/``minimal``,
    ``None`` when the block was not scored) and its score (percent of mastery)."""

    level: str | None
    score: float | None = None

    @property
    def is_deficit(self) -> bool:
        return self.level in DEFICIT_LEVELS


@dataclass(frozen=True, slots=True)
class TeacherProfile:
    """What the proposal needs to know about a teacher."""

    position: str | None
    subjects: frozenset[str] = frozenset()
    birth_year: int | None = None
    teaching_since: int | None = None
    formats: tuple[str, ...] = ()  # formats of recorded courses, most used first
    taken_items: frozenset[int] = frozenset()  # catalog items of recorded courses
    wants_mentor: bool = False  # a request for a mentor (see :func:`teacher_profile`)
    mentor_name: str | None = None  # the mentor of their active pair («Петрова А. И.»)
    preschool: bool = False  # pre-school staff (:func:`services.reference.setting_of`)

    def is_young(self, today: date) -> bool:
        # the one definition of «молодой педагог»; it reads only the two years given here
        return is_young(self, today)

    @property
    def in_mentoring(self) -> bool:
        """Asked for a mentor or has one: the route gets a mentoring step."""
        return self.wants_mentor or self.mentor_name is not None


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    id: int
    title: str
    format: str
    kind: str = CourseKind.QUALIFICATION.value
    blocks: frozenset[str] = frozenset()
    positions: frozenset[str] = frozenset()  # empty: any position
    subjects: frozenset[str] = frozenset()  # empty: any subject
    hours: int = 0
    provider: str = ""
    link: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    enrol_from: date | None = None
    enrol_until: date | None = None


@dataclass(frozen=True, slots=True)
class ProposedStep:
    kind: str  # a StepKind value
    block: str | None  # the deficit it answers ...
    level: str | None  # ... and its level
    title: str
    target_date: date
    form: str | None = None  # a CourseFormat value for catalog steps
    catalog_item_id: int | None = None


StepTitles = Callable[[str, str | None], str]


def _key(kind: str, block: str | None) -> str:
    return kind if block is None or kind == StepKind.MENTORING else f"{kind}.{block}"


def default_titles(kind: str, block: str | None) -> str:
    return DEFAULT_TITLES[_key(kind, block)]


def preschool_titles(kind: str, block: str | None) -> str:
    return PRESCHOOL_TITLES[_key(kind, block)]


def titles_for(teacher: TeacherProfile) -> StepTitles:
    """The generated steps' titles for the teacher's setting."""
    return preschool_titles if teacher.preschool else default_titles


# ---------------------------------------------------------------- pure proposal


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the last day of a shorter month)."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year = day.year + years
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def is_open(item: CatalogEntry, today: date) -> bool:
    """Enrolment not closed before today and the course not ended (no dates: always open)."""
    if item.enrol_until is not None and item.enrol_until < today:
        return False
    return item.ends_on is None or item.ends_on >= today


def fits(
    item: CatalogEntry, teacher: TeacherProfile, today: date, limit: date | None = None
) -> bool:
    """Open (:func:`is_open`), ending within the route's year (``limit``: 12 months from
    today), for the teacher's position and subjects, and not already taken by them."""
    if item.id in teacher.taken_items or not is_open(item, today):
        return False
    limit = limit or add_months(today, MAX_HORIZON_MONTHS)
    if item.ends_on is not None:
        if item.ends_on > limit:
            return False
    elif item.starts_on is not None and item.starts_on > limit:
        return False
    named = teacher.position in item.positions or (
        teacher.preschool and PRESCHOOL in item.positions
    )
    if item.positions and not named:
        return False
    return not item.subjects or not item.subjects.isdisjoint(teacher.subjects)


def proposable(
    item: CatalogEntry, teacher: TeacherProfile, today: date, limit: date | None = None
) -> bool:
    """A catalog item the route may propose by itself: it :func:`fits` and is not retraining.

    Professional retraining (a new qualification, 250+ hours) answers a career decision, not a
    deficit: it is never proposed automatically, though the teacher may add it to the route.
    """
    return item.kind != CourseKind.RETRAINING.value and fits(item, teacher, today, limit)


def _date_rank(item: CatalogEntry, today: date) -> int:
    """Days until the course (0 when running or open now); no dates at all: last."""
    anchor = item.starts_on or item.enrol_from or item.enrol_until or item.ends_on
    if anchor is None:
        return _FAR
    return max(0, (anchor - today).days)


def rank_key(
    item: CatalogEntry,
    deficit_blocks: frozenset[str],
    teacher: TeacherProfile,
    today: date,
) -> tuple[int, int, int, int, int, int]:
    """Smaller is better: block match, subject match, known format, nearer dates, id."""
    outside = len(item.blocks - deficit_blocks)
    covered = len(item.blocks & deficit_blocks)
    subject = 0 if item.subjects and not item.subjects.isdisjoint(teacher.subjects) else 1
    try:
        fmt = teacher.formats.index(item.format)
    except ValueError:
        fmt = len(teacher.formats)
    return (outside, -covered, subject, fmt, _date_rank(item, today), item.id)


def deficit_order(deficits: Mapping[str, BlockDeficit]) -> list[str]:
    """Blocks with a high or medium deficit, the most severe first."""
    blocks = [b for b, d in deficits.items() if d.is_deficit]
    known = {b: i for i, b in enumerate(BLOCKS)}
    return sorted(
        blocks,
        key=lambda b: (
            DEFICIT_LEVELS.index(deficits[b].level or ""),
            deficits[b].score if deficits[b].score is not None else 0.0,
            known.get(b, len(known)),
            b,
        ),
    )


def _horizon_months(deficit_count: int) -> int:
    return min(MAX_HORIZON_MONTHS, MIN_HORIZON_MONTHS + 2 * max(0, deficit_count - 1))


def _catalog_kind(item: CatalogEntry) -> str:
    """The step kind of a catalog item: a conference is shown as a conference, a seminar or
    webinar as a seminar, everything else (ПК, переподготовка, стажировка) as a course."""
    if item.kind == CourseKind.CONFERENCE.value:
        return StepKind.CONFERENCE.value
    if item.kind == CourseKind.SEMINAR.value:
        return StepKind.SEMINAR.value
    return StepKind.COURSE.value


def propose_route(
    deficits: Mapping[str, BlockDeficit],
    teacher: TeacherProfile,
    catalog: Sequence[CatalogEntry],
    today: date,
    *,
    titles: StepTitles | None = None,
) -> list[ProposedStep]:
    """The proposed steps, in route order (see the module docstring for every rule)."""
    titles = titles or titles_for(teacher)
    order = deficit_order(deficits)
    if not order and not teacher.in_mentoring:
        return []
    deficit_blocks = frozenset(order)
    candidates: dict[str, list[tuple[tuple[int, ...], CatalogEntry]]] = {b: [] for b in order}
    limit = add_months(today, MAX_HORIZON_MONTHS)
    for item in catalog:
        if deficit_blocks.isdisjoint(item.blocks) or not proposable(item, teacher, today, limit):
            continue
        key = rank_key(item, deficit_blocks, teacher, today)
        for block in item.blocks & deficit_blocks:
            candidates[block].append((key, item))

    horizon = _horizon_months(len(order))
    used: set[int] = set()
    steps: list[ProposedStep] = []
    fixed: list[date | None] = []  # a date of its own (course end, mentoring) ...
    floors: list[date | None] = []  # ... or not before this one (a course's start)
    if teacher.in_mentoring:
        steps.append(
            ProposedStep(
                StepKind.MENTORING.value, None, None, titles(StepKind.MENTORING.value, None), today
            )
        )
        fixed.append(add_months(today, horizon))
        floors.append(None)
    for block in order:
        level = deficits[block].level or ""
        want = COURSES_PER_LEVEL.get(level, 0)
        for _, item in sorted(candidates[block], key=lambda c: c[0]):
            if want == 0:
                break
            if item.id in used:
                continue
            used.add(item.id)
            want -= 1
            steps.append(
                ProposedStep(
                    _catalog_kind(item), block, level, item.title, today, item.format, item.id
                )
            )
            fixed.append(item.ends_on)
            floors.append(item.starts_on)
        extra = StepKind.SELF_STUDY.value if level == "high" else StepKind.SEMINAR.value
        steps.append(ProposedStep(extra, block, level, titles(extra, block), today))
        fixed.append(None)
        floors.append(None)

    undated = [i for i, f in enumerate(fixed) if f is None]
    for n, i in enumerate(undated):
        # the n-th of the undated steps: ceil((n + 1) * horizon / count) months from today
        slot = add_months(today, -(-(n + 1) * horizon // len(undated)))
        floor = floors[i]
        fixed[i] = floor if floor is not None and floor > slot else slot
    if teacher.in_mentoring:  # the first step: it lasts until the route's last date
        fixed[0] = max(d for d in fixed if d is not None)
    return [replace(s, target_date=d or today) for s, d in zip(steps, fixed, strict=True)]


# ---------------------------------------------------------------- adapters from the DB


@dataclass(frozen=True)
class Diagnosis:
    """A completed deficits self-assessment, by block."""

    attempt_id: int
    completed_at: datetime
    blocks: dict[str, BlockDeficit]

    @property
    def baseline(self) -> dict[str, float]:
        return {b: d.score for b, d in self.blocks.items() if d.score is not None}


def deficit_instrument_ids(registry: InstrumentRegistry) -> list[str]:
    return sorted(
        r.instrument.id for r in registry.current.values() if r.instrument.kind == "deficits"
    )


async def diagnosis_of(
    session: AsyncSession, registry: InstrumentRegistry, attempt: Attempt
) -> Diagnosis:
    inst = await registry.by_version_id(session, attempt.instrument_version_id)
    block_of = {s.id: s.block for s in inst.scales if s.block}
    rows = (
        await session.execute(select(ScaleResult).where(ScaleResult.attempt_id == attempt.id))
    ).scalars()
    blocks = {
        block_of[r.scale_id]: BlockDeficit(r.band, r.score) for r in rows if r.scale_id in block_of
    }
    assert attempt.completed_at is not None
    return Diagnosis(attempt.id, attempt.completed_at, blocks)


async def latest_diagnosis(
    session: AsyncSession,
    registry: InstrumentRegistry,
    user_id: int,
    *,
    after: datetime | None = None,
) -> Diagnosis | None:
    """The teacher's latest completed deficits self-assessment (completed after ``after``)."""
    ids = deficit_instrument_ids(registry)
    if not ids:
        return None
    query = select(Attempt).where(
        Attempt.user_id == user_id,
        Attempt.instrument_id.in_(ids),
        Attempt.status == AttemptStatus.COMPLETED.value,
    )
    if after is not None:
        query = query.where(Attempt.completed_at > after)
    attempt = await session.scalar(
        query.order_by(Attempt.completed_at.desc(), Attempt.id.desc()).limit(1)
    )
    return None if attempt is None else await diagnosis_of(session, registry, attempt)


async def teacher_profile(session: AsyncSession, user: User) -> TeacherProfile:
    """Position, subjects, the years of the «молодой педагог» rule, and from the recorded
    courses: the formats chosen before (most used first, ties: most recent) and the catalog
    items already taken."""
    rows = (
        await session.execute(
            select(Course.format, Course.catalog_item_id, Course.ends_on)
            .where(Course.user_id == user.id)
            .order_by(Course.ends_on.desc(), Course.id.desc())
        )
    ).all()
    counts: Counter[str] = Counter(r.format for r in rows)
    recency = {}
    for i, r in enumerate(rows):
        recency.setdefault(r.format, i)
    formats = tuple(sorted(counts, key=lambda f: (-counts[f], recency[f])))
    mentoring = (await session.execute(_mentoring_facts(user.id))).one()
    setting = setting_of(user.position, await school_kind_of(session, user))
    return TeacherProfile(
        position=user.position,
        subjects=frozenset(user.subject_codes),
        birth_year=user.birth_year,
        teaching_since=user.teaching_since,
        formats=formats,
        taken_items=frozenset(r.catalog_item_id for r in rows if r.catalog_item_id is not None),
        wants_mentor=bool(mentoring.asked),
        mentor_name=None if mentoring.mentor is None else short_name(mentoring.mentor),
        preschool=setting == PRESCHOOL,
    )


def short_name(full_name: str | None) -> str:
    """«Петрова Анна Ивановна» → «Петрова А. И.» (a surname alone stays as it is)."""
    surname, *rest = (full_name or "").split() or [""]
    return " ".join([surname, *(f"{w[0]}." for w in rest)])


def _mentoring_facts(mentee_id: int) -> Select[tuple[bool, str | None]]:
    """One row: ``asked`` — a request for a mentor that still stands (a draft with at least
    a subject chosen, open, offered, or matched while its pair has not ended), and
    ``mentor`` — the full name of the mentor of the active pair (``""`` without a name,
    ``None`` without a pair)."""
    ended = (
        select(MentorPair.id)
        .where(
            MentorPair.request_id == MentorRequest.id,
            MentorPair.status.in_([PairStatus.COMPLETED.value, PairStatus.CANCELLED.value]),
        )
        .exists()
    )
    asked = (
        select(MentorRequest.id)
        .where(
            MentorRequest.mentee_id == mentee_id,
            or_(
                MentorRequest.status.in_([RequestStatus.OPEN.value, RequestStatus.OFFERED.value]),
                and_(
                    MentorRequest.status == RequestStatus.DRAFT.value,
                    MentorRequest.subject.is_not(None),
                ),
                and_(MentorRequest.status == RequestStatus.MATCHED.value, ~ended),
            ),
        )
        .exists()
    )
    mentor = (
        select(func.coalesce(User.full_name, ""))
        .join(MentorPair, MentorPair.mentor_id == User.id)
        .where(MentorPair.mentee_id == mentee_id, MentorPair.status == PairStatus.ACTIVE.value)
        .order_by(MentorPair.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return select(asked.label("asked"), mentor.label("mentor"))


def entry_of(item: CatalogItem) -> CatalogEntry:
    return CatalogEntry(
        id=item.id,
        title=item.title,
        format=item.format,
        kind=item.kind,
        blocks=frozenset(str(b) for b in item.blocks or ()),
        positions=frozenset(str(p) for p in item.positions or ()),
        subjects=frozenset(str(s) for s in item.subjects or ()),
        hours=item.hours,
        provider=item.provider.name if item.provider is not None else "",
        link=item.link,
        starts_on=item.starts_on,
        ends_on=item.ends_on,
        enrol_from=item.enrol_from,
        enrol_until=item.enrol_until,
    )


async def catalog_entries(session: AsyncSession) -> list[CatalogEntry]:
    """Active catalog items (the proposal filters dates and audience itself)."""
    items = (
        await session.execute(
            select(CatalogItem).where(CatalogItem.active.is_(True)).order_by(CatalogItem.id)
        )
    ).scalars()
    return [entry_of(i) for i in items]


# ---------------------------------------------------------------- lifecycle


class RouteError(Refusal):
    """A refused change of a route."""


class Stale(RouteError):
    """A step, route or item id that is not (or no longer) the teacher's to change."""

    def __init__(self) -> None:
        super().__init__("common.stale")


def progress(route: Route) -> int:
    """Percent of steps done or closed (0 for a route without steps)."""
    if not route.steps:
        return 0
    finished = sum(1 for s in route.steps if s.status != StepStatus.PLANNED.value)
    return finished * 100 // len(route.steps)


async def _route(session: AsyncSession, user_id: int, status: RouteStatus) -> Route | None:
    return await session.scalar(
        select(Route)
        .where(Route.user_id == user_id, Route.status == status.value)
        .options(selectinload(Route.steps))
        .order_by(Route.completed_at.desc().nulls_last(), Route.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )


async def draft_of(session: AsyncSession, user_id: int) -> Route | None:
    return await _route(session, user_id, RouteStatus.DRAFT)


async def active_of(session: AsyncSession, user_id: int) -> Route | None:
    return await _route(session, user_id, RouteStatus.ACTIVE)


async def last_completed_of(session: AsyncSession, user_id: int) -> Route | None:
    return await _route(session, user_id, RouteStatus.COMPLETED)


def valid_id(value: int) -> bool:
    """An id from a button fits the INTEGER primary keys (a forged huge number is refused
    here instead of failing in the database driver)."""
    return 0 < value <= MAX_ID


async def route_by_id(session: AsyncSession, user_id: int, route_id: int) -> Route:
    """The teacher's own route (any status) or :class:`Stale`."""
    if not valid_id(route_id):
        raise Stale()
    route = await session.scalar(
        select(Route)
        .where(Route.id == route_id, Route.user_id == user_id)
        .options(selectinload(Route.steps))
        .execution_options(populate_existing=True)
    )
    if route is None:
        raise Stale()
    return route


@dataclass
class Overview:
    """Everything the «Мой маршрут» screen decides on."""

    draft: Route | None
    active: Route | None
    completed: Route | None
    latest: Diagnosis | None
    # a self-assessment newer than the one the active route was built from
    newer: Diagnosis | None = None


async def diagnosed_at(session: AsyncSession, route: Route) -> datetime:
    """When the self-assessment the route was built from was completed (else its creation)."""
    if route.attempt_id is not None:
        done = await session.scalar(
            select(Attempt.completed_at).where(Attempt.id == route.attempt_id)
        )
        if done is not None:
            return done
    return route.created_at


async def newer_diagnosis(
    session: AsyncSession, registry: InstrumentRegistry, route: Route
) -> Diagnosis | None:
    """A self-assessment completed after the one ``route`` was built from, if any."""
    latest = await latest_diagnosis(
        session, registry, route.user_id, after=await diagnosed_at(session, route)
    )
    if latest is None or latest.attempt_id == route.attempt_id:
        return None
    return latest


async def overview(session: AsyncSession, registry: InstrumentRegistry, user_id: int) -> Overview:
    draft = await draft_of(session, user_id)
    active = await active_of(session, user_id)
    completed = None if active or draft else await last_completed_of(session, user_id)
    latest = await latest_diagnosis(session, registry, user_id)
    newer = await newer_diagnosis(session, registry, active) if active is not None else None
    return Overview(draft, active, completed, latest, newer)


def _step_of(route_id: int, position: int, p: ProposedStep) -> RouteStep:
    return RouteStep(
        route_id=route_id,
        position=position,
        block=p.block,
        level=p.level,
        kind=p.kind,
        catalog_item_id=p.catalog_item_id,
        title=p.title[:TITLE_MAX],
        form=p.form,
        target_date=p.target_date,
        status=StepStatus.PLANNED.value,
    )


async def create_draft(
    session: AsyncSession,
    user: User,
    diagnosis: Diagnosis | None,
    steps: Iterable[ProposedStep],
    now: datetime,
) -> Route:
    """A new draft (an older draft is discarded: a draft is only ever a proposal)."""
    await discard_draft(session, user.id)
    route = Route(
        user_id=user.id,
        status=RouteStatus.DRAFT.value,
        attempt_id=diagnosis.attempt_id if diagnosis else None,
        baseline=diagnosis.baseline if diagnosis else {},
        created_at=now,
    )
    session.add(route)
    await session.flush()
    session.add_all(_step_of(route.id, i, p) for i, p in enumerate(steps))
    await session.flush()
    fresh = await draft_of(session, user.id)
    assert fresh is not None
    return fresh


async def build_for_latest(
    session: AsyncSession,
    registry: InstrumentRegistry,
    user: User,
    now: datetime,
    *,
    titles: StepTitles | None = None,
) -> Route:
    """«Построить маршрут»: the route for the latest self-assessment.

    Idempotent (a double tap builds once): a draft, active or completed route already built
    from that self-assessment is returned as it is. Otherwise a new draft is proposed; an
    active route stays active until the teacher confirms the new draft.
    """
    diagnosis = await latest_diagnosis(session, registry, user.id)
    if diagnosis is None:
        raise RouteError("route.error.no_diagnosis")
    for status in (RouteStatus.DRAFT, RouteStatus.ACTIVE, RouteStatus.COMPLETED):
        existing = await _route(session, user.id, status)
        if existing is not None and existing.attempt_id == diagnosis.attempt_id:
            return existing
    today = now.date()
    proposal = propose_route(
        diagnosis.blocks,
        await teacher_profile(session, user),
        await catalog_entries(session),
        today,
        titles=titles,
    )
    return await create_draft(session, user, diagnosis, proposal, now)


async def discard_draft(session: AsyncSession, user_id: int) -> bool:
    result = await session.execute(
        delete(Route).where(Route.user_id == user_id, Route.status == RouteStatus.DRAFT.value)
    )
    await teachers_changed(session, [user_id])
    await session.flush()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _owned_step(
    session: AsyncSession, user_id: int, step_id: int, statuses: Iterable[RouteStatus]
) -> tuple[Route, RouteStep]:
    """The step behind a button, only if it is in one of this teacher's routes of ``statuses``."""
    if not valid_id(step_id):
        raise Stale()
    route_id = await session.scalar(
        select(RouteStep.route_id)
        .join(Route, Route.id == RouteStep.route_id)
        .where(
            RouteStep.id == step_id,
            Route.user_id == user_id,
            Route.status.in_([s.value for s in statuses]),
        )
    )
    if route_id is None:
        raise Stale()
    route = await route_by_id(session, user_id, route_id)
    step = next(s for s in route.steps if s.id == step_id)
    return route, step


async def _renumber(session: AsyncSession, route: Route) -> Route:
    await session.flush()
    fresh = await route_by_id(session, route.user_id, route.id)
    for i, s in enumerate(sorted(fresh.steps, key=lambda s: (s.position, s.id))):
        s.position = i
    await session.flush()
    return await route_by_id(session, route.user_id, route.id)


async def remove_step(session: AsyncSession, user_id: int, step_id: int) -> Route:
    route, step = await _owned_step(session, user_id, step_id, [RouteStatus.DRAFT])
    await session.delete(step)
    return await _renumber(session, route)


async def _draft_for_adding(session: AsyncSession, user_id: int) -> Route:
    route = await draft_of(session, user_id)
    if route is None:
        raise Stale()
    if len(route.steps) >= MAX_STEPS:
        raise RouteError("route.error.too_many", max=MAX_STEPS)
    return route


async def baseline_levels(
    session: AsyncSession, registry: InstrumentRegistry, route: Route
) -> dict[str, str]:
    """The deficit level of each block in the self-assessment the route was built from."""
    levels = {s.block: s.level for s in route.steps if s.block and s.level}
    if route.attempt_id is not None:
        attempt = await session.get(Attempt, route.attempt_id)
        if attempt is not None and attempt.status == AttemptStatus.COMPLETED.value:
            diagnosis = await diagnosis_of(session, registry, attempt)
            levels.update({b: d.level for b, d in diagnosis.blocks.items() if d.level})
    return levels


def _default_target(route: Route, today: date) -> date:
    last = max((s.target_date for s in route.steps), default=None)
    if last is not None and last > today:
        return last
    return add_months(today, MIN_HORIZON_MONTHS)


async def catalog_for_block(
    session: AsyncSession, user: User, block: str, today: date
) -> list[CatalogEntry]:
    """Open catalog items developing ``block`` for this teacher, best first (for «Добавить»)."""
    if block not in BLOCKS:
        raise Stale()
    teacher = await teacher_profile(session, user)
    blocks = frozenset({block})
    items = [
        e for e in await catalog_entries(session) if block in e.blocks and fits(e, teacher, today)
    ]
    return sorted(items, key=lambda e: rank_key(e, blocks, teacher, today))


async def add_catalog_step(
    session: AsyncSession,
    registry: InstrumentRegistry,
    user: User,
    item_id: int,
    block: str,
    today: date,
) -> RouteStep:
    route = await _draft_for_adding(session, user.id)
    if block not in BLOCKS:
        raise Stale()
    item = await session.get(CatalogItem, item_id) if valid_id(item_id) else None
    if item is None or not item.active:
        raise Stale()
    entry = entry_of(item)
    if block not in entry.blocks or not is_open(entry, today):
        raise RouteError("route.error.item_closed")
    if any(s.catalog_item_id == item_id for s in route.steps):
        raise RouteError("route.error.already_in_route")
    levels = await baseline_levels(session, registry, route)
    target = entry.ends_on if entry.ends_on is not None else _default_target(route, today)
    step = RouteStep(
        route_id=route.id,
        position=len(route.steps),
        block=block,
        level=levels.get(block),
        kind=_catalog_kind(entry),
        catalog_item_id=item_id,
        title=entry.title[:TITLE_MAX],
        form=entry.format,
        target_date=target,
        status=StepStatus.PLANNED.value,
    )
    session.add(step)
    await session.flush()
    return step


def clean_text(text: str, limit: int) -> str:
    """One line of typed text: whitespace collapsed; :class:`RouteError` if empty or long."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise RouteError("route.error.empty_text")
    if len(cleaned) > limit:
        raise RouteError("route.error.too_long", length=len(cleaned), max=limit)
    return cleaned


async def add_custom_step(
    session: AsyncSession,
    registry: InstrumentRegistry,
    user_id: int,
    kind: str,
    block: str,
    title: str,
    today: date,
) -> RouteStep:
    """A self-study, seminar or other step the teacher typed, for one block."""
    if kind not in CUSTOM_KINDS or block not in BLOCKS:
        raise Stale()
    text = clean_text(title, TITLE_MAX)
    route = await _draft_for_adding(session, user_id)
    levels = await baseline_levels(session, registry, route)
    step = RouteStep(
        route_id=route.id,
        position=len(route.steps),
        block=block,
        level=levels.get(block),
        kind=str(kind),
        title=text,
        target_date=_default_target(route, today),
        status=StepStatus.PLANNED.value,
    )
    session.add(step)
    await session.flush()
    return step


def month_choices(today: date, count: int = MAX_HORIZON_MONTHS) -> list[date]:
    """Target dates offered by the month picker: the last day of each of the next months
    (the current month first)."""
    out: list[date] = []
    for i in range(count):
        first = add_months(date(today.year, today.month, 1), i)
        out.append(month_end(first.year, first.month))
    return out


async def set_target_month(
    session: AsyncSession, user_id: int, step_id: int, offset: int, today: date
) -> RouteStep:
    """Set the term of a planned step to the end of the month ``offset`` months from now."""
    choices = month_choices(today)
    if not 0 <= offset < len(choices):
        raise Stale()
    _, step = await dated_step(session, user_id, step_id)
    step.target_date = choices[offset]
    await session.flush()
    return step


async def confirm(session: AsyncSession, user_id: int, now: datetime) -> Route:
    """Draft → active. The previous active route (if any) is archived now, not before."""
    route = await draft_of(session, user_id)
    if route is None:
        raise Stale()
    if not route.steps:
        raise RouteError("route.error.empty_route")
    previous = (
        await session.execute(
            select(Route).where(Route.user_id == user_id, Route.status == RouteStatus.ACTIVE.value)
        )
    ).scalars()
    for old in previous:
        old.status = RouteStatus.ARCHIVED.value
    # a second draft can only come from two replicas building at once: drop it
    await session.execute(
        delete(Route).where(
            Route.user_id == user_id,
            Route.status == RouteStatus.DRAFT.value,
            Route.id != route.id,
        )
    )
    await teachers_changed(session, [user_id])
    await session.flush()
    route.status = RouteStatus.ACTIVE.value
    route.activated_at = now
    await session.flush()
    return route


def _complete_if_finished(route: Route, now: datetime) -> None:
    if route.steps and all(s.status != StepStatus.PLANNED.value for s in route.steps):
        route.status = RouteStatus.COMPLETED.value
        route.completed_at = now


async def not_started(session: AsyncSession, step: RouteStep, today: date) -> date | None:
    """The start date of the catalog event of ``step`` when it is still ahead (a course that
    has not begun cannot have been done); ``None`` otherwise (an own step, no dates)."""
    if step.catalog_item_id is None:
        return None
    starts = await session.scalar(
        select(CatalogItem.starts_on).where(CatalogItem.id == step.catalog_item_id)
    )
    return starts if starts is not None and starts > today else None


async def mark_done(session: AsyncSession, user_id: int, step_id: int, now: datetime) -> Route:
    """«Отметить выполненным»: not before the catalog event has started."""
    route, step = await _owned_step(session, user_id, step_id, [RouteStatus.ACTIVE])
    if step.status != StepStatus.PLANNED.value:
        raise Stale()
    starts = await not_started(session, step, now.date())
    if starts is not None:
        raise RouteError("route.error.not_started", date=starts.strftime("%d.%m.%Y"))
    step.status = StepStatus.DONE.value
    step.done_at = now
    _complete_if_finished(route, now)
    await session.flush()
    return route


async def can_reopen(session: AsyncSession, route: Route) -> bool:
    """Steps of the active route can be reopened; a completed one only while no other route
    is active (reopening makes it active again)."""
    if route.status == RouteStatus.ACTIVE.value:
        return True
    return (
        route.status == RouteStatus.COMPLETED.value
        and await active_of(session, route.user_id) is None
    )


async def reopen_step(session: AsyncSession, user_id: int, step_id: int) -> Route:
    """Undo «Выполнен» or «Закрыть» (a mis-tap): the step is planned again, and a route that
    this step had completed is active again."""
    route, step = await _owned_step(
        session, user_id, step_id, [RouteStatus.ACTIVE, RouteStatus.COMPLETED]
    )
    if step.status == StepStatus.PLANNED.value or not await can_reopen(session, route):
        raise Stale()
    step.status = StepStatus.PLANNED.value
    step.done_at = None
    step.closed_reason = None
    step.course_id = None
    if route.status == RouteStatus.COMPLETED.value:
        route.status = RouteStatus.ACTIVE.value
        route.completed_at = None
    await session.flush()
    return route


async def check_closable(
    session: AsyncSession, user_id: int, step_id: int
) -> tuple[Route, RouteStep]:
    """The planned step of the active route that «Закрыть» was pressed for."""
    route, step = await _owned_step(session, user_id, step_id, [RouteStatus.ACTIVE])
    if step.status != StepStatus.PLANNED.value:
        raise Stale()
    return route, step


async def dated_step(session: AsyncSession, user_id: int, step_id: int) -> tuple[Route, RouteStep]:
    """A planned step of the draft or the active route, whose term may be changed."""
    route, step = await _owned_step(
        session, user_id, step_id, [RouteStatus.DRAFT, RouteStatus.ACTIVE]
    )
    if step.status != StepStatus.PLANNED.value:
        raise Stale()
    return route, step


async def close_step(
    session: AsyncSession, user_id: int, step_id: int, reason: str, now: datetime
) -> Route:
    """Close a planned step without doing it, with the teacher's reason (≤ 300 characters)."""
    text = clean_text(reason, REASON_MAX)
    route, step = await _owned_step(session, user_id, step_id, [RouteStatus.ACTIVE])
    if step.status != StepStatus.PLANNED.value:
        raise Stale()
    step.status = StepStatus.CLOSED.value
    step.closed_reason = text
    step.done_at = now
    _complete_if_finished(route, now)
    await session.flush()
    return route


def _norm(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())


_COURSE_STEP_KINDS = {
    StepKind.COURSE.value: frozenset(
        {
            CourseKind.QUALIFICATION.value,
            CourseKind.RETRAINING.value,
            CourseKind.INTERNSHIP.value,
            CourseKind.OTHER.value,
        }
    ),
    StepKind.SEMINAR.value: SEMINAR_COURSE_KINDS,
    StepKind.CONFERENCE.value: SEMINAR_COURSE_KINDS,
}


def step_matches_course(step: RouteStep, course: Course) -> bool:
    """Could this recorded course close this planned step?

    * the step came from the catalog: the course is that catalog item, or has the same title
      (a teacher typing the course by hand);
    * the step has no catalog item: it is a course step (for a course of kind ПК,
      переподготовка, стажировка, другое) or a seminar step (for a seminar, webinar or
      conference), and the course develops the step's block. Self-study, mentoring and
      other steps are closed by the teacher only.
    """
    if step.status != StepStatus.PLANNED.value:
        return False
    if step.catalog_item_id is not None:
        return step.catalog_item_id == course.catalog_item_id or _norm(step.title) == _norm(
            course.title
        )
    kinds = _COURSE_STEP_KINDS.get(step.kind)
    return (
        kinds is not None
        and course.kind in kinds
        and step.block is not None
        and step.block in (course.blocks or ())
    )


async def steps_matching_course(
    session: AsyncSession, user_id: int, course: Course
) -> list[RouteStep]:
    """Planned steps of the teacher's active route that ``course`` could close."""
    if course.user_id != user_id:
        return []
    route = await active_of(session, user_id)
    if route is None:
        return []
    return [s for s in route.steps if step_matches_course(s, course)]


async def close_step_with_course(
    session: AsyncSession, user_id: int, step_id: int, course_id: int, now: datetime
) -> Route:
    """The step is done by this recorded course: status done, linked to the course."""
    course = await session.get(Course, course_id) if valid_id(course_id) else None
    if course is None or course.user_id != user_id:
        raise Stale()
    route, step = await _owned_step(session, user_id, step_id, [RouteStatus.ACTIVE])
    if not step_matches_course(step, course):
        raise Stale()
    step.status = StepStatus.DONE.value
    step.course_id = course.id
    step.done_at = now
    _complete_if_finished(route, now)
    await session.flush()
    return route


# ---------------------------------------------------------------- mentoring


async def mentor_for_route(session: AsyncSession, route: Route) -> str | None:
    """The mentor a mentoring step of ``route`` names («Петрова А. И.»): of the teacher's
    active pair, else of a pair completed since the route was created (a completed step keeps
    its mentor); ``None`` when there is no such pair (none yet, or it was cancelled)."""
    name = await session.scalar(
        select(func.coalesce(User.full_name, ""))
        .join(MentorPair, MentorPair.mentor_id == User.id)
        .where(
            MentorPair.mentee_id == route.user_id,
            or_(
                MentorPair.status == PairStatus.ACTIVE.value,
                and_(
                    MentorPair.status == PairStatus.COMPLETED.value,
                    MentorPair.closed_at >= route.created_at,
                ),
            ),
        )
        .order_by(
            case((MentorPair.status == PairStatus.ACTIVE.value, 0), else_=1),
            MentorPair.closed_at.desc().nulls_last(),
            MentorPair.id.desc(),
        )
        .limit(1)
    )
    return None if name is None else short_name(name)


def has_mentoring(route: Route) -> bool:
    return any(s.kind == StepKind.MENTORING.value for s in route.steps)


async def mentoring_completed(session: AsyncSession, mentee_id: int, now: datetime) -> None:
    """A mentee's pair was completed: the planned mentoring steps of their active route are
    done (``done_at`` = ``now``), and the route is completed when nothing is left planned.

    Call it only for a pair closed as completed (a cancelled pair leaves the step planned).
    Steps already done or closed, drafts and other routes are left alone, so a second call
    changes nothing.
    """
    route = await active_of(session, mentee_id)
    if route is None:
        return
    steps = [
        s
        for s in route.steps
        if s.kind == StepKind.MENTORING.value and s.status == StepStatus.PLANNED.value
    ]
    for step in steps:
        step.status = StepStatus.DONE.value
        step.done_at = now
    if steps:
        _complete_if_finished(route, now)
        await session.flush()


# ---------------------------------------------------------------- before → after


@dataclass(frozen=True)
class BlockChange:
    block: str
    before: float | None
    before_level: str | None
    after: float | None
    after_level: str | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


async def route_change(
    session: AsyncSession, registry: InstrumentRegistry, route: Route
) -> tuple[Diagnosis, list[BlockChange]] | None:
    """The change per block between the route's baseline and the latest self-assessment
    completed after the route (after its completion for a completed route); ``None`` if
    there is no such self-assessment yet."""
    since = route.completed_at if route.completed_at is not None else route.created_at
    after = await latest_diagnosis(session, registry, route.user_id, after=since)
    if after is None or after.attempt_id == route.attempt_id:
        return None
    before_levels = await baseline_levels(session, registry, route)
    baseline = {str(k): float(v) for k, v in (route.baseline or {}).items() if v is not None}
    blocks = [b for b in BLOCKS if b in baseline or b in after.blocks]
    blocks += sorted((set(baseline) | set(after.blocks)) - set(blocks))
    changes = [
        BlockChange(
            block=b,
            before=baseline.get(b),
            before_level=before_levels.get(b),
            after=after.blocks[b].score if b in after.blocks else None,
            after_level=after.blocks[b].level if b in after.blocks else None,
        )
        for b in blocks
    ]
    return after, changes


# ---------------------------------------------------------------- view models for the screens
#
# Each function below serves one tap of «Мой маршрут»: it checks the ids of the button
# against the teacher's own routes (a forged or stale one raises :class:`Stale`), makes the
# change, and returns a frozen view model for ``handlers/route/screens.py``.

CATALOG_PAGE = 6  # catalog items on one page of «Добавить шаг»


@dataclass(frozen=True)
class StepView:
    id: int
    n: int  # its number in the route, from 1
    title: str
    kind: str
    form: str | None
    block: str | None
    level: str | None
    target_date: date
    status: str
    done_at: datetime | None
    closed_reason: str | None

    @property
    def planned(self) -> bool:
        return self.status == StepStatus.PLANNED.value


@dataclass(frozen=True)
class ChangeView:
    """The change per block since the route's baseline, by a later self-assessment."""

    diagnosed_at: datetime
    blocks: tuple[BlockChange, ...]


@dataclass(frozen=True)
class RouteView:
    """One route as its screen shows it (draft, active or completed)."""

    id: int
    status: str
    steps: tuple[StepView, ...]
    since: datetime  # activated (else created)
    completed_at: datetime | None
    diagnosed_at: datetime  # the self-assessment it was built from
    replaces_active: bool = False  # a draft while another route is active
    newer: datetime | None = None  # a newer self-assessment (draft and active)
    change: ChangeView | None = None  # completed: before → after
    can_reopen: bool = False
    survey: str | None = None  # the self-assessment to take again (completed)

    @property
    def progress(self) -> int:
        if not self.steps:
            return 0
        return self.finished * 100 // len(self.steps)

    @property
    def finished(self) -> int:
        return sum(1 for s in self.steps if not s.planned)

    def count(self, status: StepStatus) -> int:
        return sum(1 for s in self.steps if s.status == status.value)

    def step(self, step_id: int) -> StepView:
        return next(s for s in self.steps if s.id == step_id)


@dataclass(frozen=True)
class Home:
    """«Мой маршрут»: the route to show, or why there is none yet."""

    route: RouteView | None
    latest: datetime | None  # the latest self-assessment, when there is no route
    survey: str | None  # the self-assessment to take


@dataclass(frozen=True)
class StepOutcome:
    """A changed step and its route after the change."""

    route: RouteView
    step: StepView


@dataclass(frozen=True)
class MonthPicker:
    step: StepView
    months: tuple[date, ...]  # the choices, by offset


@dataclass(frozen=True)
class BlockChoice:
    index: int  # in :data:`BLOCKS`
    block: str
    level: str | None  # the deficit level when it is high or medium


@dataclass(frozen=True)
class CatalogPage:
    block: str
    index: int  # of the block in :data:`BLOCKS`
    page: int
    pages: int
    entries: tuple[CatalogEntry, ...]
    kinds: tuple[str, ...] = CUSTOM_KINDS  # the own steps that may be typed


@dataclass(frozen=True)
class CloseWithCourse:
    route: RouteView
    step: StepView
    course_title: str


@dataclass(frozen=True)
class CloseOffer:
    """Planned steps of the active route that a just recorded course may close."""

    course_id: int
    course_title: str
    steps: tuple[StepView, ...]


def _step_view(step: RouteStep, n: int, mentor: str | None = None) -> StepView:
    """A step as the screens show it; a mentoring step names the mentor (``mentor``)."""
    mentoring = step.kind == StepKind.MENTORING.value
    return StepView(
        id=step.id,
        n=n,
        title=mentor_title(step.title, mentor) if mentoring else step.title,
        kind=step.kind,
        form=step.form,
        block=step.block,
        level=step.level,
        target_date=step.target_date,
        status=step.status,
        done_at=step.done_at,
        closed_reason=step.closed_reason,
    )


async def _mentor_if_needed(session: AsyncSession, route: Route) -> str | None:
    return await mentor_for_route(session, route) if has_mentoring(route) else None


async def _numbered(session: AsyncSession, route: Route, step: RouteStep) -> StepView:
    """One step of ``route`` with its number and, for mentoring, the mentor."""
    mentor = (
        await mentor_for_route(session, route) if step.kind == StepKind.MENTORING.value else None
    )
    return _step_view(step, route.steps.index(step) + 1, mentor)


def _steps(route: Route, mentor: str | None = None) -> tuple[StepView, ...]:
    return tuple(_step_view(s, i, mentor) for i, s in enumerate(route.steps, start=1))


async def route_view(
    session: AsyncSession, registry: InstrumentRegistry, route: Route
) -> RouteView:
    """What the screen of ``route`` needs, by its status."""
    view = RouteView(
        id=route.id,
        status=route.status,
        steps=_steps(route, await _mentor_if_needed(session, route)),
        since=route.activated_at or route.created_at,
        completed_at=route.completed_at,
        diagnosed_at=await diagnosed_at(session, route),
    )
    if route.status == RouteStatus.DRAFT.value:
        newer = await newer_diagnosis(session, registry, route)
        return replace(
            view,
            replaces_active=await active_of(session, route.user_id) is not None,
            newer=newer.completed_at if newer else None,
        )
    if route.status == RouteStatus.ACTIVE.value:
        newer = await newer_diagnosis(session, registry, route)
        return replace(view, newer=newer.completed_at if newer else None, can_reopen=True)
    change = await route_change(session, registry, route)
    surveys = deficit_instrument_ids(registry)
    return replace(
        view,
        change=None if change is None else ChangeView(change[0].completed_at, tuple(change[1])),
        can_reopen=await can_reopen(session, route),
        survey=surveys[0] if surveys else None,
    )


async def home(session: AsyncSession, registry: InstrumentRegistry, user_id: int) -> Home:
    """«Мой маршрут»: the draft, else the active route, else the last completed one."""
    view = await overview(session, registry, user_id)
    route = view.draft or view.active or view.completed
    surveys = deficit_instrument_ids(registry)
    return Home(
        route=None if route is None else await route_view(session, registry, route),
        latest=view.latest.completed_at if view.latest else None,
        survey=surveys[0] if surveys else None,
    )


async def active_home(session: AsyncSession, registry: InstrumentRegistry, user_id: int) -> Home:
    """«Действующий маршрут» (from a draft): the active route, else :func:`home`."""
    route = await active_of(session, user_id)
    if route is None:
        return await home(session, registry, user_id)
    return Home(await route_view(session, registry, route), None, None)


async def build(
    session: AsyncSession, registry: InstrumentRegistry, user: User, now: datetime
) -> RouteView:
    """«Построить маршрут» (:func:`build_for_latest`)."""
    return await route_view(session, registry, await build_for_latest(session, registry, user, now))


async def remove(
    session: AsyncSession, registry: InstrumentRegistry, user_id: int, step_id: int
) -> RouteView:
    """«Отменить шаг» in the draft: the step is removed."""
    return await route_view(session, registry, await remove_step(session, user_id, step_id))


@dataclass(frozen=True)
class StepCard:
    """One step with the actions its route allows (the route editor's card)."""

    route: RouteView
    step: StepView


async def step_card(
    session: AsyncSession, registry: InstrumentRegistry, user_id: int, step_id: int
) -> StepCard:
    """A step of the teacher's draft, active or completed route, opened from its button."""
    route, _ = await _owned_step(
        session,
        user_id,
        step_id,
        [RouteStatus.DRAFT, RouteStatus.ACTIVE, RouteStatus.COMPLETED],
    )
    view = await route_view(session, registry, route)
    return StepCard(view, view.step(step_id))


async def draft_to_discard(
    session: AsyncSession, registry: InstrumentRegistry, user_id: int, route_id: int
) -> RouteView:
    """«Удалить черновик»: the draft on the screen, before the teacher confirms."""
    return await route_view(session, registry, await _own_draft(session, user_id, route_id))


async def _own_draft(session: AsyncSession, user_id: int, route_id: int) -> Route:
    draft = await draft_of(session, user_id)
    if draft is None or draft.id != route_id:
        raise Stale()
    return draft


async def discard(
    session: AsyncSession, registry: InstrumentRegistry, user_id: int, route_id: int
) -> Home:
    """«Удалить черновик»: only the draft on the screen (``route_id``)."""
    await _own_draft(session, user_id, route_id)
    await discard_draft(session, user_id)
    return await home(session, registry, user_id)


async def confirm_draft(
    session: AsyncSession,
    registry: InstrumentRegistry,
    user_id: int,
    route_id: int,
    now: datetime,
) -> RouteView:
    """«Утвердить маршрут»: only the draft on the screen (``route_id``), see :func:`confirm`."""
    await _own_draft(session, user_id, route_id)
    return await route_view(session, registry, await confirm(session, user_id, now))


async def month_picker(
    session: AsyncSession, user_id: int, step_id: int, today: date
) -> MonthPicker:
    """«Срок»: the months a planned step of the draft or the active route may end in."""
    route, step = await dated_step(session, user_id, step_id)
    return MonthPicker(await _numbered(session, route, step), tuple(month_choices(today)))


async def set_month(
    session: AsyncSession,
    registry: InstrumentRegistry,
    user_id: int,
    step_id: int,
    offset: int,
    today: date,
) -> StepOutcome:
    step = await set_target_month(session, user_id, step_id, offset, today)
    view = await route_view(session, registry, await route_by_id(session, user_id, step.route_id))
    return StepOutcome(view, view.step(step_id))


async def add_menu(
    session: AsyncSession, registry: InstrumentRegistry, user_id: int
) -> tuple[BlockChoice, ...]:
    """«Добавить шаг»: the blocks, with the deficit level of the draft's self-assessment."""
    draft = await draft_of(session, user_id)
    if draft is None:
        raise Stale()
    levels = await baseline_levels(session, registry, draft)
    return tuple(
        BlockChoice(i, block, levels[block] if levels.get(block) in DEFICIT_LEVELS else None)
        for i, block in enumerate(BLOCKS)
    )


def block_at(index: int) -> str:
    """The block of a button (an index in :data:`BLOCKS`), or :class:`Stale`."""
    if not 0 <= index < len(BLOCKS):
        raise Stale()
    return BLOCKS[index]


async def catalog_page(
    session: AsyncSession, user: User, block_index: int, page: int, today: date
) -> CatalogPage:
    """Open catalog items of a block that fit the teacher and are not in the draft yet."""
    block = block_at(block_index)
    draft = await draft_of(session, user.id)
    if draft is None:
        raise Stale()
    in_route = {s.catalog_item_id for s in draft.steps if s.catalog_item_id}
    items = [
        e for e in await catalog_for_block(session, user, block, today) if e.id not in in_route
    ]
    pages = max(1, -(-len(items) // CATALOG_PAGE))
    page = min(max(page, 0), pages - 1)
    chunk = tuple(items[page * CATALOG_PAGE : (page + 1) * CATALOG_PAGE])
    return CatalogPage(block, block_index, page, pages, chunk)


async def add_from_catalog(
    session: AsyncSession,
    registry: InstrumentRegistry,
    user: User,
    item_id: int,
    block_index: int,
    today: date,
) -> RouteView:
    """«➕ n» on a catalog page: the item becomes a step of the draft."""
    step = await add_catalog_step(session, registry, user, item_id, block_at(block_index), today)
    return await route_view(session, registry, await route_by_id(session, user.id, step.route_id))


async def mark_step_done(
    session: AsyncSession, registry: InstrumentRegistry, user_id: int, step_id: int, now: datetime
) -> StepOutcome:
    view = await route_view(session, registry, await mark_done(session, user_id, step_id, now))
    return StepOutcome(view, view.step(step_id))


async def reopen(
    session: AsyncSession, registry: InstrumentRegistry, user_id: int, step_id: int
) -> StepOutcome:
    view = await route_view(session, registry, await reopen_step(session, user_id, step_id))
    return StepOutcome(view, view.step(step_id))


async def close_with_course(
    session: AsyncSession,
    registry: InstrumentRegistry,
    user_id: int,
    step_id: int,
    course_id: int,
    now: datetime,
) -> CloseWithCourse:
    """«Закрыть шаг: …» under a recorded course (:func:`close_step_with_course`)."""
    route = await close_step_with_course(session, user_id, step_id, course_id, now)
    course = await session.get(Course, course_id)
    view = await route_view(session, registry, route)
    return CloseWithCourse(view, view.step(step_id), course.title if course else "")


async def close_offer(session: AsyncSession, user_id: int, course: Course) -> CloseOffer | None:
    """After a course is recorded: the steps it may close (``None`` when there are none)."""
    route = await active_of(session, user_id) if course.user_id == user_id else None
    if route is None:
        return None
    steps = tuple(
        _step_view(s, i)
        for i, s in enumerate(route.steps, start=1)
        if step_matches_course(s, course)
    )
    return CloseOffer(course.id, course.title, steps) if steps else None


def experience_text(teaching_since: int | None, today: date, t: Texts) -> str:
    """«18 лет (с 2008 года)»: teaching years by calendar years, as :func:`is_young` counts."""
    if teaching_since is None:
        return ""
    years = today.year - teaching_since
    if years <= 0:
        return t("route.docx.experience_first", since=teaching_since)
    return t(
        "route.docx.experience_value", years=t.plural("plural.years", years), since=teaching_since
    )


def category_text(user: User, today: date, t: Texts) -> str:
    """The category with the last day of its term when known; without a category, the
    attestation for conformity with the position when it is recorded."""
    if not user.category:
        return ""
    label = t(f"category.{user.category}").lower()
    term = attestation(
        user.category, user.category_date, user.category_year, today, user.conformity_date
    )
    if term.expires is None:
        return label
    if term.conformity:
        return t("route.docx.conformity", date=t.date(term.expires))
    return t("route.docx.category_until", category=label, date=t.date(term.expires))


async def step_sources(session: AsyncSession, route: Route) -> dict[int, StepSource]:
    """The provider and hours of each catalog step, and the certificate number of the
    recorded course that closed a step (two statements)."""
    item_ids = {s.catalog_item_id for s in route.steps if s.catalog_item_id is not None}
    course_ids = {s.course_id for s in route.steps if s.course_id is not None}
    items: dict[int, CatalogItem] = {}
    if item_ids:
        found = await session.scalars(select(CatalogItem).where(CatalogItem.id.in_(item_ids)))
        items = {i.id: i for i in found}
    numbers: dict[int, str | None] = {}
    if course_ids:
        rows = await session.execute(
            select(Course.id, Course.certificate_number).where(
                Course.id.in_(course_ids), Course.user_id == route.user_id
            )
        )
        numbers = {course_id: number for course_id, number in rows}
    out: dict[int, StepSource] = {}
    for step in route.steps:
        item = items.get(step.catalog_item_id) if step.catalog_item_id is not None else None
        number = numbers.get(step.course_id) if step.course_id is not None else None
        if item is None and not number:
            continue
        out[step.id] = StepSource(
            provider=item.provider.name if item is not None else None,
            hours=item.hours if item is not None else None,
            certificate=number or None,
        )
    return out


async def route_document(
    session: AsyncSession,
    registry: InstrumentRegistry,
    user: User,
    route_id: int,
    t: Texts,
    today: date,
) -> bytes:
    """The teacher's own route as a DOCX form (:func:`services.route_docx.route_docx`)."""
    route = await route_by_id(session, user.id, route_id)
    teacher = TeacherLine(
        name=user.full_name or "",
        organisation=user.school.name if user.school else "",
        position=t(f"position.{user.position}") if user.position else "",
        subjects=", ".join(t(f"subject.{s}") for s in user.subject_codes),
        experience=experience_text(user.teaching_since, today, t),
        category=category_text(user, today, t),
    )
    levels = await baseline_levels(session, registry, route)
    scores = {str(k): float(v) for k, v in (route.baseline or {}).items() if v is not None}
    results = tuple(
        BlockResult(b, scores.get(b), levels.get(b)) for b in BLOCKS if b in scores or b in levels
    )
    facts = RouteFacts(
        teacher=teacher,
        diagnosed_on=await diagnosed_at(session, route),
        results=results,
        sources=await step_sources(session, route),
        mentor=await _mentor_if_needed(session, route),
    )
    return route_docx(route, facts, t)


# ---------------------------------------------------------------- the route editor dialog
#
# Two typed inputs, one pattern: the answers so far are a JSON-able draft (kept by the bot in
# the conversation state); :func:`next_step` says which input is asked next; :func:`check_answer`
# checks one typed answer; :func:`finish` writes the rows.
#
# * an own step: ``{"aim": "add", "block": …, "kind": …}`` (chosen by buttons, see
#   :func:`start_own_step`), then the typed ``title``;
# * closing a step: ``{"aim": "close", "step": id}`` (:func:`start_closing`), then the typed
#   ``reason``.

Draft = dict[str, object]
AIM_ADD = "add"
AIM_CLOSE = "close"
DIALOG_STEPS: Mapping[str, tuple[str, ...]] = {
    AIM_ADD: ("block", "kind", "title"),
    AIM_CLOSE: ("step", "reason"),
}
_TEXT_LIMITS: Mapping[str, int] = {"title": TITLE_MAX, "reason": REASON_MAX}


def next_step(draft: Mapping[str, object]) -> str | None:
    """The first input the draft still misses (``None``: complete, or not a draft at all)."""
    steps = DIALOG_STEPS.get(str(draft.get("aim")))
    if steps is None:
        return None
    return next((s for s in steps if draft.get(s) in (None, "")), None)


def check_answer(step: str, text: str) -> str:
    """A typed ``title`` or ``reason``: one line, not empty, not too long (else RouteError)."""
    if step not in _TEXT_LIMITS:
        raise Stale()
    return clean_text(text, _TEXT_LIMITS[step])


async def start_own_step(
    session: AsyncSession, user_id: int, block_index: int, kind_index: int
) -> Draft:
    """«Свой шаг: …»: the dialog's draft for a step of this block and kind in the draft route."""
    block = block_at(block_index)
    if not 0 <= kind_index < len(CUSTOM_KINDS) or await draft_of(session, user_id) is None:
        raise Stale()
    return {"aim": AIM_ADD, "block": block, "kind": str(CUSTOM_KINDS[kind_index])}


async def start_closing(
    session: AsyncSession, user_id: int, step_id: int
) -> tuple[Draft, StepView]:
    """«Закрыть»: the dialog's draft for closing a planned step of the active route."""
    route, step = await check_closable(session, user_id, step_id)
    return {"aim": AIM_CLOSE, "step": step.id}, await _numbered(session, route, step)


def _draft_int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


async def finish(
    session: AsyncSession,
    registry: InstrumentRegistry,
    user_id: int,
    draft: Mapping[str, object],
    now: datetime,
) -> StepOutcome:
    """The complete draft written: the own step added, or the step closed with the reason."""
    if draft.get("aim") not in DIALOG_STEPS or next_step(draft) is not None:
        raise Stale()
    if draft["aim"] == AIM_ADD:
        step = await add_custom_step(
            session,
            registry,
            user_id,
            str(draft["kind"]),
            str(draft["block"]),
            str(draft["title"]),
            now.date(),
        )
        route = await route_by_id(session, user_id, step.route_id)
        step_id = step.id
    else:
        step_id = _draft_int(draft["step"])
        route = await close_step(session, user_id, step_id, str(draft["reason"]), now)
    view = await route_view(session, registry, route)
    return StepOutcome(view, view.step(step_id))
