"""Work that happens later or in bulk. APScheduler triggers; the database remembers.

Jobs are idempotent: running one twice changes nothing the second time.
"""

from __future__ import annotations

from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from models import FsmRecord, utcnow

IDLE_STATE_TTL = timedelta(days=1)


async def purge_idle_states(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Drop conversation rows that hold no state and no data (left by finished dialogs)."""
    cutoff = utcnow() - IDLE_STATE_TTL
    async with sessionmaker.begin() as session:
        result = await session.execute(
            delete(FsmRecord).where(FsmRecord.state.is_(None), FsmRecord.updated_at < cutoff)
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def create_scheduler(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    scheduler.add_job(
        purge_idle_states,
        "cron",
        hour=3,
        minute=30,
        args=[sessionmaker],
        id="purge_idle_states",
        replace_existing=True,
        coalesce=True,
        misfire_grace_time=3600,
    )
    return scheduler
