"""Demo data for mentoring: mentors, young teachers' requests, offers, pairs, meetings, check-ins.

Called by :func:`services.demo.fill_demo` after the teachers exist. Deterministic for a seed;
every moment lies after both people registered and before ``today``.

* Mentors: about 8–12 % of the experienced teachers (category first or highest, at least 5
  years of teaching) have an active profile with their own subjects and room for 1–3 mentees.
* Young teachers: about three in ten work with a mentor (a matched request, the accepted
  offer and an active pair with 1–6 meetings, some with a check-in); about half have a live
  request: a draft, or shared with the methodists 1–20 days ago and still open (a few after a
  mentor declined), or offered to a mentor who has not answered yet. A few finished a pair
  (completed with a rating, now and then cancelled) and have nothing live.
* A mentor teaches a subject of the mentee (or holds the same position when the mentee has no
  subjects), mostly in the same school; nobody mentors themselves, and no mentor has more
  active pairs than their capacity. A teacher has at most one live request and one active pair.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    MeetingFormat,
    MentorCheckin,
    MentorMeeting,
    MentorOffer,
    MentorPair,
    MentorProfile,
    MentorRequest,
    PairStatus,
    RequestStatus,
    User,
)
from services.people import is_young

MENTOR_SHARE = (0.08, 0.12)  # of the experienced teachers
PAIR_SHARE = 0.30  # of the young teachers: an active pair
REQUEST_SHARE = 0.50  # of the young teachers: a live request
FINISHED_SHARE = 0.9  # of the remaining young teachers: a finished pair
SAME_SCHOOL = 0.85  # a mentor from the mentee's school when there is one
MENTOR_CATEGORIES = ("first", "highest", "methodist", "mentor")
MENTOR_MIN_YEARS = 5

# the help areas of a request (the young teachers' questionnaire's «mentor_areas» options)
TOPICS = (
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
_DETAILS = (
    "Первый год веду 5-е классы, трудно удерживать внимание на уроке.",
    "Нужна помощь с рабочей программой и тематическим планированием.",
    "Хочу научиться разговаривать с родителями спокойно и по делу.",
    "В классе двое детей с ОВЗ, не знаю, как строить для них задания.",
    "Готовлюсь к открытому уроку, хотелось бы разобрать его с опытным коллегой.",
)
_MENTOR_NOTES = (
    "Могу посещать уроки и разбирать их вместе.",
    "Помогу с документацией и рабочими программами.",
    "Лучше встречаться после 15:00.",
)
_GOALS = (
    "Освоить структуру урока по ФГОС, подготовить и провести открытый урок.",
    "Составить рабочую программу и КТП на год, наладить работу с электронным журналом.",
    "Выстроить дисциплину в 6-х классах, подготовиться к первому родительскому собранию.",
)
_MEETING_TOPICS = (
    "Разбор посещённого урока",
    "Рабочая программа и КТП",
    "Подготовка к родительскому собранию",
    "Приёмы удержания дисциплины",
    "Оценивание и подготовка к ВПР",
    "Электронный журнал и отчёты",
    "Задания для детей с ОВЗ",
    "Планирование открытого урока",
    "План воспитательной работы класса",
    "Цифровые инструменты на уроке",
    "Трудная ситуация с классом",
    "Самоанализ урока",
)
_FORMATS = (
    (MeetingFormat.LESSON_VISIT, 0.35),
    (MeetingFormat.CONSULTATION, 0.35),
    (MeetingFormat.JOINT_PLANNING, 0.2),
    (MeetingFormat.OTHER, 0.1),
)
_DECLINE_REASONS = ("Нет времени в этой четверти.", "Уже веду двух молодых коллег.")
_RATING_COMMENTS = (
    "Спасибо за поддержку, стало намного спокойнее.",
    "Очень помогли разборы уроков.",
    None,
)


@dataclass
class MentoringReport:
    mentors: int = 0
    requests_draft: int = 0
    requests_waiting: int = 0  # shared: open or offered
    pairs_active: int = 0
    pairs_finished: int = 0  # completed or cancelled
    meetings: int = 0
    checkins: int = 0


def _years(u: User, today: date) -> int:
    return today.year - (u.teaching_since or today.year)


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment in [start, end] (whole seconds)."""
    seconds = max(0, int((end - start).total_seconds()))
    return start + timedelta(seconds=rng.randint(0, seconds))


class _Mentors:
    """Who mentors whom: profiles (recruited as pairs need them, then topped up) and load."""

    def __init__(
        self, rng: random.Random, experienced: list[User], target: int, now: datetime
    ) -> None:
        self.rng = rng
        self.experienced = experienced
        self.target = target
        self.now = now
        self.profiles: dict[int, dict[str, Any]] = {}  # user id -> profile row
        self.load: dict[int, int] = {}  # active pairs

    def _fits(self, mentor: User, mentee: User) -> bool:
        if mentor.id == mentee.id:
            return False
        subjects = set(mentee.subject_codes)
        if subjects:
            return bool(subjects & set(mentor.subject_codes))
        return mentor.position == mentee.position

    def _spare(self, mentor: User) -> bool:
        profile = self.profiles.get(mentor.id)
        return profile is None or self.load[mentor.id] < profile["max_mentees"]

    def choose(self, mentee: User, *, recruit: bool) -> User | None:
        """A fitting mentor with room for one more; with ``recruit``, an experienced teacher
        may become one while there are fewer mentors than the target."""
        can_recruit = recruit and len(self.profiles) < self.target
        pool = [
            m
            for m in self.experienced
            if self._fits(m, mentee) and (m.id in self.profiles or can_recruit) and self._spare(m)
        ]
        if not pool:
            return None
        same = [m for m in pool if m.school_id == mentee.school_id]
        if same and self.rng.random() < SAME_SCHOOL:
            pool = same
        # a teacher already a mentor is asked first
        known = [m for m in pool if m.id in self.profiles]
        if known and self.rng.random() < 0.6:
            pool = known
        mentor = self.rng.choice(pool)
        self.ensure(mentor)
        return mentor

    def ensure(self, mentor: User) -> dict[str, Any]:
        if mentor.id not in self.profiles:
            assert mentor.registered_at is not None
            created = min(
                mentor.registered_at + timedelta(minutes=self.rng.randint(10, 60 * 24 * 3)),
                self.now - timedelta(hours=1),
            )
            self.profiles[mentor.id] = {
                "user_id": mentor.id,
                "subjects": sorted(mentor.subject_codes),
                "max_mentees": self.rng.choice((1, 2, 2, 3)),
                "note": self.rng.choice(_MENTOR_NOTES) if self.rng.random() < 0.3 else None,
                "active": True,
                "created_at": created,
                "updated_at": created,
            }
            self.load[mentor.id] = 0
        return self.profiles[mentor.id]

    def top_up(self) -> None:
        rest = [m for m in self.experienced if m.id not in self.profiles]
        for mentor in self.rng.sample(
            rest, max(0, min(len(rest), self.target - len(self.profiles)))
        ):
            self.ensure(mentor)


def _start(mentors: _Mentors, mentor: User | None, mentee: User) -> datetime:
    """The earliest moment both sides of a pair were in the bot (mentee's request, mentor's
    profile)."""
    assert mentee.registered_at is not None
    if mentor is None:
        return mentee.registered_at
    return max(mentee.registered_at, mentors.profiles[mentor.id]["created_at"])


def _request(
    rng: random.Random, mentee: User, mentor: User | None, status: RequestStatus
) -> MentorRequest:
    common = sorted(set(mentee.subject_codes) & set(mentor.subject_codes)) if mentor else []
    own = sorted(mentee.subject_codes)
    subject = (common or own or ["general"])[0]
    return MentorRequest(
        mentee_id=mentee.id,
        status=status.value,
        subject=subject,
        topics=sorted(rng.sample(TOPICS, rng.randint(1, 3))),
        details=rng.choice(_DETAILS) if rng.random() < 0.4 else None,
        same_school=rng.random() < 0.4,
        young=True,
    )


async def fill_mentoring(
    session: AsyncSession,
    users: list[User],
    *,
    seed: int,
    today: date,
    methodist_telegram_id: int,
) -> MentoringReport:
    """Write the mentoring rows for ``users`` (registered, with ids). Flushes, no commit."""
    report = MentoringReport()
    rng = random.Random(f"{seed}/mentoring")
    now = datetime.combine(today, time(0), UTC)  # everything happened before today

    experienced = [
        u
        for u in users
        if u.category in MENTOR_CATEGORIES
        and _years(u, today) >= MENTOR_MIN_YEARS
        and u.registered_at is not None
    ]
    target = round(len(experienced) * rng.uniform(*MENTOR_SHARE))
    mentors = _Mentors(rng, experienced, target, now)
    young = [u for u in users if is_young(u, today) and u.registered_at is not None]
    rng.shuffle(young)

    requests: list[MentorRequest] = []
    # offers: (request, mentor, accepted, offered at, answered at);
    # pairs: (request, mentor, status, started at, closed at)
    offers: list[tuple[MentorRequest, User, bool | None, datetime, datetime | None]] = []
    pairs: list[tuple[MentorRequest, User, PairStatus, datetime, datetime | None]] = []

    # roles first; pairs are formed before the finished pairs and the waiting requests, so
    # that the teachers recruited as mentors go to the pairs
    roles = [(mentee, rng.random()) for mentee in young]
    waiting: list[User] = []
    for mentee, role in roles:
        assert mentee.registered_at is not None
        if role >= PAIR_SHARE:
            continue
        # shared, offered and accepted at least six days ago
        latest = now - timedelta(days=9)
        mentor = mentors.choose(mentee, recruit=True) if mentee.registered_at < latest else None
        start = _start(mentors, mentor, mentee)
        if mentor is None or start >= latest:
            waiting.append(mentee)  # nobody fits: the request waits
            continue
        shared = _between(rng, start, latest)
        offered = shared + timedelta(minutes=rng.randint(60, 60 * 48))
        accepted = offered + timedelta(minutes=rng.randint(30, 60 * 24))
        req = _request(rng, mentee, mentor, RequestStatus.MATCHED)
        req.created_at = max(mentee.registered_at, shared - timedelta(minutes=rng.randint(3, 30)))
        req.shared_at, req.closed_at = shared, accepted
        requests.append(req)
        offers.append((req, mentor, True, offered, accepted))
        pairs.append((req, mentor, PairStatus.ACTIVE, accepted, None))
        mentors.load[mentor.id] += 1

    for mentee, role in roles:
        assert mentee.registered_at is not None
        if role < PAIR_SHARE + REQUEST_SHARE or rng.random() >= FINISHED_SHARE:
            continue
        # a pair that already ended: at least two weeks long, closed before today; a mentor
        # of the other pairs first
        latest = now - timedelta(days=18)
        if mentee.registered_at >= latest:
            continue
        mentor = mentors.choose(mentee, recruit=False) or mentors.choose(mentee, recruit=True)
        start = _start(mentors, mentor, mentee)
        if mentor is None or start >= latest:
            continue
        shared = _between(rng, start, latest)
        accepted = shared + timedelta(minutes=rng.randint(60, 60 * 48))
        closed = _between(rng, accepted + timedelta(days=14), now - timedelta(hours=2))
        req = _request(rng, mentee, mentor, RequestStatus.MATCHED)
        req.created_at = max(mentee.registered_at, shared - timedelta(minutes=10))
        req.shared_at, req.closed_at = shared, accepted
        requests.append(req)
        offers.append((req, mentor, True, accepted - timedelta(minutes=30), accepted))
        status = PairStatus.COMPLETED if rng.random() < 0.8 else PairStatus.CANCELLED
        pairs.append((req, mentor, status, accepted, closed))

    waiting += [m for m, role in roles if PAIR_SHARE <= role < PAIR_SHARE + REQUEST_SHARE]
    for mentee in waiting:
        assert mentee.registered_at is not None
        kind = rng.choices(("draft", "open", "offered"), weights=(0.3, 0.45, 0.25))[0]
        if kind == "draft":
            req = _request(rng, mentee, None, RequestStatus.DRAFT)
            req.created_at = _between(rng, mentee.registered_at, now - timedelta(minutes=1))
            requests.append(req)
            report.requests_draft += 1
            continue
        # shared 1–20 days before today, in working hours (07:00–21:59 Moscow time)
        day = today - timedelta(days=rng.randint(1, 20))
        shared = datetime.combine(day, time(rng.randint(4, 18), rng.randint(0, 59)), UTC)
        shared = max(shared, mentee.registered_at + timedelta(minutes=rng.randint(5, 60)))
        shared = min(shared, now - timedelta(minutes=30))
        mentor = mentors.choose(mentee, recruit=True) if kind == "offered" else None
        declined_by = None
        if kind == "open" and rng.random() < 0.25:
            # offered once, the mentor declined: back in the queue
            declined_by = mentors.choose(mentee, recruit=True)
        status = RequestStatus.OFFERED if mentor is not None else RequestStatus.OPEN
        req = _request(rng, mentee, mentor, status)
        req.created_at = max(mentee.registered_at, shared - timedelta(minutes=rng.randint(3, 30)))
        req.shared_at = shared
        requests.append(req)
        report.requests_waiting += 1
        for who, accepted in ((mentor, None), (declined_by, False)):
            if who is None:
                continue
            start = max(shared, mentors.profiles[who.id]["created_at"])
            offered = _between(rng, start, now - timedelta(minutes=20))
            answered = None
            if accepted is False:
                answered = _between(rng, offered, now - timedelta(minutes=10))
            offers.append((req, who, accepted, offered, answered))

    mentors.top_up()
    if mentors.profiles:
        await session.execute(insert(MentorProfile), list(mentors.profiles.values()))
    report.mentors = len(mentors.profiles)

    session.add_all(requests)
    await session.flush()
    offer_rows = [
        MentorOffer(
            request_id=req.id,
            mentor_id=mentor.id,
            offered_by=methodist_telegram_id,
            offered_at=offered,
            answered_at=answered,
            accepted=accepted,
            reason=rng.choice(_DECLINE_REASONS) if accepted is False else None,
        )
        for req, mentor, accepted, offered, answered in offers
    ]
    pair_rows: list[MentorPair] = []
    began: list[datetime] = []
    for req, mentor, status, started, closed in pairs:
        began.append(started)
        finished = status != PairStatus.ACTIVE
        completed = status == PairStatus.COMPLETED
        pair_rows.append(
            MentorPair(
                request_id=req.id,
                mentor_id=mentor.id,
                mentee_id=req.mentee_id,
                status=status.value,
                started_on=started.date(),
                goals=rng.choice(_GOALS) if rng.random() < 0.6 else None,
                mentor_intro_sent=rng.random() < 0.5,
                mentee_intro_sent=rng.random() < 0.5,
                closed_at=closed,
                close_reason="Переход в другую школу" if finished and not completed else None,
                rating=rng.choices((3, 4, 5), weights=(1, 3, 6))[0] if completed else None,
                rating_comment=rng.choice(_RATING_COMMENTS) if completed else None,
            )
        )
        if finished:
            report.pairs_finished += 1
        else:
            report.pairs_active += 1
    session.add_all(offer_rows + pair_rows)
    await session.flush()

    meetings: list[dict[str, Any]] = []
    checkins: list[dict[str, Any]] = []
    for pair, started in zip(pair_rows, began, strict=True):
        end = (pair.closed_at or now).date() - timedelta(days=1)
        days = max(0, (end - pair.started_on).days)
        count = min(rng.randint(1, 6) if pair.closed_at is None else rng.randint(2, 5), days + 1)
        for offset in sorted(rng.sample(range(days + 1), count)):
            held = pair.started_on + timedelta(days=offset)
            fmt = rng.choices([f for f, _ in _FORMATS], weights=[w for _, w in _FORMATS])[0]
            logger = pair.mentor_id if rng.random() < 0.8 else pair.mentee_id
            meetings.append(
                {
                    "pair_id": pair.id,
                    "held_on": held,
                    "topic": rng.choice(_MEETING_TOPICS),
                    "format": fmt.value,
                    "minutes": rng.choice((20, 30, 40, 45, 45, 60, 90)),
                    "note": None,
                    "logged_by": logger,
                    "created_at": max(
                        datetime.combine(held, time(rng.randint(11, 18), rng.randint(0, 59)), UTC),
                        started + timedelta(hours=1),
                    ),
                }
            )
        # «Как проходит наставничество?» is asked every three weeks or so
        for week in range(2, days // 7 + 1, 3):
            if rng.random() < 0.7:
                asked = pair.started_on + timedelta(days=7 * week + rng.randint(0, 3))
                checkins.append(
                    {
                        "pair_id": pair.id,
                        "score": rng.choices((2, 3, 4, 5), weights=(1, 2, 4, 4))[0],
                        "created_at": datetime.combine(
                            min(asked, end), time(rng.randint(7, 18)), UTC
                        ),
                    }
                )
    if meetings:
        await session.execute(insert(MentorMeeting), meetings)
    if checkins:
        await session.execute(insert(MentorCheckin), checkins)
    report.meetings = len(meetings)
    report.checkins = len(checkins)
    return report
