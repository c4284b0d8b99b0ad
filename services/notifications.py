"""Personal reminders: which are due to whom, and the teacher's switches in «Настройки».

No aiogram here. Each kind finds its due teachers in SQL (never by loading every teacher):
only registered teachers who have not blocked the bot, and only occasions without a message
in the outbox yet. A reminder's ``key`` names its occasion, so it is enqueued once however
often the scheduler runs; the sender delivers outside quiet hours, at most one personal
reminder per teacher per local day.

The kinds a teacher can switch off (:data:`KINDS`) and their occasions:

* ``survey`` — a questionnaire in progress with no answer for 24 hours: once per attempt
  (``reminder:survey:<attempt>``), from 24 hours after the last answer.
* ``route`` — a planned step of the active route: once when its term is 7 days away or
  nearer (``reminder:step7:<step>``), once when its term has passed
  (``reminder:overdue:<step>``).
* ``attestation`` — the category, or without one the attestation for «соответствие
  занимаемой должности» (occasion ``conformity``), expires within 6 months (the rule of
  :func:`services.courses.attestation`): once per expiry date
  (``reminder:attestation:<user>:<expiry>``).
* ``qualification`` — повышение квалификации is due (:func:`services.courses.pk_due`: none
  recorded, or the last ended more than 3 years ago): once a year
  (``reminder:qualification:<user>:<year>``, and not within 365 days of the previous one).
  A teacher with none recorded is first reminded 30 days after registering.
* ``meeting`` — an active pair with no meeting for 30 days (since the last meeting, or the
  start): to the mentor and to the mentee, once per 30 days of silence
  (``reminder:meeting:<pair>:<user>:<period>``, the period counted in 30 days from the
  pair's start).
* ``checkin`` — the mentee's «Как проходит наставничество?» every 4 weeks of the pair
  (``reminder:checkin:<pair>:<period>``), unless she already answered in that period.

A reminder tied to a date (all but ``survey``) falls due at 10:00 local time of that date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import String, and_, cast, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from models import (
    Attempt,
    AttemptStatus,
    Course,
    InstrumentVersion,
    MentorCheckin,
    MentorMeeting,
    MentorPair,
    NotificationSettings,
    Outbox,
    OutboxStatus,
    PairStatus,
    Route,
    RouteStatus,
    RouteStep,
    StepStatus,
    User,
)
from services.attestation import AttStatus, add_years, attestation
from services.courses import PK_KINDS, pk_due

KINDS: tuple[str, ...] = ("survey", "route", "attestation", "qualification", "meeting", "checkin")

REMINDER_TIME = time(10, 0)  # local: a reminder tied to a date falls due then
SURVEY_IDLE = timedelta(hours=24)
STEP_SOON_DAYS = 7
MEETING_GAP_DAYS = 30
CHECKIN_DAYS = 28
QUALIFICATION_GRACE_DAYS = 30  # none recorded: the first reminder a month after registering
QUALIFICATION_EVERY = timedelta(days=365)
ATTESTATION_EVERY = timedelta(days=200)  # longer than the 6 months' warning
KEY_CHUNK = 500


def outbox_kind(kind: str) -> str:
    """The outbox ``kind`` of a reminder kind: ``reminder.survey``, ``reminder.route``, ..."""
    return f"reminder.{kind}"


@dataclass(frozen=True)
class Due:
    """One reminder to enqueue: who, which occasion, and what the message names."""

    kind: str  # one of KINDS: the teacher's switch
    occasion: str  # survey | step_soon | step_overdue | attestation | qualification | ...
    key: str
    user_id: int
    telegram_id: int
    language: str
    title: str | None = None  # the questionnaire's or the step's
    when: date | None = None  # the step's term, the expiry, the last ПК, the last meeting
    instrument: str | None = None
    pair_id: int | None = None
    partner: str | None = None  # the other person of the pair
    as_mentor: bool = False


def reminder_day(now: datetime, tz: tzinfo) -> date:
    """The local date whose dated reminders are due: today from 10:00, yesterday before."""
    local = now.astimezone(tz)
    return local.date() if local.time() >= REMINDER_TIME else local.date() - timedelta(days=1)


def _reachable(user: Any = User) -> ColumnElement[bool]:
    """Registered, and has not blocked the bot."""
    return and_(user.registered_at.is_not(None), user.blocked_bot.is_(False))


def _no_message(key: ColumnElement[str]) -> ColumnElement[bool]:
    return ~exists(select(Outbox.id).where(Outbox.key == key))


def _key(prefix: str, column: Any) -> ColumnElement[str]:
    return literal(prefix) + cast(column, String)


def _not_since(kind: str, since: datetime) -> ColumnElement[bool]:
    """No reminder of ``kind`` to this teacher due after ``since``."""
    return ~exists(
        select(Outbox.id).where(
            Outbox.user_id == User.id,
            Outbox.kind == outbox_kind(kind),
            Outbox.due_at > since,
        )
    )


# ---------- each kind ----------


async def _surveys(session: AsyncSession, now: datetime) -> list[Due]:
    rows = (
        await session.execute(
            select(
                Attempt.id,
                Attempt.instrument_id,
                Attempt.instrument_version_id,
                User.id,
                User.telegram_id,
                User.language,
            )
            .join(User, User.id == Attempt.user_id)
            .where(
                Attempt.status == AttemptStatus.IN_PROGRESS.value,
                Attempt.updated_at <= now - SURVEY_IDLE,
                _reachable(),
                _no_message(_key("reminder:survey:", Attempt.id)),
            )
            .order_by(Attempt.id)
        )
    ).all()
    titles: dict[int, str] = {}
    versions = {r[2] for r in rows}
    if versions:
        for vid, definition in await session.execute(
            select(InstrumentVersion.id, InstrumentVersion.definition).where(
                InstrumentVersion.id.in_(versions)
            )
        ):
            titles[vid] = str(definition.get("title", ""))
    return [
        Due(
            kind="survey",
            occasion="survey",
            key=f"reminder:survey:{attempt_id}",
            user_id=uid,
            telegram_id=tg,
            language=lang,
            title=titles.get(vid) or instrument,
            instrument=instrument,
        )
        for attempt_id, instrument, vid, uid, tg, lang in rows
    ]


async def _steps(session: AsyncSession, day: date) -> list[Due]:
    out: list[Due] = []
    for occasion, prefix, term in (
        (
            "step_soon",
            "reminder:step7:",
            RouteStep.target_date.between(day, day + timedelta(days=STEP_SOON_DAYS)),
        ),
        ("step_overdue", "reminder:overdue:", RouteStep.target_date < day),
    ):
        rows = await session.execute(
            select(
                RouteStep.id,
                RouteStep.title,
                RouteStep.target_date,
                User.id,
                User.telegram_id,
                User.language,
            )
            .join(Route, Route.id == RouteStep.route_id)
            .join(User, User.id == Route.user_id)
            .where(
                Route.status == RouteStatus.ACTIVE.value,
                RouteStep.status == StepStatus.PLANNED.value,
                term,
                _reachable(),
                _no_message(_key(prefix, RouteStep.id)),
            )
            .order_by(RouteStep.target_date, RouteStep.id)
        )
        out.extend(
            Due(
                kind="route",
                occasion=occasion,
                key=f"{prefix}{step_id}",
                user_id=uid,
                telegram_id=tg,
                language=lang,
                title=title,
                when=target,
            )
            for step_id, title, target, uid, tg, lang in rows
        )
    return out


async def _attestations(session: AsyncSession, now: datetime, day: date) -> list[Due]:
    # a warning can only run when the category, or without one the attestation for
    # conformity with the position, was given 4 or 5 years before this year
    years = (day.year - 5, day.year - 4)
    span = (date(years[0], 1, 1), date(years[1], 12, 31))
    held = and_(User.category.is_not(None), User.category != "none")
    rows = await session.execute(
        select(
            User.id,
            User.telegram_id,
            User.language,
            User.category,
            User.category_date,
            User.category_year,
            User.conformity_date,
        )
        .where(
            _reachable(),
            or_(
                and_(
                    held,
                    or_(
                        User.category_year.between(*years),
                        and_(User.category_year.is_(None), User.category_date.between(*span)),
                    ),
                ),
                and_(~held, User.conformity_date.between(*span)),
            ),
            _not_since("attestation", now - ATTESTATION_EVERY),
        )
        .order_by(User.id)
    )
    out: list[Due] = []
    for uid, tg, lang, category, category_date, category_year, conformity_date in rows:
        term = attestation(category, category_date, category_year, day, conformity_date)
        if term.status != AttStatus.SOON or term.expires is None:
            continue
        out.append(
            Due(
                kind="attestation",
                occasion="conformity" if term.conformity else "attestation",
                key=f"reminder:attestation:{uid}:{term.expires.isoformat()}",
                user_id=uid,
                telegram_id=tg,
                language=lang,
                when=term.expires,
            )
        )
    return out


async def _qualifications(session: AsyncSession, now: datetime, day: date, tz: tzinfo) -> list[Due]:
    last = (
        select(Course.user_id, func.max(Course.ends_on).label("last_pk"))
        .where(Course.kind.in_(PK_KINDS), Course.ends_on <= day)
        .group_by(Course.user_id)
        .subquery()
    )
    # a day's margin for 29 February; the rule itself is applied below
    old = add_years(day, -3) + timedelta(days=1)
    grace_start = datetime.combine(
        day - timedelta(days=QUALIFICATION_GRACE_DAYS), time.max, tzinfo=tz
    )
    rows = await session.execute(
        select(User.id, User.telegram_id, User.language, last.c.last_pk)
        .outerjoin(last, last.c.user_id == User.id)
        .where(
            _reachable(),
            or_(
                and_(last.c.last_pk.is_(None), User.registered_at <= grace_start),
                last.c.last_pk <= old,
            ),
            _not_since("qualification", now - QUALIFICATION_EVERY),
        )
        .order_by(User.id)
    )
    return [
        Due(
            kind="qualification",
            occasion="qualification",
            key=f"reminder:qualification:{uid}:{day.year}",
            user_id=uid,
            telegram_id=tg,
            language=lang,
            when=last_pk,
        )
        for uid, tg, lang, last_pk in rows
        if pk_due(last_pk, day)
    ]


def meeting_period(started_on: date, last: date, day: date) -> int | None:
    """The 30-day period (counted from the pair's start) of the silence's latest 30-day
    mark, or None when the last meeting (or the start) is less than 30 days before ``day``.

    The mark is ``last + 30·k``, so two reminders are 30 days apart while the silence lasts;
    a meeting starts the count again.
    """
    silence = (day - last).days
    if silence < MEETING_GAP_DAYS:
        return None
    mark = last + timedelta(days=silence // MEETING_GAP_DAYS * MEETING_GAP_DAYS)
    return (mark - started_on).days // MEETING_GAP_DAYS


def checkin_period(started_on: date, day: date) -> int | None:
    """The 4-week period of the pair ``day`` is in (1 from the 28th day), or None before."""
    period = (day - started_on).days // CHECKIN_DAYS
    return period if period >= 1 else None


async def _meetings(session: AsyncSession, day: date) -> list[Due]:
    met = (
        select(MentorMeeting.pair_id, func.max(MentorMeeting.held_on).label("held_on"))
        .group_by(MentorMeeting.pair_id)
        .subquery()
    )
    last = func.coalesce(met.c.held_on, MentorPair.started_on)
    mentor, mentee = aliased(User), aliased(User)
    rows = await session.execute(
        select(MentorPair.id, MentorPair.started_on, met.c.held_on, last, mentor, mentee)
        .outerjoin(met, met.c.pair_id == MentorPair.id)
        .join(mentor, mentor.id == MentorPair.mentor_id)
        .join(mentee, mentee.id == MentorPair.mentee_id)
        .where(
            MentorPair.status == PairStatus.ACTIVE.value,
            last <= day - timedelta(days=MEETING_GAP_DAYS),
            or_(_reachable(mentor), _reachable(mentee)),
        )
        .order_by(MentorPair.id)
    )
    out: list[Due] = []
    for pair_id, started_on, held_on, last_met, mentor_row, mentee_row in rows:
        period = meeting_period(started_on, last_met, day)
        if period is None:
            continue
        for person, other, as_mentor in (
            (mentor_row, mentee_row, True),
            (mentee_row, mentor_row, False),
        ):
            if person.registered_at is None or person.blocked_bot:
                continue
            out.append(
                Due(
                    kind="meeting",
                    occasion="meeting",
                    key=f"reminder:meeting:{pair_id}:{person.id}:{period}",
                    user_id=person.id,
                    telegram_id=person.telegram_id,
                    language=person.language,
                    when=held_on,  # None: no meeting yet
                    pair_id=pair_id,
                    partner=other.full_name,
                    as_mentor=as_mentor,
                )
            )
    return out


async def _checkins(session: AsyncSession, day: date, tz: tzinfo) -> list[Due]:
    answered = (
        select(MentorCheckin.pair_id, func.max(MentorCheckin.created_at).label("at"))
        .group_by(MentorCheckin.pair_id)
        .subquery()
    )
    mentor, mentee = aliased(User), aliased(User)
    rows = await session.execute(
        select(
            MentorPair.id,
            MentorPair.started_on,
            answered.c.at,
            mentee.id,
            mentee.telegram_id,
            mentee.language,
            mentor.full_name,
        )
        .outerjoin(answered, answered.c.pair_id == MentorPair.id)
        .join(mentor, mentor.id == MentorPair.mentor_id)
        .join(mentee, mentee.id == MentorPair.mentee_id)
        .where(
            MentorPair.status == PairStatus.ACTIVE.value,
            MentorPair.started_on <= day - timedelta(days=CHECKIN_DAYS),
            _reachable(mentee),
        )
        .order_by(MentorPair.id)
    )
    out: list[Due] = []
    for pair_id, started_on, answered_at, uid, tg, lang, mentor_name in rows:
        period = checkin_period(started_on, day)
        if period is None:
            continue
        period_start = started_on + timedelta(days=period * CHECKIN_DAYS)
        if answered_at is not None and answered_at.astimezone(tz).date() >= period_start:
            continue  # she already said how it goes in this period
        out.append(
            Due(
                kind="checkin",
                occasion="checkin",
                key=f"reminder:checkin:{pair_id}:{period}",
                user_id=uid,
                telegram_id=tg,
                language=lang,
                pair_id=pair_id,
                partner=mentor_name,
            )
        )
    return out


# ---------- all of them ----------


async def switched_off(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, set[str]]:
    """The kinds each of these teachers switched off (only those who changed anything)."""
    ids = sorted(set(user_ids))
    out: dict[int, set[str]] = {}
    for i in range(0, len(ids), KEY_CHUNK):
        rows = await session.execute(
            select(NotificationSettings.user_id, NotificationSettings.off).where(
                NotificationSettings.user_id.in_(ids[i : i + KEY_CHUNK])
            )
        )
        out.update({uid: {str(k) for k in off or ()} for uid, off in rows})
    return out


async def _existing(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(keys), KEY_CHUNK):
        found.update(
            await session.scalars(select(Outbox.key).where(Outbox.key.in_(keys[i : i + KEY_CHUNK])))
        )
    return found


async def due_reminders(session: AsyncSession, now: datetime, tz: tzinfo) -> list[Due]:
    """Every personal reminder due at ``now`` and not yet in the outbox, without the kinds
    their teachers switched off."""
    day = reminder_day(now, tz)
    found = [
        *await _surveys(session, now),
        *await _steps(session, day),
        *await _attestations(session, now, day),
        *await _qualifications(session, now, day, tz),
        *await _meetings(session, day),
        *await _checkins(session, day, tz),
    ]
    off = await switched_off(session, (d.user_id for d in found))
    found = [d for d in found if d.kind not in off.get(d.user_id, ())]
    sent = await _existing(session, [d.key for d in found])
    return [d for d in found if d.key not in sent]


async def cancel_stale(session: AsyncSession) -> int:
    """Cancel reminders still waiting to be sent (held for the quiet hours or the one a day)
    whose occasion has gone: the questionnaire was finished, the step done or closed, the
    pair closed, a meeting logged or a check-in given since. How many."""
    pending = (Outbox.status == OutboxStatus.PENDING.value, Outbox.reminder.is_(True))
    survey = exists(
        select(Attempt.id).where(
            _key("reminder:survey:", Attempt.id) == Outbox.key,
            Attempt.status == AttemptStatus.IN_PROGRESS.value,
        )
    )
    step = exists(
        select(RouteStep.id)
        .join(Route, Route.id == RouteStep.route_id)
        .where(
            or_(
                _key("reminder:step7:", RouteStep.id) == Outbox.key,
                _key("reminder:overdue:", RouteStep.id) == Outbox.key,
            ),
            RouteStep.status == StepStatus.PLANNED.value,
            Route.status == RouteStatus.ACTIVE.value,
        )
    )

    def pair_open(prefix: str, since: Any) -> ColumnElement[bool]:
        return exists(
            select(MentorPair.id).where(
                Outbox.key.like(_key(prefix, MentorPair.id) + ":%"),
                MentorPair.status == PairStatus.ACTIVE.value,
                ~since,
            )
        )

    meeting = pair_open(
        "reminder:meeting:",
        exists(
            select(MentorMeeting.id).where(
                MentorMeeting.pair_id == MentorPair.id, MentorMeeting.created_at > Outbox.due_at
            )
        ),
    )
    checkin = pair_open(
        "reminder:checkin:",
        exists(
            select(MentorCheckin.id).where(
                MentorCheckin.pair_id == MentorPair.id, MentorCheckin.created_at > Outbox.due_at
            )
        ),
    )
    cancelled = 0
    for kind, still in (
        ("survey", survey),
        ("route", step),
        ("meeting", meeting),
        ("checkin", checkin),
    ):
        result = await session.execute(
            update(Outbox)
            .where(*pending, Outbox.kind == outbox_kind(kind), ~still)
            .values(status=OutboxStatus.CANCELLED.value)
            .execution_options(synchronize_session=False)
        )
        cancelled += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return cancelled


# ---------- «Настройки» ----------


@dataclass(frozen=True)
class Switch:
    kind: str
    on: bool


@dataclass(frozen=True)
class SettingsView:
    switches: tuple[Switch, ...]


def _view(off: Iterable[str]) -> SettingsView:
    off_set = set(off)
    return SettingsView(tuple(Switch(k, k not in off_set) for k in KINDS))


async def settings_view(session: AsyncSession, user_id: int) -> SettingsView:
    row = await session.get(NotificationSettings, user_id)
    return _view(row.off if row else ())


async def toggle_kind(
    session: AsyncSession, user_id: int, index: int, now: datetime
) -> SettingsView:
    """Switch a reminder kind (by its index in :data:`KINDS`) on or off; the row is created
    on the first change. Switching off cancels that kind's reminders still waiting to be
    sent. Raises IndexError for an index that names no kind (a forged button)."""
    if not 0 <= index < len(KINDS):
        raise IndexError(index)
    kind = KINDS[index]
    row = await session.get(NotificationSettings, user_id)
    if row is None:
        row = NotificationSettings(user_id=user_id, off=[])
        session.add(row)
    off = [k for k in (row.off or []) if k in KINDS]
    if kind in off:
        off.remove(kind)
    else:
        off.append(kind)
        await session.execute(
            update(Outbox)
            .where(
                Outbox.user_id == user_id,
                Outbox.kind == outbox_kind(kind),
                Outbox.status == OutboxStatus.PENDING.value,
            )
            .values(status=OutboxStatus.CANCELLED.value)
        )
    row.off = [k for k in KINDS if k in off]  # a new list, in a stable order
    row.updated_at = now
    await session.flush()
    return _view(row.off)
