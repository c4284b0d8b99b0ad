"""The methodist's side of mentoring: the queue of requests, a request's card with ranked
mentors, and proposing a mentor.

Who sees what: a request is visible once the teacher shared it (``shared_at`` set), while it
is open or offered, and only to a methodist whose scope covers the teacher's school (a school,
the municipality, the region; admins see all). Every function checks this itself from the ids
it is given, so a forged button changes nothing.

Mentors are proposed from the teacher's municipality (everybody's, for a teacher with no
school): active mentor cards of people who have not blocked the bot, with a free place
(active pairs and offers waiting for an answer count), never the teacher, never a mentor who
already refused this request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, false, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    MentorOffer,
    MentorPair,
    MentorProfile,
    MentorRequest,
    PairStatus,
    RequestStatus,
    School,
    ScopeKind,
    User,
)
from services.errors import Refusal
from services.matching import Candidate, Need, Suggestion, rank_mentors
from services.people import is_young
from services.reference import MENTOR_CATEGORY
from services.roles import Access

OVERDUE_DAYS = 7
"""A request waiting longer than this is flagged in the queue."""
QUEUE_LIMIT = 20
"""The queue shows this many oldest requests (and counts the rest)."""
SUGGESTIONS = 5

VISIBLE = (RequestStatus.OPEN.value, RequestStatus.OFFERED.value)


class QueueRefusal(Refusal):
    """A request or mentor the methodist may not act on; ``code`` is a locale key:

    - ``methodist.refused.gone``: no such request in the methodist's queue (not shared, not in
      their scope, closed, or no such id);
    - ``methodist.refused.not_open``: a mentor is already proposed or the pair exists;
    - ``methodist.refused.mentor_gone``: not an active mentor who may take this request;
    - ``methodist.refused.mentor_full``: the mentor has no free place.
    """


@dataclass(frozen=True, slots=True)
class QueueItem:
    request_id: int
    mentee_name: str | None
    school_name: str | None
    subject: str | None  # a subject code, "general", or None
    status: str  # open or offered
    days_waiting: int
    overdue: bool  # waiting more than OVERDUE_DAYS days
    offered_to: str | None  # the mentor proposed and not yet answering


@dataclass(frozen=True, slots=True)
class QueueView:
    items: tuple[QueueItem, ...]  # the oldest first, at most QUEUE_LIMIT
    total: int  # all requests in the queue


@dataclass(frozen=True, slots=True)
class EarlierRefusal:
    mentor_name: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class RequestCard:
    request_id: int
    status: str
    mentee_name: str | None
    school_name: str | None
    young: bool
    subject: str | None
    topics: tuple[str, ...]  # topic codes
    details: str | None  # the teacher's own words
    same_school: bool  # prefers a mentor from their own school
    days_waiting: int
    overdue: bool
    offered_to: str | None
    refusals: tuple[EarlierRefusal, ...]
    suggestions: tuple[Suggestion, ...]  # empty unless the request is open


@dataclass(frozen=True, slots=True)
class AssignPreview:
    """What the confirmation asks about."""

    request_id: int
    mentor_id: int
    mentee_name: str | None
    mentor_name: str | None
    mentor_school: str | None


@dataclass(frozen=True, slots=True)
class OfferNotice:
    """What the mentor is told about the offer (in the mentor's language)."""

    offer_id: int
    request_id: int
    mentor_telegram_id: int
    mentor_language: str
    mentor_name: str | None
    mentee_name: str | None
    school_name: str | None
    subject: str | None
    topics: tuple[str, ...]
    details: str | None
    same_school: bool


# ---------------------------------------------------------------- scope


def _scope_clause(access: Access) -> ColumnElement[bool]:
    """The requests' filter for this access (on the mentee ``User`` and their ``School``)."""
    if access.is_admin or any(s.kind == ScopeKind.REGION for s in access.methodist_scopes):
        return true()
    parts: list[ColumnElement[bool]] = []
    for s in access.methodist_scopes:
        if s.kind == ScopeKind.SCHOOL and s.school_id is not None:
            parts.append(User.school_id == s.school_id)
        elif s.kind == ScopeKind.MUNICIPALITY and s.municipality_id is not None:
            parts.append(School.municipality_id == s.municipality_id)
    return or_(*parts) if parts else false()


def _days(since: datetime | None, now: datetime) -> int:
    return max((now - since).days, 0) if since is not None else 0


@dataclass(frozen=True, slots=True)
class _Row:
    request: MentorRequest
    mentee: User
    school: School | None


async def _visible(session: AsyncSession, access: Access, request_id: int) -> _Row:
    """The request if the methodist may see it, else :class:`QueueRefusal`."""
    found = (
        await session.execute(
            select(MentorRequest, User, School)
            .join(User, User.id == MentorRequest.mentee_id)
            .outerjoin(School, School.id == User.school_id)
            .where(MentorRequest.id == request_id)
        )
    ).first()
    if found is None:
        raise QueueRefusal("methodist.refused.gone")
    request, mentee, school = found
    covered = access.covers_school(mentee.school_id, school.municipality_id if school else None)
    if not covered or request.shared_at is None or request.status not in VISIBLE:
        raise QueueRefusal("methodist.refused.gone")
    return _Row(request, mentee, school)


async def _pending_mentors(session: AsyncSession, request_ids: Iterable[int]) -> dict[int, str]:
    """The mentor each request is waiting on (offers without an answer)."""
    ids = list(request_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(MentorOffer.request_id, User.full_name)
        .join(User, User.id == MentorOffer.mentor_id)
        .where(MentorOffer.request_id.in_(ids), MentorOffer.answered_at.is_(None))
        .order_by(MentorOffer.id)
    )
    return {request_id: name or "" for request_id, name in rows}


# ---------------------------------------------------------------- the queue


async def queue(
    session: AsyncSession, access: Access, now: datetime, limit: int = QUEUE_LIMIT
) -> QueueView:
    """Shared open or offered requests in the methodist's scope, the longest waiting first."""
    where = (
        MentorRequest.status.in_(VISIBLE),
        MentorRequest.shared_at.is_not(None),
        _scope_clause(access),
    )
    base = (
        select(MentorRequest.id)
        .join(User, User.id == MentorRequest.mentee_id)
        .outerjoin(School, School.id == User.school_id)
        .where(*where)
    )
    total = int(await session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    rows = (
        await session.execute(
            select(MentorRequest, User.full_name, School.short_name)
            .join(User, User.id == MentorRequest.mentee_id)
            .outerjoin(School, School.id == User.school_id)
            .where(*where)
            .order_by(MentorRequest.shared_at, MentorRequest.id)
            .limit(max(limit, 0))
        )
    ).all()
    offered = await _pending_mentors(
        session, (r.id for r, _, _ in rows if r.status == RequestStatus.OFFERED.value)
    )
    items = []
    for request, name, school_name in rows:
        days = _days(request.shared_at, now)
        items.append(
            QueueItem(
                request_id=request.id,
                mentee_name=name,
                school_name=school_name,
                subject=request.subject,
                status=request.status,
                days_waiting=days,
                overdue=days > OVERDUE_DAYS,
                offered_to=offered.get(request.id),
            )
        )
    return QueueView(tuple(items), total)


# ---------------------------------------------------------------- mentors


async def _candidates(
    session: AsyncSession, row: _Row, today: date, mentor_id: int | None = None
) -> list[Candidate]:
    """Active mentors who may take this request, with their load; one mentor when asked."""
    pairs = (
        select(MentorPair.mentor_id, func.count().label("n"))
        .where(MentorPair.status == PairStatus.ACTIVE.value)
        .group_by(MentorPair.mentor_id)
        .subquery()
    )
    waiting = (
        select(MentorOffer.mentor_id, func.count().label("n"))
        .join(MentorRequest, MentorRequest.id == MentorOffer.request_id)
        .where(
            MentorOffer.answered_at.is_(None),
            MentorRequest.status == RequestStatus.OFFERED.value,
        )
        .group_by(MentorOffer.mentor_id)
        .subquery()
    )
    refused = select(MentorOffer.mentor_id).where(
        MentorOffer.request_id == row.request.id, MentorOffer.accepted.is_(False)
    )
    stmt = (
        select(
            MentorProfile,
            User,
            School.short_name,
            func.coalesce(pairs.c.n, 0),
            func.coalesce(waiting.c.n, 0),
        )
        .join(User, User.id == MentorProfile.user_id)
        .outerjoin(School, School.id == User.school_id)
        .outerjoin(pairs, pairs.c.mentor_id == MentorProfile.user_id)
        .outerjoin(waiting, waiting.c.mentor_id == MentorProfile.user_id)
        .where(
            MentorProfile.active.is_(True),
            User.blocked_bot.is_(False),
            MentorProfile.user_id != row.mentee.id,
            MentorProfile.user_id.not_in(refused),
        )
        .order_by(MentorProfile.user_id)
    )
    if row.school is not None:
        stmt = stmt.where(School.municipality_id == row.school.municipality_id)
    if mentor_id is not None:
        stmt = stmt.where(MentorProfile.user_id == mentor_id)
    out = []
    for profile, user, school_name, active_pairs, offers in await session.execute(stmt):
        years = today.year - user.teaching_since if user.teaching_since is not None else None
        out.append(
            Candidate(
                user_id=user.id,
                name=user.full_name or "",
                school_id=user.school_id,
                school_name=school_name or "",
                subjects=frozenset(str(s) for s in profile.subjects or ()),
                category=user.category,
                mentor_title=user.category == MENTOR_CATEGORY,
                teaching_years=years,
                mentees=int(active_pairs) + int(offers),
                capacity=profile.max_mentees,
            )
        )
    return out


def _need(row: _Row) -> Need:
    return Need(
        mentee_id=row.mentee.id,
        school_id=row.mentee.school_id,
        subject=row.request.subject,
        same_school=row.request.same_school,
    )


async def _refusals(session: AsyncSession, request_id: int) -> tuple[EarlierRefusal, ...]:
    rows = await session.execute(
        select(User.full_name, MentorOffer.reason)
        .join(User, User.id == MentorOffer.mentor_id)
        .where(MentorOffer.request_id == request_id, MentorOffer.accepted.is_(False))
        .order_by(MentorOffer.id)
    )
    return tuple(EarlierRefusal(name, reason) for name, reason in rows)


async def request_card(
    session: AsyncSession, access: Access, request_id: int, now: datetime
) -> RequestCard:
    """A request of the methodist's queue with the mentors ranked for it."""
    row = await _visible(session, access, request_id)
    request = row.request
    suggestions: list[Suggestion] = []
    if request.status == RequestStatus.OPEN.value:
        candidates = await _candidates(session, row, now.date())
        suggestions = rank_mentors(_need(row), candidates, SUGGESTIONS)
    offered = await _pending_mentors(session, [request.id])
    days = _days(request.shared_at, now)
    return RequestCard(
        request_id=request.id,
        status=request.status,
        mentee_name=row.mentee.full_name,
        school_name=row.school.short_name if row.school else None,
        young=request.young or is_young(row.mentee, now.date()),
        subject=request.subject,
        topics=tuple(str(t) for t in request.topics or ()),
        details=request.details,
        same_school=request.same_school,
        days_waiting=days,
        overdue=days > OVERDUE_DAYS,
        offered_to=offered.get(request.id),
        refusals=await _refusals(session, request.id),
        suggestions=tuple(suggestions),
    )


async def _mentor_for(
    session: AsyncSession, access: Access, request_id: int, mentor_id: int, today: date
) -> tuple[_Row, Candidate]:
    """The checks of an assignment: the request is visible and open, the mentor may take it
    and has a free place."""
    row = await _visible(session, access, request_id)
    if row.request.status != RequestStatus.OPEN.value:
        raise QueueRefusal("methodist.refused.not_open")
    found = await _candidates(session, row, today, mentor_id=mentor_id)
    if not found:
        raise QueueRefusal("methodist.refused.mentor_gone")
    mentor = found[0]
    if mentor.mentees >= mentor.capacity:
        raise QueueRefusal("methodist.refused.mentor_full")
    return row, mentor


async def assign_preview(
    session: AsyncSession, access: Access, request_id: int, mentor_id: int, now: datetime
) -> AssignPreview:
    """What «Назначить» is about to do, checked as :func:`assign` checks it."""
    row, mentor = await _mentor_for(session, access, request_id, mentor_id, now.date())
    return AssignPreview(
        request_id=row.request.id,
        mentor_id=mentor.user_id,
        mentee_name=row.mentee.full_name,
        mentor_name=mentor.name or None,
        mentor_school=mentor.school_name or None,
    )


async def assign(
    session: AsyncSession,
    access: Access,
    request_id: int,
    mentor_id: int,
    methodist_telegram_id: int,
    now: datetime,
) -> OfferNotice:
    """Propose the mentor: an offer row, and the request waits for the mentor's answer."""
    # the mentor's card is locked (PostgreSQL) so two methodists cannot fill the same place
    await session.execute(
        select(MentorProfile.user_id).where(MentorProfile.user_id == mentor_id).with_for_update()
    )
    row, mentor = await _mentor_for(session, access, request_id, mentor_id, now.date())
    # only an open request moves on: of two methodists pressing at once, one wins
    moved = await session.execute(
        update(MentorRequest)
        .where(
            MentorRequest.id == row.request.id,
            MentorRequest.status == RequestStatus.OPEN.value,
        )
        .values(status=RequestStatus.OFFERED.value)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise QueueRefusal("methodist.refused.not_open")
    offer = MentorOffer(
        request_id=row.request.id,
        mentor_id=mentor.user_id,
        offered_by=methodist_telegram_id,
        offered_at=now,
    )
    session.add(offer)
    await session.flush()
    mentor_user = await session.get(User, mentor.user_id)
    assert mentor_user is not None  # found among the candidates in this transaction
    request = row.request
    return OfferNotice(
        offer_id=offer.id,
        request_id=request.id,
        mentor_telegram_id=mentor_user.telegram_id,
        mentor_language=mentor_user.language,
        mentor_name=mentor_user.full_name,
        mentee_name=row.mentee.full_name,
        school_name=row.school.short_name if row.school else None,
        subject=request.subject,
        topics=tuple(str(t) for t in request.topics or ()),
        details=request.details,
        same_school=request.same_school,
    )


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """A proposal the methodist took back: who must be told."""

    mentor_telegram_id: int
    mentor_language: str
    mentee_name: str | None


async def withdraw_offer(
    session: AsyncSession, access: Access, request_id: int, now: datetime
) -> Withdrawn:
    """Take back the proposal the mentor has not answered (they may never have seen it):
    the offer is removed, its buttons stop working, and the request is open again."""
    row = await _visible(session, access, request_id)
    offer = await session.scalar(
        select(MentorOffer).where(
            MentorOffer.request_id == row.request.id, MentorOffer.answered_at.is_(None)
        )
    )
    moved = await session.execute(
        update(MentorRequest)
        .where(
            MentorRequest.id == row.request.id,
            MentorRequest.status == RequestStatus.OFFERED.value,
        )
        .values(status=RequestStatus.OPEN.value)
        .execution_options(synchronize_session=False)
    )
    if offer is None or moved.rowcount != 1:  # type: ignore[attr-defined]
        raise QueueRefusal("methodist.refused.no_offer")
    mentor = await session.get(User, offer.mentor_id)
    await session.delete(offer)
    await session.flush()
    await session.refresh(row.request)
    return Withdrawn(
        mentor_telegram_id=mentor.telegram_id if mentor else 0,
        mentor_language=mentor.language if mentor else "ru",
        mentee_name=row.mentee.full_name,
    )
