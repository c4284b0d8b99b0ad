"""The monitoring indicators, defined once: by school and for the whole scope, for a period.

Every figure is computed in SQL with ``GROUP BY`` over the *active teachers* of the scope
(registered, consent given — a user row exists only after consent —, not blocked the bot,
with a school in the scope); the weekly digest, the on-demand view and the export read the
:class:`IndicatorTable` this module returns. Nothing is re-scored: questionnaire figures come
from ``scale_results``, the rows written when an attempt completes.

The statements (four, whatever the number of schools):

1. the scope's name and its schools;
2. per school, one ``UNION ALL`` of a ``GROUP BY`` per kind of fact: teachers, categories,
   attestation and the young; routes and courses (aggregated per teacher first); mentors,
   mentees, people in mentoring, young teachers supported, requests waiting — with the
   definitions of :mod:`services.mentoring_figures` (its constants are imported; a test
   checks the figures agree; calling it would visit every teacher through three indexes);
3. per school, instrument, scale and band: questionnaire results (the latest completed
   attempt of each teacher in each instrument group, joined to its scale results): while
   the period runs, the rows flagged ``scale_results.latest`` (kept when an attempt
   completes), read per teacher from a partial index; for a past period (or a group of
   several instruments) the latest attempt is worked out from the attempts;
4. response rates of the running campaigns of the scope.

While the period runs (the default: the current academic year), statements 2 and 3 read
the stored facts of :mod:`models.facts` instead: the teachers in one pass over the covering
partial index ``ix_users_active`` with their ``fact_*`` columns (routes, courses, pairs),
the courses ended in the period, the waiting requests; the result counters per school,
instrument, scale, band and month, with the flagged rows of each window's partial first
month and the satisfaction scores. A test compares both ways after random writes.

The teachers of the scope are read from the partial index ``ix_users_active`` (the active
teachers by school) with the scope's school ids, without joining the schools.

The total of a scope is the sum of its schools' groups: each teacher belongs to one school,
so the groups are disjoint (a mentor is counted in her own school, a pair across two schools
therefore once); a mean is carried as sum and count.

Definitions (``period`` = ``[start, end]`` local dates, the academic year by default):

1. ``deficits_done``: completed a deficits self-assessment (any instrument of kind
   ``deficits``) in the period.
2. ``route_any``: has an individual route (ИОМ) confirmed by the end of the period and
   active, or completed within the period.
3. ``route_completed``: of those, completed it within the period.
4. ``pk_3y``: a повышение квалификации or переподготовка ended within the last 3 years
   (as «срок ПК» in :mod:`services.courses`).
5. ``course_year``: a повышение квалификации ended in the period (up to today);
   ``course_distance``: of the ПК and переподготовка courses ended in the period, the share
   taken by distance (a share of courses, not of teachers).
6. ``retraining_year``: a переподготовка ended in the period.
7. ``mentoring_share``: mentor or mentee of an active pair. 8. ``mentors``, ``mentees``.
9. ``young_supported``: of young teachers (:func:`services.people.is_young`), those with a
   mentor, an active route or an attended event.
10. ``cbi_<scale>_high``: of teachers with a result on that burnout scale in the last 12
    months (their latest), the share in a band marked ``signal`` (повышенный уровень).
11. ``deficit_<block>_high`` / ``_medium``: of teachers who did the self-assessment in the
    period (their latest), the share at that level in the block.
12. ``events_attended``, ``burnout_events``: zero until events exist.
13. ``category_first`` / ``category_highest``: teachers holding that category (not expired);
    ``attestation_expiring``: an attestation expiring within 6 months (the warning of
    :func:`services.courses.attestation`): any qualification category (первая, высшая,
    педагог-методист, педагог-наставник), or, for a teacher without one, the attestation
    for «соответствие занимаемой должности».
14. response rate of each running campaign (:attr:`IndicatorTable.campaigns`).
15. ``requests_waiting_7d``: mentor requests waiting more than 7 days.
16.–18. from the «Профессиональная активность» questionnaire in the period (their latest),
    of those who answered: ``network_share`` (an МО or a community), ``expert_share``,
    ``active_share``; ``competitions``: the number who took part in a competition.
19. from «Удовлетворённость методическим сопровождением» in the period (their latest):
    ``satisfaction_mean`` (1–5) and ``satisfaction_<n>``, the share who gave ``n``.

Privacy: a share or mean over fewer than 5 people, and any figure of a row of fewer than 5
teachers, is :attr:`Value.suppressed` and shown as «< 5»; burnout figures are marked
``sensitive`` as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    false,
    func,
    literal,
    null,
    or_,
    select,
    text,
    true,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Attempt,
    AttemptStatus,
    Campaign,
    CampaignMember,
    CampaignStatus,
    Course,
    CourseFormat,
    CourseKind,
    MentorPair,
    MentorRequest,
    Municipality,
    PairStatus,
    ResultCount,
    Route,
    RouteStatus,
    ScaleResult,
    School,
    User,
    UserSubject,
)
from models.facts import NO_BAND
from services.attestation import (
    ATTESTATION_WARN_MONTHS,
    ATTESTATION_YEARS,
    add_months,
    add_years,
)
from services.courses import PK_KINDS, PK_PERIOD_YEARS
from services.mentoring_figures import LONG_WAIT_DAYS, WAITING
from services.reference import BLOCKS, YOUNG_MAX_AGE, YOUNG_MAX_YEARS
from services.roles import Access
from surveys.loader import load_instruments
from surveys.schema import Instrument

PLANS_FILE = Path(__file__).with_name("indicator_plans.yaml")
REGION_NAME = "Все муниципалитеты"
MIN_GROUP = 5  # a group smaller than this is not broken down
CBI_MONTHS = 12  # burnout results count for 12 months
SATISFACTION_POINTS = (1, 2, 3, 4, 5)
DEFICIT_LEVELS = ("high", "medium")
CATEGORIES = ("first", "highest")
HELD_CATEGORIES = ("first", "highest", "methodist", "mentor")  # all valid five years
ACTIVITY_SCALES = {"network": "network_share", "expert": "expert_share", "active": "active_share"}
BURNOUT_SCALES = ("personal", "work", "student")  # the codes' order; from burnout.yaml

Kind = Literal["share", "count", "mean"]


# ---------------------------------------------------------------- period


@dataclass(frozen=True, slots=True)
class Period:
    start: date  # inclusive
    end: date  # inclusive

    @property
    def is_academic_year(self) -> bool:
        return (
            (self.start.month, self.start.day) == (9, 1)
            and (self.end.month, self.end.day) == (8, 31)
            and self.end.year == self.start.year + 1
        )

    @property
    def label(self) -> str:
        if self.is_academic_year:
            return f"{self.start.year}/{self.end.year}"
        return f"{self.start:%d.%m.%Y}–{self.end:%d.%m.%Y}"


def academic_year(today: date) -> Period:
    """1 September – 31 August containing ``today``."""
    first = today.year if today.month >= 9 else today.year - 1
    return Period(date(first, 9, 1), date(first + 1, 8, 31))


# ---------------------------------------------------------------- definitions


@dataclass(frozen=True, slots=True)
class IndicatorDef:
    code: str
    number: int  # 1..19 in the issue; several codes may share a number
    kind: Kind
    plan: float | None
    higher_is_better: bool
    sensitive: bool  # burnout: never a number for a group under 5
    # texts: f"indicators.{code}.title" and f"indicators.{code}.definition"


@dataclass(frozen=True, slots=True)
class _Spec:
    code: str
    number: int
    kind: Kind
    higher_is_better: bool = True
    sensitive: bool = False


def _specs() -> tuple[_Spec, ...]:
    cbi = tuple(_Spec(f"cbi_{s}_high", 10, "share", False, True) for s in BURNOUT_SCALES)
    deficits = tuple(
        _Spec(f"deficit_{block}_{level}", 11, "share", False)
        for block in BLOCKS
        for level in DEFICIT_LEVELS
    )
    satisfaction = tuple(_Spec(f"satisfaction_{n}", 19, "share") for n in SATISFACTION_POINTS)
    return (
        _Spec("deficits_done", 1, "share"),
        _Spec("route_any", 2, "share"),
        _Spec("route_completed", 3, "share"),
        _Spec("pk_3y", 4, "share"),
        _Spec("course_year", 5, "share"),
        _Spec("course_distance", 5, "share"),
        _Spec("retraining_year", 6, "share"),
        _Spec("mentoring_share", 7, "share"),
        _Spec("mentors", 8, "count"),
        _Spec("mentees", 8, "count"),
        _Spec("young_supported", 9, "share"),
        *cbi,
        *deficits,
        _Spec("events_attended", 12, "share"),
        _Spec("burnout_events", 12, "count"),
        _Spec("category_first", 13, "count"),
        _Spec("category_highest", 13, "count"),
        _Spec("attestation_expiring", 13, "count", False),
        _Spec("requests_waiting_7d", 15, "count", False),
        _Spec("network_share", 16, "share"),
        _Spec("expert_share", 17, "share"),
        _Spec("active_share", 17, "share"),
        _Spec("competitions", 18, "count"),
        _Spec("satisfaction_mean", 19, "mean"),
        *satisfaction,
    )


SPECS: tuple[_Spec, ...] = _specs()
CODES: tuple[str, ...] = tuple(s.code for s in SPECS)


class PlanError(ValueError):
    """A plans file that cannot be used; the message names the file and the code."""


def _read_plans(path: Path) -> dict[str, float | None]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PlanError(f"{path}: файл плановых значений не читается: {exc}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PlanError(f"{path}: ожидается список «код: число»")
    out: dict[str, float | None] = {}
    for code, value in raw.items():
        if code not in CODES:
            raise PlanError(f"{path}: неизвестный показатель «{code}»")
        if value is None:
            out[code] = None
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise PlanError(f"{path}: у показателя «{code}» план должен быть числом не меньше 0")
        else:
            out[code] = float(value)
    return out


@cache
def default_plans() -> dict[str, float]:
    return {k: v for k, v in _read_plans(PLANS_FILE).items() if v is not None}


def load_plans(path: str | None) -> dict[str, float]:
    """The plans: the shipped defaults, overridden by the file at ``path`` (a code set to
    null there has no plan). Raises :class:`PlanError`."""
    plans: dict[str, float | None] = dict(default_plans())
    if path:
        plans.update(_read_plans(Path(path)))
    return {k: v for k, v in plans.items() if v is not None}


def definitions(plans: Mapping[str, float] | None = None) -> tuple[IndicatorDef, ...]:
    """Every indicator in display order. ``plans``: the complete mapping (as
    :func:`load_plans` returns); None: the shipped defaults."""
    chosen = default_plans() if plans is None else plans
    return tuple(
        IndicatorDef(s.code, s.number, s.kind, chosen.get(s.code), s.higher_is_better, s.sensitive)
        for s in SPECS
    )


# ---------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Value:
    value: float | None  # percent (0..100, 1 decimal), count, or mean; None: no data
    numerator: int | None
    denominator: int | None
    suppressed: bool  # shown as «< 5»


@dataclass(frozen=True, slots=True)
class Row:
    school_id: int | None  # None: the whole scope
    school_code: str | None
    school_name: str | None
    teachers: int
    values: dict[str, Value]


@dataclass(frozen=True, slots=True)
class CampaignRate:
    campaign_id: int
    instrument_id: str
    title: str
    deadline: date
    answered: int
    invited: int

    @property
    def rate(self) -> float | None:
        return round(100 * self.answered / self.invited, 1) if self.invited else None


@dataclass(frozen=True, slots=True)
class IndicatorTable:
    scope_key: str
    scope_name: str
    period: Period
    definitions: tuple[IndicatorDef, ...]
    schools: tuple[Row, ...]
    total: Row
    campaigns: tuple[CampaignRate, ...]

    def definition(self, code: str) -> IndicatorDef:
        for d in self.definitions:
            if d.code == code:
                return d
        raise KeyError(code)


class ScopeError(ValueError):
    """A scope key that names nothing."""


# ---------------------------------------------------------------- scopes


def scope_key_of(kind: str, ident: int | None) -> str:
    return "region" if kind == "region" else f"{kind}:{ident}"


def parse_scope(scope_key: str) -> tuple[str, int | None]:
    if scope_key == "region":
        return "region", None
    kind, _, ident = scope_key.partition(":")
    if kind not in ("school", "municipality") or not ident.isdigit():
        raise ScopeError(scope_key)
    return kind, int(ident)


def scope_of(access: Access) -> list[tuple[str, int | None]]:
    """The scopes whose indicators a person may see: one per methodist scope, in order and
    without repeats; an admin sees the region."""
    out: list[tuple[str, int | None]] = []
    for s in access.methodist_scopes:
        item = (
            s.kind.value,
            None if s.kind.value == "region" else s.school_id or s.municipality_id,
        )
        if item not in out:
            out.append(item)
    if access.is_admin and ("region", None) not in out:
        out.append(("region", None))
    return out


# ---------------------------------------------------------------- display


def _number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def display(v: Value, d: IndicatorDef) -> str:
    """«42,5 %», «12», «3,8», «< 5» or «—» (Russian decimal comma)."""
    if v.suppressed:
        return f"< {MIN_GROUP}"
    if v.value is None:
        return "—"
    if d.kind == "share":
        return f"{_number(v.value, 1)} %"
    if d.kind == "mean":
        return f"{v.value:.1f}".replace(".", ",")
    return str(round(v.value))


def _small(group: int) -> bool:
    return 0 < group < MIN_GROUP


def share(numerator: int, denominator: int, row_teachers: int) -> Value:
    if denominator == 0:
        return Value(None, numerator, 0, _small(row_teachers))
    return Value(
        round(100 * numerator / denominator, 1),
        numerator,
        denominator,
        _small(denominator) or _small(row_teachers),
    )


def count(n: int, row_teachers: int) -> Value:
    return Value(float(n), n, None, _small(row_teachers))


def mean(total: float, n: int, row_teachers: int) -> Value:
    if n == 0:
        return Value(None, None, 0, _small(row_teachers))
    return Value(round(total / n, 2), None, n, _small(n) or _small(row_teachers))


# ---------------------------------------------------------------- instruments


@cache
def _shipped_instruments() -> dict[str, Instrument]:
    return load_instruments()


@dataclass(frozen=True)
class _Groups:
    """Instrument ids by group and the scale facts the indicators need."""

    deficits: tuple[str, ...]
    burnout: tuple[str, ...]
    activity: tuple[str, ...]
    satisfaction: tuple[str, ...]
    # (instrument, scale) -> block, for deficits instruments
    blocks: tuple[tuple[str, str, str], ...]
    # (instrument, scale, elevated band codes), for burnout instruments
    elevated: tuple[tuple[str, str, tuple[str, ...]], ...]
    titles: dict[str, str]


def _groups(instruments: Mapping[str, Instrument]) -> _Groups:
    def of(kind: str) -> tuple[str, ...]:
        return tuple(sorted(i.id for i in instruments.values() if i.kind == kind))

    deficits = of("deficits")
    burnout = of("burnout")
    blocks = tuple(
        (iid, s.id, s.block)
        for iid in deficits
        for s in instruments[iid].scales
        if s.block is not None
    )
    elevated = tuple(
        (iid, s.id, tuple(b.code for b in s.bands if b.signal))
        for iid in burnout
        for s in instruments[iid].scales
    )
    return _Groups(
        deficits,
        burnout,
        of("activity"),
        of("satisfaction"),
        blocks,
        elevated,
        {i.id: i.title for i in instruments.values()},
    )


# ---------------------------------------------------------------- SQL pieces


def _active_teacher() -> ColumnElement[bool]:
    return and_(User.registered_at.is_not(None), User.blocked_bot.is_(False))


def _in_scope_users(kind: str, ident: int | None) -> ColumnElement[bool]:
    """The user's school is in the scope, without joining the schools: the statements over
    teachers read the users alone (for a municipality its school ids are looked up once)."""
    if kind == "school":
        return User.school_id == ident
    if kind == "municipality":
        return User.school_id.in_(select(School.id).where(School.municipality_id == ident))
    return User.school_id.is_not(None)


def _in_scope(kind: str, ident: int | None) -> ColumnElement[bool]:
    if kind == "school":
        return School.id == ident
    if kind == "municipality":
        return School.municipality_id == ident
    return true()


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _sum(value: ColumnElement[Any]) -> ColumnElement[int]:
    return func.coalesce(func.sum(value), 0)


def _instant(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def _boundary_after(pred: Any, guess: date) -> date:
    """The first date from which a monotone predicate (false, ..., false, true, ...) holds,
    searched near ``guess``."""
    day = guess - timedelta(days=7)
    while pred(day):
        day -= timedelta(days=7)
    while not pred(day):
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class _Attestation:
    valid_from: date  # a category given on or after this date has not expired
    soon_until: date  # ... and given on or before this one is within its last 6 months


def _attestation_bounds(today: date) -> _Attestation:
    """The rule of :func:`services.courses.attestation` turned into bounds on the date given."""
    valid_from = _boundary_after(
        lambda g: add_years(g, ATTESTATION_YEARS) >= today, add_years(today, -ATTESTATION_YEARS)
    )
    first_not_warned = _boundary_after(
        lambda g: add_months(add_years(g, ATTESTATION_YEARS), -ATTESTATION_WARN_MONTHS) > today,
        add_months(today, -12 * ATTESTATION_YEARS + ATTESTATION_WARN_MONTHS),
    )
    return _Attestation(valid_from, first_not_warned - timedelta(days=1))


def _given_between(lo: date, hi: date | None) -> ColumnElement[bool]:
    """The category was given between ``lo`` and ``hi`` (inclusive; None: no upper bound):
    by its date when it agrees with the year, else by 1 January of the year."""
    exact = and_(
        User.category_date.is_not(None),
        or_(
            User.category_year.is_(None),
            User.category_year == func.extract("year", User.category_date),
        ),
    )
    by_date = User.category_date >= lo
    if hi is not None:
        by_date = and_(by_date, User.category_date <= hi)
    last_year = hi.year if hi is not None else 9999
    years = [y for y in range(lo.year, last_year + 1) if date(y, 1, 1) >= lo]
    years = [y for y in years if hi is None or date(y, 1, 1) <= hi]
    by_year: ColumnElement[bool]
    if hi is None:
        first = lo.year if date(lo.year, 1, 1) >= lo else lo.year + 1
        by_year = User.category_year >= first
    elif years:
        by_year = User.category_year.in_(years)
    else:
        by_year = false()
    return or_(
        and_(exact, by_date),
        and_(~exact, User.category_year.is_not(None), by_year),
    )


def _holds(category: str, bounds: _Attestation) -> ColumnElement[bool]:
    """Holds ``category`` and it has not expired (a category without a year counts)."""
    no_term = and_(User.category_date.is_(None), User.category_year.is_(None))
    return and_(User.category == category, or_(no_term, _given_between(bounds.valid_from, None)))


def _expiring(bounds: _Attestation) -> ColumnElement[bool]:
    category = and_(
        User.category.in_(HELD_CATEGORIES),
        _given_between(bounds.valid_from, bounds.soon_until),
    )
    conformity = and_(
        or_(User.category.is_(None), User.category.not_in(HELD_CATEGORIES)),
        User.conformity_date.between(bounds.valid_from, bounds.soon_until),
    )
    return or_(category, conformity)


@dataclass(frozen=True)
class _Window:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    start_day: date
    last_day: date  # inclusive, not after today (what has ended by now)


def _window(period: Period, today: date, tz: tzinfo) -> _Window:
    return _Window(
        _instant(period.start, tz),
        _instant(period.end + timedelta(days=1), tz),
        period.start,
        min(period.end, today),
    )


FACT_COLUMNS = tuple("abcdefghijklmn")
# the fields each part of the facts statement gives, in its columns a..n
FACT_PARTS: dict[str, tuple[str, ...]] = {
    # while the period runs: the teachers with their stored facts, in one pass
    "t": (
        "teachers",
        "category_first",
        "category_highest",
        "attestation_expiring",
        "young",
        "route_any",
        "route_done",
        "pk_3y",
        "course_year",
        "retraining_year",
        "mentors",
        "mentees",
        "in_mentoring",
        "young_supported",
    ),
    "k": ("courses", "distance"),
    "u": ("teachers", "category_first", "category_highest", "attestation_expiring", "young"),
    "r": ("route_any", "route_done"),
    "c": ("pk_3y", "course_year", "retraining_year", "courses", "distance"),
    "m": ("mentors",),
    "e": ("mentees",),
    "i": ("in_mentoring",),
    "y": ("young_supported",),
    "q": ("waiting_7d",),
}


def _young(today: date) -> ColumnElement[bool]:
    """:func:`services.people.is_young` in SQL (as :mod:`services.mentoring_figures`)."""
    return and_(
        User.birth_year.is_not(None),
        User.teaching_since.is_not(None),
        User.birth_year > today.year - YOUNG_MAX_AGE,
        User.teaching_since >= today.year - YOUNG_MAX_YEARS,
    )


def _part(name: str, group: Any, *values: ColumnElement[Any]) -> list[Any]:
    """The columns ``part, grp, a..n`` of a part of the facts statement (zeros after the
    values)."""
    padded = [*values, *(literal(0) for _ in range(len(FACT_COLUMNS) - len(values)))]
    return [
        literal(name).label("part"),
        group.label("grp"),
        *(v.label(c) for v, c in zip(padded, FACT_COLUMNS, strict=True)),
    ]


def _waiting_part(kind: str, ident: int | None, now: datetime, group: Any) -> Select[Any]:
    cutoff = now - timedelta(days=LONG_WAIT_DAYS)
    return (
        select(*_part("q", group, func.count(MentorRequest.id)))
        .select_from(MentorRequest)
        .join(User, User.id == MentorRequest.mentee_id)
        .where(
            MentorRequest.shared_at.is_not(None),
            MentorRequest.status.in_(WAITING),
            MentorRequest.shared_at < cutoff,
            _active_teacher(),
            _in_scope_users(kind, ident),
        )
        .group_by(group)
    )


def _stored_facts_statement(
    kind: str, ident: int | None, w: _Window, today: date, now: datetime, group: Any
) -> Select[Any]:
    """:func:`_facts_statement` while the period runs, from the stored facts of each teacher
    (the ``fact_*`` columns kept by :mod:`models.facts`): the scope's active teachers in one
    pass over the covering index ``ix_users_active``, the courses ended in the period, the
    waiting requests. A course ending after today makes its teacher's stored «last course»
    say nothing about the past: for those few her courses are read."""
    bounds = _attestation_bounds(today)
    since_pk = add_years(today, -PK_PERIOD_YEARS)
    q, r = User.fact_qualification_last, User.fact_retraining_last

    def course_since(lo: date, kinds: Iterable[str]) -> ColumnElement[Any]:
        """Has a course of these kinds ended between ``lo`` and today."""
        known = [(c, c <= today) for c in (q if k == "qualification" else r for k in kinds)]
        sure = or_(*(and_(c >= lo, ok) for c, ok in known))
        unknown = or_(*(c > today for c, _ in known))
        courses = Course.__table__
        read = (
            select(courses.c.id)
            .where(
                courses.c.user_id == User.id,
                courses.c.kind.in_(sorted(kinds)),
                courses.c.ends_on >= lo,
                courses.c.ends_on <= today,
            )
            .exists()
        )
        return case((sure, 1), (unknown, case((read, 1), else_=0)), else_=0)

    route_done = User.fact_route_done_at >= w.start
    route_active = User.fact_route_active.is_(True)
    mentor, mentee = User.fact_mentor.is_(True), User.fact_mentee.is_(True)
    young = _young(today)
    teachers = (
        select(
            *_part(
                "t",
                group,
                func.count(User.id),
                _sum(_flag(_holds("first", bounds))),
                _sum(_flag(_holds("highest", bounds))),
                _sum(_flag(_expiring(bounds))),
                _sum(_flag(young)),
                _sum(_flag(or_(route_active, route_done))),
                _sum(_flag(route_done)),
                _sum(course_since(since_pk, sorted(PK_KINDS))),
                _sum(course_since(w.start_day, [CourseKind.QUALIFICATION.value])),
                _sum(course_since(w.start_day, [CourseKind.RETRAINING.value])),
                _sum(_flag(mentor)),
                _sum(_flag(mentee)),
                _sum(_flag(or_(mentor, mentee))),
                _sum(_flag(and_(young, or_(mentee, route_active)))),
            )
        )
        .select_from(User)
        .where(_active_teacher(), _in_scope_users(kind, ident))
        .group_by(group)
    )
    courses = (
        select(
            *_part(
                "k",
                group,
                func.count(Course.id),
                _sum(_flag(Course.format == CourseFormat.DISTANCE.value)),
            )
        )
        .select_from(Course)
        .join(User, User.id == Course.user_id)
        .where(
            Course.kind.in_(sorted(PK_KINDS)),
            Course.ends_on >= w.start_day,
            Course.ends_on <= w.last_day,
            _active_teacher(),
            _in_scope_users(kind, ident),
        )
        .group_by(group)
    )
    return union_all(teachers, courses, _waiting_part(kind, ident, now, group))


def _facts_statement(
    kind: str, ident: int | None, w: _Window, today: date, now: datetime, group: Any
) -> Select[Any]:
    """Per group, in one statement: a part per kind of fact, each a ``GROUP BY`` driven by
    its own (small) table joined to the scope's active teachers; columns ``part, grp, a..n``
    (:data:`FACT_PARTS` names them). Any period; :func:`_stored_facts_statement` is the
    same while the period runs."""

    def part(name: str, *values: ColumnElement[Any]) -> list[Any]:
        return _part(name, group, *values)

    def teachers(stmt: Select[Any]) -> Select[Any]:
        return stmt.where(_active_teacher(), _in_scope_users(kind, ident)).group_by(group)

    bounds = _attestation_bounds(today)
    users = teachers(
        select(
            *part(
                "u",
                func.count(User.id),
                _sum(_flag(_holds("first", bounds))),
                _sum(_flag(_holds("highest", bounds))),
                _sum(_flag(_expiring(bounds))),
                _sum(_flag(_young(today))),
            )
        ).select_from(User)
    )

    in_period = and_(Route.completed_at >= w.start, Route.completed_at < w.end)
    has_route = and_(
        func.coalesce(Route.activated_at, Route.created_at) < w.end,
        or_(Route.status == RouteStatus.ACTIVE.value, in_period),
    )
    done = and_(Route.status == RouteStatus.COMPLETED.value, has_route)
    # per teacher first (in the order of the index on user_id, without sorting), then per
    # group: a teacher's several routes or courses count once
    per_route = (
        select(
            Route.user_id.label("user_id"),
            func.max(_flag(has_route)).label("any"),
            func.max(_flag(done)).label("done"),
        )
        .where(Route.status.in_((RouteStatus.ACTIVE.value, RouteStatus.COMPLETED.value)))
        .group_by(Route.user_id)
        .subquery("pr")
    )
    routes = teachers(
        select(*part("r", _sum(per_route.c.any), _sum(per_route.c.done)))
        .select_from(per_route)
        .join(User, User.id == per_route.c.user_id)
    )

    since_pk = add_years(today, -PK_PERIOD_YEARS)
    ended = and_(Course.ends_on >= w.start_day, Course.ends_on <= w.last_day)
    dpo = Course.kind.in_(sorted(PK_KINDS))
    per_course = (
        select(
            Course.user_id.label("user_id"),
            func.max(_flag(and_(Course.ends_on >= since_pk, Course.ends_on <= today))).label("pk"),
            func.max(_flag(and_(ended, Course.kind == CourseKind.QUALIFICATION.value))).label(
                "qual"
            ),
            func.max(_flag(and_(ended, Course.kind == CourseKind.RETRAINING.value))).label("retr"),
            func.sum(_flag(ended)).label("n"),
            func.sum(_flag(and_(ended, Course.format == CourseFormat.DISTANCE.value))).label(
                "dist"
            ),
        )
        .where(dpo)  # dates in the sums only: a range here would sort by another index
        .group_by(Course.user_id)
        .subquery("pc")
    )
    courses = teachers(
        select(
            *part(
                "c",
                _sum(per_course.c.pk),
                _sum(per_course.c.qual),
                _sum(per_course.c.retr),
                _sum(per_course.c.n),
                _sum(per_course.c.dist),
            )
        )
        .select_from(per_course)
        .join(User, User.id == per_course.c.user_id)
    )

    active_pair = MentorPair.status == PairStatus.ACTIVE.value
    mentors = teachers(
        select(*part("m", func.count(func.distinct(MentorPair.mentor_id))))
        .select_from(MentorPair)
        .join(User, User.id == MentorPair.mentor_id)
        .where(active_pair)
    )
    mentees = teachers(
        select(*part("e", func.count(func.distinct(MentorPair.mentee_id))))
        .select_from(MentorPair)
        .join(User, User.id == MentorPair.mentee_id)
        .where(active_pair)
    )
    sides = union(
        select(MentorPair.mentor_id.label("user_id")).where(active_pair),
        select(MentorPair.mentee_id.label("user_id")).where(active_pair),
    ).subquery("sides")
    involved = teachers(
        select(*part("i", func.count(User.id)))
        .select_from(sides)
        .join(User, User.id == sides.c.user_id)
    )
    supported_ids = union(
        select(MentorPair.mentee_id.label("user_id")).where(active_pair),
        select(Route.user_id.label("user_id")).where(Route.status == RouteStatus.ACTIVE.value),
    ).subquery("supported")
    supported = teachers(
        select(*part("y", func.count(User.id)))
        .select_from(supported_ids)
        .join(User, User.id == supported_ids.c.user_id)
        .where(_young(today))
    )
    waiting = _waiting_part(kind, ident, now, group)
    return union_all(users, routes, courses, mentors, mentees, involved, supported, waiting)


def _fold_facts(rows: Iterable[Any]) -> dict[Any, dict[str, float]]:
    out: dict[Any, dict[str, float]] = {}
    for r in rows:
        f = out.setdefault(r.grp, {})
        for name, column in zip(FACT_PARTS[r.part], FACT_COLUMNS, strict=False):
            f[name] = f.get(name, 0.0) + float(getattr(r, column) or 0)
    return out


def _results_statement(
    kind: str,
    ident: int | None,
    w: _Window,
    now: datetime,
    g: _Groups,
    group: Any,
    by: str | None = None,
) -> Select[Any]:
    """Per group, instrument, scale and band: how many latest results, and their scores' sum.

    «Latest»: of each teacher's completed attempts in an instrument group (deficits,
    burnout, activity, satisfaction), the last one (attempts of one teacher in one
    questionnaire are sequential, so the highest id); in the period, or for burnout in the
    last 12 months. For the satisfaction score the rounded score is a key as well.

    While the period has not ended, that is the stored ``scale_results.latest`` (no result
    is completed after ``now``): the rows flagged so and completed since the start of their
    window (flagged per questionnaire: of a teacher who answered both the school and the
    pre-school self-assessment, only the newer is flagged). Otherwise (a past period: a
    teacher's latest result may come after it) the latest attempt in the window is worked
    out."""
    cbi_since = now - timedelta(days=round(CBI_MONTHS * 365 / 12))
    if w.end > now and by is None:
        return _counted_results_statement(kind, ident, w, cbi_since, g)
    if w.end > now:
        return _latest_results_statement(kind, ident, w, cbi_since, g, group, by)
    in_period = and_(Attempt.completed_at >= w.start, Attempt.completed_at < w.end)
    kinds = case(
        (Attempt.instrument_id.in_(g.deficits or ("",)), literal("d")),
        (Attempt.instrument_id.in_(g.burnout or ("",)), literal("b")),
        (Attempt.instrument_id.in_(g.activity or ("",)), literal("a")),
        else_=literal("s"),
    )
    # a CASE rather than an OR of ranges: one pass over the attempts is cheaper than
    # skipping through the (instrument, completed_at) index and fetching each row
    wanted = case(
        (Attempt.instrument_id.in_(g.burnout or ("",)), Attempt.completed_at >= cbi_since),
        (
            Attempt.instrument_id.in_((*g.deficits, *g.activity, *g.satisfaction) or ("",)),
            in_period,
        ),
        else_=false(),
    )
    # the attempts alone first (one pass), then their teachers: joining the teachers first
    # would visit every teacher's attempts through an index, row by row
    latest = (
        select(Attempt.user_id.label("user_id"), func.max(Attempt.id).label("attempt_id"))
        .where(Attempt.status == AttemptStatus.COMPLETED.value, wanted)
        .group_by(kinds, Attempt.user_id)
        .subquery("l")
    )
    sr = ScaleResult
    point = _satisfaction_point(g)
    stmt = (
        select(
            group.label("grp"),
            sr.instrument_id,
            sr.scale_id,
            sr.band,
            point.label("point"),
            func.count().label("n"),
            func.sum(sr.score).label("score_sum"),
        )
        .select_from(latest)
        .join(User, User.id == latest.c.user_id)
        .join(sr, sr.attempt_id == latest.c.attempt_id)
        .where(_active_teacher(), _in_scope_users(kind, ident))
        .group_by(group, sr.instrument_id, sr.scale_id, sr.band, point)
    )
    return _split(stmt, by)


def _satisfaction_point(g: _Groups) -> ColumnElement[Any]:
    sr = ScaleResult
    return case(
        (
            and_(sr.instrument_id.in_(g.satisfaction or ("",)), sr.scale_id == "overall"),
            func.round(sr.score),
        )
    )


def _latest_results_statement(
    kind: str,
    ident: int | None,
    w: _Window,
    cbi_since: datetime,
    g: _Groups,
    group: Any,
    by: str | None,
) -> Select[Any]:
    """:func:`_results_statement` from the flagged rows: the scope's active teachers, each
    with her latest results through the partial index ``ix_scale_results_latest``."""
    sr = ScaleResult
    # the start of each instrument's window; other instruments have none (NULL: no row)
    since = case(
        (sr.instrument_id.in_(g.burnout or ("",)), literal(cbi_since, sr.completed_at.type)),
        (
            sr.instrument_id.in_((*g.deficits, *g.activity, *g.satisfaction) or ("",)),
            literal(w.start, sr.completed_at.type),
        ),
        else_=null(),
    )
    point = _satisfaction_point(g)
    stmt = (
        select(
            group.label("grp"),
            sr.instrument_id,
            sr.scale_id,
            sr.band,
            point.label("point"),
            func.count().label("n"),
            func.sum(sr.score).label("score_sum"),
        )
        .select_from(User)
        .join(sr, and_(sr.user_id == User.id, sr.latest.is_(True)))
        .where(_active_teacher(), _in_scope_users(kind, ident), sr.completed_at >= since)
        .group_by(group, sr.instrument_id, sr.scale_id, sr.band, point)
    )
    return _split(stmt, by)


def _month_after(moment: datetime) -> date:
    """The first month (its 1st, UTC) that starts at or after ``moment``."""
    first = date(moment.year, moment.month, 1)
    if moment == datetime.combine(first, time(0), UTC):
        return first
    return add_months(first, 1)


def _counted_results_statement(
    kind: str, ident: int | None, w: _Window, cbi_since: datetime, g: _Groups
) -> Select[Any]:
    """:func:`_results_statement` by school while the period runs, from the stored counters
    (``result_counts``: the latest results of the active teachers by school, instrument,
    scale, band and month of completion): the whole months of each window from them, and
    the flagged rows of the window's first, partial month (hours, for the academic year)
    from the partial index ``ix_scale_results_latest_at``. The satisfaction score is read
    from its flagged rows (its points are not counted)."""
    sr, rc = ScaleResult, ResultCount
    windows = [
        (ids, since)
        for ids, since in ((g.deficits + g.activity, w.start), (g.burnout, cbi_since))
        if ids
    ]
    if kind == "school":
        school_in_scope = rc.school_id == ident
    elif kind == "municipality":
        school_in_scope = rc.school_id.in_(select(School.id).where(School.municipality_id == ident))
    else:
        school_in_scope = true()
    counted = (
        select(
            rc.school_id.label("grp"),
            rc.instrument_id,
            rc.scale_id,
            func.nullif(rc.band, NO_BAND).label("band"),
            null().label("point"),
            func.sum(rc.n).label("n"),
            null().label("score_sum"),
        )
        .where(
            school_in_scope,
            or_(
                false(),
                *(
                    and_(rc.instrument_id.in_(ids), rc.month >= _month_after(since))
                    for ids, since in windows
                ),
            ),
        )
        .group_by(rc.school_id, rc.instrument_id, rc.scale_id, rc.band)
        .having(func.sum(rc.n) > 0)  # a counter emptied when its teachers left stays a row
    )
    edges = [
        and_(
            sr.instrument_id.in_(ids),
            sr.completed_at >= since,
            sr.completed_at < datetime.combine(_month_after(since), time(0), UTC),
        )
        for ids, since in windows
        if since < datetime.combine(_month_after(since), time(0), UTC)
    ]
    if g.satisfaction:
        edges.append(
            and_(
                sr.instrument_id.in_(g.satisfaction),
                sr.scale_id == "overall",
                sr.completed_at >= w.start,
            )
        )
    point = _satisfaction_point(g)
    read = (
        select(
            User.school_id.label("grp"),
            sr.instrument_id,
            sr.scale_id,
            sr.band,
            point.label("point"),
            func.count().label("n"),
            func.sum(sr.score).label("score_sum"),
        )
        .select_from(sr)
        .join(User, User.id == sr.user_id)
        .where(
            sr.latest.is_(True),
            or_(false(), *edges),
            _active_teacher(),
            _in_scope_users(kind, ident),
        )
        .group_by(User.school_id, sr.instrument_id, sr.scale_id, sr.band, point)
    )
    return union_all(counted, read)  # type: ignore[return-value]


def _split(stmt: Select[Any], by: str | None) -> Select[Any]:
    """A statement over users, grouped by subject (a teacher in each of her subjects) or by
    position (teachers who gave one)."""
    if by == "subject":
        return stmt.join(UserSubject, UserSubject.user_id == User.id)
    if by == "position":
        return stmt.where(User.position.is_not(None))
    return stmt


def _fold_results(rows: Iterable[Any], g: _Groups) -> dict[Any, dict[str, float]]:
    """The grouped result rows of :func:`_results_statement` summed into the fields of
    :func:`_values`, per group (no row is counted here: each carries its group's count)."""
    blocks = {(i, s): b for i, s, b in g.blocks}
    first_scale = {}
    for i, s, _ in g.blocks:
        first_scale.setdefault(i, s)
    elevated = {(i, s): codes for i, s, codes in g.elevated}
    activity = set(g.activity)
    satisfaction = set(g.satisfaction)
    out: dict[Any, dict[str, float]] = {}
    for r in rows:
        f = out.setdefault(r.grp, {})
        n = float(r.n or 0)
        key = (r.instrument_id, r.scale_id)

        def add(name: str, value: float = n, into: dict[str, float] = f) -> None:
            into[name] = into.get(name, 0.0) + value

        if key in blocks:
            block = blocks[key]
            if first_scale.get(r.instrument_id) == r.scale_id:
                add("deficits_done")
            if r.band is not None:
                add(f"d_{block}")
                if r.band in DEFICIT_LEVELS:
                    add(f"d_{block}_{r.band}")
        elif key in elevated:
            if r.scale_id in BURNOUT_SCALES and r.band is not None:
                add(f"b_{r.scale_id}")
                if r.band in elevated[key]:
                    add(f"b_{r.scale_id}_high")
        elif r.instrument_id in activity:
            if r.scale_id in (*ACTIVITY_SCALES, "competitions") and r.band is not None:
                add(f"a_{r.scale_id}")
                if r.band == "yes":
                    add(f"a_{r.scale_id}_yes")
        elif r.instrument_id in satisfaction and r.scale_id == "overall" and r.point is not None:
            add("s_n")
            add("s_sum", float(r.score_sum or 0))
            if int(r.point) in SATISFACTION_POINTS:
                add(f"s_{int(r.point)}")
    return out


def _campaign_statement(kind: str, ident: int | None, now: datetime) -> Select[Any]:
    m = CampaignMember
    answered = or_(m.answered_at.is_not(None), m.counted_before.is_(True))
    return (
        select(
            Campaign.id,
            Campaign.instrument_id,
            Campaign.deadline,
            func.count(m.id).label("invited"),
            _sum(_flag(answered)).label("answered"),
        )
        .join(m, m.campaign_id == Campaign.id)
        .join(User, User.id == m.user_id)
        .where(
            Campaign.status == CampaignStatus.ACTIVE.value,
            Campaign.starts_at <= now,
            _in_scope_users(kind, ident),
        )
        .group_by(Campaign.id, Campaign.instrument_id, Campaign.deadline)
        .order_by(Campaign.deadline, Campaign.id)
    )


# ---------------------------------------------------------------- assembling


def _add(into: dict[str, float], other: Mapping[str, float]) -> None:
    for k, v in other.items():
        into[k] = into.get(k, 0.0) + v


def _values(f: Mapping[str, float]) -> dict[str, Value]:
    def i(name: str) -> int:
        return int(f.get(name, 0))

    n = i("teachers")
    v: dict[str, Value] = {
        "deficits_done": share(i("deficits_done"), n, n),
        "route_any": share(i("route_any"), n, n),
        "route_completed": share(i("route_done"), i("route_any"), n),
        "pk_3y": share(i("pk_3y"), n, n),
        "course_year": share(i("course_year"), n, n),
        "course_distance": share(i("distance"), i("courses"), n),
        "retraining_year": share(i("retraining_year"), n, n),
        "mentoring_share": share(i("in_mentoring"), n, n),
        "mentors": count(i("mentors"), n),
        "mentees": count(i("mentees"), n),
        "young_supported": share(i("young_supported"), i("young"), n),
        "events_attended": share(0, n, n),
        "burnout_events": count(0, n),
        "category_first": count(i("category_first"), n),
        "category_highest": count(i("category_highest"), n),
        "attestation_expiring": count(i("attestation_expiring"), n),
        "requests_waiting_7d": count(i("waiting_7d"), n),
        "competitions": count(i("a_competitions_yes"), n),
        "satisfaction_mean": mean(f.get("s_sum", 0.0), i("s_n"), n),
    }
    for scale in BURNOUT_SCALES:
        v[f"cbi_{scale}_high"] = share(i(f"b_{scale}_high"), i(f"b_{scale}"), n)
    for block in BLOCKS:
        for level in DEFICIT_LEVELS:
            v[f"deficit_{block}_{level}"] = share(i(f"d_{block}_{level}"), i(f"d_{block}"), n)
    for scale, code in ACTIVITY_SCALES.items():
        v[code] = share(i(f"a_{scale}_yes"), i(f"a_{scale}"), n)
    for p in SATISFACTION_POINTS:
        v[f"satisfaction_{p}"] = share(i(f"s_{p}"), i("s_n"), n)
    return {code: v[code] for code in CODES}


async def _no_jit(session: AsyncSession) -> None:
    """PostgreSQL compiles a statement whose estimated cost is high (the per-teacher
    subqueries of the facts statement are costed for every teacher, though they run for a
    few): 0.3 s of compiling for 20 ms of work. Off for the rest of this transaction."""
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SET LOCAL jit = off"))


async def _scope_schools(
    session: AsyncSession, kind: str, ident: int | None
) -> tuple[str, list[tuple[int, str, str]]]:
    """The scope's name and its schools (id, code, name), sorted by name."""
    rows = (
        await session.execute(
            select(School.id, School.code, School.name, Municipality.name)
            .join(Municipality, Municipality.id == School.municipality_id)
            .where(_in_scope(kind, ident))
        )
    ).all()
    schools = sorted(((r[0], r[1], r[2]) for r in rows), key=lambda s: (s[2], s[0]))
    if kind == "school":
        if not rows:
            raise ScopeError(scope_key_of(kind, ident))
        return rows[0][2], schools
    if kind == "municipality":
        name = rows[0][3] if rows else None
        if name is None:
            name = await session.scalar(select(Municipality.name).where(Municipality.id == ident))
            if name is None:
                raise ScopeError(scope_key_of(kind, ident))
        return name, schools
    return REGION_NAME, schools


async def compute(
    session: AsyncSession,
    *,
    scope_key: str,
    period: Period,
    today: date,
    now: datetime,
    plans: Mapping[str, float] | None = None,
    tz: tzinfo | None = None,
    instruments: Mapping[str, Instrument] | None = None,
) -> IndicatorTable:
    """Every indicator for every school of the scope and for the whole scope.

    ``today`` (local) decides who is young, the 3 years of ПК, attestation terms; ``now``
    (timezone-aware) the 12 months of burnout results and the age of mentor requests; ``tz``
    (default: that of ``now``) turns the period's local dates into instants.
    ``instruments``: default the shipped questionnaire files.
    Raises :class:`ScopeError` for a scope that names nothing.
    """
    kind, ident = parse_scope(scope_key)
    zone = tz or now.tzinfo or UTC
    g = _groups(instruments if instruments is not None else _shipped_instruments())
    w = _window(period, today, zone)
    await _no_jit(session)
    scope_name, schools = await _scope_schools(session, kind, ident)

    facts_statement = _stored_facts_statement if w.end > now else _facts_statement
    facts = _fold_facts(
        await session.execute(facts_statement(kind, ident, w, today, now, User.school_id))
    )
    results = _fold_results(
        await session.execute(_results_statement(kind, ident, w, now, g, User.school_id)), g
    )
    campaigns = tuple(
        CampaignRate(
            campaign_id=r.id,
            instrument_id=r.instrument_id,
            title=g.titles.get(r.instrument_id, r.instrument_id),
            deadline=r.deadline,
            answered=int(r.answered or 0),
            invited=int(r.invited or 0),
        )
        for r in await session.execute(_campaign_statement(kind, ident, now))
    )

    rows: list[Row] = []
    total: dict[str, float] = {}
    for school_id, code, name in schools:
        figures = {**facts.get(school_id, {}), **results.get(school_id, {})}
        _add(total, figures)
        n = int(figures.get("teachers", 0))
        values = _values(figures)
        rows.append(Row(school_id, code, name, n, values))
    total_row = Row(
        None,
        None,
        None,
        int(total.get("teachers", 0)),
        _values(total),
    )
    return IndicatorTable(
        scope_key=scope_key_of(kind, ident),
        scope_name=scope_name,
        period=period,
        definitions=definitions(plans),
        schools=tuple(rows),
        total=total_row,
        campaigns=campaigns,
    )


# ---------------------------------------------------------------- the deficits split


SPLIT_CODES: tuple[str, ...] = (
    "deficits_done",
    *(f"deficit_{b}_{lv}" for b in BLOCKS for lv in DEFICIT_LEVELS),
)


@dataclass(frozen=True, slots=True)
class SplitRow:
    key: str  # a position code or a subject code (labels: ``position.*`` / ``subject.*``)
    teachers: int
    values: dict[str, Value]  # the codes of SPLIT_CODES


async def deficits_split(
    session: AsyncSession,
    *,
    scope_key: str,
    period: Period,
    today: date,
    now: datetime,
    by: Literal["position", "subject"],
    tz: tzinfo | None = None,
    instruments: Mapping[str, Instrument] | None = None,
) -> tuple[SplitRow, ...]:
    """The deficits indicators (1 and 11) of the scope by position or by subject (a teacher
    of two subjects counts in each), in two statements; groups sorted by code."""
    kind, ident = parse_scope(scope_key)
    zone = tz or now.tzinfo or UTC
    g = _groups(instruments if instruments is not None else _shipped_instruments())
    w = _window(period, today, zone)
    group: Any = User.position if by == "position" else UserSubject.subject

    teachers = {
        r.grp: int(r.teachers or 0)
        for r in await session.execute(
            _split(
                select(group.label("grp"), func.count(User.id).label("teachers"))
                .select_from(User)
                .where(_active_teacher(), _in_scope_users(kind, ident))
                .group_by(group),
                by,
            )
        )
    }
    results = _fold_results(
        await session.execute(_results_statement(kind, ident, w, now, g, group, by)), g
    )
    out: list[SplitRow] = []
    for key in sorted(teachers):
        figures = {**results.get(key, {}), "teachers": float(teachers[key])}
        values = _values(figures)
        out.append(SplitRow(key, teachers[key], {c: values[c] for c in SPLIT_CODES}))
    return tuple(out)
