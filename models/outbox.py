"""Everything sent later or in bulk, and what the scheduler already did: the outbox, its
files, job runs, survey campaigns and their audience, the teacher's notification settings.

The outbox is the one way out for bulk work: handlers and jobs insert rows (a unique ``key``
per message, so enqueueing twice sends once) and one sender (:mod:`scheduler.sender`) drains
it under Telegram's limits.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the bounded retries
    SKIPPED = "skipped"  # the recipient blocked the bot or is no longer active
    CANCELLED = "cancelled"  # no longer relevant (e.g. the teacher already answered)


class Outbox(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    # unique per message: "campaign:12:invite:345", "digest:<telegram id>:2026-W49", ...
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))  # "campaign.invite", "reminder.survey", ...
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    text: Mapped[str] = mapped_column(Text)  # Telegram HTML, at most 4096 characters
    keyboard: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # a personal reminder: at most one per teacher per local day (the sender holds the rest)
    reminder: Mapped[bool] = mapped_column(default=False)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    parts_sent: Mapped[int] = mapped_column(default=0)  # the text is part 0, then the files
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)

    files: Mapped[list[OutboxFile]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="OutboxFile.position"
    )

    __table_args__ = (
        Index("ix_outbox_due", "status", "due_at"),
        Index("ix_outbox_chat", "telegram_id", "sent_at"),
    )


class OutboxFile(Base):
    """A file sent after the message's text (a chart as a photo, a spreadsheet as a document)."""

    __tablename__ = "outbox_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(20))  # "photo" | "document"
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    caption: Mapped[str | None] = mapped_column(String(1024), default=None)

    __table_args__ = (Index("ix_outbox_files_outbox", "outbox_id"),)


class JobRun(Base):
    """A scheduled run that was done: ``period`` names the run ("2026-W49", "2026-12-03"),
    so a run missed while the process was down is done once when it comes back."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(60))
    period: Mapped[str] = mapped_column(String(40))
    done_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("job", "period"),)


class CampaignStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"  # the deadline passed or the methodist closed it


class Campaign(Base):
    """A survey campaign: an instrument sent to an audience with a deadline and reminders."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[str] = mapped_column(String(32))
    # the audience's scope: a school, a municipality, or the region (both None)
    school_id: Mapped[int | None] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), default=None
    )
    municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), default=None
    )
    # {"positions": [...], "subjects": [...], "young_only": bool}; empty lists: anyone
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # reminders: days after the start and days before the deadline
    remind_after_days: Mapped[list[Any]] = mapped_column(JSON, default=lambda: [3])
    remind_before_days: Mapped[list[Any]] = mapped_column(JSON, default=lambda: [1])
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline: Mapped[date]  # the last local day to answer
    status: Mapped[str] = mapped_column(String(20), default=CampaignStatus.ACTIVE.value)
    created_by: Mapped[int] = mapped_column(BigInteger)  # the methodist's Telegram id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    # the monitoring calendar window it was launched from ("young-2026"), if any
    window: Mapped[str | None] = mapped_column(String(40), default=None)

    __table_args__ = (Index("ix_campaigns_status", "status", "deadline"),)


class CampaignMember(Base):
    """One teacher of a campaign's audience (added at the launch or while it runs)."""

    __tablename__ = "campaign_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # already answered within the instrument's minimum interval: counted, not asked
    counted_before: Mapped[bool] = mapped_column(default=False)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        UniqueConstraint("campaign_id", "user_id"),
        Index("ix_campaign_members_user", "user_id"),
    )


class NotificationSettings(Base):
    """A teacher's switches in «Настройки»: the personal reminder kinds they turned off."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    off: Mapped[list[Any]] = mapped_column(JSON, default=list)  # reminder kinds switched off
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IndicatorSnapshot(Base):
    """The indicators of a scope as a digest showed them, so the next one shows the change."""

    __tablename__ = "indicator_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))  # "school:12", "municipality:3", "region"
    period: Mapped[str] = mapped_column(String(20))  # the ISO week, "2026-W49"
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # code -> number

    __table_args__ = (UniqueConstraint("scope", "period"),)
