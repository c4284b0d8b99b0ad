"""Taking a questionnaire: availability, attempts, answers, completion and history.

Every answer is written the moment it is given (an upsert keyed by attempt and question),
so a restart or «Прервать» loses nothing and a replayed tap records once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Answer, Attempt, AttemptStatus, ScaleResult, User
from services.instruments import InstrumentRegistry, Registered
from services.people import is_young
from surveys import engine
from surveys.schema import AnswerValue, Instrument, Question
from surveys.scoring import ScaleScore, score_instrument


class Blocked(StrEnum):
    AUDIENCE = "audience"
    INTERVAL = "interval"


@dataclass(frozen=True)
class Availability:
    registered: Registered
    in_progress: Attempt | None
    last_completed: Attempt | None
    blocked: Blocked | None
    next_date: date | None


class SurveyUnavailable(Exception):
    def __init__(self, reason: Blocked, next_date: date | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.next_date = next_date


def in_audience(instrument: Instrument, user: User, today: date) -> bool:
    aud = instrument.audience
    if aud.kind == "young":
        return is_young(user, today)
    if aud.kind == "positions":
        return user.position in aud.positions
    return True


async def _latest(
    session: AsyncSession, user_id: int, instrument_id: str, status: AttemptStatus
) -> Attempt | None:
    order = Attempt.completed_at if status == AttemptStatus.COMPLETED else Attempt.started_at
    return await session.scalar(
        select(Attempt)
        .where(
            Attempt.user_id == user_id,
            Attempt.instrument_id == instrument_id,
            Attempt.status == status.value,
        )
        .order_by(order.desc(), Attempt.id.desc())
        .limit(1)
    )


async def availability(
    session: AsyncSession, registry: InstrumentRegistry, user: User, now: datetime
) -> list[Availability]:
    today = now.date()
    out: list[Availability] = []
    for reg in registry.ordered():
        inst = reg.instrument
        current = await _latest(session, user.id, inst.id, AttemptStatus.IN_PROGRESS)
        last = await _latest(session, user.id, inst.id, AttemptStatus.COMPLETED)
        blocked: Blocked | None = None
        next_date: date | None = None
        if current is None:
            if not in_audience(inst, user, today):
                blocked = Blocked.AUDIENCE
            elif last is not None and last.completed_at is not None and inst.min_interval_days:
                completed = last.completed_at.astimezone(now.tzinfo)
                next_date = (completed + timedelta(days=inst.min_interval_days)).date()
                if next_date > today:
                    blocked = Blocked.INTERVAL
                else:
                    next_date = None
        out.append(Availability(reg, current, last, blocked, next_date))
    return out


async def start_or_resume(
    session: AsyncSession,
    registry: InstrumentRegistry,
    user: User,
    instrument_id: str,
    now: datetime,
) -> Attempt:
    """The open attempt of this questionnaire, or a new one if the teacher may start one."""
    for item in await availability(session, registry, user, now):
        if item.registered.instrument.id != instrument_id:
            continue
        if item.in_progress is not None:
            return item.in_progress
        if item.blocked is not None:
            raise SurveyUnavailable(item.blocked, item.next_date)
        attempt = Attempt(
            user_id=user.id,
            instrument_version_id=item.registered.version_id,
            instrument_id=instrument_id,
            started_at=now,
            updated_at=now,
        )
        session.add(attempt)
        await session.flush()
        return attempt
    raise KeyError(instrument_id)


async def answers_of(
    session: AsyncSession, attempt_id: int
) -> tuple[dict[str, AnswerValue], dict[str, AnswerValue]]:
    """(final answers, drafts of multiple choices being ticked)."""
    rows = (await session.execute(select(Answer).where(Answer.attempt_id == attempt_id))).scalars()
    final: dict[str, AnswerValue] = {}
    drafts: dict[str, AnswerValue] = {}
    for row in rows:
        (final if row.final else drafts)[row.question_id] = row.value
    return final, drafts


async def save_answer(
    session: AsyncSession,
    attempt: Attempt,
    question_id: str,
    value: AnswerValue,
    now: datetime,
    *,
    final: bool = True,
) -> None:
    row = await session.scalar(
        select(Answer).where(Answer.attempt_id == attempt.id, Answer.question_id == question_id)
    )
    if row is None:
        session.add(
            Answer(
                attempt_id=attempt.id,
                question_id=question_id,
                value=value,
                final=final,
                answered_at=now,
            )
        )
    else:
        row.value = value
        row.final = final
        row.answered_at = now
    attempt.updated_at = now
    await session.flush()


@dataclass(frozen=True)
class Step:
    """What to show after a change: the next question, or the finished attempt."""

    question: Question | None
    results: list[ScaleResult] | None = None


async def advance(
    session: AsyncSession,
    attempt: Attempt,
    instrument: Instrument,
    now: datetime,
    after: str | None,
) -> Step:
    """Move to the next unanswered question, or complete the attempt and write its scores."""
    answers, _ = await answers_of(session, attempt.id)
    nxt = engine.next_question(instrument, answers, after=after)
    if nxt is not None:
        attempt.current_question = nxt.id
        await session.flush()
        return Step(nxt)
    results = await complete(session, attempt, instrument, answers, now)
    return Step(None, results)


async def go_back(
    session: AsyncSession, attempt: Attempt, instrument: Instrument
) -> Question | None:
    answers, _ = await answers_of(session, attempt.id)
    prev = engine.previous_question(instrument, answers, attempt.current_question)
    if prev is not None:
        attempt.current_question = prev.id
        await session.flush()
    return prev


async def complete(
    session: AsyncSession,
    attempt: Attempt,
    instrument: Instrument,
    answers: dict[str, AnswerValue],
    now: datetime,
) -> list[ScaleResult]:
    scores: list[ScaleScore] = score_instrument(instrument, answers)
    await session.execute(
        delete(Answer).where(Answer.attempt_id == attempt.id, Answer.final.is_(False))
    )
    attempt.status = AttemptStatus.COMPLETED.value
    attempt.current_question = None
    attempt.completed_at = now
    attempt.updated_at = now
    rows = [
        ScaleResult(
            attempt_id=attempt.id,
            user_id=attempt.user_id,
            instrument_id=instrument.id,
            instrument_version=instrument.version,
            scale_id=s.scale_id,
            score=s.score,
            band=s.band.code if s.band else None,
            answered=s.answered,
            completed_at=now,
        )
        for s in scores
    ]
    session.add_all(rows)
    await session.flush()
    return rows


async def results_of(session: AsyncSession, attempt_id: int) -> list[ScaleResult]:
    return list(
        (
            await session.execute(
                select(ScaleResult)
                .where(ScaleResult.attempt_id == attempt_id)
                .order_by(ScaleResult.id)
            )
        ).scalars()
    )


async def previous_scores(session: AsyncSession, attempt: Attempt) -> dict[str, float]:
    """Scale scores of the same teacher's previous completed attempt of this questionnaire."""
    prev = await session.scalar(
        select(Attempt)
        .where(
            Attempt.user_id == attempt.user_id,
            Attempt.instrument_id == attempt.instrument_id,
            Attempt.status == AttemptStatus.COMPLETED.value,
            Attempt.completed_at < attempt.completed_at,
        )
        .order_by(Attempt.completed_at.desc(), Attempt.id.desc())
        .limit(1)
    )
    if prev is None:
        return {}
    return {r.scale_id: r.score for r in await results_of(session, prev.id) if r.score is not None}


async def history(session: AsyncSession, user_id: int, limit: int = 30) -> list[Attempt]:
    return list(
        (
            await session.execute(
                select(Attempt)
                .where(Attempt.user_id == user_id, Attempt.status == AttemptStatus.COMPLETED.value)
                .order_by(Attempt.completed_at.desc(), Attempt.id.desc())
                .limit(limit)
            )
        ).scalars()
    )
