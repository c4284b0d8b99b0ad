"""Mentoring «учитель – учитель», the teachers' side: the request for a mentor, the mentor's
card, the mentor's answer to a methodist's offer, the pair, its meetings, closing and the
mentee's check-ins. The methodists' queue and assignment are in
:mod:`services.mentoring_queue`.

Rules kept here:

* A request is the teacher's own row, filled step by step (subject or area, help topics,
  their own words, a preference for their school) and seen by methodists only once the
  teacher presses «Передать заявку методисту» (``shared_at``): the consent says methodists
  see totals only, so sharing is the teacher's explicit act.
* One live request (draft, open or offered) or active pair per mentee; a second request is
  refused with a way to the existing one. The database holds the same rule in two partial
  unique indexes.
* A mentor's card: subjects, 1–5 mentees, a note. Withdrawing keeps active pairs.
* Only the proposed mentor answers an offer, once. Accepting checks capacity again and makes
  the pair; refusing puts the request back into the queue and the methodist is told.
* Only the two people of a pair see it, log its meetings and close it; only the mentee rates
  it and answers check-ins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models import (
    LIVE_REQUEST,
    Answer,
    Attempt,
    AttemptStatus,
    MeetingFormat,
    MentorCheckin,
    MentorMeeting,
    MentorOffer,
    MentorPair,
    MentorProfile,
    MentorRequest,
    PairStatus,
    RequestStatus,
    School,
    User,
)
from services.errors import Refusal
from services.people import is_young
from services.reference import SUBJECTS
from services.routes import mentoring_completed
from surveys.loader import kind_group

GENERAL = "general"  # a request about general questions, not one subject
TOPICS: tuple[str, ...] = (
    "docs",
    "discipline",
    "parents",
    "lesson",
    "differentiation",
    "planning",
    "assessment",
    "inclusive",
    "upbringing",
    "digital",
    "workload",
    "relations",
)
"""Help topics of a request: the difficulties of the young-teacher questionnaires (the
``mentor_areas`` options of the school and the pre-school one use these codes). Labels:
``mentoring.topic.<code>``, worded for both."""

FORMATS: tuple[str, ...] = tuple(f.value for f in MeetingFormat)
MINUTES: tuple[int, ...] = (30, 45, 60, 90, 120)
MEETING_DAYS_BACK = 14  # a meeting is logged for today or one of the 13 days before
MAX_MENTEES = 5
DETAILS_MAX = 1000
NOTE_MAX = 500
GOALS_MAX = 2000
TOPIC_MAX = 200
REASON_MAX = 500
COMMENT_MAX = 1000
INTRO_MAX = 1000
WAIT_FLAG_DAYS = 7  # a request waiting longer is flagged for methodists
YOUNG_INSTRUMENTS = kind_group("young")  # the school and the pre-school questionnaire


class MentoringError(Refusal):
    """A refused mentoring input or button; ``code`` is a locale key."""


STALE = "common.stale"


# ---------------------------------------------------------------- view models


@dataclass(frozen=True)
class RequestView:
    id: int
    status: str
    subject: str | None  # a subject code, GENERAL, or None (not chosen yet)
    topics: tuple[str, ...]
    details: str | None
    same_school: bool
    shared_at: datetime | None
    school: str | None
    mentor_offered: bool  # a methodist proposed a mentor; waiting for their answer

    @property
    def complete(self) -> bool:
        return self.subject is not None and bool(self.topics)


@dataclass(frozen=True)
class Existing:
    """A second request was refused: the live request or the active pair."""

    request: RequestView | None
    pair_id: int | None


@dataclass(frozen=True)
class SubjectChoice:
    request_id: int
    own: tuple[str, ...]  # the teacher's subjects, offered first
    chosen: str | None


@dataclass(frozen=True)
class TopicChoice:
    request_id: int
    chosen: tuple[str, ...]


@dataclass(frozen=True)
class MentorCardView:
    subjects: tuple[str, ...]
    max_mentees: int
    note: str | None
    active: bool  # saved and ready for new mentees
    saved: bool  # a row exists
    mentees: int  # active pairs as mentor


@dataclass(frozen=True)
class PairLine:
    pair_id: int
    partner: str
    as_mentor: bool


@dataclass(frozen=True)
class OfferLine:
    offer_id: int
    mentee: str
    school: str | None


@dataclass(frozen=True)
class HomeView:
    """«Наставничество»: everything of the person's mentoring in one screen."""

    young: bool
    request: RequestView | None
    pairs: tuple[PairLine, ...]
    offers: tuple[OfferLine, ...]  # offers waiting for this mentor's answer
    card: MentorCardView | None

    @property
    def can_request(self) -> bool:
        return self.request is None and not any(not p.as_mentor for p in self.pairs)


@dataclass(frozen=True)
class OfferView:
    """What a mentor is told of a request proposed to them."""

    offer_id: int
    mentee: str
    school: str | None
    subject: str | None
    topics: tuple[str, ...]
    details: str | None
    same_school: bool
    answered: bool


@dataclass(frozen=True)
class Person:
    """A side of a pair as the other side sees it."""

    name: str
    school: str | None
    telegram_id: int
    username: str | None


@dataclass(frozen=True)
class Accepted:
    pair_id: int
    mentor: Person
    mentee: Person
    methodist_telegram_id: int


@dataclass(frozen=True)
class Declined:
    mentor: str
    mentee: str
    reason: str | None
    methodist_telegram_id: int


@dataclass(frozen=True)
class MeetingLine:
    held_on: date
    topic: str
    format: str
    minutes: int
    note: str | None
    by_me: bool


@dataclass(frozen=True)
class PairView:
    pair_id: int
    as_mentor: bool
    status: str
    partner: Person
    started_on: date
    goals: str | None
    meetings: tuple[MeetingLine, ...]  # newest first
    meeting_count: int
    checkins: tuple[tuple[date, int], ...]  # newest first
    can_intro: bool  # this side may still have the bot relay an introduction
    rating: int | None

    @property
    def active(self) -> bool:
        return self.status == PairStatus.ACTIVE.value


@dataclass(frozen=True)
class Closed:
    pair_id: int
    completed: bool
    partner: Person
    closer: str
    mentee_closed: bool  # the mentee closed it: they rate it right away


@dataclass(frozen=True)
class Relay:
    """An introduction to pass to the other side."""

    pair_id: int
    sender: Person
    recipient: Person
    text: str


# ---------------------------------------------------------------- helpers


def _clean(text: str | None, limit: int, *, one_line: bool = False) -> str:
    value = " ".join((text or "").split()) if one_line else (text or "").strip()
    if not value:
        raise MentoringError("mentoring.error.empty")
    if len(value) > limit:
        raise MentoringError("mentoring.error.too_long", limit=limit, length=len(value))
    return value


def check_details(text: str | None) -> str:
    return _clean(text, DETAILS_MAX)


def check_note(text: str | None) -> str:
    return _clean(text, NOTE_MAX)


def check_goals(text: str | None) -> str:
    return _clean(text, GOALS_MAX)


def check_topic(text: str | None) -> str:
    return _clean(text, TOPIC_MAX, one_line=True)


def check_reason(text: str | None) -> str:
    return _clean(text, REASON_MAX)


def check_comment(text: str | None) -> str:
    return _clean(text, COMMENT_MAX)


def check_intro(text: str | None) -> str:
    return _clean(text, INTRO_MAX)


def _request_view(req: MentorRequest, school: str | None) -> RequestView:
    return RequestView(
        id=req.id,
        status=req.status,
        subject=req.subject,
        topics=tuple(t for t in TOPICS if t in (req.topics or [])),
        details=req.details,
        same_school=req.same_school,
        shared_at=req.shared_at,
        school=school,
        mentor_offered=req.status == RequestStatus.OFFERED.value,
    )


def _school_of(user: User) -> str | None:
    return (user.school.short_name or user.school.name) if user.school else None


async def _school_name(session: AsyncSession, school_id: int | None) -> str | None:
    if school_id is None:
        return None
    school = await session.get(School, school_id)
    return (school.short_name or school.name) if school else None


async def _live_request(session: AsyncSession, user_id: int) -> MentorRequest | None:
    return await session.scalar(
        select(MentorRequest).where(
            MentorRequest.mentee_id == user_id,
            MentorRequest.status.in_([s.value for s in LIVE_REQUEST]),
        )
    )


async def _active_pair_as_mentee(session: AsyncSession, user_id: int) -> MentorPair | None:
    return await session.scalar(
        select(MentorPair).where(
            MentorPair.mentee_id == user_id, MentorPair.status == PairStatus.ACTIVE.value
        )
    )


async def _own_request(
    session: AsyncSession, user: User, request_id: int, *, draft_only: bool = True
) -> MentorRequest:
    req = await session.get(MentorRequest, request_id)
    if req is None or req.mentee_id != user.id:
        raise MentoringError(STALE)
    if draft_only and req.status != RequestStatus.DRAFT.value:
        raise MentoringError("mentoring.error.already_shared")
    return req


async def active_mentees(session: AsyncSession, mentor_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(MentorPair)
            .where(MentorPair.mentor_id == mentor_id, MentorPair.status == PairStatus.ACTIVE.value)
        )
        or 0
    )


# ---------------------------------------------------------------- «Наставничество»


async def home(session: AsyncSession, user: User, today: date) -> HomeView:
    req = await _live_request(session, user.id)
    school = _school_of(user)
    partner = aliased(User)
    pairs = tuple(
        PairLine(pair_id, name or "—", mentor_id == user.id)
        for pair_id, mentor_id, name in await session.execute(
            select(MentorPair.id, MentorPair.mentor_id, partner.full_name)
            .join(
                partner,
                partner.id
                == case(
                    (MentorPair.mentor_id == user.id, MentorPair.mentee_id),
                    else_=MentorPair.mentor_id,
                ),
            )
            .where(MentorPair.status == PairStatus.ACTIVE.value)
            .where((MentorPair.mentor_id == user.id) | (MentorPair.mentee_id == user.id))
            .order_by(MentorPair.started_on, MentorPair.id)
        )
    )
    offers = tuple(
        OfferLine(offer_id, name or "—", school)
        for offer_id, name, school in await session.execute(
            select(MentorOffer.id, User.full_name, func.coalesce(School.short_name, School.name))
            .join(MentorRequest, MentorRequest.id == MentorOffer.request_id)
            .join(User, User.id == MentorRequest.mentee_id)
            .outerjoin(School, School.id == User.school_id)
            .where(
                MentorOffer.mentor_id == user.id,
                MentorOffer.answered_at.is_(None),
                MentorRequest.status == RequestStatus.OFFERED.value,
            )
            .order_by(MentorOffer.offered_at)
        )
    )
    return HomeView(
        young=is_young(user, today),
        request=_request_view(req, school) if req else None,
        pairs=pairs,
        offers=offers,
        card=await _card_view(session, user),
    )


# ---------------------------------------------------------------- the request


async def start_request(
    session: AsyncSession, user: User, today: date, topics: tuple[str, ...] = ()
) -> SubjectChoice:
    """A new draft request (or :class:`MentoringError` ``mentoring.error.has_request`` with
    the existing one in :func:`existing`)."""
    if await _live_request(session, user.id) is not None:
        raise MentoringError("mentoring.error.has_request")
    if await _active_pair_as_mentee(session, user.id) is not None:
        raise MentoringError("mentoring.error.has_mentor")
    req = MentorRequest(
        mentee_id=user.id,
        status=RequestStatus.DRAFT.value,
        topics=[t for t in TOPICS if t in topics],
        young=is_young(user, today),
    )
    session.add(req)
    await session.flush()
    return SubjectChoice(req.id, tuple(user.subject_codes), None)


async def existing(session: AsyncSession, user: User) -> Existing:
    req = await _live_request(session, user.id)
    pair = await _active_pair_as_mentee(session, user.id)
    school = _school_of(user)
    return Existing(_request_view(req, school) if req else None, pair.id if pair else None)


async def request_from_survey(
    session: AsyncSession, user: User, attempt_id: int, today: date
) -> SubjectChoice:
    """A request pre-filled with the areas chosen in the teacher's own completed
    young-teacher questionnaire (the answers themselves stay private: only the chosen topic
    codes are copied into the draft, which the teacher sees before sharing)."""
    attempt = await session.get(Attempt, attempt_id)
    if (
        attempt is None
        or attempt.user_id != user.id
        or attempt.instrument_id not in YOUNG_INSTRUMENTS
        or attempt.status != AttemptStatus.COMPLETED.value
    ):
        raise MentoringError(STALE)
    value = await session.scalar(
        select(Answer.value).where(
            Answer.attempt_id == attempt.id, Answer.question_id == "mentor_areas"
        )
    )
    areas = tuple(str(v) for v in value) if isinstance(value, list) else ()
    return await start_request(session, user, today, areas)


async def subject_choice(session: AsyncSession, user: User, request_id: int) -> SubjectChoice:
    req = await _own_request(session, user, request_id)
    return SubjectChoice(req.id, tuple(user.subject_codes), req.subject)


async def set_subject(
    session: AsyncSession, user: User, request_id: int, index: int
) -> TopicChoice:
    req = await _own_request(session, user, request_id)
    if index == -1:
        req.subject = GENERAL
    elif 0 <= index < len(SUBJECTS):
        req.subject = SUBJECTS[index]
    else:
        raise MentoringError(STALE)
    return TopicChoice(req.id, tuple(t for t in TOPICS if t in (req.topics or [])))


async def toggle_topic(
    session: AsyncSession, user: User, request_id: int, index: int
) -> TopicChoice:
    req = await _own_request(session, user, request_id)
    if not 0 <= index < len(TOPICS):
        raise MentoringError(STALE)
    chosen = set(req.topics or [])
    chosen ^= {TOPICS[index]}
    req.topics = [t for t in TOPICS if t in chosen]
    return TopicChoice(req.id, tuple(req.topics))


async def topics_done(session: AsyncSession, user: User, request_id: int) -> RequestView:
    req = await _own_request(session, user, request_id)
    if not req.topics:
        raise MentoringError("mentoring.error.no_topics")
    return _request_view(req, None)


async def set_details(
    session: AsyncSession, user: User, request_id: int, text: str | None
) -> RequestView:
    """``text`` None: skipped."""
    req = await _own_request(session, user, request_id)
    req.details = check_details(text) if text is not None else None
    return _request_view(req, None)


async def set_place(
    session: AsyncSession, user: User, request_id: int, same_school: bool
) -> RequestView:
    req = await _own_request(session, user, request_id)
    req.same_school = same_school
    return await request_view(session, user, req.id)


async def request_view(session: AsyncSession, user: User, request_id: int) -> RequestView:
    req = await _own_request(session, user, request_id, draft_only=False)
    if req.status not in {s.value for s in LIVE_REQUEST}:
        raise MentoringError(STALE)
    school = _school_of(user)
    return _request_view(req, school)


async def share(
    session: AsyncSession, user: User, request_id: int, username: str | None, now: datetime
) -> RequestView:
    """«Передать заявку методисту»: the request enters the queue of the methodists of the
    teacher's school and municipality."""
    req = await _own_request(session, user, request_id)
    if req.subject is None or not req.topics:
        raise MentoringError("mentoring.error.incomplete")
    if user.school_id is None:
        raise MentoringError("mentoring.error.no_school")
    req.status = RequestStatus.OPEN.value
    req.shared_at = now
    req.username = username
    return await request_view(session, user, req.id)


async def withdraw(session: AsyncSession, user: User, request_id: int, now: datetime) -> None:
    req = await _own_request(session, user, request_id, draft_only=False)
    if req.status not in {s.value for s in LIVE_REQUEST}:
        raise MentoringError(STALE)
    req.status = RequestStatus.WITHDRAWN.value
    req.closed_at = now
    # an offer waiting for a mentor's answer is void
    for offer in (
        await session.scalars(
            select(MentorOffer).where(
                MentorOffer.request_id == req.id, MentorOffer.answered_at.is_(None)
            )
        )
    ).all():
        offer.answered_at = now
        offer.accepted = False
        offer.reason = None


# ---------------------------------------------------------------- the mentor's card


async def _card_view(
    session: AsyncSession, user: User, draft: dict[str, Any] | None = None
) -> MentorCardView | None:
    card = await session.get(MentorProfile, user.id)
    if card is None and draft is None:
        return None
    mentees = await active_mentees(session, user.id) if card is not None else 0
    if draft is not None:
        return MentorCardView(
            subjects=tuple(s for s in SUBJECTS if s in draft.get("subjects", [])),
            max_mentees=int(draft.get("max", 1)),
            note=draft.get("note"),
            active=card.active if card else False,
            saved=card is not None,
            mentees=mentees,
        )
    assert card is not None
    return MentorCardView(
        subjects=tuple(s for s in SUBJECTS if s in (card.subjects or [])),
        max_mentees=card.max_mentees,
        note=card.note,
        active=card.active,
        saved=True,
        mentees=mentees,
    )


def card_draft(view: MentorCardView | None, user: User) -> dict[str, Any]:
    """The card being edited (kept in the conversation data until «Сохранить»)."""
    if view is None:
        return {"subjects": list(user.subject_codes), "max": 1, "note": None}
    return {"subjects": list(view.subjects), "max": view.max_mentees, "note": view.note}


async def mentor_card(
    session: AsyncSession, user: User, draft: dict[str, Any] | None
) -> tuple[MentorCardView, dict[str, Any]]:
    """The card to show and its draft: the draft being edited, or one from the saved card."""
    if draft is None:
        draft = card_draft(await _card_view(session, user), user)
    view = await _card_view(session, user, draft)
    assert view is not None
    return view, draft


def toggle_card_subject(draft: dict[str, Any], index: int) -> dict[str, Any]:
    if not 0 <= index < len(SUBJECTS):
        raise MentoringError(STALE)
    chosen = set(draft.get("subjects", []))
    chosen ^= {SUBJECTS[index]}
    return {**draft, "subjects": [s for s in SUBJECTS if s in chosen]}


def set_card_capacity(draft: dict[str, Any], count: int) -> dict[str, Any]:
    if not 1 <= count <= MAX_MENTEES:
        raise MentoringError(STALE)
    return {**draft, "max": count}


async def save_card(
    session: AsyncSession, user: User, draft: dict[str, Any], now: datetime
) -> MentorCardView:
    subjects = [s for s in SUBJECTS if s in draft.get("subjects", [])]
    count = int(draft.get("max", 1))
    if not 1 <= count <= MAX_MENTEES:
        raise MentoringError(STALE)
    note = draft.get("note")
    note = check_note(note) if note else None
    card = await session.get(MentorProfile, user.id)
    if card is None:
        card = MentorProfile(user_id=user.id)
        session.add(card)
    card.subjects = subjects
    card.max_mentees = count
    card.note = note
    card.active = True
    card.updated_at = now
    await session.flush()
    view = await _card_view(session, user)
    assert view is not None
    return view


async def withdraw_card(session: AsyncSession, user: User, now: datetime) -> MentorCardView:
    card = await session.get(MentorProfile, user.id)
    if card is None:
        raise MentoringError(STALE)
    card.active = False
    card.updated_at = now
    view = await _card_view(session, user)
    assert view is not None
    return view


# ---------------------------------------------------------------- the mentor's answer


async def _own_offer(session: AsyncSession, user: User, offer_id: int) -> MentorOffer:
    offer = await session.get(MentorOffer, offer_id)
    if offer is None or offer.mentor_id != user.id:
        raise MentoringError(STALE)
    return offer


async def _open_offer(
    session: AsyncSession, user: User, offer_id: int
) -> tuple[MentorOffer, MentorRequest]:
    offer = await _own_offer(session, user, offer_id)
    req = await session.get(MentorRequest, offer.request_id)
    if offer.answered_at is not None or req is None or req.status != RequestStatus.OFFERED.value:
        raise MentoringError("mentoring.error.offer_gone")
    return offer, req


async def offer_view(session: AsyncSession, user: User, offer_id: int) -> OfferView:
    offer = await _own_offer(session, user, offer_id)
    req = await session.get(MentorRequest, offer.request_id)
    if req is None:
        raise MentoringError(STALE)
    mentee = await session.get(User, req.mentee_id)
    return OfferView(
        offer_id=offer.id,
        mentee=(mentee.full_name if mentee else None) or "—",
        school=await _school_name(session, mentee.school_id if mentee else None),
        subject=req.subject,
        topics=tuple(t for t in TOPICS if t in (req.topics or [])),
        details=req.details,
        same_school=req.same_school,
        answered=offer.answered_at is not None or req.status != RequestStatus.OFFERED.value,
    )


async def _person(session: AsyncSession, user_id: int, username: str | None) -> Person:
    person = await session.get(User, user_id)
    if person is None:
        return Person("—", None, 0, None)
    return Person(
        person.full_name or "—",
        await _school_name(session, person.school_id),
        person.telegram_id,
        username,
    )


def _goals_from(req: MentorRequest, labels: dict[str, str]) -> str:
    parts = [labels.get(t, t) for t in TOPICS if t in (req.topics or [])]
    text = "; ".join(parts)
    if req.details:
        text = f"{text}. {req.details}" if text else req.details
    return text[:GOALS_MAX]


async def accept_offer(
    session: AsyncSession,
    user: User,
    offer_id: int,
    username: str | None,
    topic_labels: dict[str, str],
    now: datetime,
) -> Accepted:
    """The mentor accepts: the pair starts, its goals pre-filled from the request."""
    offer, req = await _open_offer(session, user, offer_id)
    card = await session.get(MentorProfile, user.id)
    capacity = card.max_mentees if card else 1
    if await active_mentees(session, user.id) >= capacity:
        raise MentoringError("mentoring.error.at_capacity")
    if await _active_pair_as_mentee(session, req.mentee_id) is not None:
        raise MentoringError("mentoring.error.offer_gone")
    offer.answered_at = now
    offer.accepted = True
    req.status = RequestStatus.MATCHED.value
    req.closed_at = now
    pair = MentorPair(
        request_id=req.id,
        mentor_id=user.id,
        mentee_id=req.mentee_id,
        status=PairStatus.ACTIVE.value,
        started_on=now.date(),
        goals=_goals_from(req, topic_labels) or None,
        mentor_username=username,
        mentee_username=req.username,
    )
    session.add(pair)
    await session.flush()
    return Accepted(
        pair_id=pair.id,
        mentor=await _person(session, user.id, username),
        mentee=await _person(session, req.mentee_id, req.username),
        methodist_telegram_id=offer.offered_by,
    )


async def decline_offer(
    session: AsyncSession, user: User, offer_id: int, reason: str | None, now: datetime
) -> Declined:
    """The mentor refuses: the request goes back to the methodists' queue."""
    offer, req = await _open_offer(session, user, offer_id)
    offer.answered_at = now
    offer.accepted = False
    offer.reason = check_reason(reason) if reason else None
    req.status = RequestStatus.OPEN.value
    mentee = await session.get(User, req.mentee_id)
    return Declined(
        mentor=user.full_name or "—",
        mentee=(mentee.full_name if mentee else None) or "—",
        reason=offer.reason,
        methodist_telegram_id=offer.offered_by,
    )


async def check_open_offer(session: AsyncSession, user: User, offer_id: int) -> None:
    """Before asking for a refusal's reason: the offer is still this mentor's to answer."""
    await _open_offer(session, user, offer_id)


# ---------------------------------------------------------------- the pair


async def _own_pair(
    session: AsyncSession, user: User, pair_id: int, *, active: bool = True
) -> MentorPair:
    pair = await session.get(MentorPair, pair_id)
    if pair is None or user.id not in (pair.mentor_id, pair.mentee_id):
        raise MentoringError(STALE)
    if active and pair.status != PairStatus.ACTIVE.value:
        raise MentoringError("mentoring.error.pair_closed")
    return pair


async def pair_view(
    session: AsyncSession, user: User, pair_id: int, *, meetings: int = 3
) -> PairView:
    pair = await _own_pair(session, user, pair_id, active=False)
    as_mentor = pair.mentor_id == user.id
    partner = await _person(
        session,
        pair.mentee_id if as_mentor else pair.mentor_id,
        pair.mentee_username if as_mentor else pair.mentor_username,
    )
    rows = (
        await session.scalars(
            select(MentorMeeting)
            .where(MentorMeeting.pair_id == pair.id)
            .order_by(MentorMeeting.held_on.desc(), MentorMeeting.id.desc())
        )
    ).all()
    checkins = (
        await session.scalars(
            select(MentorCheckin)
            .where(MentorCheckin.pair_id == pair.id)
            .order_by(MentorCheckin.created_at.desc(), MentorCheckin.id.desc())
            .limit(3)
        )
    ).all()
    intro_used = pair.mentor_intro_sent if as_mentor else pair.mentee_intro_sent
    return PairView(
        pair_id=pair.id,
        as_mentor=as_mentor,
        status=pair.status,
        partner=partner,
        started_on=pair.started_on,
        goals=pair.goals,
        meetings=tuple(
            MeetingLine(m.held_on, m.topic, m.format, m.minutes, m.note, m.logged_by == user.id)
            for m in rows[:meetings]
        ),
        meeting_count=len(rows),
        checkins=tuple((c.created_at.date(), c.score) for c in checkins),
        can_intro=pair.status == PairStatus.ACTIVE.value and not intro_used,
        rating=pair.rating,
    )


async def set_goals(session: AsyncSession, user: User, pair_id: int, text: str) -> PairView:
    pair = await _own_pair(session, user, pair_id)
    if pair.mentor_id != user.id:
        raise MentoringError(STALE)
    pair.goals = check_goals(text)
    return await pair_view(session, user, pair.id)


async def check_pair(session: AsyncSession, user: User, pair_id: int) -> bool:
    """Before a dialog about a pair: it is the person's active pair; True for the mentor."""
    pair = await _own_pair(session, user, pair_id)
    return pair.mentor_id == user.id


def meeting_date(today: date, days_ago: int) -> date:
    if not 0 <= days_ago < MEETING_DAYS_BACK:
        raise MentoringError(STALE)
    return today - timedelta(days=days_ago)


def meeting_format(index: int) -> str:
    if not 0 <= index < len(FORMATS):
        raise MentoringError(STALE)
    return FORMATS[index]


def meeting_minutes(value: int) -> int:
    if value not in MINUTES:
        raise MentoringError(STALE)
    return value


async def log_meeting(
    session: AsyncSession, user: User, pair_id: int, draft: dict[str, Any], now: datetime
) -> PairView:
    """Write a meeting from the dialog's draft (date, topic, format, minutes, note)."""
    pair = await _own_pair(session, user, pair_id)
    try:
        held_on = date.fromisoformat(str(draft["date"]))
        topic = check_topic(draft["topic"])
        fmt = str(draft["format"])
        minutes = meeting_minutes(int(draft["minutes"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise MentoringError("mentoring.error.meeting_incomplete") from exc
    if fmt not in FORMATS:
        raise MentoringError("mentoring.error.meeting_incomplete")
    note = draft.get("note")
    session.add(
        MentorMeeting(
            pair_id=pair.id,
            held_on=held_on,
            topic=topic,
            format=fmt,
            minutes=minutes,
            note=check_comment(note) if note else None,
            logged_by=user.id,
            created_at=now,
        )
    )
    await session.flush()
    return await pair_view(session, user, pair.id)


async def meeting_log(session: AsyncSession, user: User, pair_id: int) -> PairView:
    return await pair_view(session, user, pair_id, meetings=1000)


async def close_pair(
    session: AsyncSession,
    user: User,
    pair_id: int,
    completed: bool,
    reason: str | None,
    now: datetime,
) -> Closed:
    """Either side closes the pair; a completed pair marks the route's mentoring step done."""
    pair = await _own_pair(session, user, pair_id)
    pair.status = (PairStatus.COMPLETED if completed else PairStatus.CANCELLED).value
    pair.closed_at = now
    pair.close_reason = check_reason(reason) if reason else None
    if completed:
        await mentoring_completed(session, pair.mentee_id, now)
    as_mentor = pair.mentor_id == user.id
    partner = await _person(
        session,
        pair.mentee_id if as_mentor else pair.mentor_id,
        pair.mentee_username if as_mentor else pair.mentor_username,
    )
    return Closed(pair.id, completed, partner, user.full_name or "—", not as_mentor)


async def _mentee_pair(session: AsyncSession, user: User, pair_id: int) -> MentorPair:
    pair = await _own_pair(session, user, pair_id, active=False)
    if pair.mentee_id != user.id:
        raise MentoringError(STALE)
    return pair


async def rate_pair(session: AsyncSession, user: User, pair_id: int, rating: int) -> None:
    pair = await _mentee_pair(session, user, pair_id)
    if pair.status == PairStatus.ACTIVE.value or pair.rating is not None:
        raise MentoringError(STALE)
    if not 1 <= rating <= 5:
        raise MentoringError(STALE)
    pair.rating = rating


async def comment_pair(
    session: AsyncSession, user: User, pair_id: int, text: str, anonymous: bool
) -> None:
    pair = await _mentee_pair(session, user, pair_id)
    if pair.status == PairStatus.ACTIVE.value or pair.rating is None:
        raise MentoringError(STALE)
    pair.rating_comment = check_comment(text)
    pair.comment_anonymous = anonymous


async def check_rated(session: AsyncSession, user: User, pair_id: int) -> None:
    """Before asking for the comment: the mentee's closed pair, already rated."""
    pair = await _mentee_pair(session, user, pair_id)
    if pair.status == PairStatus.ACTIVE.value or pair.rating is None:
        raise MentoringError(STALE)


async def checkin(
    session: AsyncSession, user: User, pair_id: int, score: int, now: datetime
) -> PairView:
    pair = await _own_pair(session, user, pair_id)
    if pair.mentee_id != user.id or not 1 <= score <= 5:
        raise MentoringError(STALE)
    session.add(MentorCheckin(pair_id=pair.id, score=score, created_at=now))
    await session.flush()
    return await pair_view(session, user, pair.id)


async def relay_intro(session: AsyncSession, user: User, pair_id: int, text: str) -> Relay:
    """The one introduction each side may have the bot pass on."""
    pair = await _own_pair(session, user, pair_id)
    as_mentor = pair.mentor_id == user.id
    if pair.mentor_intro_sent if as_mentor else pair.mentee_intro_sent:
        raise MentoringError("mentoring.error.intro_used")
    body = check_intro(text)
    if as_mentor:
        pair.mentor_intro_sent = True
    else:
        pair.mentee_intro_sent = True
    sender = await _person(
        session, user.id, pair.mentor_username if as_mentor else pair.mentee_username
    )
    recipient = await _person(
        session,
        pair.mentee_id if as_mentor else pair.mentor_id,
        pair.mentee_username if as_mentor else pair.mentor_username,
    )
    return Relay(pair.id, sender, recipient, body)
