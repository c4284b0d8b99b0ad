"""Registered teachers: the «молодой педагог» rule, profile fields, export and deletion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from models import (
    Answer,
    Attempt,
    Course,
    FsmRecord,
    Role,
    Route,
    ScaleResult,
    School,
    User,
    UserSubject,
)
from services.reference import SUBJECT_POSITIONS, YOUNG_MAX_AGE, YOUNG_MAX_YEARS


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


@dataclass(frozen=True)
class MenuView:
    """What the main menu needs to know of a person."""

    exists: bool  # agreed to data processing
    registered: bool  # finished registration
    name: str  # the first name (second word of «Фамилия Имя Отчество»)
    manages_catalog: bool


def menu_view(user: User | None, manages_catalog: bool = False) -> MenuView:
    if user is None:
        return MenuView(False, False, "", False)
    words = (user.full_name or "").split(" ")
    name = words[1] if len(words) > 1 else words[0]
    return MenuView(True, user.registered_at is not None, name, manages_catalog)


async def load_person(session: AsyncSession, telegram_id: int) -> User | None:
    """The person behind an update, with school, subjects, roles and conversation state, in
    one statement (every collection is small: a few subjects, roles and conversations)."""
    result = await session.execute(
        select(User)
        .where(User.telegram_id == telegram_id)
        .options(
            joinedload(User.school).joinedload(School.municipality),
            joinedload(User.subjects),
            joinedload(User.roles),
            joinedload(User.conversations),
        )
    )
    return result.unique().scalar_one_or_none()


async def get_user(session: AsyncSession, telegram_id: int) -> User | None:
    return await session.scalar(
        select(User)
        .where(User.telegram_id == telegram_id)
        .options(
            selectinload(User.subjects), joinedload(User.school).joinedload(School.municipality)
        )
    )


async def create_on_consent(session: AsyncSession, telegram_id: int, language: str) -> User:
    """The first row about a person, written only when they agree to data processing."""
    user = await get_user(session, telegram_id)
    if user is None:
        user = User(telegram_id=telegram_id, language=language)
        session.add(user)
        await session.flush()
        await session.refresh(user, ["subjects", "school"])
    return user


async def set_subjects(session: AsyncSession, user: User, codes: list[str]) -> None:
    await session.execute(delete(UserSubject).where(UserSubject.user_id == user.id))
    session.add_all(UserSubject(user_id=user.id, subject=c) for c in sorted(set(codes)))
    await session.flush()
    await session.refresh(user, ["subjects"])


async def export_data(session: AsyncSession, user: User) -> dict[str, Any]:
    """Everything stored about one person, for «Мои данные»."""
    attempts = (
        await session.execute(
            select(Attempt).where(Attempt.user_id == user.id).order_by(Attempt.started_at)
        )
    ).scalars()
    out_attempts: list[dict[str, Any]] = []
    for a in attempts:
        answers = (
            await session.execute(
                select(Answer)
                .where(Answer.attempt_id == a.id)
                .order_by(Answer.answered_at, Answer.id)
            )
        ).scalars()
        results = (
            await session.execute(select(ScaleResult).where(ScaleResult.attempt_id == a.id))
        ).scalars()
        out_attempts.append(
            {
                "instrument": a.instrument_id,
                "status": a.status,
                "started_at": a.started_at.isoformat(),
                "completed_at": a.completed_at.isoformat() if a.completed_at else None,
                "answers": {x.question_id: x.value for x in answers},
                "results": [
                    {"scale": r.scale_id, "score": r.score, "band": r.band, "answered": r.answered}
                    for r in results
                ],
            }
        )
    roles = (
        await session.execute(select(Role).where(Role.telegram_id == user.telegram_id))
    ).scalars()
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
        "roles": [{"role": r.role, "scope": r.scope} for r in roles],
        "questionnaires": out_attempts,
        "courses": await _export_courses(session, user.id),
        "routes": await _export_routes(session, user.id),
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
                }
                for s in r.steps
            ],
        }
        for r in rows
    ]


async def delete_user(session: AsyncSession, user: User) -> None:
    """Delete the person and everything about them (answers, results, conversation state).

    Scale results are per-person rows, so indicators computed later simply no longer count
    this person: nothing aggregated depends on the deleted rows.
    """
    telegram_id = user.telegram_id
    await session.execute(delete(User).where(User.id == user.id))
    await session.execute(delete(FsmRecord).where(FsmRecord.user_id == telegram_id))
    await session.flush()
    session.expunge(user)


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
    if field == "birth":
        return today.year - 80, today.year - 18
    if field == "teaching":
        lo = (user.birth_year + 16) if user.birth_year else today.year - 65
        return lo, today.year
    lo = user.teaching_since if user.teaching_since else today.year - 50
    return max(lo, today.year - 50), today.year
