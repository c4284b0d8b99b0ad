"""Stored facts the indicators count, kept in the transaction of every write that changes them.

- the ``fact_*`` columns of a user row (``models.people.User``): has an active route, when
  her last route was completed, the end of her last course of повышение квалификации and of
  переподготовка, mentor or mentee of an active pair. They depend only on the teacher's own
  routes, courses and pairs and are recomputed from them (:func:`refresh_teachers`) after
  every flush that adds, changes or deletes one.
- ``result_counts``: per school, instrument, scale, band and month (UTC, of completion), how
  many active teachers of the school have that band in their latest result
  (``scale_results.latest``). A teacher's share of the counters (:func:`contribution`)
  depends on her flagged rows and on her school and status; around every flush that adds
  scale results or changes a teacher's school or status (or deletes her), her share before
  the flush is taken off and her share after it added (:func:`apply`).

Writers of plain statements do the same by hand (``services.facts``); :func:`rebuild_all`
recomputes everything from the source rows (``pedbot facts rebuild``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    ForeignKey,
    Index,
    String,
    and_,
    delete,
    event,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, UOWTransaction, mapped_column
from sqlalchemy.orm.attributes import get_history

from models.base import Base
from models.development import Course, CourseKind, Route, RouteStatus
from models.mentoring import MentorPair, PairStatus
from models.people import User
from models.surveys import ScaleResult

NO_BAND = ""  # the band key of a result without a band


class ResultCount(Base):
    __tablename__ = "result_counts"

    school_id: Mapped[int] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    )
    instrument_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    scale_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    band: Mapped[str] = mapped_column(String(32), primary_key=True)  # NO_BAND: none
    month: Mapped[date] = mapped_column(primary_key=True)  # the 1st, UTC
    n: Mapped[int] = mapped_column(default=0)


Key = tuple[int, str, str, str, date]  # school, instrument, scale, band, month

_users = User.__table__
_results = ScaleResult.__table__
_counts = ResultCount.__table__
_routes = Route.__table__
_courses = Course.__table__
_pairs = MentorPair.__table__

ACTIVE_TEACHER = and_(
    _users.c.registered_at.is_not(None),
    _users.c.blocked_bot.is_(False),
    _users.c.school_id.is_not(None),
)


def month_of(moment: datetime) -> date:
    return date(moment.year, moment.month, 1)


# ---------------------------------------------------------------- teacher facts

FACT_COLUMNS = (
    "fact_route_active",
    "fact_route_done_at",
    "fact_qualification_last",
    "fact_retraining_last",
    "fact_mentor",
    "fact_mentee",
)


def _facts_values() -> dict[str, Any]:
    """Each fact column of a user row from her routes, courses and pairs."""
    u = _users

    def last(kind: CourseKind) -> Any:
        return (
            select(func.max(_courses.c.ends_on))
            .where(_courses.c.user_id == u.c.id, _courses.c.kind == kind.value)
            .scalar_subquery()
        )

    active_pair = _pairs.c.status == PairStatus.ACTIVE.value
    return {
        "fact_route_active": exists().where(
            _routes.c.user_id == u.c.id, _routes.c.status == RouteStatus.ACTIVE.value
        ),
        "fact_route_done_at": select(func.max(_routes.c.completed_at))
        .where(_routes.c.user_id == u.c.id, _routes.c.status == RouteStatus.COMPLETED.value)
        .scalar_subquery(),
        "fact_qualification_last": last(CourseKind.QUALIFICATION),
        "fact_retraining_last": last(CourseKind.RETRAINING),
        "fact_mentor": exists().where(_pairs.c.mentor_id == u.c.id, active_pair),
        "fact_mentee": exists().where(_pairs.c.mentee_id == u.c.id, active_pair),
    }


def refresh_teachers(conn: Connection, user_ids: Iterable[int] | None) -> None:
    """Recompute the fact columns of these users (None: of everyone) from their rows."""
    stmt = update(_users).values(_facts_values())
    if user_ids is not None:
        ids = sorted(set(user_ids))
        if not ids:
            return
        stmt = stmt.where(_users.c.id.in_(ids))
    conn.execute(stmt)


def partners(conn: Connection, user_ids: Iterable[int]) -> list[int]:
    """The other side of every mentor pair of these teachers."""
    ids = sorted(set(user_ids))
    if not ids:
        return []
    rows = conn.execute(
        select(_pairs.c.mentor_id, _pairs.c.mentee_id).where(
            or_(_pairs.c.mentor_id.in_(ids), _pairs.c.mentee_id.in_(ids))
        )
    )
    return sorted({u for row in rows for u in row} - set(ids))


# ---------------------------------------------------------------- result counters


def contribution(conn: Connection, user_ids: Iterable[int]) -> Counter[Key]:
    """What these teachers add to the counters in the database's present state."""
    ids = sorted(set(user_ids))
    out: Counter[Key] = Counter()
    if not ids:
        return out
    rows = conn.execute(
        select(
            _users.c.school_id,
            _results.c.instrument_id,
            _results.c.scale_id,
            _results.c.band,
            _results.c.completed_at,
        )
        .select_from(_users)
        .join(_results, and_(_results.c.user_id == _users.c.id, _results.c.latest.is_(True)))
        .where(_users.c.id.in_(ids), ACTIVE_TEACHER)
    )
    for school_id, instrument_id, scale_id, band, completed_at in rows:
        out[(school_id, instrument_id, scale_id, band or NO_BAND, month_of(completed_at))] += 1
    return out


def _add_statement(dialect: str) -> object:
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_counts)
    keys = [c.name for c in _counts.primary_key.columns]
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={"n": _counts.c.n + stmt.excluded.n}
    )


def apply(conn: Connection, before: Counter[Key], after: Counter[Key]) -> None:
    """Move the counters from a share ``before`` to ``after`` (a counter may reach zero and
    stay as a row; it counts nothing)."""
    keys = set(before) | set(after)
    rows = [
        {
            "school_id": k[0],
            "instrument_id": k[1],
            "scale_id": k[2],
            "band": k[3],
            "month": k[4],
            "n": after[k] - before[k],
        }
        for k in sorted(keys)
        if after[k] != before[k]
    ]
    if rows:
        conn.execute(_add_statement(conn.dialect.name), rows)  # type: ignore[arg-type]


def _month_sql(dialect: str) -> object:
    if dialect == "postgresql":
        return func.cast(
            func.date_trunc("month", func.timezone("UTC", _results.c.completed_at)),
            ResultCount.month.type,
        )
    # SQLite keeps UTC instants as 'YYYY-MM-DD HH:MM:SS...' and dates as 'YYYY-MM-DD'
    return func.substr(_results.c.completed_at, 1, 7).concat(literal("-01"))


def rebuild_counts(conn: Connection) -> None:
    """Every counter recomputed from the flagged rows (one ``INSERT … SELECT``)."""
    conn.execute(delete(_counts))
    month = _month_sql(conn.dialect.name)
    band = func.coalesce(_results.c.band, literal(NO_BAND))
    source = (
        select(
            _users.c.school_id,
            _results.c.instrument_id,
            _results.c.scale_id,
            band,
            month,  # type: ignore[arg-type]
            func.count(),
        )
        .select_from(_users)
        .join(_results, and_(_results.c.user_id == _users.c.id, _results.c.latest.is_(True)))
        .where(ACTIVE_TEACHER)
        .group_by(_users.c.school_id, _results.c.instrument_id, _results.c.scale_id, band, month)
    )
    conn.execute(
        insert(_counts).from_select(
            ["school_id", "instrument_id", "scale_id", "band", "month", "n"], source
        )
    )


def rebuild_all(conn: Connection) -> None:
    refresh_teachers(conn, None)
    rebuild_counts(conn)


# ---------------------------------------------------------------- keeping them


_STATUS = ("school_id", "registered_at", "blocked_bot")
_PENDING = "facts.results_before"
_PARTNERS = "facts.partners_of_deleted"


def _ids(value: object) -> list[int]:
    return [value] if isinstance(value, int) else []


def _teachers_touched(session: Session) -> set[int]:
    """Teachers whose routes, courses or pairs this flush writes."""
    out: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Route | Course):
            out.update(_ids(obj.user_id))
            for old in get_history(obj, "user_id").deleted or ():
                out.update(_ids(old))
        elif isinstance(obj, MentorPair):
            for name in ("mentor_id", "mentee_id"):
                out.update(_ids(getattr(obj, name)))
                for old in get_history(obj, name).deleted or ():
                    out.update(_ids(old))
    return out


def _results_touched(session: Session) -> set[int]:
    """Teachers whose share of the result counters this flush may change."""
    out: set[int] = set()
    for obj in session.new:
        if isinstance(obj, ScaleResult):
            out.update(_ids(obj.user_id))
    for obj in session.deleted:
        if isinstance(obj, User | ScaleResult):
            out.update(_ids(obj.id if isinstance(obj, User) else obj.user_id))
    for obj in session.dirty:
        if isinstance(obj, User) and any(get_history(obj, a).has_changes() for a in _STATUS):
            out.update(_ids(obj.id))
    return out


def _before_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    # listed first (insert=True): the share is read before any other hook writes
    session.info.pop(_PENDING, None)
    session.info.pop(_PARTNERS, None)
    users = _results_touched(session)
    if users:
        session.info[_PENDING] = (users, contribution(session.connection(), users))
    gone = [obj.id for obj in session.deleted if isinstance(obj, User)]
    if gone:  # their pairs go with them (ON DELETE CASCADE): the partners' facts change
        session.info[_PARTNERS] = partners(session.connection(), gone)


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    conn = session.connection()
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        users, before = pending
        apply(conn, before, contribution(conn, users))
    touched = _teachers_touched(session) | set(session.info.pop(_PARTNERS, ()))
    if touched:
        refresh_teachers(conn, touched)


event.listen(Session, "before_flush", _before_flush, insert=True)
event.listen(Session, "after_flush", _after_flush)


# the flagged rows by instrument and time: the edges of a window the counters do not cover
Index(
    "ix_scale_results_latest_at",
    ScaleResult.instrument_id,
    ScaleResult.completed_at,
    sqlite_where=ScaleResult.latest.is_(True),
    postgresql_where=ScaleResult.latest.is_(True),
)
