"""Personal reminders: each kind at its moment and not before, once however often the tick
runs, never for a switched-off kind, never to a blocked or unregistered teacher; and
«⚙️ Настройки» through the Dispatcher.

The clock: 12.10.2026 09:30 UTC, 12:30 in Moscow (the municipality's zone). A reminder tied
to a date falls due at 10:00 local time of that date (07:00 UTC).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.home.callbacks import MenuCB
from handlers.mentoring.callbacks import Checkin, MeetingNew, PairOpen
from handlers.route.callbacks import RouteHome
from handlers.settings.callbacks import SettingToggle
from handlers.surveys.callbacks import SurveyOpen
from models import (
    Attempt,
    AttemptStatus,
    Course,
    InstrumentVersion,
    MentorCheckin,
    MentorMeeting,
    MentorPair,
    NotificationSettings,
    Outbox,
    OutboxStatus,
    Route,
    RouteStatus,
    RouteStep,
    StepStatus,
    User,
)
from scheduler.reminders import reminders_tick
from services.notifications import KINDS, checkin_period, meeting_period, reminder_day
from services.people import export_data, load_user
from tests.conftest import NOW, Harness, make_settings
from tests.helpers import add_schools, register, user_row
from tests.telegram import html_errors

SETTINGS = make_settings("sqlite+aiosqlite:///unused.db")
TZ = SETTINGS.tz
DAY = date(2026, 10, 12)
Maker = async_sessionmaker[AsyncSession]
STALE = "Эта кнопка уже не действует. Откройте нужный раздел заново из главного меню."


def at(day: date, hour: int = 12, minute: int = 30) -> datetime:
    """A local (Moscow) moment as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(UTC)


async def tick(sm: Maker, now: datetime) -> int:
    async with sm.begin() as s:
        return await reminders_tick(s, now, SETTINGS)


async def added(sm: Maker, now: datetime, kind: str) -> int:
    """Run the tick; how many reminders of ``kind`` it added."""
    before = len(await outbox(sm, kind))
    await tick(sm, now)
    return len(await outbox(sm, kind)) - before


async def outbox(sm: Maker, kind: str | None = None) -> list[Outbox]:
    async with sm() as s:
        query = select(Outbox).order_by(Outbox.id)
        if kind is not None:
            query = query.where(Outbox.kind == f"reminder.{kind}")
        return list((await s.execute(query)).scalars())


async def keys(sm: Maker, kind: str) -> list[str]:
    return [r.key for r in await outbox(sm, kind)]


def callback_data(row: Outbox) -> list[str]:
    assert row.keyboard is not None
    kb = InlineKeyboardMarkup.model_validate(row.keyboard)
    return [b.callback_data or "" for line in kb.inline_keyboard for b in line]


async def teacher(
    s: AsyncSession,
    telegram_id: int,
    name: str = "Иванова Мария Петровна",
    *,
    registered: bool = True,
    blocked: bool = False,
    language: str = "ru",
    category: str | None = None,
    category_year: int | None = None,
    category_date: date | None = None,
    registered_at: datetime = NOW - timedelta(days=100),
    pk_ended: date | None = date(2025, 5, 20),
) -> User:
    """A teacher; by default with a recent ПК, so no qualification reminder is due."""
    user = User(
        telegram_id=telegram_id,
        full_name=name,
        language=language,
        registered_at=registered_at if registered else None,
        blocked_bot=blocked,
        category=category,
        category_year=category_year,
        category_date=category_date,
    )
    s.add(user)
    await s.flush()
    if pk_ended is not None:
        await course(s, user, pk_ended)
    return user


async def course(s: AsyncSession, user: User, ended: date, kind: str = "qualification") -> None:
    s.add(
        Course(
            user_id=user.id,
            title="Курс",
            kind=kind,
            hours=36,
            starts_on=ended - timedelta(days=10),
            ends_on=ended,
            format="distance",
        )
    )
    await s.flush()


async def attempt(s: AsyncSession, user: User, updated: datetime, done: bool = False) -> Attempt:
    version = await s.scalar(select(InstrumentVersion).where(InstrumentVersion.version == 1))
    if version is None:
        version = InstrumentVersion(
            instrument_id="burnout",
            version=1,
            digest="x" * 64,
            definition={"id": "burnout", "title": "Профессиональное выгорание"},
        )
        s.add(version)
        await s.flush()
    row = Attempt(
        user_id=user.id,
        instrument_version_id=version.id,
        instrument_id="burnout",
        status=(AttemptStatus.COMPLETED if done else AttemptStatus.IN_PROGRESS).value,
        current_question="q3",
        started_at=updated - timedelta(minutes=5),
        updated_at=updated,
        completed_at=updated if done else None,
    )
    s.add(row)
    await s.flush()
    return row


async def route(
    s: AsyncSession, user: User, terms: list[tuple[date, str]], status: str = "active"
) -> list[RouteStep]:
    r = Route(user_id=user.id, status=status)
    s.add(r)
    await s.flush()
    steps = [
        RouteStep(
            route_id=r.id,
            position=i,
            kind="self_study",
            title=f"Шаг {i + 1} <самостоятельно>",
            target_date=term,
            status=step_status,
        )
        for i, (term, step_status) in enumerate(terms)
    ]
    s.add_all(steps)
    await s.flush()
    return steps


async def pair(s: AsyncSession, mentor: User, mentee: User, started: date) -> MentorPair:
    row = MentorPair(mentor_id=mentor.id, mentee_id=mentee.id, started_on=started)
    s.add(row)
    await s.flush()
    return row


# ---------------------------------------------------------------- pure rules


def test_reminder_day_starts_at_ten_local() -> None:
    assert reminder_day(at(DAY, 9, 59), TZ) == DAY - timedelta(days=1)
    assert reminder_day(at(DAY, 10, 0), TZ) == DAY
    assert reminder_day(at(DAY, 23, 59), TZ) == DAY


def test_meeting_periods_by_hand() -> None:
    start = date(2026, 9, 1)
    # no meeting: 29 days of silence is not yet a reminder, day 30 is period 1, day 60 is 2
    assert meeting_period(start, start, start + timedelta(days=29)) is None
    assert meeting_period(start, start, start + timedelta(days=30)) == 1
    assert meeting_period(start, start, start + timedelta(days=59)) == 1
    assert meeting_period(start, start, start + timedelta(days=60)) == 2
    # a meeting on day 35 (05.10): 30 days later is day 65 (05.11), period 65 // 30 = 2
    met = start + timedelta(days=35)
    assert meeting_period(start, met, date(2026, 11, 4)) is None
    assert meeting_period(start, met, date(2026, 11, 5)) == 2
    # the next mark is 30 days after that (day 95, period 3), not day 90
    assert meeting_period(start, met, start + timedelta(days=94)) == 2
    assert meeting_period(start, met, start + timedelta(days=95)) == 3


def test_checkin_periods_by_hand() -> None:
    start = date(2026, 9, 14)
    assert checkin_period(start, start + timedelta(days=27)) is None
    assert checkin_period(start, date(2026, 10, 12)) == 1  # day 28
    assert checkin_period(start, date(2026, 11, 8)) == 1  # day 55
    assert checkin_period(start, date(2026, 11, 9)) == 2  # day 56


# ---------------------------------------------------------------- each kind


async def test_unfinished_questionnaire_after_24_hours_once(sessionmaker: Maker) -> None:
    async with sessionmaker.begin() as s:
        maria = await teacher(s, 501)
        last = NOW - timedelta(hours=23)
        open_one = await attempt(s, maria, last)
        other = await teacher(s, 502)
        await attempt(s, other, NOW - timedelta(days=3), done=True)
    assert await tick(sessionmaker, NOW) == 0
    assert await tick(sessionmaker, last + timedelta(hours=24) - timedelta(seconds=1)) == 0
    assert await tick(sessionmaker, last + timedelta(hours=24)) == 1
    assert await tick(sessionmaker, last + timedelta(hours=30)) == 0
    [row] = await outbox(sessionmaker)
    assert row.key == f"reminder:survey:{open_one.id}"
    assert (row.kind, row.telegram_id, row.user_id) == ("reminder.survey", 501, maria.id)
    assert row.reminder and row.status == OutboxStatus.PENDING.value
    assert row.due_at == last + timedelta(hours=24)
    assert "«Профессиональное выгорание»" in row.text
    assert callback_data(row) == [
        SurveyOpen(instrument="burnout").pack(),
        MenuCB(to="settings").pack(),
        MenuCB(to="main").pack(),
    ]


async def test_route_step_seven_days_before_and_overdue(sessionmaker: Maker) -> None:
    async with sessionmaker.begin() as s:
        maria = await teacher(s, 511)
        soon, later, late, done = await route(
            s,
            maria,
            [
                (date(2026, 10, 19), StepStatus.PLANNED.value),  # 12.10 + 7
                (date(2026, 10, 20), StepStatus.PLANNED.value),  # 12.10 + 8
                (date(2026, 10, 5), StepStatus.PLANNED.value),  # a week late
                (date(2026, 10, 1), StepStatus.DONE.value),
            ],
        )
        draft_owner = await teacher(s, 512)
        await route(s, draft_owner, [(date(2026, 10, 13), "planned")], status="draft")
        archived_owner = await teacher(s, 513)
        await route(
            s, archived_owner, [(date(2026, 10, 1), "planned")], status=RouteStatus.ARCHIVED.value
        )
    # before 10:00 local the day is still 11.10: the 19.10 step is 8 days away; the 05.10
    # one is late whatever the hour
    assert await tick(sessionmaker, at(DAY, 9, 59)) == 1
    assert await tick(sessionmaker, at(DAY, 10, 0)) == 1
    assert await keys(sessionmaker, "route") == [
        f"reminder:overdue:{late.id}",
        f"reminder:step7:{soon.id}",
    ]
    assert await tick(sessionmaker, at(DAY, 15)) == 0
    # the next day the 20.10 step is 7 days away
    assert await tick(sessionmaker, at(date(2026, 10, 13))) == 1
    assert (await keys(sessionmaker, "route"))[-1] == f"reminder:step7:{later.id}"
    # 20.10: the 19.10 step is late; 21.10: so is the 20.10 one; nothing more after that
    assert await tick(sessionmaker, at(date(2026, 10, 20))) == 1
    assert await tick(sessionmaker, at(date(2026, 10, 21))) == 1
    assert await tick(sessionmaker, at(date(2026, 12, 1))) == 0
    rows = await outbox(sessionmaker, "route")
    assert [r.key for r in rows][-2:] == [
        f"reminder:overdue:{soon.id}",
        f"reminder:overdue:{later.id}",
    ]
    assert {r.telegram_id for r in rows} == {511}
    assert done.id not in {int(k.rsplit(":", 1)[1]) for k in await keys(sessionmaker, "route")}
    step7 = next(r for r in rows if r.key == f"reminder:step7:{soon.id}")
    assert "19.10.2026" in step7.text and "&lt;самостоятельно&gt;" in step7.text
    assert callback_data(step7)[0] == RouteHome().pack()


async def test_conformity_with_the_position_is_warned_about_like_a_category(
    sessionmaker: Maker,
) -> None:
    """The attestation for «соответствие занимаемой должности» has its own date and its own
    text; it is not warned about when the teacher holds a category since."""
    async with sessionmaker.begin() as s:
        # attested 01.12.2021: valid until 01.12.2026, the warning from 01.06.2026
        plain = await teacher(s, 531, category="none")
        plain.conformity_date = date(2021, 12, 1)
        # a category given later takes its place (valid until 2029: nothing due)
        since = await teacher(s, 532, category="first", category_year=2024)
        since.conformity_date = date(2021, 12, 1)
        # attested 2024: nothing due
        fresh = await teacher(s, 533, category="none")
        fresh.conformity_date = date(2024, 2, 1)
    assert await tick(sessionmaker, NOW) == 1
    assert await keys(sessionmaker, "attestation") == [
        f"reminder:attestation:{plain.id}:2026-12-01"
    ]
    [row] = await outbox(sessionmaker, "attestation")
    assert "соответствие занимаемой должности" in row.text and "01.12.2026" in row.text
    assert callback_data(row)[0] == MenuCB(to="courses").pack()


async def test_attestation_within_six_months_once_per_expiry(sessionmaker: Maker) -> None:
    async with sessionmaker.begin() as s:
        # given 15.03.2022: valid until 15.03.2027, the warning from 15.09.2026
        dated = await teacher(s, 521, category="first", category_date=date(2022, 3, 15))
        dated.category_year = 2022
        # only the year 2022: from 01.01.2022, until 01.01.2027, warning from 01.07.2026
        year_only = await teacher(s, 522, category="highest", category_year=2022)
        # given 20.05.2022: the warning from 20.11.2026
        later = await teacher(
            s, 523, category="first", category_year=2022, category_date=date(2022, 5, 20)
        )
        # expired on 01.03.2026: no longer «expiring»
        await teacher(s, 524, category="first", category_year=2021, category_date=date(2021, 3, 1))
        await teacher(s, 525, category="none", category_year=2022)
        await teacher(s, 526, category="first", category_year=2024)
    assert await tick(sessionmaker, NOW) == 2
    assert await keys(sessionmaker, "attestation") == [
        f"reminder:attestation:{dated.id}:2027-03-15",
        f"reminder:attestation:{year_only.id}:2027-01-01",
    ]
    assert await tick(sessionmaker, at(date(2026, 11, 19))) == 0
    assert await tick(sessionmaker, at(date(2026, 11, 20), 9, 59)) == 0
    assert await tick(sessionmaker, at(date(2026, 11, 20), 10, 0)) == 1
    assert await tick(sessionmaker, at(date(2027, 2, 1))) == 0
    rows = await outbox(sessionmaker, "attestation")
    assert rows[-1].key == f"reminder:attestation:{later.id}:2027-05-20"
    assert "20.05.2027" in rows[-1].text
    assert callback_data(rows[-1])[0] == MenuCB(to="courses").pack()
    # a new attestation (a new expiry date) is a new occasion, five years on
    async with sessionmaker.begin() as s:
        row = await s.get(User, dated.id)
        assert row is not None
        row.category_date, row.category_year = date(2027, 3, 1), 2027
    await tick(sessionmaker, at(date(2031, 9, 1)))  # (ПК is due for all of them by then)
    assert (await keys(sessionmaker, "attestation"))[3:] == [
        f"reminder:attestation:{dated.id}:2032-03-01"
    ]


async def test_qualification_more_than_three_years_ago_yearly(sessionmaker: Maker) -> None:
    async with sessionmaker.begin() as s:
        # ended 11.10.2023: counts until 11.10.2026, due from 12.10.2026
        due = await teacher(s, 531, pk_ended=date(2023, 10, 11))
        # ended 12.10.2023: due from 13.10.2026
        tomorrow = await teacher(s, 532, pk_ended=date(2023, 10, 12))
        # none recorded (a seminar is not ПК), registered 100 days ago
        none = await teacher(s, 533, pk_ended=None)
        await course(s, none, date(2026, 3, 1), kind="seminar")
        # none recorded, registered 10 days ago: the first reminder 30 days after registering
        new = await teacher(s, 534, pk_ended=None, registered_at=at(date(2026, 10, 2), 15))
        # a retraining in 2025 counts as ПК
        retrained = await teacher(s, 535, pk_ended=date(2020, 1, 1))
        await course(s, retrained, date(2025, 6, 1), kind="retraining")
    assert await tick(sessionmaker, NOW) == 2
    assert await keys(sessionmaker, "qualification") == [
        f"reminder:qualification:{due.id}:2026",
        f"reminder:qualification:{none.id}:2026",
    ]
    rows = await outbox(sessionmaker, "qualification")
    assert "11.10.2023" in rows[0].text
    assert "нет повышения квалификации" in rows[1].text
    assert await tick(sessionmaker, at(date(2026, 10, 13))) == 1
    assert (await keys(sessionmaker, "qualification"))[-1] == (
        f"reminder:qualification:{tomorrow.id}:2026"
    )
    # registered on 02.10: 30 days later is 01.11
    assert await tick(sessionmaker, at(date(2026, 10, 31))) == 0
    assert await tick(sessionmaker, at(date(2026, 11, 1))) == 1
    assert (await keys(sessionmaker, "qualification"))[-1] == (
        f"reminder:qualification:{new.id}:2026"
    )
    # yearly: not in January (a new calendar year, but not a year since), again in October
    assert await tick(sessionmaker, at(date(2027, 1, 10))) == 0
    assert await tick(sessionmaker, at(date(2027, 10, 11))) == 0
    assert await tick(sessionmaker, at(date(2027, 10, 12))) == 2
    assert await tick(sessionmaker, at(date(2027, 10, 12), 18)) == 0
    assert (await keys(sessionmaker, "qualification"))[-2:] == [
        f"reminder:qualification:{due.id}:2027",
        f"reminder:qualification:{none.id}:2027",
    ]
    assert retrained.id not in {r.user_id for r in await outbox(sessionmaker, "qualification")}


async def test_meeting_reminder_to_both_every_30_days_of_silence(sessionmaker: Maker) -> None:
    async with sessionmaker.begin() as s:
        mentor = await teacher(s, 541, "Наставникова Нина Ивановна")
        mentee = await teacher(s, 542, "Молодая Анна Сергеевна", language="en")
        quiet = await pair(s, mentor, mentee, date(2026, 9, 1))  # 41 days, no meeting
        mentor2 = await teacher(s, 543, "Заблокировавшая Зоя", blocked=True)
        mentee2 = await teacher(s, 544, "Встречная Вера Павловна")
        met = await pair(s, mentor2, mentee2, date(2026, 8, 1))
        s.add(
            MentorMeeting(
                pair_id=met.id, held_on=date(2026, 9, 20), topic="Урок", format="other", minutes=45
            )
        )
    assert await added(sessionmaker, NOW, "meeting") == 2
    rows = await outbox(sessionmaker, "meeting")
    assert [r.key for r in rows] == [
        f"reminder:meeting:{quiet.id}:{mentor.id}:1",
        f"reminder:meeting:{quiet.id}:{mentee.id}:1",
    ]
    assert "Молодая Анна Сергеевна" in rows[0].text
    assert "Наставникова Нина Ивановна" in rows[1].text
    assert "mentoring pair" in rows[1].text  # in her language
    assert callback_data(rows[0])[:2] == [
        MeetingNew(pair=quiet.id).pack(),
        PairOpen(pair=quiet.id).pack(),
    ]
    assert await added(sessionmaker, at(date(2026, 10, 19)), "meeting") == 0
    # the other pair met on 20.09: 30 days later (20.10 = day 80 of the pair, period 2), to
    # the mentee only: the mentor blocked the bot
    assert await added(sessionmaker, at(date(2026, 10, 20)), "meeting") == 1
    assert (await keys(sessionmaker, "meeting"))[-1] == f"reminder:meeting:{met.id}:{mentee2.id}:2"
    assert "20.09.2026" in (await outbox(sessionmaker, "meeting"))[-1].text
    # the first pair: still silent on 31.10 (day 60), the second reminder to both
    assert await added(sessionmaker, at(date(2026, 10, 30)), "meeting") == 0
    assert await added(sessionmaker, at(date(2026, 10, 31)), "meeting") == 2
    # a meeting on 05.11 stops them; the next silence mark is 05.12 (day 95, period 3)
    async with sessionmaker.begin() as s:
        s.add(
            MentorMeeting(
                pair_id=quiet.id,
                held_on=date(2026, 11, 5),
                topic="Разбор урока",
                format="other",
                minutes=30,
            )
        )
    # the other pair: 60 days since 20.09 on 19.11 (day 110 of the pair, period 3)
    assert await added(sessionmaker, at(date(2026, 11, 19)), "meeting") == 1
    assert await added(sessionmaker, at(date(2026, 11, 30)), "meeting") == 0  # 30.11 is day 90
    assert await added(sessionmaker, at(date(2026, 12, 5)), "meeting") == 2
    assert (await keys(sessionmaker, "meeting"))[-2:] == [
        f"reminder:meeting:{quiet.id}:{mentor.id}:3",
        f"reminder:meeting:{quiet.id}:{mentee.id}:3",
    ]
    assert 543 not in {r.telegram_id for r in await outbox(sessionmaker)}


async def test_checkin_every_four_weeks(sessionmaker: Maker) -> None:
    async with sessionmaker.begin() as s:
        mentor = await teacher(s, 551, "Наставникова Нина Ивановна")
        mentee = await teacher(s, 552, "Молодая Анна Сергеевна")
        p = await pair(s, mentor, mentee, date(2026, 9, 15))  # day 27 on 12.10
    assert await added(sessionmaker, NOW, "checkin") == 0
    assert await keys(sessionmaker, "checkin") == []
    assert await added(sessionmaker, at(date(2026, 10, 13)), "checkin") == 1  # day 28
    [row] = await outbox(sessionmaker, "checkin")
    assert row.key == f"reminder:checkin:{p.id}:1"
    assert row.telegram_id == 552  # the mentee only
    assert "Наставникова Нина Ивановна" in row.text
    assert callback_data(row)[:6] == [
        *(Checkin(pair=p.id, score=n).pack() for n in range(1, 6)),
        PairOpen(pair=p.id).pack(),
    ]
    assert (
        await added(sessionmaker, at(date(2026, 11, 9)), "checkin") == 0
    )  # day 55: still period 1
    assert await added(sessionmaker, at(date(2026, 11, 10)), "checkin") == 1  # day 56: period 2
    # she answered on 08.12 (day 84, period 3 starts that day): no reminder in period 3
    async with sessionmaker.begin() as s:
        s.add(MentorCheckin(pair_id=p.id, score=4, created_at=at(date(2026, 12, 8), 9)))
    assert await added(sessionmaker, at(date(2026, 12, 8), 11), "checkin") == 0
    assert await added(sessionmaker, at(date(2027, 1, 5)), "checkin") == 1  # day 112: period 4
    assert await keys(sessionmaker, "checkin") == [
        f"reminder:checkin:{p.id}:1",
        f"reminder:checkin:{p.id}:2",
        f"reminder:checkin:{p.id}:4",
    ]


async def everything_due(s: AsyncSession, user: User, partner: User) -> None:
    """One occasion of every kind for ``user`` (as the mentee of ``partner``)."""
    await attempt(s, user, NOW - timedelta(days=2))
    await route(s, user, [(DAY - timedelta(days=3), "planned")])
    user.category, user.category_year = "first", 2022
    await pair(s, partner, user, date(2026, 8, 1))
    await course(s, user, date(2020, 1, 1))  # ПК more than 3 years ago


async def test_switched_off_kinds_are_not_enqueued(sessionmaker: Maker) -> None:
    async with sessionmaker.begin() as s:
        mentor = await teacher(s, 561, "Наставникова Нина Ивановна")
        maria = await teacher(s, 562, pk_ended=None)
        await everything_due(s, maria, mentor)
        s.add(NotificationSettings(user_id=maria.id, off=["survey", "meeting", "qualification"]))
        s.add(NotificationSettings(user_id=mentor.id, off=[]))
    await tick(sessionmaker, NOW)
    await tick(sessionmaker, NOW + timedelta(hours=1))
    mine = [r for r in await outbox(sessionmaker) if r.user_id == maria.id]
    assert sorted(r.kind for r in mine) == [
        "reminder.attestation",
        "reminder.checkin",
        "reminder.route",
    ]
    # the mentor's meeting reminder is hers to switch off, not the mentee's
    assert [r.kind for r in await outbox(sessionmaker) if r.user_id == mentor.id] == [
        "reminder.meeting"
    ]
    assert all(r.reminder for r in await outbox(sessionmaker))


async def test_blocked_and_unregistered_teachers_get_nothing(sessionmaker: Maker) -> None:
    async with sessionmaker.begin() as s:
        blocked = await teacher(s, 571, blocked=True, pk_ended=None)
        unregistered = await teacher(s, 572, registered=False, pk_ended=None)
        mentor = await teacher(s, 573, "Наставникова Нина Ивановна", blocked=True)
        mentor2 = await teacher(s, 574, "Наставница Ольга", registered=False)
        await everything_due(s, blocked, mentor)
        await everything_due(s, unregistered, mentor2)
        control = await teacher(s, 575, pk_ended=None)
        mentor3 = await teacher(s, 576, "Наставникова Ирина")
        await everything_due(s, control, mentor3)
    assert await tick(sessionmaker, NOW) == len(KINDS) + 1  # every kind, and the mentor's
    assert await tick(sessionmaker, NOW) == 0
    rows = await outbox(sessionmaker)
    assert {r.telegram_id for r in rows} == {575, 576}
    assert sorted(r.kind for r in rows if r.telegram_id == 575) == sorted(
        f"reminder.{k}" for k in KINDS
    )
    for r in rows:  # what Telegram would accept
        assert len(r.text) <= 4096 and not html_errors(r.text)
        assert all(0 < len(d.encode()) <= 64 for d in callback_data(r))
        assert MenuCB(to="settings").pack() in callback_data(r)


async def test_waiting_reminders_whose_occasion_went_are_cancelled(sessionmaker: Maker) -> None:
    async with sessionmaker.begin() as s:
        mentor = await teacher(s, 581, "Наставникова Нина Ивановна")
        maria = await teacher(s, 582, pk_ended=None)
        await everything_due(s, maria, mentor)
        other = await teacher(s, 583)
        await attempt(s, other, NOW - timedelta(days=2))
    await tick(sessionmaker, NOW)
    assert all(r.status == OutboxStatus.PENDING.value for r in await outbox(sessionmaker))
    later = NOW + timedelta(hours=2)
    async with sessionmaker.begin() as s:
        own = await s.scalar(select(Attempt).where(Attempt.user_id == maria.id))
        assert own is not None
        own.status, own.completed_at = AttemptStatus.COMPLETED.value, later
        step = await s.scalar(select(RouteStep).join(Route).where(Route.user_id == maria.id))
        assert step is not None
        step.status = StepStatus.DONE.value
        p = await s.scalar(select(MentorPair).where(MentorPair.mentee_id == maria.id))
        assert p is not None
        s.add(
            MentorMeeting(
                pair_id=p.id,
                held_on=DAY,
                topic="Урок",
                format="other",
                minutes=45,
                created_at=later,
            )
        )
        s.add(MentorCheckin(pair_id=p.id, score=5, created_at=later))
    assert await tick(sessionmaker, later + timedelta(minutes=5)) == 0
    status = {(r.user_id, r.kind): r.status for r in await outbox(sessionmaker)}
    cancelled = OutboxStatus.CANCELLED.value
    for kind in ("survey", "route", "checkin"):
        assert status[(maria.id, f"reminder.{kind}")] == cancelled
    assert status[(maria.id, "reminder.meeting")] == cancelled
    assert status[(mentor.id, "reminder.meeting")] == cancelled
    # still due: the attestation, the ПК, and the other teacher's questionnaire
    assert status[(maria.id, "reminder.attestation")] == OutboxStatus.PENDING.value
    assert status[(maria.id, "reminder.qualification")] == OutboxStatus.PENDING.value
    assert status[(other.id, "reminder.survey")] == OutboxStatus.PENDING.value


# ---------------------------------------------------------------- «⚙️ Настройки»


async def test_settings_journey_switches_a_kind_off(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(1001)
    await register(chat)
    user = await user_row(harness.sessionmaker, 1001)
    assert user is not None
    # 31 days after registering without any ПК recorded: the first qualification reminder
    month_later = harness.clock.now + timedelta(days=31)
    assert await tick(harness.sessionmaker, month_later) == 1
    [pending] = await outbox(harness.sessionmaker, "qualification")

    await chat.tap("⚙️ Настройки")
    assert "Настройки" in chat.last.text and "21:00" in chat.last.text
    assert chat.buttons() == [
        "✅ Незаконченная анкета",
        "✅ Сроки шагов маршрута",
        "✅ Срок аттестации",
        "✅ Повышение квалификации",
        "✅ Встречи с наставником и подопечным",
        "✅ Как проходит наставничество",
        "🏠 Главное меню",
    ]
    async with harness.sessionmaker() as s:
        assert await s.get(NotificationSettings, user.id) is None  # nothing stored yet
    await chat.tap("Повышение квалификации")
    assert "⬜ Повышение квалификации" in chat.buttons()
    async with harness.sessionmaker() as s:
        row = await s.get(NotificationSettings, user.id)
        assert row is not None and row.off == ["qualification"]
        cancelled = await s.get(Outbox, pending.id)
        assert cancelled is not None and cancelled.status == OutboxStatus.CANCELLED.value
    async with harness.sessionmaker() as s:
        me = await load_user(s, user.id)
        assert me is not None
        assert (await export_data(s, me))["reminders_off"] == ["qualification"]  # «Мои данные»
    # a year on, the tick enqueues nothing of that kind
    assert await tick(harness.sessionmaker, month_later + timedelta(days=400)) == 0
    assert len(await outbox(harness.sessionmaker, "qualification")) == 1

    # on again, and the reminder's own «⚙️ Настройки» button leads here
    await chat.tap("Повышение квалификации")
    assert "✅ Повышение квалификации" in chat.buttons()
    async with harness.sessionmaker() as s:
        row = await s.get(NotificationSettings, user.id)
        assert row is not None and row.off == []
    assert await tick(harness.sessionmaker, month_later + timedelta(days=401)) == 1
    latest = (await outbox(harness.sessionmaker, "qualification"))[-1]
    settings_data = next(d for d in callback_data(latest) if d == MenuCB(to="settings").pack())
    await chat.press(settings_data)
    assert "Настройки" in chat.last.text
    # a forged kind changes nothing
    harness.bot.api.clear()
    await chat.press(SettingToggle(kind=len(KINDS)).pack())
    assert chat.alerts() == [STALE]
    async with harness.sessionmaker() as s:
        row = await s.get(NotificationSettings, user.id)
        assert row is not None and row.off == []


async def test_settings_need_registration(harness: Harness) -> None:
    chat = harness.chat(1002)
    await chat.press(MenuCB(to="settings").pack())
    assert chat.alerts() == [STALE]
    assert await tick(harness.sessionmaker, NOW) == 0
