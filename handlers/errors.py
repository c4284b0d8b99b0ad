"""The one error handler: log without personal data, tell the person plainly."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import ErrorEvent

from bot.i18n import DEFAULT_LANGUAGE, Translator
from bot.scope import UpdateScope
from services.people import set_blocked

log = logging.getLogger("pedbot.errors")


def setup() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error)
    return router


async def on_error(event: ErrorEvent, scope: UpdateScope | None = None) -> bool:
    update = event.update
    kind = update.event_type
    if isinstance(event.exception, TelegramForbiddenError):
        # the person blocked the bot while it answered: nothing more goes to them until a
        # later /start (the update's own changes were already committed before the reply)
        log.info(
            "update %s (%s): the person blocked the bot; marked inactive", update.update_id, kind
        )
        person = event.update.event.from_user if hasattr(event.update.event, "from_user") else None
        if scope is not None and person is not None:
            # outside the update's own session, which is over
            async with scope.work.sessionmaker.begin() as session:
                await set_blocked(session, person.id, True)
        return True
    # The update id and the exception type only: no text, names or answers in the log.
    log.error(
        "update %s (%s) failed: %s",
        update.update_id,
        kind,
        type(event.exception).__name__,
        exc_info=(type(event.exception), event.exception, event.exception.__traceback__),
    )
    t = Translator(DEFAULT_LANGUAGE)
    bot = update.bot if hasattr(update, "bot") else None
    chat_id: int | None = None
    if update.message is not None:
        chat_id = update.message.chat.id
    elif update.callback_query is not None:
        chat_id = update.callback_query.from_user.id
        if scope is None or not scope.callback_answered:  # a button is answered only once
            with contextlib.suppress(TelegramAPIError):
                await update.callback_query.answer()
    if bot is not None and chat_id is not None:
        with contextlib.suppress(TelegramAPIError):
            await bot.send_message(chat_id, t("errors.generic"))
    return True
