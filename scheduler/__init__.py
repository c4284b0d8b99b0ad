"""Work that happens later or in bulk. APScheduler triggers; the database remembers.

Jobs are defined here, in code, with fixed ids (``replace_existing``):

- ``send_outbox`` (every minute): :class:`scheduler.sender.Sender` drains what is due.
- interval ticks (idempotent through the outbox's unique keys): campaigns, reminders.
- cron jobs (the weekly digests, the monitoring calendar, housekeeping): each run is
  recorded as a ``job_runs`` row named by its period ("2026-W49", "2026-12-03"), so a job
  that fires twice does its work once, and a run missed while the process was down is done
  once when it comes back within 24 hours (:func:`catch_up`, at start-up).

Exactly one process runs the scheduler (``RUN_SCHEDULER``); bot replicas set it off.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings, clock
from models import FsmRecord, JobRun, utcnow
from scheduler.reminders import reminders_tick
from scheduler.sender import Sender
from services.campaigns import calendar_tick, campaign_tick
from services.digest import enqueue_digests

log = logging.getLogger("pedbot.scheduler")

IDLE_STATE_TTL = timedelta(days=1)
CATCH_UP_WINDOW = timedelta(hours=24)

Work = Callable[[AsyncSession, datetime, Settings], Awaitable[int]]


async def purge_idle_states(session: AsyncSession, now: datetime, settings: Settings) -> int:
    """Drop conversation rows that hold no state and no data (left by finished dialogs)."""
    result = await session.execute(
        delete(FsmRecord).where(
            FsmRecord.state.is_(None), FsmRecord.updated_at < now - IDLE_STATE_TTL
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def daily(moment: datetime) -> str:
    return moment.date().isoformat()


def weekly(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class CronJob:
    id: str
    trigger: CronTrigger
    work: Work
    period: Callable[[datetime], str]  # the local moment of a run -> the run's name


@dataclass(frozen=True)
class TickJob:
    id: str
    seconds: int
    work: Work


def cron_jobs(settings: Settings) -> list[CronJob]:
    tz = settings.tz
    digest_at = clock(settings.digest_time)
    jobs = [
        CronJob(
            "purge_idle_states",
            CronTrigger(hour=3, minute=30, timezone=tz),
            purge_idle_states,
            daily,
        ),
        CronJob(
            "weekly_digest",
            CronTrigger(
                day_of_week=settings.digest_day,
                hour=digest_at.hour,
                minute=digest_at.minute,
                timezone=tz,
            ),
            enqueue_digests,
            weekly,
        ),
        CronJob(
            "monitoring_calendar",
            CronTrigger(hour=7, minute=0, timezone=tz),
            monitoring_calendar,
            daily,
        ),
    ]
    return jobs


async def monitoring_calendar(session: AsyncSession, now: datetime, settings: Settings) -> int:
    """Offer municipal methodists a campaign when a window of the monitoring calendar opens."""
    return await calendar_tick(session, now.astimezone(settings.tz).date(), settings)


def tick_jobs() -> list[TickJob]:
    return [
        TickJob("campaigns", 60, campaign_tick),  # invitations, reminders, deadlines
        TickJob("reminders", 300, reminders_tick),  # personal reminders
    ]


async def run_cron(
    job: CronJob,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    moment: datetime,
    now: datetime,
) -> bool:
    """Run ``job`` for the run at ``moment`` unless that run is done; True when it ran."""
    period = job.period(moment.astimezone(settings.tz))
    try:
        async with sessionmaker.begin() as session:
            done = await session.scalar(
                select(JobRun.id).where(JobRun.job == job.id, JobRun.period == period)
            )
            if done is not None:
                return False
            count = await job.work(session, now, settings)
            session.add(JobRun(job=job.id, period=period, done_at=now))
    except IntegrityError:  # another process recorded the same run meanwhile
        return False
    log.info("job %s %s done (%d)", job.id, period, count)
    return True


def last_run_due(trigger: CronTrigger, now: datetime, window: timedelta) -> datetime | None:
    """The latest moment ``trigger`` fired within ``window`` before ``now``."""
    last = None
    moment = trigger.get_next_fire_time(None, now - window)
    while moment is not None and moment <= now:
        last = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return last


async def catch_up(
    jobs: Sequence[CronJob],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    now: datetime,
) -> list[str]:
    """Runs missed while the process was down (within 24 hours), each once."""
    ran: list[str] = []
    for job in jobs:
        moment = last_run_due(job.trigger, now, CATCH_UP_WINDOW)
        if moment is not None and await run_cron(job, sessionmaker, settings, moment, now):
            ran.append(job.id)
    return ran


@dataclass
class Scheduled:
    scheduler: AsyncIOScheduler
    sender: Sender
    crons: list[CronJob]


def create_scheduler(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    bot: Bot,
    *,
    now: Callable[[], datetime] = utcnow,
) -> Scheduled:
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    sender = Sender(bot, sessionmaker, settings, now=now)
    common = {"replace_existing": True, "coalesce": True, "max_instances": 1}
    scheduler.add_job(
        sender.drain, "interval", seconds=60, id="send_outbox", misfire_grace_time=60, **common
    )
    for tick in tick_jobs():

        async def run_tick(work: Work = tick.work) -> None:
            async with sessionmaker.begin() as session:
                await work(session, now(), settings)

        scheduler.add_job(
            run_tick, "interval", seconds=tick.seconds, id=tick.id, misfire_grace_time=60, **common
        )
    crons = cron_jobs(settings)
    for job in crons:

        async def fire(job: CronJob = job) -> None:
            moment = now()
            await run_cron(job, sessionmaker, settings, moment, moment)

        scheduler.add_job(
            fire,
            job.trigger,
            id=job.id,
            misfire_grace_time=int(CATCH_UP_WINDOW.total_seconds()),
            **common,
        )

    async def start_up() -> None:
        ran = await catch_up(crons, sessionmaker, settings, now())
        if ran:
            log.info("runs missed while stopped, done now: %s", ", ".join(ran))
        await sender.drain()

    scheduler.add_job(start_up, id="catch_up", replace_existing=True)
    return Scheduled(scheduler, sender, crons)
