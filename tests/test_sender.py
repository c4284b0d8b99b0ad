"""The outbox sender and the scheduler's runs, with a fake clock: Telegram's limits, 429
pausing everything, 403 marking the person inactive, quiet hours, one reminder a day, no
repeat after a crash, and missed runs done once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiogram.methods import SendDocument, SendMessage, SendPhoto
from aiogram.types import Chat, ChatMemberBanned, ChatMemberMember, ChatMemberUpdated, Update
from aiogram.types import User as TgUser
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import JobRun, Outbox, User
from scheduler import CronJob, catch_up, daily, last_run_due
from scheduler.sender import RateLimiter, Sender
from services.outbox import OutFile, enqueue, in_quiet_hours, next_morning
from tests.conftest import Harness, make_settings
from tests.helpers import add_schools, register
from tests.telegram import MockedBot

MSK_NOON = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # 12:00 in Moscow


class FakeTime:
    """Monotonic seconds and wall-clock now that move only when someone sleeps."""

    def __init__(self, now: datetime) -> None:
        self.t = 1000.0
        self.wall = now
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.t

    def now(self) -> datetime:
        return self.wall + timedelta(seconds=self.t - 1000.0)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def make_sender(
    bot: MockedBot, sm: async_sessionmaker[AsyncSession], url: str, ft: FakeTime, **kw: object
) -> Sender:
    settings = make_settings(url, **kw)
    limiter = RateLimiter(settings.send_rate, ft.clock, ft.sleep)
    return Sender(bot, sm, settings, now=ft.now, limiter=limiter, clock=ft.clock, sleep=ft.sleep)


async def put(sm: async_sessionmaker[AsyncSession], **kw: object) -> None:
    values: dict[str, object] = {"kind": "test", "text": "Привет", "due_at": MSK_NOON}
    values.update(kw)
    async with sm.begin() as s:
        await enqueue(s, **values)  # type: ignore[arg-type]


async def statuses(sm: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with sm() as s:
        return dict((await s.execute(select(Outbox.key, Outbox.status))).all())  # type: ignore[arg-type]


async def test_sends_text_and_files_in_order_once(
    sessionmaker: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    bot, ft = MockedBot(), FakeTime(MSK_NOON)
    sender = make_sender(bot, sessionmaker, db_url, ft)
    files = [OutFile("photo", "chart.png", b"\x89PNG..."), OutFile("document", "t.xlsx", b"PK")]
    keyboard = {"inline_keyboard": [[{"text": "Открыть", "callback_data": "qo:young"}]]}
    await put(sessionmaker, key="a", telegram_id=11, keyboard=keyboard, files=files)
    await put(sessionmaker, key="b", telegram_id=12)
    # the same key again: nothing new
    await put(sessionmaker, key="a", telegram_id=11, text="другой текст")
    report = await sender.drain()
    assert report.sent == 2
    kinds = [(type(r).__name__, int(r.chat_id)) for r in bot.api.requests]
    assert sorted(kinds) == sorted(
        [("SendMessage", 11), ("SendPhoto", 11), ("SendDocument", 11), ("SendMessage", 12)]
    )
    chat11 = [type(r) for r in bot.api.requests if int(r.chat_id) == 11]
    assert chat11 == [SendMessage, SendPhoto, SendDocument]
    assert bot.api.of(SendMessage)[0].reply_markup is not None
    assert await statuses(sessionmaker) == {"a": "sent", "b": "sent"}
    # at least a second between two messages to one chat
    assert sum(s for s in ft.sleeps) >= 2.0 - 1e-9
    bot.api.requests.clear()
    assert not await sender.drain()
    assert bot.api.requests == []


async def test_429_pauses_all_sending_then_sends_once(
    sessionmaker: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    bot, ft = MockedBot(), FakeTime(MSK_NOON)
    sender = make_sender(bot, sessionmaker, db_url, ft)
    for chat in (21, 22, 23):
        await put(sessionmaker, key=f"k{chat}", telegram_id=chat)
    bot.api.retry_after[SendMessage] = 7
    report = await sender.drain()
    assert report.paused == [7.0] and report.sent == 3
    assert max(ft.sleeps) >= 7.0 - 1e-6
    assert len(bot.api.of(SendMessage)) == 4  # one refused with 429, then three
    assert set((await statuses(sessionmaker)).values()) == {"sent"}


async def test_403_marks_the_teacher_inactive_and_skips_the_rest(harness: Harness) -> None:
    h = harness
    await add_schools(h.sessionmaker)
    chat = h.chat(31)
    await register(chat)
    ft = FakeTime(MSK_NOON)
    sender = make_sender(h.bot, h.sessionmaker, str(h.app.settings.database_url), ft)
    await put(h.sessionmaker, key="one", telegram_id=31)
    await put(h.sessionmaker, key="two", telegram_id=31)
    await put(h.sessionmaker, key="other", telegram_id=32)
    h.bot.api.requests.clear()
    h.bot.api.forbidden.add(31)
    report = await sender.drain()
    assert report.sent == 1 and report.skipped == 1
    assert await statuses(h.sessionmaker) == {"one": "skipped", "two": "skipped", "other": "sent"}
    async with h.sessionmaker() as s:
        assert await s.scalar(select(User.blocked_bot).where(User.telegram_id == 31)) is True
    # later messages to an inactive teacher are not even tried
    await put(h.sessionmaker, key="three", telegram_id=31)
    h.bot.api.requests.clear()
    await sender.drain()
    assert h.bot.api.requests == []
    # /start makes them active again
    h.bot.api.forbidden.clear()
    await chat.send("/start")
    async with h.sessionmaker() as s:
        assert await s.scalar(select(User.blocked_bot).where(User.telegram_id == 31)) is False


async def test_my_chat_member_blocked_and_back(harness: Harness) -> None:
    h = harness
    await add_schools(h.sessionmaker)
    chat = h.chat(41)
    await register(chat)
    person = TgUser(id=41, is_bot=False, first_name="Мария")
    bot_user = TgUser(id=42, is_bot=True, first_name="pedbot")

    async def member_update(new: object, update_id: int) -> None:
        await h.app.dispatcher.feed_update(
            h.bot,
            Update(
                update_id=update_id,
                my_chat_member=ChatMemberUpdated(
                    chat=Chat(id=41, type="private"),
                    from_user=person,
                    date=MSK_NOON,
                    old_chat_member=ChatMemberMember(user=bot_user),
                    new_chat_member=new,
                ),
            ),
        )

    await member_update(ChatMemberBanned(user=bot_user, until_date=0), 900001)
    async with h.sessionmaker() as s:
        assert await s.scalar(select(User.blocked_bot).where(User.telegram_id == 41)) is True
    await member_update(ChatMemberMember(user=bot_user), 900002)
    async with h.sessionmaker() as s:
        assert await s.scalar(select(User.blocked_bot).where(User.telegram_id == 41)) is False


async def test_quiet_hours_hold_everything_until_morning(
    sessionmaker: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    evening = datetime(2026, 12, 3, 19, 30, tzinfo=UTC)  # 22:30 in Moscow
    bot, ft = MockedBot(), FakeTime(evening)
    sender = make_sender(bot, sessionmaker, db_url, ft)
    settings = make_settings(db_url)
    assert in_quiet_hours(settings, evening)
    assert not in_quiet_hours(settings, MSK_NOON)
    await put(sessionmaker, key="late", telegram_id=51, due_at=evening)
    report = await sender.drain()
    assert report.held and bot.api.requests == []
    ft.wall = next_morning(settings, evening) - timedelta(seconds=1)
    ft.t = 1000.0
    assert (await sender.drain()).held
    ft.wall = next_morning(settings, evening)
    assert (await sender.drain()).sent == 1
    assert next_morning(settings, evening) == datetime(2026, 12, 4, 5, 0, tzinfo=UTC)


async def test_one_reminder_per_teacher_per_day(
    sessionmaker: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    bot, ft = MockedBot(), FakeTime(MSK_NOON)
    sender = make_sender(bot, sessionmaker, db_url, ft)
    await put(sessionmaker, key="r1", telegram_id=61, reminder=True)
    await put(sessionmaker, key="r2", telegram_id=61, reminder=True)
    await put(sessionmaker, key="news", telegram_id=61)  # not a reminder: goes today
    report = await sender.drain()
    assert report.sent == 2 and report.postponed == 1
    await put(sessionmaker, key="r3", telegram_id=61, reminder=True)
    assert (await sender.drain()).postponed == 1  # still the same day
    async with sessionmaker() as s:
        held = (await s.scalars(select(Outbox).where(Outbox.status == "pending"))).all()
    assert {o.key for o in held} == {"r2", "r3"}
    morning = datetime(2026, 12, 4, 5, 0, tzinfo=UTC)
    assert {o.due_at for o in held} == {morning}
    ft.wall, ft.t = morning, 1000.0
    report = await sender.drain()
    assert report.sent == 1 and report.postponed == 1  # one on the next day, one the day after


async def test_a_crash_after_the_text_sends_only_the_rest(
    sessionmaker: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    bot, ft = MockedBot(), FakeTime(MSK_NOON)
    sender = make_sender(bot, sessionmaker, db_url, ft)
    await put(sessionmaker, key="d", telegram_id=71, files=[OutFile("photo", "c.png", b"x")])
    bot.api.fail[SendPhoto] = "wrong file type"  # the photo fails for good this time
    report = await sender.drain()
    assert report.failed == 1
    async with sessionmaker() as s:
        row = await s.scalar(select(Outbox).where(Outbox.key == "d"))
    assert row is not None and (row.parts_sent, row.status, row.last_error) == (
        1,
        "failed",
        "TelegramBadRequest",
    )
    # a row stopped after its text (as after a kill between two parts) resumes at the photo
    async with sessionmaker.begin() as s:
        row = await s.scalar(select(Outbox).where(Outbox.key == "d"))
        assert row is not None
        row.status = "pending"
    bot.api.fail.clear()
    bot.api.requests.clear()
    assert (await sender.drain()).sent == 1
    assert [type(r) for r in bot.api.requests] == [SendPhoto]


async def test_global_rate_is_kept(
    sessionmaker: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    bot, ft = MockedBot(), FakeTime(MSK_NOON)
    sender = make_sender(bot, sessionmaker, db_url, ft, send_rate=25.0)
    for chat in range(100, 150):
        await put(sessionmaker, key=f"c{chat}", telegram_id=chat)
    assert (await sender.drain()).sent == 50
    # 50 messages at 25 per second take at least 49 intervals of 40 ms
    assert ft.t - 1000.0 >= 49 / 25 - 1e-6


@pytest.mark.parametrize("hours_late", [1, 23])
async def test_a_missed_run_is_done_once_when_back(
    sessionmaker: async_sessionmaker[AsyncSession], db_url: str, hours_late: int
) -> None:
    settings = make_settings(db_url)
    runs: list[datetime] = []

    async def work(session: AsyncSession, now: datetime, _: object) -> int:
        runs.append(now)
        return 1

    job = CronJob("test_daily", CronTrigger(hour=9, minute=0, timezone=settings.tz), work, daily)
    fired = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
    back = fired + timedelta(hours=hours_late)
    assert last_run_due(job.trigger, back, timedelta(hours=24)) == fired.astimezone(settings.tz)
    assert await catch_up([job], sessionmaker, settings, back) == ["test_daily"]
    assert await catch_up([job], sessionmaker, settings, back) == []
    assert len(runs) == 1
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(JobRun)) == 1


async def test_a_run_missed_more_than_a_day_ago_is_not_done(
    sessionmaker: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    settings = make_settings(db_url)

    async def work(session: AsyncSession, now: datetime, _: object) -> int:
        raise AssertionError("must not run")

    weekly_job = CronJob(
        "test_weekly",
        CronTrigger(day_of_week="mon", hour=9, timezone=settings.tz),
        work,
        daily,
    )
    wednesday = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # Monday's run was 2 days ago
    assert await catch_up([weekly_job], sessionmaker, settings, wednesday) == []


async def test_every_scheduled_job_runs_and_the_digest_arrives(harness: Harness) -> None:
    """The jobs as the scheduler defines them, run once each, then the sender: a methodist
    gets the weekly digest (text, chart, spreadsheet); running them again sends nothing."""
    from models import RoleName
    from scheduler import create_scheduler, run_cron
    from services.roles import grant

    h = harness
    await add_schools(h.sessionmaker)
    async with h.sessionmaker.begin() as s:
        await grant(s, 7700, RoleName.METHODIST, municipality_code="ensk")
    for i, middle in enumerate(["Ивановна", "Петровна", "Сергеевна", "Олеговна", "Юрьевна"]):
        await register(h.chat(7800 + i), name=f"Учителева Анна {middle}")
    settings = h.app.settings
    ft = FakeTime(h.clock.now)
    scheduled = create_scheduler(settings, h.sessionmaker, h.bot, now=h.clock)
    assert {j.id for j in scheduled.scheduler.get_jobs()} >= {
        "send_outbox",
        "campaigns",
        "reminders",
        "weekly_digest",
        "monitoring_calendar",
        "purge_idle_states",
        "catch_up",
    }
    sender = make_sender(h.bot, h.sessionmaker, str(settings.database_url), ft)
    for _ in range(2):
        for job in scheduled.crons:
            await run_cron(job, h.sessionmaker, settings, h.clock.now, h.clock.now)
        h.bot.api.requests.clear()
        await sender.drain()
        if _ == 0:
            to_methodist = [r for r in h.bot.api.requests if int(r.chat_id) == 7700]
            kinds = [type(r) for r in to_methodist]
            # the digest (text, chart, spreadsheet) and the October calendar's offers
            assert kinds.count(SendPhoto) == 1 and kinds.count(SendDocument) == 1
            assert kinds.count(SendMessage) >= 2
        else:
            assert h.bot.api.requests == []


async def test_a_reply_to_a_teacher_who_blocked_the_bot(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """403 on a reply: the teacher is marked inactive, the log has one INFO line and no
    traceback, and nothing else is tried."""
    import logging

    h = harness
    await add_schools(h.sessionmaker)
    chat = h.chat(81)
    await register(chat)
    h.bot.api.forbidden.add(81)
    h.bot.api.requests.clear()
    with caplog.at_level(logging.INFO):
        await chat.send("/menu")
    async with h.sessionmaker() as s:
        assert await s.scalar(select(User.blocked_bot).where(User.telegram_id == 81)) is True
    assert [r.levelname for r in caplog.records if r.name == "pedbot.errors"] == ["INFO"]
    assert all(r.exc_info is None for r in caplog.records if r.name == "pedbot.errors")
    assert len(h.bot.api.requests) == 1  # the reply that got 403, no error message after it
