"""Instrument versions, attempts, answers and the scale results written on completion."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    and_,
    event,
    false,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, UOWTransaction, mapped_column, relationship

from models.base import Base, utcnow
from surveys.loader import kind_group


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
    """A scale score and band, written once when an attempt completes (with the version).

    ``latest``: the row belongs to the teacher's latest completed attempt of the
    questionnaire (the instrument, or its group of one kind: the highest attempt id). Kept by :func:`_keep_latest` whenever rows are added through a
    session; a writer of plain ``INSERT`` statements sets it itself (see
    ``services.surveys.mark_latest``)."""

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
    latest: Mapped[bool] = mapped_column(default=False, server_default=false())

    __table_args__ = (
        UniqueConstraint("attempt_id", "scale_id"),
        Index("ix_scale_results_report", "instrument_id", "scale_id", "completed_at"),
        Index("ix_scale_results_user", "user_id", "instrument_id"),
    )


# the latest results of each teacher, with what the indicators read of them
Index(
    "ix_scale_results_latest",
    ScaleResult.user_id,
    ScaleResult.instrument_id,
    ScaleResult.completed_at,
    ScaleResult.scale_id,
    ScaleResult.band,
    ScaleResult.score,
    sqlite_where=ScaleResult.latest.is_(True),
    postgresql_where=ScaleResult.latest.is_(True),
)


@event.listens_for(Session, "before_flush")
def _keep_latest(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """New scale results are the latest of their teacher in their questionnaire (an
    instrument, or a group of them: ``surveys.loader.kind_group``, e.g. the school and the
    pre-school self-assessment) unless a newer attempt has results already; then the rows
    of older attempts stop being the latest. Per teacher and questionnaire among the new
    rows: a ``SELECT`` and at most one ``UPDATE``."""
    added = [obj for obj in session.new if isinstance(obj, ScaleResult)]
    if not added:
        return
    newest: dict[tuple[int, tuple[str, ...]], int] = {}
    for obj in added:
        key = (obj.user_id, kind_group(obj.instrument_id))
        newest[key] = max(newest.get(key, obj.attempt_id), obj.attempt_id)
    t = ScaleResult.__table__
    connection = session.connection()
    for (user_id, group), attempt_id in list(newest.items()):
        mine = and_(t.c.user_id == user_id, t.c.instrument_id.in_(group))
        stored = connection.scalar(select(func.max(t.c.attempt_id)).where(mine))
        if stored is not None and stored > attempt_id:
            newest[(user_id, group)] = stored  # a newer attempt keeps the flag
            continue
        connection.execute(
            update(t)
            .where(mine, t.c.latest.is_(True), t.c.attempt_id < attempt_id)
            .values(latest=False)
        )
    for obj in added:
        obj.latest = obj.attempt_id == newest[(obj.user_id, kind_group(obj.instrument_id))]
