"""Professional development: providers, the catalog of programmes, the courses a teacher
recorded, and the individual route (ИОМ) with its steps."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow


class CourseKind(StrEnum):
    QUALIFICATION = "qualification"  # повышение квалификации
    RETRAINING = "retraining"  # профессиональная переподготовка
    INTERNSHIP = "internship"  # стажировка
    SEMINAR = "seminar"  # семинар или вебинар
    CONFERENCE = "conference"
    OTHER = "other"


class CourseFormat(StrEnum):
    IN_PERSON = "in_person"  # очно
    DISTANCE = "distance"  # дистанционно
    BLENDED = "blended"  # смешанно


class RouteStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    COMPLETED = "completed"
    ARCHIVED = "archived"  # replaced by a newer route before completion


class StepKind(StrEnum):
    COURSE = "course"
    MENTORING = "mentoring"
    SEMINAR = "seminar"
    CONFERENCE = "conference"  # a catalog conference (before migration 0006: a seminar step)
    SELF_STUDY = "self_study"
    OTHER = "other"


class StepStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    CLOSED = "closed"  # closed with a reason without being done


class ProviderStatus(StrEnum):
    PRIVATE = "private"  # typed by one teacher: only they see it
    SHARED = "shared"  # typed by a second teacher too: everyone sees it
    APPROVED = "approved"  # from the catalog, or approved by a methodist or an admin


class Provider(Base):
    """An organiser of courses. A name a teacher typed is theirs alone (``private``) until a
    methodist approves it or a second teacher types the same name."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(
        String(20), default=ProviderStatus.APPROVED.value, server_default="approved"
    )
    # the users.id of the teacher who typed it, while it is theirs alone (cleared when it
    # stops being so; their deletion deletes it, see services.people.delete_user). No
    # foreign key: adding one to an existing SQLite table means rebuilding the table.
    created_by: Mapped[int | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_providers_created_by", "created_by"),)


class CatalogItem(Base):
    """A programme in the municipal bank (loaded from a spreadsheet)."""

    __tablename__ = "catalog_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="RESTRICT"))
    hours: Mapped[int]
    format: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), default=CourseKind.QUALIFICATION.value)
    blocks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    positions: Mapped[list[Any]] = mapped_column(JSON, default=list)  # empty: any position
    subjects: Mapped[list[Any]] = mapped_column(JSON, default=list)  # empty: any subject
    link: Mapped[str | None] = mapped_column(String(500), default=None)
    starts_on: Mapped[date | None] = mapped_column(default=None)
    ends_on: Mapped[date | None] = mapped_column(default=None)
    enrol_from: Mapped[date | None] = mapped_column(default=None)
    enrol_until: Mapped[date | None] = mapped_column(default=None)
    federal_register: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    provider: Mapped[Provider] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("title", "provider_id"),)


class Course(Base):
    """A course or other development activity a teacher recorded («Мои курсы»)."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("providers.id", ondelete="SET NULL"), default=None
    )
    kind: Mapped[str] = mapped_column(String(20))
    hours: Mapped[int]
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    format: Mapped[str] = mapped_column(String(20))
    blocks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    certificate_number: Mapped[str | None] = mapped_column(String(100), default=None)
    certificate_file_id: Mapped[str | None] = mapped_column(String(300), default=None)
    certificate_file_name: Mapped[str | None] = mapped_column(String(300), default=None)
    certificate_file_size: Mapped[int | None] = mapped_column(default=None)
    catalog_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("catalog_items.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    provider: Mapped[Provider | None] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_courses_user", "user_id", "ends_on"),
        Index("ix_courses_report", "kind", "ends_on"),
    )


class Route(Base):
    """An individual route (ИОМ): draft → active → completed (or archived when replaced)."""

    __tablename__ = "routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=RouteStatus.DRAFT.value)
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("attempts.id", ondelete="SET NULL"), default=None
    )
    baseline: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # block -> score
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)

    steps: Mapped[list[RouteStep]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="RouteStep.position"
    )

    __table_args__ = (
        Index("ix_routes_user_status", "user_id", "status"),
        # one active route and one draft per teacher, even with several bot processes
        Index(
            "uq_routes_one_active",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index(
            "uq_routes_one_draft",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'draft'"),
            postgresql_where=text("status = 'draft'"),
        ),
    )


class RouteStep(Base):
    __tablename__ = "route_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("routes.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    block: Mapped[str | None] = mapped_column(String(32), default=None)
    level: Mapped[str | None] = mapped_column(String(32), default=None)  # band code of the deficit
    kind: Mapped[str] = mapped_column(String(20))
    catalog_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("catalog_items.id", ondelete="SET NULL"), default=None
    )
    title: Mapped[str] = mapped_column(String(300))
    form: Mapped[str | None] = mapped_column(String(20), default=None)  # a CourseFormat or None
    target_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(20), default=StepStatus.PLANNED.value)
    closed_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey("courses.id", ondelete="SET NULL"), default=None
    )

    __table_args__ = (Index("ix_route_steps_route", "route_id", "position"),)
