"""Teachers: consent, the registration dialog, the profile, export and deletion.

The registration dialog keeps its answers in the teacher's own row: each step is written as
it is answered, and the step to ask is derived from what is still missing
(:func:`next_step`), so a restart in the middle continues at the right step. The dialog's
few extras (the school filter, subjects ticked but not saved, "editing from the profile")
are a :class:`Draft` kept in the FSM data by the handlers.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import BigInteger, Select, String, bindparam, delete, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from models import (
    LIVE_REQUEST,
    Answer,
    Attempt,
    Campaign,
    CampaignMember,
    CatalogItem,
    Course,
    FsmRecord,
    MentorCheckin,
    MentorMeeting,
    MentorOffer,
    MentorPair,
    MentorProfile,
    MentorRequest,
    NotificationSettings,
    Outbox,
    PairStatus,
    Provider,
    Role,
    Route,
    ScaleResult,
    School,
    User,
    UserSubject,
)
from models.db import wipe_wal_after_commit
from models.driver import Statement
from models.work import Work
from services.consent import CONSENT_VERSION
from services.errors import Refusal
from services.facts import pair_partners, teachers_changed, teachers_status
from services.reference import (
    CATEGORIES,
    POSITIONS,
    SUBJECT_POSITIONS,
    SUBJECTS,
    YOUNG_MAX_AGE,
    YOUNG_MAX_YEARS,
)
from services.roles import Access
from services.schools import school_by_code, search_schools


class HasYears(Protocol):
    @property
    def birth_year(self) -> int | None: ...

    @property
    def teaching_since(self) -> int | None: ...


def is_young(person: HasYears, today: date) -> bool:
    """Derived, never asked: under 35 and at most 3 years of teaching (by calendar years)."""
    if person.birth_year is None or person.teaching_since is None:
        return False
    age = today.year - person.birth_year
    years = today.year - person.teaching_since
    return age < YOUNG_MAX_AGE and years <= YOUNG_MAX_YEARS


def asks_subjects(position: str | None) -> bool:
    return position in SUBJECT_POSITIONS


@dataclass(frozen=True, slots=True)
class Person:
    """Who sent an update, as most handlers need it: read once per update, with the roles
    and the conversation state, in one Core statement (:func:`load_context`). A handler that
    needs the whole row (school, subjects, profile fields) asks for ``user`` and gets it
    loaded by :func:`load_user`."""

    id: int
    telegram_id: int
    language: str
    full_name: str | None
    registered: bool
    consent_version: int  # the edition of the consent text agreed (services.consent)


@dataclass(frozen=True, slots=True)
class RoleRow:
    role: str
    scope: str
    school_id: int | None
    municipality_id: int | None


@dataclass(frozen=True, slots=True)
class UpdateContext:
    person: Person | None  # None: no row (no consent yet)
    roles: tuple[RoleRow, ...]
    conversation: tuple[str | None, dict[str, Any]]  # (state, data) of the FSM key asked for
    along: Sequence[Any] | None = None  # the row of the read along (:class:`ReadAlong`)


@dataclass(frozen=True)
class MenuView:
    """What the main menu needs to know of a person."""

    exists: bool  # agreed to data processing
    registered: bool  # finished registration
    name: str  # how to address the person: «Имя Отчество» (:func:`address_name`)
    manages_catalog: bool
    methodist: bool = False  # a methodist (or admin): the mentoring requests of their scope
    ask_mentor: bool = False  # a young teacher with no request or mentor: «Хочу наставника»


def address_name(full_name: str | None) -> str:
    """How a Russian school addresses a colleague: «Имя Отчество» of «Фамилия Имя Отчество»
    («Мария Петровна»); the first name alone when there is no patronymic."""
    words = (full_name or "").split()
    return " ".join(words[1:3]) if len(words) > 1 else (words[0] if words else "")


def menu_view(person: User | Person | None, access: Access | None = None) -> MenuView:
    if person is None:
        return MenuView(False, False, "", False)
    name = address_name(person.full_name)
    registered = (
        person.registered if isinstance(person, Person) else person.registered_at is not None
    )
    manages = access is not None and access.manages_catalog
    methodist = access is not None and (access.is_methodist or access.is_admin)
    return MenuView(True, registered, name, manages, methodist)


async def menu_of(
    session: AsyncSession, user: User | None, access: Access | None, today: date
) -> MenuView:
    """The main menu of a person; a young teacher with no live request for a mentor and no
    mentor gets «Хочу наставника» in it."""
    view = menu_view(user, access)
    if user is None or user.registered_at is None or not is_young(user, today):
        return view
    live = select(MentorRequest.id).where(
        MentorRequest.mentee_id == user.id,
        MentorRequest.status.in_([s.value for s in LIVE_REQUEST]),
    )
    paired = select(MentorPair.id).where(
        MentorPair.mentee_id == user.id, MentorPair.status == PairStatus.ACTIVE.value
    )
    found = await session.scalar(live.union_all(paired).limit(1))
    return replace(view, ask_mentor=found is None)


# Built once (building a statement costs more than running it). A one-row source joined
# to the person, their roles (granted by Telegram id, so a stranger may have some) and one
# conversation row: one row per role, at least one row.
_ONE = select(literal(1).label("one")).subquery("one")
_CONTEXT_SELECT = (
    select(
        User.id,
        User.language,
        User.full_name,
        User.registered_at.is_not(None).label("registered"),
        User.consent_version,
        Role.role,
        Role.scope,
        Role.school_id,
        Role.municipality_id,
        FsmRecord.state,
        FsmRecord.data,
        FsmRecord.key,
    )
    .select_from(_ONE)
    .outerjoin(User, User.telegram_id == bindparam("telegram_id", type_=BigInteger))
    .outerjoin(Role, Role.telegram_id == bindparam("telegram_id", type_=BigInteger))
    .outerjoin(FsmRecord, FsmRecord.key == bindparam("key", type_=String))
)
_CONTEXT = Statement(_CONTEXT_SELECT)


_CONTEXT_WIDTH = len(_CONTEXT_SELECT.selected_columns)  # a read along comes after them


class ReadAlong:
    """The first read of a feature's handler, carried by the statement that reads the
    person behind the update (:func:`load_context`): on the hot path that is one round
    trip to the database less per update.

    ``query`` (or a function of the dialect's name giving it) selects at most one row and
    has a column ``person``, the id of the person it belongs to: the row is joined to the
    person behind the update, so someone else's row is never read (its columns come back
    None). Its parameters come from the update (the fields of the pressed button) and are
    named other than ``telegram_id`` and ``key``. The handler gets the row's other columns,
    in order, under ``name``.
    """

    def __init__(self, name: str, query: Select[Any] | Callable[[str], Select[Any]]) -> None:
        self.name = name
        make = query if callable(query) else (lambda _dialect: query)

        def joined(dialect: str) -> Select[Any]:
            along = make(dialect).subquery(name)
            return _CONTEXT_SELECT.add_columns(
                *(c for c in along.c if c.name != "person")
            ).outerjoin(along, along.c.person == User.id)

        self.statement = Statement(joined)


async def load_context(
    work: Work,
    telegram_id: int,
    key: str,
    along: ReadAlong | None = None,
    values: dict[str, Any] | None = None,
) -> UpdateContext:
    """The person behind an update, their roles and the conversation row ``key`` (and the
    row of a read ``along`` with ``values`` for its parameters): one statement on the
    driver, no ORM objects, no transaction."""
    # the handler's block that follows a read along takes the same connection
    async with work.statements(write=False, keep=along is not None) as db:
        if along is None:
            rows = await db.fetch(_CONTEXT, telegram_id=telegram_id, key=key)
        else:
            rows = await db.fetch(
                along.statement, telegram_id=telegram_id, key=key, **(values or {})
            )
    first = rows[0]
    (uid, language, full_name, registered, consent, *_, state, data, found_key) = first[
        :_CONTEXT_WIDTH
    ]
    person = (
        Person(uid, telegram_id, language, full_name, bool(registered), consent)
        if uid is not None
        else None
    )
    # no role: one row with the role's columns empty (most people)
    roles = () if first[5] is None else tuple(RoleRow(r[5], r[6], r[7], r[8]) for r in rows)
    conversation = (state, dict(data or {})) if found_key is not None else (None, {})
    return UpdateContext(
        person, roles, conversation, first[_CONTEXT_WIDTH:] if along is not None else None
    )


_USER = (
    select(User)
    .where(User.id == bindparam("id"))
    .options(
        joinedload(User.school).joinedload(School.municipality),
        joinedload(User.subjects),
    )
)


async def load_user(session: AsyncSession, user_id: int) -> User | None:
    """The person's whole row with school, municipality and subjects, for the handlers that
    ask for ``user``."""
    result = await session.execute(_USER, {"id": user_id})
    return result.unique().scalar_one_or_none()


async def set_blocked(session: AsyncSession, telegram_id: int, blocked: bool) -> None:
    """The person blocked the bot (nothing more is sent to them) or unblocked it."""
    ids = await session.scalars(select(User.id).where(User.telegram_id == telegram_id))
    async with teachers_status(session, ids.all()):
        await session.execute(
            update(User).where(User.telegram_id == telegram_id).values(blocked_bot=blocked)
        )


async def get_user(session: AsyncSession, telegram_id: int) -> User | None:
    return await session.scalar(
        select(User)
        .where(User.telegram_id == telegram_id)
        .options(
            selectinload(User.subjects), joinedload(User.school).joinedload(School.municipality)
        )
    )


async def set_subjects(session: AsyncSession, user: User, codes: list[str]) -> None:
    await session.execute(delete(UserSubject).where(UserSubject.user_id == user.id))
    session.add_all(UserSubject(user_id=user.id, subject=c) for c in sorted(set(codes)))
    await session.flush()
    await session.refresh(user, ["subjects"])


EXPORTED_TABLES: dict[str, str] = {
    # every table that holds something about a person, and where «Мои данные» puts it
    # (tests/test_export.py fails when a model gains a table referring to a person that is
    # not named here)
    "users": "the top level",
    "user_subjects": "subjects",
    "roles": "roles",
    "attempts": "questionnaires",
    "answers": "questionnaires[].answers",
    "scale_results": "questionnaires[].results",
    "courses": "courses",
    "providers": "providers_typed",
    "routes": "routes",
    "route_steps": "routes[].steps",
    "mentor_profiles": "mentoring.mentor_card",
    "mentor_requests": "mentoring.requests",
    "mentor_offers": "mentoring.offers_to_me, mentoring.offers_made",
    "mentor_pairs": "mentoring.pairs",
    "mentor_meetings": "mentoring.pairs[].meetings",
    "mentor_checkins": "mentoring.pairs[].checkins",
    "notification_settings": "reminders",
    "outbox": "messages",
    "outbox_files": "messages[].files",
    "campaign_members": "campaigns_invited",
    "campaigns": "campaigns_launched",
    "fsm_states": "conversation",
}


async def export_data(
    session: AsyncSession,
    user: User,
    conversation: tuple[str | None, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Everything stored about one person, for «Мои данные»: every row of every table that
    refers to them (:data:`EXPORTED_TABLES`), with its dates, and the conversation state
    (unfinished drafts; ``conversation`` is the one the bot holds elsewhere, in Redis)."""
    attempts = (
        await session.execute(
            select(Attempt).where(Attempt.user_id == user.id).order_by(Attempt.started_at)
        )
    ).scalars()
    out_attempts: list[dict[str, Any]] = []
    for a in attempts:
        answers = (
            (
                await session.execute(
                    select(Answer)
                    .where(Answer.attempt_id == a.id)
                    .order_by(Answer.answered_at, Answer.id)
                )
            )
            .scalars()
            .all()
        )
        results = (
            await session.execute(
                select(ScaleResult).where(ScaleResult.attempt_id == a.id).order_by(ScaleResult.id)
            )
        ).scalars()
        out_attempts.append(
            {
                "instrument": a.instrument_id,
                "status": a.status,
                "started_at": a.started_at.isoformat(),
                "updated_at": _iso(a.updated_at),
                "completed_at": a.completed_at.isoformat() if a.completed_at else None,
                "current_question": a.current_question,
                "answers": {x.question_id: x.value for x in answers},
                "answer_log": [
                    {
                        "question": x.question_id,
                        "value": x.value,
                        "final": x.final,
                        "answered_at": _iso(x.answered_at),
                    }
                    for x in answers
                ],
                "results": [
                    {
                        "scale": r.scale_id,
                        "score": r.score,
                        "band": r.band,
                        "answered": r.answered,
                        "instrument_version": r.instrument_version,
                        "completed_at": _iso(r.completed_at),
                        "latest": r.latest,
                    }
                    for r in results
                ],
            }
        )
    roles = (
        await session.execute(
            select(Role).where(Role.telegram_id == user.telegram_id).order_by(Role.id)
        )
    ).scalars()
    notes = await session.get(NotificationSettings, user.id)
    return {
        "telegram_id": user.telegram_id,
        "consent_at": user.consent_at.isoformat(),
        "registered_at": user.registered_at.isoformat() if user.registered_at else None,
        "full_name": user.full_name,
        "school": user.school.name if user.school else None,
        "position": user.position,
        "subjects": user.subject_codes,
        "birth_year": user.birth_year,
        "teaching_since": user.teaching_since,
        "category": user.category,
        "category_year": user.category_year,
        "category_date": user.category_date.isoformat() if user.category_date else None,
        "conformity_date": user.conformity_date.isoformat() if user.conformity_date else None,
        "language": user.language,
        "blocked_bot": user.blocked_bot,
        "consent_version": user.consent_version,
        "health_consent_version": user.health_consent_version,
        "health_consent_at": _iso(user.health_consent_at),
        "roles": [
            {
                "role": r.role,
                "scope": r.scope,
                "school_id": r.school_id,
                "municipality_id": r.municipality_id,
                "granted_at": _iso(r.granted_at),
            }
            for r in roles
        ],
        "questionnaires": out_attempts,
        "courses": await _export_courses(session, user.id),
        "providers_typed": await _export_providers(session, user.id),
        "routes": await _export_routes(session, user.id),
        "mentoring": await _export_mentoring(session, user),
        "reminders_off": list(notes.off) if notes else [],  # switched off in «Настройки»
        "reminders_updated_at": _iso(notes.updated_at) if notes else None,
        "messages": await _export_messages(session, user),
        "campaigns_invited": await _export_campaigns_invited(session, user.id),
        "campaigns_launched": await _export_campaigns_launched(session, user.telegram_id),
        "conversation": await _export_conversation(session, user.telegram_id, conversation),
    }


async def _export_providers(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """Organisers of courses this person typed that nobody else uses yet."""
    rows = await session.scalars(
        select(Provider).where(Provider.created_by == user_id).order_by(Provider.id)
    )
    return [{"name": p.name, "status": p.status} for p in rows]


async def _export_messages(session: AsyncSession, user: User) -> list[dict[str, Any]]:
    """Messages the bot queued for this person (reminders, invitations, digests), sent or
    waiting, with the files attached (name and size)."""
    rows = await session.scalars(
        select(Outbox)
        .where((Outbox.user_id == user.id) | (Outbox.telegram_id == user.telegram_id))
        .options(selectinload(Outbox.files))
        .order_by(Outbox.created_at, Outbox.id)
    )
    return [
        {
            "kind": m.kind,
            "status": m.status,
            "created_at": _iso(m.created_at),
            "due_at": _iso(m.due_at),
            "sent_at": _iso(m.sent_at),
            "text": m.text,
            "files": [{"name": f.filename, "size": len(f.content)} for f in m.files],
        }
        for m in rows
    ]


async def _export_campaigns_invited(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(CampaignMember, Campaign.instrument_id, Campaign.deadline)
        .join(Campaign, Campaign.id == CampaignMember.campaign_id)
        .where(CampaignMember.user_id == user_id)
        .order_by(CampaignMember.id)
    )
    return [
        {
            "questionnaire": instrument,
            "deadline": _iso(deadline),
            "counted_before": member.counted_before,
            "answered_at": _iso(member.answered_at),
        }
        for member, instrument, deadline in rows
    ]


async def _export_campaigns_launched(
    session: AsyncSession, telegram_id: int
) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(Campaign).where(Campaign.created_by == telegram_id).order_by(Campaign.id)
    )
    return [
        {
            "questionnaire": c.instrument_id,
            "school_id": c.school_id,
            "municipality_id": c.municipality_id,
            "created_at": _iso(c.created_at),
            "deadline": _iso(c.deadline),
            "status": c.status,
        }
        for c in rows
    ]


async def _export_conversation(
    session: AsyncSession,
    telegram_id: int,
    current: tuple[str | None, dict[str, Any]] | None,
) -> list[dict[str, Any]]:
    """The conversation state: the step of an unfinished dialog and its draft."""
    rows = (
        await session.scalars(
            select(FsmRecord).where(FsmRecord.user_id == telegram_id).order_by(FsmRecord.key)
        )
    ).all()
    out = [
        {"state": r.state, "data": r.data, "updated_at": _iso(r.updated_at)}
        for r in rows
        if r.state is not None or r.data
    ]
    if not rows and current is not None and (current[0] is not None or current[1]):
        out.append({"state": current[0], "data": current[1], "updated_at": None})
    return out


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def _export_mentoring(session: AsyncSession, user: User) -> dict[str, Any]:
    """The person's mentor card, requests, offers (to them as a mentor, and made by them as a
    methodist), and pairs (as mentor or mentee) with meetings, check-ins and the final
    rating. What belongs to the other person of a pair is left out."""
    user_id = user.id
    card = await session.get(MentorProfile, user_id)
    offers_to_me = (
        await session.scalars(
            select(MentorOffer).where(MentorOffer.mentor_id == user_id).order_by(MentorOffer.id)
        )
    ).all()
    offers_made = (
        await session.scalars(
            select(MentorOffer)
            .where(MentorOffer.offered_by == user.telegram_id)
            .order_by(MentorOffer.id)
        )
    ).all()
    requests = (
        await session.scalars(
            select(MentorRequest)
            .where(MentorRequest.mentee_id == user_id)
            .order_by(MentorRequest.created_at, MentorRequest.id)
        )
    ).all()
    pairs = (
        await session.scalars(
            select(MentorPair)
            .where((MentorPair.mentor_id == user_id) | (MentorPair.mentee_id == user_id))
            .order_by(MentorPair.started_on, MentorPair.id)
        )
    ).all()
    out_pairs: list[dict[str, Any]] = []
    for p in pairs:
        meetings = (
            await session.scalars(
                select(MentorMeeting)
                .where(MentorMeeting.pair_id == p.id)
                .order_by(MentorMeeting.held_on, MentorMeeting.id)
            )
        ).all()
        checkins = (
            await session.scalars(
                select(MentorCheckin)
                .where(MentorCheckin.pair_id == p.id)
                .order_by(MentorCheckin.created_at)
            )
        ).all()
        mine = p.mentee_id == user_id
        out_pairs.append(
            {
                "role": "mentee" if mine else "mentor",
                "status": p.status,
                "started_on": _iso(p.started_on),
                "closed_at": _iso(p.closed_at),
                "goals": p.goals,
                "close_reason": p.close_reason,
                "my_username": p.mentee_username if mine else p.mentor_username,
                "rating": p.rating if mine else None,
                "rating_comment": p.rating_comment if mine else None,
                "comment_anonymous": p.comment_anonymous if mine else None,
                "introduction_sent": p.mentee_intro_sent if mine else p.mentor_intro_sent,
                "meetings": [
                    {
                        "held_on": _iso(m.held_on),
                        "topic": m.topic,
                        "format": m.format,
                        "minutes": m.minutes,
                        "note": m.note,
                        "logged_by_me": m.logged_by == user_id,
                        "created_at": _iso(m.created_at),
                    }
                    for m in meetings
                ],
                "checkins": [{"at": _iso(c.created_at), "score": c.score} for c in checkins]
                if mine
                else [],
            }
        )
    return {
        "mentor_card": {
            "subjects": list(card.subjects),
            "max_mentees": card.max_mentees,
            "note": card.note,
            "active": card.active,
            "created_at": _iso(card.created_at),
            "updated_at": _iso(card.updated_at),
        }
        if card is not None
        else None,
        "requests": [
            {
                "status": r.status,
                "subject": r.subject,
                "topics": list(r.topics),
                "details": r.details,
                "same_school": r.same_school,
                "young": r.young,
                "username": r.username,
                "created_at": _iso(r.created_at),
                "shared_at": _iso(r.shared_at),
                "closed_at": _iso(r.closed_at),
            }
            for r in requests
        ],
        "offers_to_me": [
            {
                "offered_at": _iso(o.offered_at),
                "answered_at": _iso(o.answered_at),
                "accepted": o.accepted,
                "reason": o.reason,
            }
            for o in offers_to_me
        ],
        "offers_made": [
            {"offered_at": _iso(o.offered_at), "accepted": o.accepted} for o in offers_made
        ],
        "pairs": out_pairs,
    }


async def _export_courses(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(Course).where(Course.user_id == user_id).order_by(Course.starts_on, Course.id)
        )
    ).scalars()
    return [
        {
            "title": c.title,
            "provider": c.provider.name if c.provider else None,
            "kind": c.kind,
            "hours": c.hours,
            "starts_on": c.starts_on.isoformat(),
            "ends_on": c.ends_on.isoformat(),
            "format": c.format,
            "blocks": list(c.blocks),
            "certificate_number": c.certificate_number,
            "certificate_file": c.certificate_file_name,
            "certificate_file_id": c.certificate_file_id,
            "certificate_file_size": c.certificate_file_size,
            "catalog_programme": c.catalog_item_id,
            "created_at": _iso(c.created_at),
        }
        for c in rows
    ]


async def _export_routes(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(Route)
            .where(Route.user_id == user_id)
            .options(selectinload(Route.steps))
            .order_by(Route.created_at, Route.id)
        )
    ).scalars()
    return [
        {
            "status": r.status,
            "created_at": r.created_at.isoformat(),
            "activated_at": r.activated_at.isoformat() if r.activated_at else None,
            "from_questionnaire": r.attempt_id is not None,
            "completed_at": r.completed_at.isoformat() if r.completed_at else None,
            "baseline": r.baseline,
            "steps": [
                {
                    "title": s.title,
                    "kind": s.kind,
                    "block": s.block,
                    "level": s.level,
                    "target_date": s.target_date.isoformat(),
                    "status": s.status,
                    "closed_reason": s.closed_reason,
                    "form": s.form,
                    "catalog_programme": s.catalog_item_id,
                    "done_at": _iso(s.done_at),
                    "course_recorded": s.course_id,
                }
                for s in r.steps
            ],
        }
        for r in rows
    ]


def providers_only_theirs(user_id: int) -> Select[tuple[int]]:
    """Organisers of courses nobody but this person uses: typed by them or named only in
    their courses, in no catalog programme and no other teacher's course."""
    mine = select(Course.provider_id).where(Course.user_id == user_id)
    others = select(Course.provider_id).where(
        Course.user_id != user_id, Course.provider_id.is_not(None)
    )
    return select(Provider.id).where(
        (Provider.created_by == user_id) | Provider.id.in_(mine),
        Provider.id.not_in(others),
        Provider.id.not_in(select(CatalogItem.provider_id)),
    )


async def delete_user(session: AsyncSession, user: User) -> None:
    """Delete the person and everything about them (answers, results, conversation state,
    the organisers of courses only they typed, messages queued for them); where another
    record keeps their Telegram id (a campaign they launched, an offer they made as a
    methodist) the id is blanked.

    Scale results are per-person rows, so indicators computed later no longer count this
    person; her share of the stored result counters (``models.facts``) is taken off in the
    same transaction.
    """
    telegram_id, name = user.telegram_id, user.full_name
    theirs = (await session.scalars(providers_only_theirs(user.id))).all()
    partners = await pair_partners(session, [user.id])
    async with teachers_status(session, [user.id]):
        await session.execute(delete(User).where(User.id == user.id))
    await teachers_changed(session, partners)  # their pairs with her are gone
    if theirs:
        await session.execute(delete(Provider).where(Provider.id.in_(theirs)))
    await session.execute(
        update(Provider).where(Provider.created_by == user.id).values(created_by=None)
    )
    await session.execute(delete(FsmRecord).where(FsmRecord.user_id == telegram_id))
    await session.execute(
        update(Campaign).where(Campaign.created_by == telegram_id).values(created_by=0)
    )
    await session.execute(
        update(MentorOffer).where(MentorOffer.offered_by == telegram_id).values(offered_by=0)
    )
    # messages to them (sent or waiting), and notices to others that name them (an offer to a
    # mentor waiting for the morning, a closed pair): each such notice carries the full name
    await session.execute(delete(Outbox).where(Outbox.telegram_id == telegram_id))
    if name:
        await session.execute(
            delete(Outbox).where(
                Outbox.kind.startswith("notice."),
                Outbox.text.contains(html.escape(name, quote=False), autoescape=True),
            )
        )
    await session.flush()
    session.expunge(user)
    wipe_wal_after_commit(session)


NAME_MAX = 100


def normalize_full_name(text: str) -> str | None:
    """«Фамилия Имя [Отчество]»: 2–3 words of letters and hyphens, at most 100 characters.

    Returns the name with single spaces (and capital first letters where the whole word was
    typed in one case), or ``None`` if it does not look like a full name.
    """
    words = text.split()
    if not 2 <= len(words) <= 3:
        return None
    out: list[str] = []
    for word in words:
        parts = word.split("-")
        if any(not p or not p.isalpha() for p in parts):
            return None
        if word.islower() or word.isupper():
            word = "-".join(p[:1].upper() + p[1:].lower() for p in parts)
        out.append(word)
    name = " ".join(out)
    return name if len(name) <= NAME_MAX else None


def parse_year(text: str, lo: int, hi: int) -> int | None:
    text = text.strip()
    if not (len(text) == 4 and text.isdigit()):
        return None
    year = int(text)
    return year if lo <= year <= hi else None


def year_bounds(field: str, user: User, today: date) -> tuple[int, int]:
    """Plausible years for a profile field, given what is already known."""
    if field == "birth":  # asked after the year teaching began: at least 16 by then
        hi = today.year - 18
        if user.teaching_since:
            hi = min(hi, user.teaching_since - 16)
        return today.year - 80, hi
    if field == "teaching":
        lo = (user.birth_year + 16) if user.birth_year else today.year - 65
        return lo, today.year
    lo = user.teaching_since if user.teaching_since else today.year - 50
    return max(lo, today.year - 50), today.year


# ---------------------------------------------------------------- the registration dialog

STEPS: tuple[str, ...] = (
    "name",
    "school",
    "position",
    "subjects",
    "teaching",
    "birth",
    "category",
)
EDITABLE: tuple[str, ...] = (
    "name",
    "school",
    "position",
    "subjects",
    "birth",
    "teaching",
    "category",
)
YEAR_STEPS: dict[str, str] = {
    "birth": "birth_year",
    "teaching": "teaching_since",
}
RECENT_YEARS = YOUNG_MAX_YEARS + 1
"""The year of starting work offers this many recent years as buttons of their own, so a
young teacher picks hers with one tap."""
SCHOOLS_PER_PAGE = 8
SCHOOL_QUERY_MAX = 60
SCHOOL_PAGE_MAX = 1000


class ProfileError(Refusal):
    """A refused registration or profile answer or button."""


@dataclass(frozen=True)
class Draft:
    """What the dialog keeps besides the row itself (JSON-able, in the FSM data)."""

    editing: bool = False  # one field edited from the profile, not the first registration
    school_query: str | None = None  # the filter typed on the school step
    subjects: tuple[str, ...] | None = None  # ticked on the subjects step, not saved yet

    def to_data(self) -> dict[str, Any]:
        return {
            "editing": self.editing,
            "school_query": self.school_query,
            "subjects": list(self.subjects) if self.subjects is not None else None,
        }

    @classmethod
    def from_data(cls, data: object) -> Draft:
        if not isinstance(data, dict):
            return cls()
        query = data.get("school_query")
        subjects = data.get("subjects")
        return cls(
            editing=bool(data.get("editing")),
            school_query=query if isinstance(query, str) and query else None,
            subjects=tuple(s for s in subjects if s in SUBJECTS)
            if isinstance(subjects, list)
            else None,
        )


def needs_birth_year(teaching_since: int | None, today: date) -> bool:
    """The year of birth matters only to tell a young teacher (under 35 and at most 3 years
    of teaching): someone who started teaching earlier is never young, so is not asked."""
    return teaching_since is not None and today.year - teaching_since <= YOUNG_MAX_YEARS


def next_step(user: User, today: date) -> str | None:
    """The first profile step this teacher has not answered, or ``None`` (a pure function of
    the row: this is how an interrupted registration knows where to continue).

    Registration asks only what the indicators need: the year of birth only of someone who
    may be young (:func:`needs_birth_year`); the category without its date, which is asked
    in «Мои курсы», where the attestation term is shown."""
    if not user.full_name:
        return "name"
    if user.school_id is None:
        return "school"
    if not user.position:
        return "position"
    if asks_subjects(user.position) and not user.subjects:
        return "subjects"
    if user.teaching_since is None:
        return "teaching"
    if user.birth_year is None and needs_birth_year(user.teaching_since, today):
        return "birth"
    if not user.category:
        return "category"
    return None


@dataclass(frozen=True)
class SchoolItem:
    id: int
    short_name: str


@dataclass(frozen=True)
class SchoolList:
    """One page of the school step."""

    schools: tuple[SchoolItem, ...]
    page: int  # 0-based
    pages: int
    total: int
    query: str | None


@dataclass(frozen=True)
class Question:
    """One step to ask, with what its screen shows."""

    step: str
    editing: bool = False
    resumed: bool = False  # registration continued after a pause («Продолжим…»)
    schools: SchoolList | None = None  # the school step
    ticked: tuple[str, ...] = ()  # the subjects step
    years: tuple[int, int] = (0, 0)  # the year steps: the plausible years, inclusive
    decade: int = 0  # the year steps: the decade opened (0: the decades are shown)


@dataclass(frozen=True)
class ProfileView:
    full_name: str | None
    school: str | None
    position: str | None
    subjects: tuple[str, ...]
    birth_year: int | None
    teaching_since: int | None
    category: str | None
    category_year: int | None
    young: bool
    is_admin: bool
    is_methodist: bool
    language: str


@dataclass(frozen=True)
class Ask:
    """The dialog goes on: ask ``question``; keep ``draft`` in the FSM data."""

    question: Question
    draft: Draft


@dataclass(frozen=True)
class Finished:
    """Registration is complete (``first_time``: just now): show the main menu."""

    first_time: bool
    menu: MenuView


@dataclass(frozen=True)
class Saved:
    """A field edited from the profile was saved: show the profile again."""

    profile: ProfileView


Next = Ask | Finished | Saved


@dataclass(frozen=True)
class Welcome:
    """/start of someone who has not agreed yet (nothing is stored): ask for consent."""

    school_id: int  # the school of a deep link, 0 if none
    school_name: str | None


@dataclass(frozen=True)
class ShowMenu:
    menu: MenuView


def profile_view(user: User, access: Access, today: date) -> ProfileView:
    return ProfileView(
        full_name=user.full_name,
        school=user.school.name if user.school else None,
        position=user.position,
        subjects=tuple(user.subject_codes),
        birth_year=user.birth_year,
        teaching_since=user.teaching_since,
        category=user.category,
        category_year=user.category_year,
        young=is_young(user, today),
        is_admin=access.is_admin,
        is_methodist=access.is_methodist,
        language=user.language,
    )


def check_name(text: str) -> str:
    """The typed full name, normalized, or :class:`ProfileError` ``reg.bad_name``."""
    name = normalize_full_name(text)
    if name is None:
        raise ProfileError("reg.bad_name")
    return name


def check_year(step: str, text: str, user: User, today: date) -> int:
    """A typed year within the plausible bounds, or :class:`ProfileError` ``reg.bad_year``."""
    lo, hi = year_bounds(step, user, today)
    year = parse_year(text, lo, hi)
    if year is None:
        raise ProfileError("reg.bad_year", lo=lo, hi=hi)
    return year


def _index(values: Sequence[str], index: int) -> str:
    if not 0 <= index < len(values):
        raise ProfileError("common.stale")
    return values[index]


async def _schools(session: AsyncSession, query: str | None, page: int) -> SchoolList:
    found, total = await search_schools(session, query, page, SCHOOLS_PER_PAGE)
    return SchoolList(
        schools=tuple(SchoolItem(s.id, s.short_name) for s in found),
        page=page,
        pages=max(1, -(-total // SCHOOLS_PER_PAGE)),
        total=total,
        query=query,
    )


async def ask(
    session: AsyncSession,
    user: User,
    step: str,
    draft: Draft,
    today: date,
    *,
    page: int = 0,
    decade: int = 0,
    resumed: bool = False,
) -> Ask:
    """The question of one step (the school step loads a page of schools)."""
    question = Question(step, editing=draft.editing, resumed=resumed)
    if step == "school":
        schools = await _schools(session, draft.school_query, page)
        question = replace(question, schools=schools)
    elif step == "subjects":
        if draft.subjects is None:
            draft = replace(draft, subjects=tuple(sorted(user.subject_codes)))
        question = replace(question, ticked=draft.subjects or ())
    elif step in YEAR_STEPS:
        question = replace(question, years=year_bounds(step, user, today), decade=decade)
    return Ask(question, draft)


def finish_registration(user: User, now: datetime) -> bool:
    """Mark the registration complete; ``True`` if it was completed just now."""
    if user.registered_at is not None:
        return False
    user.registered_at = now
    return True


async def advance(
    session: AsyncSession, user: User, draft: Draft, now: datetime, access: Access
) -> Next:
    """After an answer: the next missing step; when nothing is missing, finish the
    registration (or, editing from the profile, show the profile again)."""
    await session.flush()
    step = next_step(user, now.date())
    if step is not None and (not draft.editing or step in ("subjects", "birth")):
        return await ask(session, user, step, draft, now.date())
    if draft.editing:
        return Saved(profile_view(user, access, now.date()))
    first_time = finish_registration(user, now)
    await session.flush()
    return Finished(first_time, await menu_of(session, user, access, now.date()))


async def start(
    session: AsyncSession,
    user: User | None,
    link: str,
    draft: Draft,
    now: datetime,
    access: Access,
) -> Welcome | Ask | ShowMenu:
    """/start (``link``: the deep-link argument, ``s<school code>``): the consent request, the
    registration where it stopped (with what was ticked but not saved), or the main menu."""
    link = link.strip()
    if user is not None and user.blocked_bot:
        user.blocked_bot = False  # back after blocking the bot: messages may reach them again
    school = None
    if link.startswith("s") and 1 < len(link) <= 33:
        school = await school_by_code(session, link[1:])
    if user is None:
        return Welcome(school.id if school else 0, school.name if school else None)
    if user.registered_at is None:
        if school is not None and user.school_id is None:
            user.school_id = school.id
            await session.flush()
            await session.refresh(user, ["school"])
        step = next_step(user, now.date())
        if step is not None:
            draft = replace(draft, editing=False)
            return await ask(session, user, step, draft, now.date(), resumed=True)
    return ShowMenu(await menu_of(session, user, access, now.date()))


async def consent(
    session: AsyncSession,
    user: User | None,
    telegram_id: int,
    language: str,
    school_id: int,
    now: datetime,
    access: Access,
) -> Next:
    """Agreement to data processing: the first row about a person is written only now (with
    the school of the deep link, if it exists); then the first question. Someone who agreed
    to an older edition of the text agrees to the current one (its number and the moment
    are kept)."""
    if user is None:
        user = await get_user(session, telegram_id)
    if user is not None and user.consent_version != CONSENT_VERSION:
        user.consent_version = CONSENT_VERSION
        user.consent_at = now
    if user is None:
        user = User(
            telegram_id=telegram_id,
            language=language,
            consent_at=now,
            consent_version=CONSENT_VERSION,
        )
        session.add(user)
        await session.flush()
        await session.refresh(user, ["subjects", "school"])
        school = await session.get(School, school_id) if school_id else None
        if school is not None:
            user.school_id = school.id
            await session.flush()
            await session.refresh(user, ["school"])
    return await advance(session, user, Draft(), now, access)


async def answer_name(
    session: AsyncSession, user: User, text: str, draft: Draft, now: datetime, access: Access
) -> Next:
    user.full_name = check_name(text)
    return await advance(session, user, draft, now, access)


async def filter_schools(
    session: AsyncSession, user: User, text: str, draft: Draft, today: date
) -> Ask:
    """The school step filtered by a typed text (the first page)."""
    query = " ".join(text.split())[:SCHOOL_QUERY_MAX] or None
    return await ask(session, user, "school", replace(draft, school_query=query), today)


async def school_page(
    session: AsyncSession, user: User, page: int, draft: Draft, today: date
) -> Ask:
    """Another page of the school step; a negative page is the whole list from the start."""
    if page < 0:
        draft, page = replace(draft, school_query=None), 0
    return await ask(session, user, "school", draft, today, page=min(page, SCHOOL_PAGE_MAX))


async def pick_school(
    session: AsyncSession, user: User, school_id: int, draft: Draft, now: datetime, access: Access
) -> Next:
    school = await session.get(School, school_id) if school_id else None
    if school is None:
        raise ProfileError("common.stale")
    user.school_id = school.id
    await session.flush()
    await session.refresh(user, ["school"])
    return await advance(session, user, replace(draft, school_query=None), now, access)


async def pick_position(
    session: AsyncSession, user: User, index: int, draft: Draft, now: datetime, access: Access
) -> Next:
    user.position = _index(POSITIONS, index)
    return await advance(session, user, draft, now, access)


async def toggle_subject(
    session: AsyncSession, user: User, index: int, draft: Draft, today: date
) -> Ask:
    """Tick or untick a subject (kept in the draft until «Готово»)."""
    code = _index(SUBJECTS, index)
    ticked = set(draft.subjects if draft.subjects is not None else user.subject_codes)
    ticked ^= {code}
    return await ask(
        session, user, "subjects", replace(draft, subjects=tuple(sorted(ticked))), today
    )


async def save_subjects(
    session: AsyncSession, user: User, draft: Draft, now: datetime, access: Access
) -> Next:
    ticked = list(draft.subjects if draft.subjects is not None else user.subject_codes)
    if not ticked:
        raise ProfileError("reg.subjects_empty")
    await set_subjects(session, user, ticked)
    return await advance(session, user, replace(draft, subjects=None), now, access)


async def pick_category(
    session: AsyncSession, user: User, index: int, draft: Draft, now: datetime, access: Access
) -> Next:
    category = _index(CATEGORIES, index)
    if user.category != category:
        # the date belonged to the previous category; the new one's is asked in «Мои курсы»
        user.category_date = None
        user.category_year = None
    user.category = category
    return await advance(session, user, draft, now, access)


async def pick_decade(
    session: AsyncSession, user: User, step: str, decade: int, draft: Draft, today: date
) -> Ask:
    """Open a decade of the year picker (0: back to the decades)."""
    lo, hi = year_bounds(step, user, today)
    if not lo // 10 * 10 <= decade <= hi:
        decade = 0
    return await ask(session, user, step, draft, today, decade=decade)


async def pick_year(
    session: AsyncSession,
    user: User,
    step: str,
    year: int,
    draft: Draft,
    now: datetime,
    access: Access,
) -> Next:
    lo, hi = year_bounds(step, user, now.date())
    if not lo <= year <= hi:
        raise ProfileError("common.stale")
    setattr(user, YEAR_STEPS[step], year)
    return await advance(session, user, draft, now, access)


async def type_year(
    session: AsyncSession,
    user: User,
    step: str,
    text: str,
    draft: Draft,
    now: datetime,
    access: Access,
) -> Next:
    setattr(user, YEAR_STEPS[step], check_year(step, text, user, now.date()))
    return await advance(session, user, draft, now, access)


async def edit_field(session: AsyncSession, user: User, field: str, today: date) -> Ask:
    """Start editing one profile field (the same step as in the registration)."""
    if field not in EDITABLE:
        raise ProfileError("common.stale")
    if field == "subjects" and not asks_subjects(user.position):
        raise ProfileError("profile.subjects_only_teachers")
    return await ask(session, user, field, Draft(editing=True), today)


async def switch_language(
    session: AsyncSession, user: User, codes: Sequence[str], access: Access, today: date
) -> ProfileView:
    """The next installed language, in turn."""
    current = codes.index(user.language) if user.language in codes else 0
    user.language = codes[(current + 1) % len(codes)]
    await session.flush()
    return profile_view(user, access, today)


async def export_json(
    session: AsyncSession,
    user: User,
    conversation: tuple[str | None, dict[str, Any]] | None = None,
) -> bytes:
    """«Мои данные»: everything stored about the person as a JSON file."""
    data = await export_data(session, user, conversation)
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
