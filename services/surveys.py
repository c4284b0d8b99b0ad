"""Taking a questionnaire: availability, attempts, answers, completion and history.

Every answer is written the moment it is given (an upsert keyed by attempt and question),
so a restart or «Прервать» loses nothing and a replayed tap records once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Integer,
    Select,
    Update,
    bindparam,
    case,
    delete,
    func,
    inspect,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from models import Answer, Attempt, AttemptStatus, ScaleResult, School, User
from models.db import upsert, upsert_statement
from models.driver import Statement, Statements
from models.work import Work
from services.consent import HEALTH_CONSENT_VERSION, HEALTH_KINDS, needs_health_consent
from services.instruments import InstrumentRegistry, Registered
from services.people import ReadAlong, is_young
from services.reference import setting_of
from surveys import engine
from surveys.loader import kind_groups
from surveys.schema import AnswerValue, Instrument, Question, QuestionType
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


def in_audience(
    instrument: Instrument, user: User, today: date, school_kind: str | None = None
) -> bool:
    """Whether the questionnaire is meant for this person (``school_kind``: the kind of
    their organisation, see :func:`school_kind_of`)."""
    aud = instrument.audience
    if aud.setting is not None and setting_of(user.position, school_kind) != aud.setting:
        return False
    if aud.kind == "young":
        return is_young(user, today)
    if aud.kind == "positions":
        return user.position in aud.positions
    return True


async def school_kind_of(session: AsyncSession, user: User) -> str | None:
    """The kind of the person's organisation: from the loaded school, else one lookup."""
    if "school" not in inspect(user).unloaded:
        return user.school.kind if user.school is not None else None
    if user.school_id is None:
        return None
    return await session.scalar(select(School.kind).where(School.id == user.school_id))


def _latest(attempts: list[Attempt], status: AttemptStatus) -> Attempt | None:
    def when(a: Attempt) -> tuple[datetime, int]:
        moment = a.completed_at if status == AttemptStatus.COMPLETED else a.started_at
        return (moment or a.started_at, a.id)

    return max((a for a in attempts if a.status == status.value), key=when, default=None)


async def availability(
    session: AsyncSession, registry: InstrumentRegistry, user: User, now: datetime
) -> list[Availability]:
    """For each questionnaire: the open attempt, the last completed one, and whether the
    teacher may start it now (one statement: a teacher has a handful of attempts)."""
    today = now.date()
    mine = (await session.execute(select(Attempt).where(Attempt.user_id == user.id))).scalars()
    school_kind = await school_kind_of(session, user)
    by_instrument: dict[str, list[Attempt]] = {}
    for a in mine:
        by_instrument.setdefault(a.instrument_id, []).append(a)
    out: list[Availability] = []
    for reg in registry.ordered():
        inst = reg.instrument
        attempts = by_instrument.get(inst.id, [])
        current = _latest(attempts, AttemptStatus.IN_PROGRESS)
        last = _latest(attempts, AttemptStatus.COMPLETED)
        blocked: Blocked | None = None
        next_date: date | None = None
        if current is None:
            if not in_audience(inst, user, today, school_kind):
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
    rows = await session.execute(
        select(Answer.question_id, Answer.value, Answer.final).where(
            Answer.attempt_id == attempt_id
        )
    )
    final: dict[str, AnswerValue] = {}
    drafts: dict[str, AnswerValue] = {}
    for question_id, value, is_final in rows:
        (final if is_final else drafts)[question_id] = value
    return final, drafts


async def write_answer(
    session: AsyncSession,
    attempt_id: int,
    question_id: str,
    value: AnswerValue,
    now: datetime,
    *,
    final: bool = True,
) -> None:
    """One answer: a single upsert keyed by (attempt, question), so a replayed tap records
    once."""
    values = {
        "attempt_id": attempt_id,
        "question_id": question_id,
        "value": value,
        "final": final,
        "answered_at": now,
    }
    await upsert(
        session, Answer, values, ["attempt_id", "question_id"], ["value", "final", "answered_at"]
    )


async def save_answer(
    session: AsyncSession,
    attempt: Attempt,
    question_id: str,
    value: AnswerValue,
    now: datetime,
    *,
    final: bool = True,
) -> None:
    """:func:`write_answer` for a loaded attempt; its ``updated_at`` goes with its next flush."""
    await write_answer(session, attempt.id, question_id, value, now, final=final)
    attempt.updated_at = now


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


def mark_latest() -> Update:
    """Flags the rows of each teacher's latest attempt of each questionnaire (an instrument or
    its group, ``surveys.loader.kind_group``: the highest attempt id), for rows written with plain ``INSERT`` statements and not flagged yet. Rows added
    through a session are flagged as they are written (``models.surveys._keep_latest``);
    :func:`complete` writes them so."""
    t = ScaleResult.__table__
    r = t.alias("r")
    groups = kind_groups()

    def group(column: Any) -> Any:  # the questionnaire an instrument counts in
        return case(groups, value=column, else_=column) if groups else column

    newest = (
        select(func.max(r.c.attempt_id))
        .where(r.c.user_id == t.c.user_id, group(r.c.instrument_id) == group(t.c.instrument_id))
        .scalar_subquery()
    )
    return update(t).where(t.c.attempt_id == newest).values(latest=true())


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


# ---------- one call per update: what the questionnaire handlers ask, as view models ----------

Refusal = engine.AnswerError
"""A tap or a typed answer that changes nothing; ``code`` names the locale text to show."""
STALE = "survey.error.stale"
YOUNG_KIND = "young"  # the young-teacher questionnaires (school and pre-school) ...
NEED_MENTOR = "need_mentor"  # ... and their «Нужен ли вам наставник?»


@dataclass(frozen=True)
class ListItem:
    instrument_id: str
    title: str
    button: str
    status: str  # new | again | in_progress | wait
    when: date | datetime | None = None  # last completion (again) or the date it opens (wait)


@dataclass(frozen=True)
class SurveyList:
    items: tuple[ListItem, ...]


@dataclass(frozen=True)
class Intro:
    """The first screen of a questionnaire not yet started."""

    instrument: Instrument


@dataclass(frozen=True)
class HealthConsent:
    """A questionnaire about health (burnout): its own consent is asked before the first
    question (and again when the text of that consent gets a new edition)."""

    instrument_id: str


@dataclass(frozen=True)
class QuestionView:
    attempt_id: int
    instrument: Instrument
    question: Question
    index: int  # position of the question in the instrument (it goes into the buttons)
    number: int  # «Вопрос N из M»
    total: int
    selected: AnswerValue  # what is marked now (a multiple choice being ticked first)
    earlier: AnswerValue  # a previous typed answer to a number or text question
    can_go_back: bool
    # the intro of the question's section, on the first question shown of that section
    section_intro: str | None = None
    notice: str | None = None  # a locale key shown above the question (text where a tap is due)

    @property
    def typed(self) -> bool:
        return self.question.type in (QuestionType.NUMBER, QuestionType.TEXT)


@dataclass(frozen=True)
class ScaleLine:
    title: str
    score: float | None
    percent: bool
    band: str
    interpretation: str
    recommendation: str | None
    previous: float | None  # the score of the previous attempt, if there was one
    answered: int
    need: int
    block: str | None = None  # a deficits scale: the title of its block («Предметный блок»)


@dataclass(frozen=True)
class ResultsView:
    attempt_id: int
    title: str
    kind: str
    completed_at: datetime | None
    lines: tuple[ScaleLine, ...]
    note: str | None
    private: bool
    has_scales: bool
    just_completed: bool = False
    # the young-teacher questionnaire answered «да» to «Нужен ли вам наставник?»
    wants_mentor: bool = False


@dataclass(frozen=True)
class Paused:
    title: str


@dataclass(frozen=True)
class HistoryItem:
    attempt_id: int
    completed_at: datetime | None
    button: str


Shown = QuestionView | ResultsView


async def survey_list(
    session: AsyncSession, registry: InstrumentRegistry, user: User, now: datetime
) -> SurveyList:
    items: list[ListItem] = []
    for item in await availability(session, registry, user, now):
        inst = item.registered.instrument
        if item.blocked == Blocked.AUDIENCE:
            continue
        if item.in_progress is not None:
            status, when = "in_progress", None
        elif item.blocked == Blocked.INTERVAL and item.next_date is not None:
            status, when = "wait", item.next_date
        elif item.last_completed is not None and item.last_completed.completed_at:
            status, when = "again", item.last_completed.completed_at
        else:
            status, when = "new", None
        items.append(ListItem(inst.id, inst.title, inst.button, status, when))
    return SurveyList(tuple(items))


async def open_survey(
    session: AsyncSession,
    registry: InstrumentRegistry,
    user: User,
    instrument_id: str,
    now: datetime,
) -> Intro | Shown | HealthConsent:
    """The intro of a questionnaire, or straight back to where an open attempt stopped (or,
    about health, to its consent when the teacher has not agreed to its current edition)."""
    item = await _availability_of(session, registry, user, instrument_id, now)
    if item.in_progress is not None:
        if needs_health_consent(user, item.registered.instrument.kind):
            return HealthConsent(instrument_id)
        return await _resume(session, registry, item.in_progress, now)
    if item.blocked is not None:
        raise _blocked(item.blocked, item.next_date)
    return Intro(item.registered.instrument)


async def begin(
    session: AsyncSession,
    registry: InstrumentRegistry,
    user: User,
    instrument_id: str,
    now: datetime,
    *,
    health_agreed: bool = False,
) -> Shown | HealthConsent:
    """Start (or continue) a questionnaire. One about health needs its own consent first:
    ``health_agreed`` is the teacher's «Согласен(на), начать», recorded with its edition."""
    found = registry.get(instrument_id)
    if found is None:
        raise Refusal("common.stale")
    kind = found.instrument.kind
    if health_agreed and kind in HEALTH_KINDS:
        user.health_consent_version = HEALTH_CONSENT_VERSION
        user.health_consent_at = now
    if needs_health_consent(user, kind):
        return HealthConsent(instrument_id)
    try:
        attempt = await start_or_resume(session, registry, user, instrument_id, now)
    except SurveyUnavailable as exc:
        raise _blocked(exc.reason, exc.next_date) from exc
    return await _resume(session, registry, attempt, now)


async def tap(
    work: Work,
    registry: InstrumentRegistry,
    user_id: int,
    action: str,
    attempt_id: int,
    index: int,
    option: int,
    now: datetime,
    opened: Sequence[Any] | None = None,
) -> Shown | Paused:
    """A button under a question: answer (a), tick (t), done (d), skip (s), back (b), pause (p).

    Only the teacher's own open attempt, at the question it is on, is touched. An answer
    costs one read (the attempt with its answers: ``opened``, the row of
    :data:`OPEN_ATTEMPT` read with the person, or read here) and one write (the move to the
    next question with the answer), plain statements on the driver; the last answer then
    completes the attempt through the ORM.
    """
    attempt = (
        _open_of(attempt_id, opened)
        if opened is not None
        else await _read_open(work, user_id, attempt_id)
    )
    if attempt is None:
        raise Refusal(STALE)
    async with work.statements() as db:
        step = await _tap(db, registry, attempt, action, index, option, now)
    if isinstance(step, _Finish):
        return await _finish(work.session, step, now)
    return step


async def _read_open(work: Work, user_id: int, attempt_id: int) -> _Open | None:
    async with work.statements(write=False) as db:
        return await _load_open(db, user_id, attempt_id)


async def _tap(
    db: Statements,
    registry: InstrumentRegistry,
    attempt: _Open,
    action: str,
    index: int,
    option: int,
    now: datetime,
) -> Shown | Paused | _Finish:
    answers, drafts = attempt.answers, attempt.drafts
    inst = registry.known(attempt.version_id) or await registry.version(db, attempt.version_id)
    questions = inst.questions
    if not 0 <= index < len(questions) or questions[index].id != attempt.current_question:
        raise Refusal(STALE)
    q = questions[index]
    if action == "p":
        return Paused(inst.title)
    if action == "b":
        prev = engine.previous_question(inst, answers, q.id)
        if prev is None:
            raise Refusal("survey.error.first")
        await _save(db, attempt, None, prev.id, now)
        return _question_view(attempt.id, inst, prev, answers, drafts)
    chosen: AnswerValue
    if action == "a":
        if q.type not in (QuestionType.SINGLE, QuestionType.SCALE, QuestionType.YESNO):
            raise Refusal(STALE)
        chosen = engine.option_value(inst, q, option)
    elif action in ("t", "d"):
        if q.type != QuestionType.MULTI:
            raise Refusal(STALE)
        marked = drafts.get(q.id, answers.get(q.id))
        ticked = list(marked) if isinstance(marked, list) else []
        if action == "t":
            ticked = engine.toggle(inst, q, ticked, option)
            await _save(db, attempt, (q.id, ticked, False), q.id, now)
            drafts[q.id] = ticked
            return _question_view(attempt.id, inst, q, answers, drafts)
        engine.check_multi(q, ticked)
        chosen = ticked
    elif action == "s":
        if q.required:
            raise Refusal("survey.error.required")
        chosen = None
    else:
        raise Refusal(STALE)
    return await _answered(db, attempt, inst, q, chosen, now)


async def typed(
    work: Work,
    registry: InstrumentRegistry,
    user_id: int,
    attempt_id: int,
    text: str,
    now: datetime,
) -> Shown:
    """A typed answer to the number or text question the attempt is on; text where a button
    is due gets the same question again, under a hint to use the buttons."""
    async with work.statements() as db:
        step = await _typed(db, registry, user_id, attempt_id, text, now)
    if isinstance(step, _Finish):
        return await _finish(work.session, step, now)
    return step


async def _typed(
    db: Statements,
    registry: InstrumentRegistry,
    user_id: int,
    attempt_id: int,
    text: str,
    now: datetime,
) -> Shown | _Finish:
    attempt = await _load_open(db, user_id, attempt_id)
    if attempt is None:
        raise Refusal(STALE)
    inst = await registry.version(db, attempt.version_id)
    q = inst.question(attempt.current_question)
    if q.type not in (QuestionType.NUMBER, QuestionType.TEXT):
        view = _question_view(attempt.id, inst, q, attempt.answers, attempt.drafts)
        return replace(view, notice="survey.error.use_buttons")
    value = engine.parse_typed(q, text)
    return await _answered(db, attempt, inst, q, value, now)


async def history_of(
    session: AsyncSession, registry: InstrumentRegistry, user_id: int
) -> tuple[HistoryItem, ...]:
    out: list[HistoryItem] = []
    for a in await history(session, user_id):
        inst = await registry.by_version_id(session, a.instrument_version_id)
        out.append(HistoryItem(a.id, a.completed_at, inst.button))
    return tuple(out)


async def result_of(
    session: AsyncSession, registry: InstrumentRegistry, user_id: int, attempt_id: int
) -> ResultsView:
    """A completed attempt's results, only to the teacher who answered."""
    attempt = await session.get(Attempt, attempt_id)
    if (
        attempt is None
        or attempt.user_id != user_id
        or attempt.status != AttemptStatus.COMPLETED.value
    ):
        raise Refusal("common.stale")
    inst = await registry.by_version_id(session, attempt.instrument_version_id)
    return await _results_view(session, attempt, inst, await results_of(session, attempt.id))


# ---------- internals ----------


def _blocked(reason: Blocked, next_date: date | None) -> engine.AnswerError:
    if reason == Blocked.INTERVAL and next_date is not None:
        return Refusal("survey.wait_until", date=next_date)
    return Refusal("survey.not_for_you")


async def _availability_of(
    session: AsyncSession,
    registry: InstrumentRegistry,
    user: User,
    instrument_id: str,
    now: datetime,
) -> Availability:
    if registry.get(instrument_id) is None:
        raise Refusal("common.stale")
    for item in await availability(session, registry, user, now):
        if item.registered.instrument.id == instrument_id:
            return item
    raise Refusal("common.stale")  # pragma: no cover - every registered id is listed


@dataclass
class _Open:
    """An open attempt as the answer path needs it (plain values, not an ORM object)."""

    id: int
    version_id: int
    current_question: str
    answers: dict[str, AnswerValue]
    drafts: dict[str, AnswerValue]


_attempts = Attempt.__table__
_answers = Answer.__table__
# Built once: the statements of the answer path, run on the driver (models.driver).


def _answers_json(dialect: str, final: bool) -> Any:
    """The attempt's answers (or drafts) as one JSON object, question id -> value."""
    if dialect == "postgresql":
        agg = func.json_object_agg(_answers.c.question_id, _answers.c.value)
    else:
        agg = func.json_group_object(_answers.c.question_id, func.json(_answers.c.value))
    return (
        select(type_coerce(agg, JSON))
        .where(_answers.c.attempt_id == _attempts.c.id, _answers.c.final.is_(final))
        .scalar_subquery()
    )


def _open_attempt(dialect: str) -> Select[Any]:
    """One row: the open attempt of a button with its answers and drafts, each set one JSON
    object (parsed once, not a row and a value to convert per answer)."""
    return select(
        _attempts.c.user_id.label("person"),
        _attempts.c.instrument_version_id,
        _attempts.c.current_question,
        _answers_json(dialect, True),
        _answers_json(dialect, False),
    ).where(
        _attempts.c.id == bindparam("attempt", type_=Integer),
        _attempts.c.status == AttemptStatus.IN_PROGRESS.value,
    )


OPEN_ATTEMPT = ReadAlong("open_attempt", _open_attempt)
"""The open attempt a button under a question names, read with the person behind the tap
(the ``attempt`` of the button); :func:`tap` takes the row as ``opened``."""
_OPEN_ATTEMPT = Statement(
    lambda dialect: _open_attempt(dialect).where(_attempts.c.user_id == bindparam("user_id"))
)
# The attempt goes from the question it is on to another, only if it is still on it and
# open (a tap replayed, or answered meanwhile in another process, changes nothing).
_MOVE_BASE = (
    update(_attempts)
    .where(
        _attempts.c.id == bindparam("attempt_id"),
        _attempts.c.current_question == bindparam("current"),
        _attempts.c.status == AttemptStatus.IN_PROGRESS.value,
    )
    .values(current_question=bindparam("question"), updated_at=bindparam("now"))
)
_MOVE = Statement(
    lambda dialect: _MOVE_BASE.returning(_attempts.c.id) if dialect == "postgresql" else _MOVE_BASE
)
_WRITE = Statement(
    lambda dialect: upsert_statement(
        _answers, dialect, ("attempt_id", "question_id"), ("value", "final", "answered_at")
    ).values(
        attempt_id=bindparam("attempt_id"),
        question_id=bindparam("question_id"),
        value=bindparam("value", type_=_answers.c.value.type),
        final=bindparam("final"),
        answered_at=bindparam("answered_at"),
    )
)


def _move_and_write(dialect: str) -> Any:
    """PostgreSQL: the move and the answer in one statement (the answer is written only if
    the move was), so a tap is one round trip for its writes, with no transaction around
    it. Rows returned: the answer written."""
    moved = _MOVE_BASE.returning(_attempts.c.id).cte("moved")
    answer = postgresql.insert(_answers).from_select(
        ["attempt_id", "question_id", "value", "final", "answered_at"],
        select(
            moved.c.id,
            bindparam("question_id", type_=_answers.c.question_id.type),
            bindparam("value", type_=_answers.c.value.type),
            bindparam("final", type_=_answers.c.final.type),
            bindparam("answered_at", type_=_answers.c.answered_at.type),
        ),
    )
    return (
        answer.on_conflict_do_update(
            index_elements=["attempt_id", "question_id"],
            set_={c: answer.excluded[c] for c in ("value", "final", "answered_at")},
        )
        .returning(_answers.c.id)
        .add_cte(moved)
    )


_MOVE_AND_WRITE = Statement(_move_and_write)


async def _load_open(db: Statements, user_id: int, attempt_id: int) -> _Open | None:
    """The teacher's open attempt with its answers and drafts, in one statement."""
    if attempt_id <= 0:
        return None
    rows = await db.fetch(_OPEN_ATTEMPT, attempt=attempt_id, user_id=user_id)
    return _open_of(attempt_id, rows[0][1:]) if rows else None


def _open_of(attempt_id: int, row: Sequence[Any]) -> _Open | None:
    """An open attempt from its row (version, question, answers, drafts); None when the
    row is empty: no such open attempt of this teacher."""
    version, current, answers, drafts = row
    if current is None:
        return None
    # the read's own objects (JSON parsed for this row), not copied again
    return _Open(attempt_id, version, current, answers or {}, drafts or {})


async def _save(
    db: Statements,
    attempt: _Open,
    answer: tuple[str, AnswerValue, bool] | None,
    to: str,
    now: datetime,
) -> None:
    """Move the attempt from the question it is on to ``to`` and write ``answer``
    (question, value, final) with it; a stale button when the attempt is no longer there."""
    values: dict[str, Any] = {
        "attempt_id": attempt.id,
        "current": attempt.current_question,
        "question": to,
        "now": now,
    }
    if answer is not None:
        question_id, value, final = answer
        values.update(question_id=question_id, value=value, final=final, answered_at=now)
    if db.dialect.name == "postgresql":
        # one statement, no transaction around it
        done = bool(await db.write_alone(_MOVE if answer is None else _MOVE_AND_WRITE, **values))
    else:
        done = await db.execute(_MOVE, **values) == 1
        if done and answer is not None:
            await db.execute(_WRITE, **values)
    if not done:
        raise Refusal(STALE)
    attempt.current_question = to


def _question_view(
    attempt_id: int,
    inst: Instrument,
    q: Question,
    answers: dict[str, AnswerValue],
    drafts: dict[str, AnswerValue],
) -> QuestionView:
    pos = engine.progress(inst, answers, q.id)
    before = engine.previous_question(inst, answers, q.id)
    section = inst.section_of(q.id)
    opens_section = before is None or inst.section_of(before.id).id != section.id
    return QuestionView(
        attempt_id=attempt_id,
        instrument=inst,
        question=q,
        index=inst.index_of(q.id),
        number=pos.number,
        total=pos.total,
        selected=drafts.get(q.id, answers.get(q.id)),
        earlier=answers.get(q.id),
        can_go_back=before is not None,
        section_intro=section.intro if opens_section else None,
    )


@dataclass(frozen=True)
class _Finish:
    """The last answer is written: the attempt is to be completed."""

    attempt_id: int
    instrument: Instrument
    answers: dict[str, AnswerValue]


async def _answered(
    db: Statements, attempt: _Open, inst: Instrument, q: Question, value: AnswerValue, now: datetime
) -> QuestionView | _Finish:
    """An answer given: written with the move to the next question (or where it is, when it
    was the last: the attempt is then completed)."""
    answers = {**attempt.answers, q.id: value}
    nxt = engine.next_question(inst, answers, after=q.id)
    await _save(db, attempt, (q.id, value, True), nxt.id if nxt is not None else q.id, now)
    attempt.answers = answers
    attempt.drafts.pop(q.id, None)
    if nxt is None:
        return _Finish(attempt.id, inst, answers)
    return _question_view(attempt.id, inst, nxt, answers, attempt.drafts)


async def _finish(session: AsyncSession, step: _Finish, now: datetime) -> ResultsView:
    """Score and close the attempt whose answers are all written (in a transaction of the
    session's own: the answers are already committed, and an attempt left open by a crash
    here completes when the teacher comes back to it)."""
    done = await session.get(Attempt, step.attempt_id)
    assert done is not None
    results = await complete(session, done, step.instrument, step.answers, now)
    return await _results_view(session, done, step.instrument, results, just_completed=True)


async def _resume(
    session: AsyncSession, registry: InstrumentRegistry, attempt: Attempt, now: datetime
) -> Shown:
    """The first unanswered question (how an interrupted attempt continues), or the results."""
    inst = await registry.by_version_id(session, attempt.instrument_version_id)
    answers, drafts = await answers_of(session, attempt.id)
    nxt = engine.next_question(inst, answers)
    if nxt is None:
        results = await complete(session, attempt, inst, answers, now)
        return await _results_view(session, attempt, inst, results, just_completed=True)
    attempt.current_question = nxt.id
    await session.flush()
    return _question_view(attempt.id, inst, nxt, answers, drafts)


async def _results_view(
    session: AsyncSession,
    attempt: Attempt,
    inst: Instrument,
    results: list[ScaleResult],
    *,
    just_completed: bool = False,
) -> ResultsView:
    previous = await previous_scores(session, attempt)
    by_scale = {r.scale_id: r for r in results}
    sections = {s.id: s.title for s in inst.sections}
    lines: list[ScaleLine] = []
    for scale in inst.scales:
        row = by_scale.get(scale.id)
        if row is None:
            continue
        band = next((b for b in scale.bands if b.code == row.band), None)
        lines.append(
            ScaleLine(
                title=scale.title,
                score=row.score,
                percent=scale.aggregation.value == "percent",
                band=band.label if band else "",
                interpretation=band.interpretation if band else "",
                recommendation=band.recommendation if band else None,
                previous=previous.get(scale.id) if row.score is not None else None,
                answered=row.answered,
                need=scale.min_answered,
                block=sections.get(scale.block) if scale.block else None,
            )
        )
    wants_mentor = False
    if inst.kind == YOUNG_KIND:
        wants_mentor = (
            await session.scalar(
                select(Answer.value).where(
                    Answer.attempt_id == attempt.id, Answer.question_id == NEED_MENTOR
                )
            )
        ) == "yes"
    return ResultsView(
        wants_mentor=wants_mentor,
        attempt_id=attempt.id,
        title=inst.title,
        kind=inst.kind,
        completed_at=attempt.completed_at,
        lines=tuple(lines),
        note=inst.result_note,
        private=inst.private,
        has_scales=bool(inst.scales),
        just_completed=just_completed,
    )
