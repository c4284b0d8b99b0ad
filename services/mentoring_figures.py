"""Mentoring figures for a scope (one municipality or all): per school and for the whole scope.

One definition, computed in SQL with ``GROUP BY`` (per school) and by the same statements
without the grouping (the total), so neither loads rows to count them. The weekly digest, the
on-demand view and the export read these.

Definitions (all over *active teachers*: registered, not blocked the bot, with a school in the
scope):

* ``mentors`` / ``mentees``: teachers who are the mentor / the mentee of an active pair;
  ``in_mentoring``: teachers who are either (a teacher who is both is counted once);
* ``active_pairs``: active pairs with at least one side among the scope's teachers; a pair
  whose mentor and mentee are in different schools counts in each of the two schools, and
  once in the total (so the schools' numbers need not add up to the total);
* ``young``: under 35 and at most 3 years of teaching, by calendar years at ``today``
  (as :func:`services.people.is_young`); ``young_supported``: young teachers who are the
  mentee of an active pair or have an active route (ИОМ);
* ``requests_waiting``: requests shared with the methodists and still open or offered;
  their wait is counted from ``shared_at`` to ``now``: ``oldest_wait_days`` in whole days,
  ``waiting_over_7_days`` those shared more than 7 × 24 hours before ``now``.

Every school of the scope is listed, also one with no active teacher (all zeros). Hiding
small groups is the concern of whoever shows the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    case,
    exists,
    func,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    MentorPair,
    MentorRequest,
    PairStatus,
    RequestStatus,
    Route,
    RouteStatus,
    School,
    User,
)
from services.reference import YOUNG_MAX_AGE, YOUNG_MAX_YEARS

LONG_WAIT_DAYS = 7
WAITING = (RequestStatus.OPEN.value, RequestStatus.OFFERED.value)
_TEACHER_NAMES = ("teachers", "mentors", "mentees", "involved", "young", "supported")


@dataclass(frozen=True, slots=True)
class MentoringFigures:
    school_id: int | None  # None: the whole scope
    school_name: str | None
    teachers: int  # active registered teachers
    mentors: int  # distinct mentors with an active pair
    mentees: int  # distinct mentees with an active pair
    active_pairs: int
    in_mentoring: int  # distinct teachers who are a mentor or a mentee in an active pair
    young: int
    young_supported: int  # young with an active pair as mentee or an active route
    requests_waiting: int  # shared with methodists, open or offered
    oldest_wait_days: int | None  # age in days of the oldest waiting request
    waiting_over_7_days: int

    @property
    def share_in_mentoring(self) -> float | None:
        return _share(self.in_mentoring, self.teachers)

    @property
    def share_young_supported(self) -> float | None:
        return _share(self.young_supported, self.young)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _active_teacher() -> ColumnElement[bool]:
    return and_(User.registered_at.is_not(None), User.blocked_bot.is_(False))


def _in_scope(municipality_id: int | None) -> ColumnElement[bool]:
    return School.municipality_id == municipality_id if municipality_id is not None else true()


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _teachers(today: date, municipality_id: int | None) -> Subquery:
    """One row per active teacher of the scope: the school and 0/1 flags."""
    active_pair = MentorPair.status == PairStatus.ACTIVE.value
    young = and_(
        User.birth_year.is_not(None),
        User.teaching_since.is_not(None),
        User.birth_year > today.year - YOUNG_MAX_AGE,  # today.year - birth_year < 35
        User.teaching_since >= today.year - YOUNG_MAX_YEARS,  # today.year - since <= 3
    )
    return (
        select(
            User.id.label("user_id"),
            User.school_id.label("school_id"),
            _flag(exists().where(MentorPair.mentor_id == User.id, active_pair)).label("mentor"),
            _flag(exists().where(MentorPair.mentee_id == User.id, active_pair)).label("mentee"),
            _flag(
                exists().where(Route.user_id == User.id, Route.status == RouteStatus.ACTIVE.value)
            ).label("route"),
            _flag(young).label("young"),
        )
        .join(School, School.id == User.school_id)
        .where(_active_teacher(), _in_scope(municipality_id))
        .subquery("t")
    )


def _pair_sides(municipality_id: int | None) -> Subquery:
    """(pair, school) for each side of an active pair that is an active teacher of the scope;
    a pair with both sides in one school gives one row."""

    def side(person: Any) -> Select[Any]:
        return (
            select(MentorPair.id.label("pair_id"), User.school_id.label("school_id"))
            .join(User, User.id == person)
            .join(School, School.id == User.school_id)
            .where(
                MentorPair.status == PairStatus.ACTIVE.value,
                _active_teacher(),
                _in_scope(municipality_id),
            )
        )

    return union(side(MentorPair.mentor_id), side(MentorPair.mentee_id)).subquery("p")


def _waiting(municipality_id: int | None) -> Select[Any]:
    """Waiting requests of the scope's active teachers (columns to aggregate added by the
    caller)."""
    return (
        select()
        .select_from(MentorRequest)
        .join(User, User.id == MentorRequest.mentee_id)
        .join(School, School.id == User.school_id)
        .where(
            MentorRequest.shared_at.is_not(None),
            MentorRequest.status.in_(WAITING),
            _active_teacher(),
            _in_scope(municipality_id),
        )
    )


def _sum(value: ColumnElement[Any]) -> ColumnElement[int]:
    return func.coalesce(func.sum(value), 0)


def _teacher_sums(t: Subquery) -> list[Any]:
    involved = or_(t.c.mentor == 1, t.c.mentee == 1)
    supported = and_(t.c.young == 1, or_(t.c.mentee == 1, t.c.route == 1))
    return [
        func.count(t.c.user_id).label("teachers"),
        _sum(t.c.mentor).label("mentors"),
        _sum(t.c.mentee).label("mentees"),
        _sum(_flag(involved)).label("involved"),
        _sum(t.c.young).label("young"),
        _sum(_flag(supported)).label("supported"),
    ]


def _request_sums(now: datetime) -> list[Any]:
    cutoff = now - timedelta(days=LONG_WAIT_DAYS)
    return [
        func.count(MentorRequest.id).label("waiting"),
        func.min(MentorRequest.shared_at).label("oldest"),
        _sum(_flag(MentorRequest.shared_at < cutoff)).label("over_week"),
    ]


def _figures(
    row: Any, now: datetime, school_id: int | None, school_name: str | None
) -> MentoringFigures:
    oldest: datetime | None = row.oldest
    return MentoringFigures(
        school_id=school_id,
        school_name=school_name,
        teachers=int(row.teachers or 0),
        mentors=int(row.mentors or 0),
        mentees=int(row.mentees or 0),
        active_pairs=int(row.pairs or 0),
        in_mentoring=int(row.involved or 0),
        young=int(row.young or 0),
        young_supported=int(row.supported or 0),
        requests_waiting=int(row.waiting or 0),
        oldest_wait_days=max(0, (now - oldest).days) if oldest is not None else None,
        waiting_over_7_days=int(row.over_week or 0),
    )


async def mentoring_figures(
    session: AsyncSession, today: date, now: datetime, municipality_id: int | None = None
) -> tuple[list[MentoringFigures], MentoringFigures]:
    """Figures per school of the scope (sorted by school name) and for the whole scope.

    ``municipality_id`` None: every municipality. ``today`` decides who is young; ``now``
    (timezone-aware) the age of waiting requests.
    """
    t = _teachers(today, municipality_id)
    p = _pair_sides(municipality_id)

    # per school: each part grouped by school, joined onto the schools of the scope
    by_teacher = select(t.c.school_id, *_teacher_sums(t)).group_by(t.c.school_id).subquery("bt")
    by_pair = (
        select(p.c.school_id, func.count().label("pairs")).group_by(p.c.school_id).subquery("bp")
    )
    by_request = (
        _waiting(municipality_id)
        .add_columns(User.school_id, *_request_sums(now))
        .group_by(User.school_id)
        .subquery("br")
    )
    per_school = (
        select(
            School.id,
            School.name,
            *(by_teacher.c[name] for name in _TEACHER_NAMES),
            by_pair.c.pairs,
            by_request.c.waiting,
            by_request.c.oldest,
            by_request.c.over_week,
        )
        .outerjoin(by_teacher, by_teacher.c.school_id == School.id)
        .outerjoin(by_pair, by_pair.c.school_id == School.id)
        .outerjoin(by_request, by_request.c.school_id == School.id)
        .where(_in_scope(municipality_id))
    )
    schools = [
        _figures(row, now, row.id, row.name) for row in (await session.execute(per_school)).all()
    ]
    # sorted here, not by the database, so that the order does not depend on its collation
    schools.sort(key=lambda f: (f.school_name or "", f.school_id or 0))

    # the whole scope: the same parts without the grouping, one row each
    all_teachers = select(*_teacher_sums(t)).subquery("at")
    all_pairs = select(func.count(func.distinct(p.c.pair_id)).label("pairs")).subquery("ap")
    all_requests = _waiting(municipality_id).add_columns(*_request_sums(now)).subquery("ar")
    total_row = (
        await session.execute(
            select(
                *(all_teachers.c[name] for name in _TEACHER_NAMES),
                all_pairs.c.pairs,
                all_requests.c.waiting,
                all_requests.c.oldest,
                all_requests.c.over_week,
            ).select_from(all_teachers.join(all_pairs, true()).join(all_requests, true()))
        )
    ).one()
    return schools, _figures(total_row, now, None, None)
