"""Municipalities, schools, teachers and their roles."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow


class SchoolKind(StrEnum):
    SCHOOL = "school"
    KINDERGARTEN = "kindergarten"
    EXTRA = "extra"


class RoleName(StrEnum):
    METHODIST = "methodist"
    ADMIN = "admin"


class ScopeKind(StrEnum):
    SCHOOL = "school"
    MUNICIPALITY = "municipality"
    REGION = "region"


class Municipality(Base):
    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    schools: Mapped[list[School]] = relationship(back_populates="municipality")


class School(Base):
    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="RESTRICT")
    )
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    short_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default=SchoolKind.SCHOOL.value)

    municipality: Mapped[Municipality] = relationship(back_populates="schools")

    __table_args__ = (Index("ix_schools_municipality", "municipality_id"),)


CONSENT_EDITION = 2
"""The edition of the consent text in force (its editions: ``services.consent``). A row made
now is made at the person's agreement to it; rows older than the column were agreed to the
first edition (the migration's server default)."""


class User(Base):
    """A registered person. The row exists only after consent to data processing."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    language: Mapped[str] = mapped_column(String(8), default="ru")
    consent_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the edition of the consent text agreed at ``consent_at`` (services.consent.CONSENT_VERSION)
    consent_version: Mapped[int] = mapped_column(default=CONSENT_EDITION, server_default="1")
    # the separate consent to the burnout questionnaire (answers about health), when given
    health_consent_version: Mapped[int | None] = mapped_column(default=None)
    health_consent_at: Mapped[datetime | None] = mapped_column(default=None)
    registered_at: Mapped[datetime | None] = mapped_column(default=None)
    full_name: Mapped[str | None] = mapped_column(String(100), default=None)
    school_id: Mapped[int | None] = mapped_column(
        ForeignKey("schools.id", ondelete="SET NULL"), default=None
    )
    position: Mapped[str | None] = mapped_column(String(40), default=None)
    birth_year: Mapped[int | None] = mapped_column(default=None)
    teaching_since: Mapped[int | None] = mapped_column(default=None)
    category: Mapped[str | None] = mapped_column(String(20), default=None)
    category_year: Mapped[int | None] = mapped_column(default=None)
    # the exact date of the attestation order, when the teacher gave it (else only the year)
    category_date: Mapped[date | None] = mapped_column(default=None)
    # attestation for «соответствие занимаемой должности» (not a category): its date
    conformity_date: Mapped[date | None] = mapped_column(default=None)
    blocked_bot: Mapped[bool] = mapped_column(default=False)
    # stored facts of the teacher's own routes, courses and pairs, for the indicators; kept
    # by models.facts after every write to those rows (never set them by hand)
    fact_route_active: Mapped[bool] = mapped_column(default=False, server_default=false())
    fact_route_done_at: Mapped[datetime | None] = mapped_column(default=None)  # the latest
    fact_qualification_last: Mapped[date | None] = mapped_column(default=None)  # latest end
    fact_retraining_last: Mapped[date | None] = mapped_column(default=None)
    fact_mentor: Mapped[bool] = mapped_column(default=False, server_default=false())
    fact_mentee: Mapped[bool] = mapped_column(default=False, server_default=false())

    school: Mapped[School | None] = relationship()
    subjects: Mapped[list[UserSubject]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="UserSubject.subject"
    )

    __table_args__ = (Index("ix_users_school", "school_id"),)

    @property
    def subject_codes(self) -> list[str]:
        return [s.subject for s in self.subjects]


# the active teachers (registered, not blocked the bot) by school, with all the indicators
# read of them: one pass over this index, without visiting the rows
ACTIVE_TEACHER = User.registered_at.is_not(None) & User.blocked_bot.is_(False)
Index(
    "ix_users_active",
    User.school_id,
    User.id,
    User.registered_at,
    User.blocked_bot,
    User.birth_year,
    User.teaching_since,
    User.category,
    User.category_year,
    User.category_date,
    User.fact_route_active,
    User.fact_route_done_at,
    User.fact_qualification_last,
    User.fact_retraining_last,
    User.fact_mentor,
    User.fact_mentee,
    sqlite_where=ACTIVE_TEACHER,
    postgresql_where=ACTIVE_TEACHER,
)


class UserSubject(Base):
    __tablename__ = "user_subjects"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    subject: Mapped[str] = mapped_column(String(32), primary_key=True)


class Role(Base):
    """A privileged role, keyed by Telegram id so it can be granted before registration."""

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    role: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(20), default=ScopeKind.REGION.value)
    school_id: Mapped[int | None] = mapped_column(
        ForeignKey("schools.id", ondelete="CASCADE"), default=None
    )
    municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), default=None
    )
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("telegram_id", "role", "scope", "school_id", "municipality_id"),
        Index("ix_roles_telegram", "telegram_id"),
    )
