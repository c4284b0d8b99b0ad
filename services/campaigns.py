"""Survey campaigns: a methodist sends a questionnaire to the teachers of their scope with a
deadline and reminders, follows the progress by school, extends or closes it; the monitoring
calendar offers municipal methodists to launch the seeds' regular campaigns.

Rules
-----
- **Who.** A methodist launches for a scope they hold (a school, a municipality, the region)
  or one inside it; an admin for any. A campaign is visible to a methodist whose scope covers
  the campaign's whole scope (a school's methodist never sees a municipal campaign, which
  would show other schools); every function checks the ids it is given.
- **The audience** is ``campaign_members`` rows: active consented teachers (registered, not
  blocked) of the scope who match the filters (positions, subjects, young only) and the
  instrument's own audience, added at launch and by every tick while it runs (a teacher who
  registers meanwhile is invited; nobody is removed). A member who completed the instrument
  within its minimum interval is ``counted_before``: counted as answered, never asked.
- **Answered** = ``counted_before`` or an attempt of the instrument completed after the
  campaign started (``answered_at``, set by :func:`campaign_tick`). Progress is answered /
  members, by school, in SQL; a school with fewer than 5 members is not broken down.
- **Messages** go through the outbox only, keyed so that a tick running twice enqueues
  nothing new: ``campaign:<id>:invite:<user>``, ``campaign:<id>:remind:<n>:<user>``
  (``reminder=True``; the sender keeps quiet hours and one reminder per teacher per day),
  ``campaign:<id>:report``, ``calendar:<window>:<year>:<telegram id>``.
- **Reminders** (default: 3 days after the start and 1 day before the deadline) are planned
  days; on the most recent planned day that has come (an earlier day missed while the
  process was down is skipped, so a teacher never gets two at once) the tick enqueues one to
  every member who has not answered, due at :data:`MORNING` local time. A member who
  answers is filtered out at enqueue time, and their reminders still pending are cancelled
  by the next tick (an UPDATE of the outbox rows of that campaign with their ``user_id``).
  Reminder ``n`` is the plan's position, so after «Продлить» a reminder already sent is
  never sent again.
- **The deadline** is the last local day to answer: the first tick after it closes the
  campaign, cancels what is still pending and enqueues the methodist's short report (once).
  Closing early cancels the pending messages too (no report: the card shows the result).

Outbox keyboards are JSON (``InlineKeyboardMarkup`` as Telegram reads it); this module never
imports aiogram, so the callback strings of the buttons are written by the helpers below and
``tests/test_campaigns.py`` checks each against the handlers' CallbackData classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import Translator
from models import (
    Attempt,
    AttemptStatus,
    Campaign,
    CampaignMember,
    CampaignStatus,
    InstrumentVersion,
    Municipality,
    Outbox,
    OutboxStatus,
    Role,
    RoleName,
    School,
    ScopeKind,
    User,
    UserSubject,
)
from services.errors import Refusal
from services.instruments import InstrumentRegistry
from services.outbox import enqueue
from services.reference import (
    POSITIONS,
    PRESCHOOL,
    PRESCHOOL_KINDS,
    PRESCHOOL_POSITIONS,
    SUBJECT_POSITIONS,
    SUBJECTS,
    YOUNG_MAX_AGE,
    YOUNG_MAX_YEARS,
)
from services.roles import Access, Scope
from surveys.schema import Instrument

DEFAULT_AFTER = (3,)  # a reminder this many days after the start ...
DEFAULT_BEFORE = (1,)  # ... and this many days before the deadline
DEADLINE_CHOICES = (7, 14, 21, 30)  # «+7 / +14 / +21 / +30 дней» in the dialog
MAX_DAYS = 120  # the latest deadline, in days from today
EXTEND_DAYS = 7  # «Продлить на 7 дней»
MORNING = time(10, 0)  # local time reminders and calendar offers are due
SMALL_GROUP = 5  # a school with fewer members is not broken down
LIST_LIMIT = 20  # campaigns in the list: the active ones, then the latest closed
CALENDAR_FILE = Path(__file__).with_name("monitoring_calendar.yaml")

# callback strings of the buttons in outbox messages (see the module docstring)
MENU_DATA = "m:main"


def survey_open_data(instrument_id: str) -> str:
    """``handlers.surveys.callbacks.SurveyOpen(instrument=...)``, packed."""
    return f"qo:{instrument_id}"


def campaign_open_data(campaign_id: int) -> str:
    """``handlers.campaigns.callbacks.CampaignOpen(campaign=...)``, packed."""
    return f"cmo:{campaign_id}"


def window_launch_data(window: str, year: int, municipality_id: int) -> str:
    """``handlers.campaigns.callbacks.WindowLaunch(window=..., year=..., municipality=...)``."""
    return f"cmw:{window}:{year}:{municipality_id}"


def _keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> dict[str, Any]:
    return {
        "inline_keyboard": [
            [{"text": text, "callback_data": data} for text, data in row] for row in rows
        ]
    }


class CampaignRefusal(Refusal):
    """A refused launch or button; ``code`` is a ``campaigns.refused.*`` locale key."""


# ---------------------------------------------------------------- view models


@dataclass(frozen=True, slots=True)
class Filters:
    """Who of the scope is asked; empty tuples: anyone."""

    positions: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    young_only: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "positions": list(self.positions),
            "subjects": list(self.subjects),
            "young_only": self.young_only,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Filters:
        data = data or {}
        return cls(
            tuple(str(p) for p in data.get("positions") or ()),
            tuple(str(s) for s in data.get("subjects") or ()),
            bool(data.get("young_only")),
        )


@dataclass(frozen=True, slots=True)
class ScopeOption:
    """A scope a methodist may launch for; ``name`` None: the region."""

    kind: str
    school_id: int | None
    municipality_id: int | None
    name: str | None

    @property
    def scope(self) -> Scope:
        return Scope(ScopeKind(self.kind), self.school_id, self.municipality_id)


@dataclass(frozen=True, slots=True)
class SchoolProgress:
    school_id: int | None
    name: str | None  # None: teachers with no school
    answered: int
    invited: int
    suppressed: bool  # fewer than SMALL_GROUP members: shown as «< 5»


@dataclass(frozen=True, slots=True)
class CampaignCard:
    id: int
    instrument_id: str
    title: str
    scope_kind: str
    scope_name: str | None  # None: the region
    filters: Filters
    starts_on: date
    deadline: date
    status: str
    answered: int  # counted before + answered during the campaign
    invited: int  # all members
    counted_before: int
    schools: tuple[SchoolProgress, ...]
    reminders: tuple[date, ...]  # planned reminder days still to come
    window: str | None
    setting: str | None = None  # the instrument's staff (school / preschool), if it names one

    @property
    def active(self) -> bool:
        return self.status == CampaignStatus.ACTIVE.value


@dataclass(frozen=True, slots=True)
class CampaignLine:
    id: int
    title: str
    scope_name: str | None
    deadline: date
    status: str
    answered: int
    invited: int
    setting: str | None = None


@dataclass(frozen=True, slots=True)
class CampaignsView:
    items: tuple[CampaignLine, ...]


@dataclass(frozen=True, slots=True)
class Window:
    """A window of the monitoring calendar."""

    id: str
    instrument: str
    month: int
    day: int
    days: int
    title: str

    def opens(self, year: int) -> date:
        return date(year, self.month, self.day)


# ---------------------------------------------------------------- the audience


def _young(today: date) -> ColumnElement[bool]:
    """:func:`services.people.is_young` in SQL."""
    return and_(
        User.birth_year.is_not(None),
        User.teaching_since.is_not(None),
        User.birth_year > today.year - YOUNG_MAX_AGE,
        User.teaching_since >= today.year - YOUNG_MAX_YEARS,
    )


def _preschool() -> ColumnElement[bool]:
    """Pre-school staff (:func:`services.reference.setting_of`), never NULL: a воспитатель,
    or anyone in a kindergarten."""
    return or_(
        and_(User.position.is_not(None), User.position.in_(PRESCHOOL_POSITIONS)),
        and_(
            User.school_id.is_not(None),
            User.school_id.in_(select(School.id).where(School.kind.in_(PRESCHOOL_KINDS))),
        ),
    )


def _in_scope(scope: Scope) -> ColumnElement[bool]:
    if scope.kind == ScopeKind.SCHOOL:
        return User.school_id == scope.school_id
    if scope.kind == ScopeKind.MUNICIPALITY:
        return User.school_id.in_(
            select(School.id).where(School.municipality_id == scope.municipality_id)
        )
    return true()


def _done_since(user_id: Any, instrument_id: str, since: datetime) -> ColumnElement[bool]:
    return exists().where(
        Attempt.user_id == user_id,
        Attempt.instrument_id == instrument_id,
        Attempt.status == AttemptStatus.COMPLETED.value,
        Attempt.completed_at >= since,
    )


def _interval_start(inst: Instrument, now: datetime, tz: Any) -> datetime | None:
    """The earliest completion that still blocks a new attempt today (as
    :func:`services.surveys.availability` decides: completed date + interval > today)."""
    if not inst.min_interval_days:
        return None
    today = now.astimezone(tz).date()
    first = today - timedelta(days=inst.min_interval_days - 1)
    return datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)


def _audience(scope: Scope, filters: Filters, inst: Instrument, today: date) -> Select[Any]:
    """Active teachers of the scope matching the filters and the instrument's audience."""
    conditions: list[ColumnElement[bool]] = [
        User.registered_at.is_not(None),
        User.blocked_bot.is_(False),
        _in_scope(scope),
    ]
    if filters.positions:
        conditions.append(User.position.in_(filters.positions))
    if inst.audience.kind == "positions":
        conditions.append(User.position.in_(inst.audience.positions))
    if filters.young_only or inst.audience.kind == "young":
        conditions.append(_young(today))
    if inst.audience.setting is not None:
        preschool = _preschool()
        conditions.append(preschool if inst.audience.setting == PRESCHOOL else ~preschool)
    if filters.subjects:
        conditions.append(
            exists().where(
                UserSubject.user_id == User.id, UserSubject.subject.in_(filters.subjects)
            )
        )
    return select(User.id).where(*conditions)


def positions_for(inst: Instrument) -> tuple[str, ...]:
    """The positions a campaign of this instrument may be narrowed to."""
    if inst.audience.kind == "positions":
        return tuple(p for p in POSITIONS if p in inst.audience.positions)
    return POSITIONS


def subjects_allowed(inst: Instrument) -> bool:
    if inst.audience.setting == PRESCHOOL:  # воспитатели have no school subjects
        return False
    return inst.audience.kind != "positions" or bool(
        SUBJECT_POSITIONS & set(inst.audience.positions)
    )


@dataclass(frozen=True, slots=True)
class AudienceSize:
    asked: int  # members who get an invitation
    counted: int  # members already counted (answered within the instrument's interval)

    @property
    def total(self) -> int:
        return self.asked + self.counted


async def audience_size(
    session: AsyncSession,
    inst: Instrument,
    scope: Scope,
    filters: Filters,
    now: datetime,
    tz: Any,
) -> AudienceSize:
    people = _audience(scope, filters, inst, now.astimezone(tz).date()).subquery()
    since = _interval_start(inst, now, tz)
    counted = _done_since(people.c.id, inst.id, since) if since is not None else false()
    row = (
        await session.execute(
            select(
                func.count(), func.coalesce(func.sum(case((counted, 1), else_=0)), 0)
            ).select_from(people)
        )
    ).one()
    total, done = int(row[0]), int(row[1])
    return AudienceSize(total - done, done)


# ---------------------------------------------------------------- scopes and access


def _campaign_visible(access: Access) -> ColumnElement[bool]:
    """The campaigns whose whole scope the person's scopes cover."""
    if access.is_admin:
        return true()
    parts: list[ColumnElement[bool]] = []
    for s in access.methodist_scopes:
        if s.kind == ScopeKind.REGION:
            return true()
        if s.kind == ScopeKind.MUNICIPALITY:
            parts.append(Campaign.municipality_id == s.municipality_id)
        else:
            parts.append(Campaign.school_id == s.school_id)
    return or_(*parts) if parts else false()


async def _school_municipality(session: AsyncSession, school_id: int | None) -> int | None:
    if school_id is None:
        return None
    return await session.scalar(select(School.municipality_id).where(School.id == school_id))


async def _may_launch(session: AsyncSession, access: Access, scope: Scope) -> bool:
    if access.is_admin:
        return True
    if scope.kind == ScopeKind.SCHOOL:
        mun = await _school_municipality(session, scope.school_id)
        return mun is not None and access.covers_school(scope.school_id, mun)
    if scope.kind == ScopeKind.MUNICIPALITY:
        return any(
            s.kind == ScopeKind.REGION
            or (s.kind == ScopeKind.MUNICIPALITY and s.municipality_id == scope.municipality_id)
            for s in access.methodist_scopes
        )
    return any(s.kind == ScopeKind.REGION for s in access.methodist_scopes)


async def scope_options(session: AsyncSession, access: Access) -> tuple[ScopeOption, ...]:
    """The scopes the person launches for: their methodist scopes, the region first, then
    municipalities and schools by id (the dialog keeps an index into this list); an admin
    always has the region."""
    order = {ScopeKind.REGION: 0, ScopeKind.MUNICIPALITY: 1, ScopeKind.SCHOOL: 2}
    scopes = sorted(
        set(access.methodist_scopes),
        key=lambda s: (order[s.kind], s.municipality_id or 0, s.school_id or 0),
    )
    if access.is_admin and not any(s.kind == ScopeKind.REGION for s in scopes):
        scopes.insert(0, Scope(ScopeKind.REGION))
    school_ids = [s.school_id for s in scopes if s.school_id is not None]
    mun_ids = [s.municipality_id for s in scopes if s.municipality_id is not None]
    school_rows = await session.execute(
        select(School.id, School.short_name).where(School.id.in_(school_ids))
    )
    schools: dict[int, str] = {r[0]: r[1] for r in school_rows}
    mun_rows = await session.execute(
        select(Municipality.id, Municipality.name).where(Municipality.id.in_(mun_ids))
    )
    muns: dict[int, str] = {r[0]: r[1] for r in mun_rows}
    out: list[ScopeOption] = []
    for s in scopes:
        if s.kind == ScopeKind.SCHOOL:
            if s.school_id in schools:
                out.append(ScopeOption(s.kind.value, s.school_id, None, schools[s.school_id]))
        elif s.kind == ScopeKind.MUNICIPALITY:
            if s.municipality_id in muns:
                name = muns[s.municipality_id]
                out.append(ScopeOption(s.kind.value, None, s.municipality_id, name))
        else:
            out.append(ScopeOption(s.kind.value, None, None, None))
    return tuple(out)


# ---------------------------------------------------------------- launching


def _check_filters(inst: Instrument, filters: Filters) -> None:
    allowed = set(positions_for(inst))
    if any(p not in allowed for p in filters.positions):
        raise CampaignRefusal("campaigns.refused.not_for_audience")
    if filters.subjects and (
        not subjects_allowed(inst) or any(s not in SUBJECTS for s in filters.subjects)
    ):
        raise CampaignRefusal("campaigns.refused.not_for_audience")


def _check_deadline(deadline: date, today: date) -> None:
    if not today < deadline <= today + timedelta(days=MAX_DAYS):
        raise CampaignRefusal("campaigns.refused.deadline")


async def launch(
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    *,
    instrument_id: str,
    scope: Scope,
    filters: Filters,
    deadline: date,
    reminders: bool,
    now: datetime,
    tz: Any,
    window: str | None = None,
) -> CampaignCard:
    """Start a campaign: check the person, the instrument, the audience and the deadline,
    write the campaign and fix its members. The messages go out with the next
    :func:`campaign_tick`."""
    if not access.is_admin and not access.is_methodist:
        raise CampaignRefusal("campaigns.refused.gone")
    reg = registry.get(instrument_id)
    if reg is None:
        raise CampaignRefusal("campaigns.refused.unknown_instrument")
    inst = reg.instrument
    if not await _may_launch(session, access, scope):
        raise CampaignRefusal("campaigns.refused.scope")
    _check_filters(inst, filters)
    today = now.astimezone(tz).date()
    _check_deadline(deadline, today)
    size = await audience_size(session, inst, scope, filters, now, tz)
    if size.total == 0:
        raise CampaignRefusal("campaigns.refused.empty")
    municipality_id = scope.municipality_id
    if scope.kind == ScopeKind.SCHOOL:
        municipality_id = await _school_municipality(session, scope.school_id)
    campaign = Campaign(
        instrument_id=inst.id,
        school_id=scope.school_id if scope.kind == ScopeKind.SCHOOL else None,
        municipality_id=municipality_id if scope.kind != ScopeKind.REGION else None,
        filters=filters.to_json(),
        remind_after_days=list(DEFAULT_AFTER) if reminders else [],
        remind_before_days=list(DEFAULT_BEFORE) if reminders else [],
        starts_at=now.astimezone(UTC),
        deadline=deadline,
        status=CampaignStatus.ACTIVE.value,
        created_by=access.telegram_id,
        created_at=now.astimezone(UTC),
        window=window,
    )
    session.add(campaign)
    await session.flush()
    await _add_members(session, campaign, inst, now, tz)
    return await _card(session, registry, campaign, now, tz)


def _campaign_scope(campaign: Campaign) -> Scope:
    if campaign.school_id is not None:
        return Scope(ScopeKind.SCHOOL, campaign.school_id, campaign.municipality_id)
    if campaign.municipality_id is not None:
        return Scope(ScopeKind.MUNICIPALITY, None, campaign.municipality_id)
    return Scope(ScopeKind.REGION)


async def _add_members(
    session: AsyncSession, campaign: Campaign, inst: Instrument, now: datetime, tz: Any
) -> int:
    """Add the teachers of the campaign's audience who are not members yet: everyone at
    the launch; later, whoever registered (or moved into the scope) while it runs. A teacher
    who already answered within the instrument's interval is counted, not asked."""
    today = now.astimezone(tz).date()
    audience = _audience(
        _campaign_scope(campaign), Filters.from_json(campaign.filters), inst, today
    ).where(
        ~exists().where(
            CampaignMember.campaign_id == campaign.id, CampaignMember.user_id == User.id
        )
    )
    people = audience.subquery()
    since = _interval_start(inst, now, tz)
    counted = _done_since(people.c.id, inst.id, since) if since is not None else false()
    result = await session.execute(
        insert(CampaignMember).from_select(
            ["campaign_id", "user_id", "counted_before"],
            select(literal(campaign.id), people.c.id, counted).select_from(people),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------- reading


def _title(registry: InstrumentRegistry | None, instrument_id: str) -> str:
    reg = registry.get(instrument_id) if registry is not None else None
    return reg.instrument.title if reg is not None else instrument_id


def _setting(registry: InstrumentRegistry | None, instrument_id: str) -> str | None:
    reg = registry.get(instrument_id) if registry is not None else None
    return reg.instrument.audience.setting if reg is not None else None


def labelled(t: Translator, title: str, setting: str | None) -> str:
    """An instrument's title as a methodist sees it: with the staff it is for when it names a
    setting (the school and the kindergarten version of a questionnaire share a title), the
    staff first, so a button cut to its width still tells them apart."""
    return t(f"campaigns.setting.{setting}", title=title) if setting else title


def _answered() -> ColumnElement[int]:
    done = or_(CampaignMember.counted_before.is_(True), CampaignMember.answered_at.is_not(None))
    return func.coalesce(func.sum(case((done, 1), else_=0)), 0)


async def _scope_name(session: AsyncSession, campaign: Campaign) -> str | None:
    if campaign.school_id is not None:
        return await session.scalar(
            select(School.short_name).where(School.id == campaign.school_id)
        )
    if campaign.municipality_id is not None:
        return await session.scalar(
            select(Municipality.name).where(Municipality.id == campaign.municipality_id)
        )
    return None


def _scope_kind(campaign: Campaign) -> str:
    return _campaign_scope(campaign).kind.value


def plan(campaign: Campaign, tz: Any) -> list[tuple[int, date]]:
    """The reminder days ``(n, day)``: ``n`` is the position in the plan (after-days first,
    then before-days, from 1); days after the start day and up to the deadline; a day
    planned twice is kept once (the first)."""
    start = campaign.starts_at.astimezone(tz).date()
    days = [start + timedelta(days=int(d)) for d in campaign.remind_after_days or []]
    days += [campaign.deadline - timedelta(days=int(d)) for d in campaign.remind_before_days or []]
    out: list[tuple[int, date]] = []
    seen: set[date] = set()
    for n, day in enumerate(days, 1):
        if start < day <= campaign.deadline and day not in seen:
            seen.add(day)
            out.append((n, day))
    return out


async def _progress(session: AsyncSession, campaign_id: int) -> list[SchoolProgress]:
    rows = (
        await session.execute(
            select(School.id, School.short_name, _answered(), func.count(CampaignMember.id))
            .select_from(CampaignMember)
            .join(User, User.id == CampaignMember.user_id)
            .outerjoin(School, School.id == User.school_id)
            .where(CampaignMember.campaign_id == campaign_id)
            .group_by(School.id, School.short_name)
            .order_by(School.short_name)
        )
    ).all()
    return [
        SchoolProgress(sid, name, int(done), int(total), int(total) < SMALL_GROUP)
        for sid, name, done, total in rows
    ]


async def _card(
    session: AsyncSession,
    registry: InstrumentRegistry | None,
    campaign: Campaign,
    now: datetime,
    tz: Any,
) -> CampaignCard:
    schools = await _progress(session, campaign.id)
    counted = await session.scalar(
        select(func.count()).where(
            CampaignMember.campaign_id == campaign.id, CampaignMember.counted_before.is_(True)
        )
    )
    today = now.astimezone(tz).date()
    return CampaignCard(
        id=campaign.id,
        instrument_id=campaign.instrument_id,
        title=_title(registry, campaign.instrument_id),
        setting=_setting(registry, campaign.instrument_id),
        scope_kind=_scope_kind(campaign),
        scope_name=await _scope_name(session, campaign),
        filters=Filters.from_json(campaign.filters),
        starts_on=campaign.starts_at.astimezone(tz).date(),
        deadline=campaign.deadline,
        status=campaign.status,
        answered=sum(s.answered for s in schools),
        invited=sum(s.invited for s in schools),
        counted_before=int(counted or 0),
        schools=tuple(schools),
        reminders=tuple(d for _, d in plan(campaign, tz) if d >= today)
        if campaign.status == CampaignStatus.ACTIVE.value
        else (),
        window=campaign.window,
    )


async def _visible(session: AsyncSession, access: Access, campaign_id: int) -> Campaign:
    campaign = await session.scalar(
        select(Campaign).where(Campaign.id == campaign_id, _campaign_visible(access))
    )
    if campaign is None:
        raise CampaignRefusal("campaigns.refused.gone")
    return campaign


async def campaign_card(
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    campaign_id: int,
    now: datetime,
    tz: Any,
) -> CampaignCard:
    """A campaign with its progress by school, if the person's scope covers it."""
    campaign = await _visible(session, access, campaign_id)
    await _mark_answered(session, campaign)
    return await _card(session, registry, campaign, now, tz)


async def campaigns_of(
    session: AsyncSession, access: Access, registry: InstrumentRegistry
) -> CampaignsView:
    """The campaigns the person sees: active first (nearest deadline), then the latest
    closed, with answered / invited (one statement)."""
    active = Campaign.status == CampaignStatus.ACTIVE.value
    rows = (
        await session.execute(
            select(
                Campaign.id,
                Campaign.instrument_id,
                Campaign.deadline,
                Campaign.status,
                func.coalesce(School.short_name, Municipality.name),
                Campaign.school_id,
                Campaign.municipality_id,
                select(_answered())
                .where(CampaignMember.campaign_id == Campaign.id)
                .scalar_subquery(),
                select(func.count(CampaignMember.id))
                .where(CampaignMember.campaign_id == Campaign.id)
                .scalar_subquery(),
            )
            .outerjoin(School, School.id == Campaign.school_id)
            .outerjoin(Municipality, Municipality.id == Campaign.municipality_id)
            .where(_campaign_visible(access))
            .order_by(
                case((active, 0), else_=1),
                case((active, Campaign.deadline), else_=None),
                Campaign.id.desc(),
            )
            .limit(LIST_LIMIT)
        )
    ).all()
    return CampaignsView(
        tuple(
            CampaignLine(
                id=r[0],
                title=_title(registry, r[1]),
                setting=_setting(registry, r[1]),
                scope_name=r[4] if (r[5] is not None or r[6] is not None) else None,
                deadline=r[2],
                status=r[3],
                answered=int(r[7] or 0),
                invited=int(r[8] or 0),
            )
            for r in rows
        )
    )


# ---------------------------------------------------------------- extend, close


async def _cancel_pending(session: AsyncSession, campaign_id: int) -> None:
    """Invitations and reminders of a closed campaign that were not sent yet."""
    prefix = f"campaign:{campaign_id}:"
    await session.execute(
        update(Outbox)
        .where(
            Outbox.status == OutboxStatus.PENDING.value,
            or_(
                Outbox.key.startswith(prefix + "invite:"),
                Outbox.key.startswith(prefix + "remind:"),
            ),
        )
        .values(status=OutboxStatus.CANCELLED.value)
        .execution_options(synchronize_session=False)
    )


async def extend(
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    campaign_id: int,
    now: datetime,
    tz: Any,
    days: int = EXTEND_DAYS,
) -> CampaignCard:
    """Move an active campaign's deadline ``days`` later."""
    campaign = await _visible(session, access, campaign_id)
    if campaign.status != CampaignStatus.ACTIVE.value:
        raise CampaignRefusal("campaigns.refused.closed")
    today = now.astimezone(tz).date()
    new = max(campaign.deadline, today) + timedelta(days=days)
    _check_deadline(new, today)
    campaign.deadline = new
    await session.flush()
    return await campaign_card(session, access, registry, campaign_id, now, tz)


async def close(
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    campaign_id: int,
    now: datetime,
    tz: Any,
) -> CampaignCard:
    """Close an active campaign now: nothing more is sent for it."""
    campaign = await _visible(session, access, campaign_id)
    if campaign.status != CampaignStatus.ACTIVE.value:
        raise CampaignRefusal("campaigns.refused.closed")
    await _mark_answered(session, campaign)
    campaign.status = CampaignStatus.CLOSED.value
    campaign.closed_at = now.astimezone(UTC)
    await session.flush()
    await _cancel_pending(session, campaign.id)
    return await _card(session, registry, campaign, now, tz)


# ---------------------------------------------------------------- the tick


async def _mark_answered(session: AsyncSession, campaign: Campaign) -> None:
    """``answered_at`` of members who completed the instrument since the campaign started."""
    done = and_(
        Attempt.user_id == CampaignMember.user_id,
        Attempt.instrument_id == campaign.instrument_id,
        Attempt.status == AttemptStatus.COMPLETED.value,
        Attempt.completed_at >= campaign.starts_at,
    )
    first = select(func.min(Attempt.completed_at)).where(done).scalar_subquery()
    await session.execute(
        update(CampaignMember)
        .where(
            CampaignMember.campaign_id == campaign.id,
            CampaignMember.answered_at.is_(None),
            exists().where(done),
        )
        .values(answered_at=first)
        .execution_options(synchronize_session=False)
    )


async def _cancel_answered(session: AsyncSession, campaign_id: int) -> None:
    """Pending reminders of members who have answered (or were counted)."""
    settled = select(CampaignMember.user_id).where(
        CampaignMember.campaign_id == campaign_id,
        or_(CampaignMember.answered_at.is_not(None), CampaignMember.counted_before.is_(True)),
    )
    await session.execute(
        update(Outbox)
        .where(
            Outbox.status == OutboxStatus.PENDING.value,
            Outbox.key.startswith(f"campaign:{campaign_id}:remind:"),
            Outbox.user_id.in_(settled),
        )
        .values(status=OutboxStatus.CANCELLED.value)
        .execution_options(synchronize_session=False)
    )


_PARSED: dict[tuple[int, str], Instrument] = {}
"""Stored definitions already parsed, by (version row, digest): a tick reads two short
columns, not the whole definition, every minute."""


async def _current_instrument(session: AsyncSession, instrument_id: str) -> Instrument | None:
    """The newest stored version of an instrument (stored when the bot starts)."""
    row = (
        await session.execute(
            select(InstrumentVersion.id, InstrumentVersion.digest)
            .where(InstrumentVersion.instrument_id == instrument_id)
            .order_by(InstrumentVersion.version.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    key = (row[0], row[1])
    inst = _PARSED.get(key)
    if inst is None:
        definition = await session.scalar(
            select(InstrumentVersion.definition).where(InstrumentVersion.id == row[0])
        )
        inst = _PARSED[key] = Instrument.model_validate(definition)
    return inst


def _key(prefix: str) -> ColumnElement[str]:
    return literal(prefix, String) + cast(CampaignMember.user_id, String)


def _waiting(
    campaign: Campaign, key_prefix: str, invited_before: datetime | None = None
) -> Select[Any]:
    """Members not answered, not counted, not blocked, with no outbox row ``prefix<user>``;
    with ``invited_before``, only those whose invitation was made before that moment (a
    teacher who joined today is not reminded on the day of the invitation)."""
    query = (
        select(CampaignMember.user_id, User.telegram_id, User.language)
        .join(User, User.id == CampaignMember.user_id)
        .where(
            CampaignMember.campaign_id == campaign.id,
            CampaignMember.counted_before.is_(False),
            CampaignMember.answered_at.is_(None),
            User.blocked_bot.is_(False),
            ~exists().where(Outbox.key == _key(key_prefix)),
        )
        .order_by(CampaignMember.user_id)
    )
    if invited_before is not None:
        query = query.where(
            ~exists().where(
                Outbox.key == _key(f"campaign:{campaign.id}:invite:"),
                Outbox.due_at >= invited_before,
            )
        )
    return query


def _local(day: date, at: time, tz: Any) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


class _Texts:
    """Translators by language, made once per tick."""

    def __init__(self, tz: Any) -> None:
        self.tz = tz
        self._by: dict[str, Translator] = {}

    def __call__(self, language: str | None) -> Translator:
        lang = language or "ru"
        if lang not in self._by:
            self._by[lang] = Translator(lang, self.tz)
        return self._by[lang]


def _teacher_message(
    t: Translator, kind: str, title: str, instrument_id: str, deadline: date
) -> tuple[str, dict[str, Any]]:
    text = t(f"campaigns.{kind}", title=_esc(title), deadline=t.date(deadline))
    keyboard = _keyboard(
        [
            [(t("campaigns.open_survey"), survey_open_data(instrument_id))],
            [(t("menu.to_main"), MENU_DATA)],
        ]
    )
    return text, keyboard


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def _invite(
    session: AsyncSession, campaign: Campaign, inst: Instrument, texts: _Texts, now: datetime
) -> int:
    prefix = f"campaign:{campaign.id}:invite:"
    added = 0
    for user_id, telegram_id, language in (await session.execute(_waiting(campaign, prefix))).all():
        text, keyboard = _teacher_message(
            texts(language), "invite", inst.title, inst.id, campaign.deadline
        )
        added += await enqueue(
            session,
            key=f"{prefix}{user_id}",
            kind="campaign.invite",
            telegram_id=telegram_id,
            user_id=user_id,
            text=text,
            keyboard=keyboard,
            due_at=now,
        )
    return added


async def _remind(
    session: AsyncSession,
    campaign: Campaign,
    inst: Instrument,
    texts: _Texts,
    today: date,
    tz: Any,
) -> int:
    due = [(n, day) for n, day in plan(campaign, tz) if day <= today]
    if not due:
        return 0
    n, day = max(due, key=lambda item: item[1])
    if day < today:
        return 0  # its day is over (the process was down): the next planned one follows
    prefix = f"campaign:{campaign.id}:remind:{n}:"
    waiting = _waiting(campaign, prefix, invited_before=_local(day, time(0), tz))
    added = 0
    for user_id, telegram_id, language in (await session.execute(waiting)).all():
        text, keyboard = _teacher_message(
            texts(language), "remind", inst.title, inst.id, campaign.deadline
        )
        added += await enqueue(
            session,
            key=f"{prefix}{user_id}",
            kind="campaign.remind",
            telegram_id=telegram_id,
            user_id=user_id,
            text=text,
            keyboard=keyboard,
            due_at=_local(day, MORNING, tz),
            reminder=True,
        )
    return added


async def _report(
    session: AsyncSession,
    campaign: Campaign,
    inst: Instrument | None,
    texts: _Texts,
    now: datetime,
    tz: Any,
) -> int:
    if not campaign.created_by:  # the methodist deleted their data: nobody to report to
        return 0
    language = await session.scalar(
        select(User.language).where(User.telegram_id == campaign.created_by)
    )
    t = texts(language)
    card = await _card(session, None, campaign, now, tz)
    if inst is not None:
        card = replace(card, title=inst.title, setting=inst.audience.setting)
    text = report_text(card, t)
    keyboard = _keyboard(
        [
            [(t("campaigns.open_card"), campaign_open_data(campaign.id))],
            [(t("menu.to_main"), MENU_DATA)],
        ]
    )
    return int(
        await enqueue(
            session,
            key=f"campaign:{campaign.id}:report",
            kind="campaign.report",
            telegram_id=campaign.created_by,
            text=text,
            keyboard=keyboard,
            due_at=now,
        )
    )


def percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}" if whole else "0"


def progress_lines(card: CampaignCard, t: Translator, limit: int = 3000) -> list[str]:
    """One line per school («< 5» for a small one), within ``limit`` characters."""
    lines: list[str] = []
    used = 0
    for n, s in enumerate(card.schools):
        name = _esc(s.name) if s.name else t("campaigns.no_school")
        line = (
            t("campaigns.school_small", school=name)
            if s.suppressed
            else t(
                "campaigns.school_line",
                school=name,
                answered=s.answered,
                invited=s.invited,
                percent=percent(s.answered, s.invited),
            )
        )
        if used + len(line) > limit:
            lines.append(t("campaigns.more_schools", count=len(card.schools) - n))
            break
        used += len(line) + 1
        lines.append(line)
    return lines


def report_text(card: CampaignCard, t: Translator) -> str:
    """The methodist's short report at the deadline."""
    head = t(
        "campaigns.report",
        title=_esc(labelled(t, card.title, card.setting)),
        scope=_esc(card.scope_name) if card.scope_name else t("campaigns.scope_region"),
        starts=t.date(card.starts_on),
        deadline=t.date(card.deadline),
        answered=card.answered,
        invited=card.invited,
        percent=percent(card.answered, card.invited),
        counted=card.counted_before,
    )
    lines = progress_lines(card, t) if card.scope_kind != ScopeKind.SCHOOL.value else []
    return head + ("\n\n" + "\n".join(lines) if lines else "")


async def campaign_tick(session: AsyncSession, now: datetime, settings: Settings) -> int:
    """Every minute: mark who answered, cancel their reminders, close campaigns past their
    deadline (with the methodist's report), enqueue invitations and the reminders of the day.
    Returns how many messages were enqueued; running it twice enqueues nothing new."""
    tz = settings.tz
    today = now.astimezone(tz).date()
    texts = _Texts(tz)
    campaigns = (
        await session.scalars(
            select(Campaign)
            .where(Campaign.status == CampaignStatus.ACTIVE.value)
            .order_by(Campaign.id)
        )
    ).all()
    added = 0
    for campaign in campaigns:
        await _mark_answered(session, campaign)
        await _cancel_answered(session, campaign.id)
        inst = await _current_instrument(session, campaign.instrument_id)
        if campaign.deadline < today:
            campaign.status = CampaignStatus.CLOSED.value
            campaign.closed_at = now.astimezone(UTC)
            await session.flush()
            await _cancel_pending(session, campaign.id)
            added += await _report(session, campaign, inst, texts, now, tz)
            continue
        if inst is None:
            continue  # the instrument's file is gone: nothing to open
        await _add_members(session, campaign, inst, now, tz)  # teachers who came meanwhile
        added += await _invite(session, campaign, inst, texts, now)
        added += await _remind(session, campaign, inst, texts, today, tz)
    return added


# ---------------------------------------------------------------- the monitoring calendar


@cache
def windows(path: Path = CALENDAR_FILE) -> tuple[Window, ...]:
    """The windows of the monitoring calendar file (validated: ids, dates, durations)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: list[Window] = []
    for item in raw.get("windows") or []:
        w = Window(
            id=str(item["id"]),
            instrument=str(item["instrument"]),
            month=int(item["month"]),
            day=int(item["day"]),
            days=int(item["days"]),
            title=str(item.get("title") or item["id"]),
        )
        if not (w.id.replace("_", "").isalnum() and w.id.isascii() and len(w.id) <= 20):
            raise ValueError(f"{path.name}: window id {w.id!r}")
        date(2024, w.month, w.day)  # raises on an impossible date
        if not 1 <= w.days <= MAX_DAYS:
            raise ValueError(f"{path.name}: window {w.id}: days {w.days}")
        out.append(w)
    if len({w.id for w in out}) != len(out):
        raise ValueError(f"{path.name}: window ids repeat")
    return tuple(out)


def window_by_id(window_id: str) -> Window | None:
    return next((w for w in windows() if w.id == window_id), None)


def open_windows(today: date) -> list[tuple[Window, int]]:
    """Windows open today with the year they opened: from their day for ``days`` days."""
    out: list[tuple[Window, int]] = []
    for w in windows():
        for year in (today.year - 1, today.year):
            opens = w.opens(year)
            if opens <= today < opens + timedelta(days=w.days):
                out.append((w, year))
    return out


def window_tag(window: Window, year: int) -> str:
    return f"{window.id}-{year}"


async def calendar_tick(session: AsyncSession, today: date, settings: Settings) -> int:
    """Daily: when a window of the monitoring calendar is open, offer every municipal
    methodist a one-tap launch (once per window, year and methodist; not when their
    municipality already runs that window's campaign). Returns how many offers."""
    tz = settings.tz
    texts = _Texts(tz)
    added = 0
    for window, year in open_windows(today):
        inst = await _current_instrument(session, window.instrument)
        if inst is None:
            continue
        rows = (
            await session.execute(
                select(Role.telegram_id, Role.municipality_id, Municipality.name, User.language)
                .join(Municipality, Municipality.id == Role.municipality_id)
                .outerjoin(User, User.telegram_id == Role.telegram_id)
                .where(
                    Role.role == RoleName.METHODIST.value,
                    Role.scope == ScopeKind.MUNICIPALITY.value,
                    ~exists().where(
                        Campaign.window == window_tag(window, year),
                        Campaign.municipality_id == Role.municipality_id,
                        Campaign.school_id.is_(None),
                    ),
                )
                .order_by(Role.telegram_id, Role.municipality_id)
            )
        ).all()
        deadline = max(today, window.opens(year)) + timedelta(days=window.days)
        for telegram_id, municipality_id, mun_name, language in rows:
            t = texts(language)
            key = f"calendar:{window.id}:{year}:{telegram_id}"
            text = t(
                "campaigns.offer",
                window=_esc(_window_title(t, window)),
                title=_esc(labelled(t, inst.title, inst.audience.setting)),
                scope=_esc(mun_name),
                deadline=t.date(deadline),
            )
            keyboard = _keyboard(
                [
                    [
                        (
                            t("campaigns.offer_launch"),
                            window_launch_data(window.id, year, municipality_id),
                        )
                    ],
                    [(t("menu.to_main"), MENU_DATA)],
                ]
            )
            added += await enqueue(
                session,
                key=key,
                kind="campaign.offer",
                telegram_id=telegram_id,
                text=text,
                keyboard=keyboard,
                due_at=_local(today, MORNING, tz),
            )
    return added


def _window_title(t: Translator, window: Window) -> str:
    key = f"campaigns.window.{window.id}"
    return t(key) if t.has(key) else window.title


async def launch_window(
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    window_id: str,
    year: int,
    municipality_id: int,
    now: datetime,
    tz: Any,
) -> CampaignCard:
    """«Запустить» under a calendar offer: the window's campaign for the municipality with
    the defaults (everyone, default reminders, the window's duration). A second tap shows
    the campaign already launched."""
    window = window_by_id(window_id)
    if window is None:
        raise CampaignRefusal("campaigns.refused.gone")
    scope = Scope(ScopeKind.MUNICIPALITY, None, municipality_id)
    if not await _may_launch(session, access, scope):
        raise CampaignRefusal("campaigns.refused.gone")
    tag = window_tag(window, year)
    existing = await session.scalar(
        select(Campaign.id).where(
            Campaign.window == tag,
            Campaign.municipality_id == municipality_id,
            Campaign.school_id.is_(None),
        )
    )
    if existing is not None:
        return await campaign_card(session, access, registry, existing, now, tz)
    today = now.astimezone(tz).date()
    if (window, year) not in open_windows(today):
        raise CampaignRefusal("campaigns.refused.window_over")
    return await launch(
        session,
        access,
        registry,
        instrument_id=window.instrument,
        scope=scope,
        filters=Filters(),
        deadline=today + timedelta(days=window.days),
        reminders=True,
        now=now,
        tz=tz,
        window=tag,
    )


# ---------------------------------------------------------------- the «Новая кампания» dialog

AUDIENCES = ("all", "young", "position", "subject")


@dataclass(frozen=True, slots=True)
class Draft:
    """The answers of the dialog so far (kept as JSON in the conversation data)."""

    instrument: str | None = None
    scope: int | None = None  # index into scope_options()
    audience: str | None = None  # one of AUDIENCES
    position: str | None = None
    subject: str | None = None
    deadline: date | None = None
    reminders: bool | None = None

    def to_data(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "scope": self.scope,
            "audience": self.audience,
            "position": self.position,
            "subject": self.subject,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "reminders": self.reminders,
        }

    @classmethod
    def from_data(cls, data: Any) -> Draft:
        if not isinstance(data, dict):
            return cls()
        try:
            deadline = date.fromisoformat(data["deadline"]) if data.get("deadline") else None
        except (TypeError, ValueError):
            deadline = None
        return cls(
            instrument=data.get("instrument"),
            scope=data.get("scope") if isinstance(data.get("scope"), int) else None,
            audience=data.get("audience") if data.get("audience") in AUDIENCES else None,
            position=data.get("position"),
            subject=data.get("subject"),
            deadline=deadline,
            reminders=data.get("reminders") if isinstance(data.get("reminders"), bool) else None,
        )

    @property
    def filters(self) -> Filters:
        return Filters(
            positions=(self.position,) if self.audience == "position" and self.position else (),
            subjects=(self.subject,) if self.audience == "subject" and self.subject else (),
            young_only=self.audience == "young",
        )


def next_step(draft: Draft) -> str:
    """The step to ask: instrument, scope, audience, position, subject, deadline, reminders,
    summary."""
    if draft.instrument is None:
        return "instrument"
    if draft.scope is None:
        return "scope"
    if draft.audience is None:
        return "audience"
    if draft.audience == "position" and draft.position is None:
        return "position"
    if draft.audience == "subject" and draft.subject is None:
        return "subject"
    if draft.deadline is None:
        return "deadline"
    if draft.reminders is None:
        return "reminders"
    return "summary"


@dataclass(frozen=True, slots=True)
class DialogView:
    step: str
    draft: Draft
    today: date
    instruments: tuple[tuple[str, str, str | None], ...] = ()  # (id, title, setting)
    scopes: tuple[ScopeOption, ...] = ()
    positions: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    audiences: tuple[str, ...] = AUDIENCES
    title: str = ""  # the chosen instrument's
    setting: str | None = None  # the chosen instrument's staff, if it names one
    scope: ScopeOption | None = None
    size: AudienceSize | None = None  # on the summary

    @property
    def latest(self) -> date:
        return self.today + timedelta(days=MAX_DAYS)


def choose(draft: Draft, field: str, value: Any, today: date) -> Draft:
    """One answer of the dialog, checked (a stale or forged value raises); the steps after
    it are asked again when it changes what they may be."""
    if field == "instrument":
        return Draft(instrument=str(value))
    if field == "scope":
        return replace(draft, scope=int(value))
    if field == "audience":
        if value not in AUDIENCES:
            raise CampaignRefusal("common.stale")
        return replace(draft, audience=value, position=None, subject=None)
    if field == "position":
        if value not in POSITIONS:
            raise CampaignRefusal("common.stale")
        return replace(draft, position=value)
    if field == "subject":
        if value not in SUBJECTS:
            raise CampaignRefusal("common.stale")
        return replace(draft, subject=value)
    if field == "deadline":
        _check_deadline(value, today)
        return replace(draft, deadline=value)
    if field == "reminders":
        return replace(draft, reminders=bool(value))
    raise CampaignRefusal("common.stale")


async def dialog(
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    draft: Draft,
    now: datetime,
    tz: Any,
) -> DialogView:
    """What the dialog shows next for ``draft``: the options of its step, or the summary
    with the audience size. A draft no longer valid (an instrument gone, a scope lost)
    starts again at that step."""
    today = now.astimezone(tz).date()
    scopes = await scope_options(session, access)
    if not scopes:
        raise CampaignRefusal("campaigns.refused.gone")
    instruments = tuple(
        (r.instrument.id, r.instrument.title, r.instrument.audience.setting)
        for r in registry.ordered()
    )
    reg = registry.get(draft.instrument) if draft.instrument else None
    if reg is None:
        draft = Draft()
    if draft.scope is not None and not 0 <= draft.scope < len(scopes):
        draft = replace(draft, scope=None)
    if draft.scope is None and len(scopes) == 1 and reg is not None:
        draft = replace(draft, scope=0)
    if draft.deadline is not None and not today < draft.deadline <= today + timedelta(
        days=MAX_DAYS
    ):
        draft = replace(draft, deadline=None)
    base = DialogView(step="instrument", draft=draft, today=today, instruments=instruments)
    if reg is None:
        return base
    inst = reg.instrument
    scope = scopes[draft.scope] if draft.scope is not None else None
    audiences = tuple(
        a
        for a in AUDIENCES
        if not (a == "subject" and not subjects_allowed(inst))
        and not (a == "young" and inst.audience.kind == "young")
    )
    if draft.audience is not None and draft.audience not in audiences:
        draft = replace(draft, audience=None, position=None, subject=None)
    if draft.audience == "position" and draft.position not in (None, *positions_for(inst)):
        draft = replace(draft, position=None)
    view = replace(
        base,
        step=next_step(draft),
        draft=draft,
        scopes=scopes,
        positions=positions_for(inst),
        subjects=SUBJECTS,
        audiences=audiences,
        title=inst.title,
        setting=inst.audience.setting,
        scope=scope,
    )
    if view.step == "summary" and scope is not None:
        size = await audience_size(session, inst, scope.scope, draft.filters, now, tz)
        view = replace(view, size=size)
    return view


async def launch_draft(
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    draft: Draft,
    now: datetime,
    tz: Any,
) -> CampaignCard:
    """«Запустить» on the summary."""
    view = await dialog(session, access, registry, draft, now, tz)
    if view.step != "summary" or view.scope is None or view.draft.deadline is None:
        raise CampaignRefusal("common.stale")
    d = view.draft
    assert d.instrument is not None
    return await launch(
        session,
        access,
        registry,
        instrument_id=d.instrument,
        scope=view.scope.scope,
        filters=d.filters,
        deadline=d.deadline,  # type: ignore[arg-type]
        reminders=bool(d.reminders),
        now=now,
        tz=tz,
    )


def previous(draft: Draft, single_scope: bool) -> Draft:
    """The draft one step back: the last answer is asked again."""
    step = next_step(draft)
    if step == "summary":
        return replace(draft, reminders=None)
    if step == "reminders":
        return replace(draft, deadline=None)
    if step == "deadline":
        if draft.audience == "position":
            return replace(draft, position=None)
        if draft.audience == "subject":
            return replace(draft, subject=None)
        return replace(draft, audience=None)
    if step in ("position", "subject"):
        return replace(draft, audience=None)
    if step == "audience" and not single_scope:
        return replace(draft, scope=None)
    return Draft()


async def dialog_back(
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    draft: Draft,
    now: datetime,
    tz: Any,
) -> DialogView:
    """«⬅️ Назад» in the dialog."""
    view = await dialog(session, access, registry, draft, now, tz)
    back = previous(view.draft, len(view.scopes) == 1)
    return await dialog(session, access, registry, back, now, tz)
