"""Long polling: build the app, start the scheduler, poll until stopped."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramServerError,
    TelegramUnauthorizedError,
)

from bot.app import create_app, create_bot, set_commands, settle
from bot.config import Settings
from scheduler import create_scheduler

log = logging.getLogger("pedbot")

SHUTDOWN_GRACE = 10.0  # seconds to let updates already being handled finish on stop


class TokenRejected(Exception):
    """The Bot API server refused the token: nothing will work until it is fixed."""


async def wait_for_api(bot: Bot, settings: Settings, max_delay: float = 60.0) -> None:
    """Check the token with getMe; wait (with back-off) while the server is unreachable."""
    delay = 1.0
    while True:
        try:
            await bot.get_me()
            return
        except TelegramUnauthorizedError as exc:
            raise TokenRejected from exc
        except (TelegramNetworkError, TelegramServerError) as exc:
            log.warning(
                "Bot API server %s is not answering (%s); retrying in %.0f s",
                settings.telegram_api_url,
                type(exc).__name__,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)


async def run_polling(settings: Settings) -> None:
    app = await create_app(settings)
    bot = create_bot(settings)
    settle()
    scheduled = create_scheduler(settings, app.sessionmaker, bot)
    scheduler = scheduled.scheduler
    try:
        await wait_for_api(bot, settings)
        await set_commands(bot)
        if settings.run_scheduler:
            scheduler.start()
        else:
            log.info("the scheduler runs in another process (RUN_SCHEDULER=false)")
        log.info("pedbot started (API server: %s)", settings.telegram_api_url)
        await app.dispatcher.start_polling(
            bot,
            allowed_updates=app.dispatcher.resolve_used_update_types(),
            handle_signals=True,
            close_bot_session=False,  # closed below, after the pending updates
        )
    finally:
        # aiogram's polling does not wait for the updates it is still handling; closing the
        # Bot session and the database under them would lose an answer already given.
        left = await app.db.wait(SHUTDOWN_GRACE)
        if left:
            log.warning("stopping with %d updates still being handled", left)
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await bot.session.close()
        await app.close()
