"""Mentoring «учитель – учитель»: mentors' offers to help, requests for a mentor, the offers
a methodist makes to a mentor, pairs, their meetings and the mentee's check-ins."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class RequestStatus(StrEnum):
    DRAFT = "draft"  # being filled in, or filled in but not passed to the methodist
    OPEN = "open"  # passed to the methodists: in their queue
    OFFERED = "offered"  # a methodist proposed a mentor, waiting for the mentor's answer
    MATCHED = "matched"  # the mentor accepted: a pair exists
    WITHDRAWN = "withdrawn"  # the teacher withdrew it


# A request in one of these holds the teacher's one place: no second request meanwhile.
LIVE_REQUEST = (RequestStatus.DRAFT, RequestStatus.OPEN, RequestStatus.OFFERED)


class PairStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class MeetingFormat(StrEnum):
    LESSON_VISIT = "lesson_visit"  # урок-посещение
    CONSULTATION = "consultation"  # консультация
    JOINT_PLANNING = "joint_planning"  # совместное планирование
    OTHER = "other"


class MentorProfile(Base):
    """A teacher ready to be a mentor. Withdrawing keeps the row (``active`` false): their
    pairs go on, but nobody is proposed to them any more."""

    __tablename__ = "mentor_profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    subjects: Mapped[list[Any]] = mapped_column(JSON, default=list)  # subject codes
    max_mentees: Mapped[int] = mapped_column(default=1)
    note: Mapped[str | None] = mapped_column(String(500), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MentorRequest(Base):
    """A teacher's request for a mentor. Methodists see it only once it is shared
    (``shared_at``), and only what the request screen said they would see."""

    __tablename__ = "mentor_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.DRAFT.value)
    subject: Mapped[str | None] = mapped_column(String(32), default=None)  # or "general"
    topics: Mapped[list[Any]] = mapped_column(JSON, default=list)  # topic codes
    details: Mapped[str | None] = mapped_column(String(1000), default=None)
    same_school: Mapped[bool] = mapped_column(default=False)
    young: Mapped[bool] = mapped_column(default=False)  # a young teacher when requested
    # the teacher's Telegram username when they shared the request, so the mentor can write
    username: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    shared_at: Mapped[datetime | None] = mapped_column(default=None)  # entered the queue
    closed_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_mentor_requests_status", "status", "shared_at"),
        # one live request per teacher, even with several bot processes
        Index(
            "uq_mentor_requests_one_live",
            "mentee_id",
            unique=True,
            sqlite_where=text("status IN ('draft', 'open', 'offered')"),
            postgresql_where=text("status IN ('draft', 'open', 'offered')"),
        ),
    )


class MentorOffer(Base):
    """A methodist's proposal of a mentor for a request, and the mentor's answer."""

    __tablename__ = "mentor_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("mentor_requests.id", ondelete="CASCADE"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # the methodist who proposed (a Telegram id: a methodist need not be registered)
    offered_by: Mapped[int] = mapped_column(BigInteger)
    offered_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    accepted: Mapped[bool | None] = mapped_column(default=None)
    reason: Mapped[str | None] = mapped_column(String(500), default=None)  # of a refusal

    __table_args__ = (
        Index("ix_mentor_offers_request", "request_id"),
        Index("ix_mentor_offers_mentor", "mentor_id"),
    )


class MentorPair(Base):
    """A mentor and a mentee working together."""

    __tablename__ = "mentor_pairs"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("mentor_requests.id", ondelete="SET NULL"), default=None
    )
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=PairStatus.ACTIVE.value)
    started_on: Mapped[date]
    goals: Mapped[str | None] = mapped_column(String(2000), default=None)
    # Telegram usernames (when the person has one) for a «write to» link; without one, each
    # side may have the bot relay one introductory message
    mentor_username: Mapped[str | None] = mapped_column(String(64), default=None)
    mentee_username: Mapped[str | None] = mapped_column(String(64), default=None)
    mentor_intro_sent: Mapped[bool] = mapped_column(default=False)
    mentee_intro_sent: Mapped[bool] = mapped_column(default=False)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    close_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    rating: Mapped[int | None] = mapped_column(default=None)  # the mentee's, 1–5
    rating_comment: Mapped[str | None] = mapped_column(String(1000), default=None)
    comment_anonymous: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        Index("ix_mentor_pairs_mentor", "mentor_id", "status"),
        Index(
            "uq_mentor_pairs_one_active",
            "mentee_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )


class MentorMeeting(Base):
    __tablename__ = "mentor_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("mentor_pairs.id", ondelete="CASCADE"))
    held_on: Mapped[date]
    topic: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(20))
    minutes: Mapped[int]
    note: Mapped[str | None] = mapped_column(String(1000), default=None)
    logged_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_mentor_meetings_pair", "pair_id", "held_on"),)


class MentorCheckin(Base):
    """The mentee's «Как проходит наставничество?» (1–5), asked every few weeks."""

    __tablename__ = "mentor_checkins"

    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("mentor_pairs.id", ondelete="CASCADE"))
    score: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_mentor_checkins_pair", "pair_id", "created_at"),)
