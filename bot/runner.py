"""Long polling: build the app, start the scheduler, poll until stopped."""

from __future__ import annotations

import logging

from bot.app import create_app, create_bot, set_commands
from bot.config import Settings
from scheduler import create_scheduler

log = logging.getLogger("pedbot")


async def run_polling(settings: Settings) -> None:
    app = await create_app(settings)
    bot = create_bot(settings)
    scheduler = create_scheduler(settings, app.sessionmaker)
    try:
        await set_commands(bot)
        scheduler.start()
        log.info("pedbot started (API server: %s)", settings.telegram_api_url)
        await app.dispatcher.start_polling(
            bot, allowed_updates=app.dispatcher.resolve_used_update_types(), handle_signals=True
        )
    finally:
        scheduler.shutdown(wait=False)
        await bot.session.close()
        await app.close()
