"""Instrument versions, attempts, answers and the scale results written on completion."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow


class AttemptStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class InstrumentVersion(Base):
    """A frozen copy of an instrument file: old responses keep scoring by their own version."""

    __tablename__ = "instrument_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[str] = mapped_column(String(32))
    version: Mapped[int]
    digest: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("instrument_id", "version"),)


class Attempt(Base):
    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    instrument_version_id: Mapped[int] = mapped_column(
        ForeignKey("instrument_versions.id", ondelete="RESTRICT")
    )
    instrument_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default=AttemptStatus.IN_PROGRESS.value)
    current_question: Mapped[str | None] = mapped_column(String(32), default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)

    version: Mapped[InstrumentVersion] = relationship()
    answers: Mapped[list[Answer]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    results: Mapped[list[ScaleResult]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        Index("ix_attempts_user_instrument", "user_id", "instrument_id", "status"),
        Index("ix_attempts_completed", "instrument_id", "completed_at"),
    )


class Answer(Base):
    """One answer; ``value`` NULL means «Пропустить». ``final`` is false while a multiple
    choice is still being ticked."""

    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(32))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    final: Mapped[bool] = mapped_column(default=True)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("attempt_id", "question_id"),)


class ScaleResult(Base):
    """A scale score and band, written once when an attempt completes (with the version)."""

    __tablename__ = "scale_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    instrument_id: Mapped[str] = mapped_column(String(32))
    instrument_version: Mapped[int]
    scale_id: Mapped[str] = mapped_column(String(32))
    score: Mapped[float | None] = mapped_column(Float, default=None)
    band: Mapped[str | None] = mapped_column(String(32), default=None)
    answered: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("attempt_id", "scale_id"),
        Index("ix_scale_results_report", "instrument_id", "scale_id", "completed_at"),
        Index("ix_scale_results_user", "user_id", "instrument_id"),
    )
