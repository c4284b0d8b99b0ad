"""Every Bot API request of an update goes through here.

- The update's database work is committed before the request leaves: nothing waits on the
  network while holding a transaction (on SQLite: the one connection), and what the person
  is told has already been stored. A request that fails afterwards never undoes it.
- 429 «Too Many Requests» is waited out (``retry_after``) and the request sent again, a
  bounded number of times.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.scope import current_scope

log = logging.getLogger("pedbot.outgoing")

RETRY_ATTEMPTS = 4  # sends in all, for one request answered with 429
RETRY_MAX_WAIT = 60.0  # a longer retry_after is not waited for in a reply


class Outgoing(BaseRequestMiddleware):
    """The one request middleware (one layer: every reply of every update passes it)."""

    def __init__(self, attempts: int = RETRY_ATTEMPTS, max_wait: float = RETRY_MAX_WAIT) -> None:
        self.attempts = attempts
        self.max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        scope = current_scope.get()
        if scope is None:
            # outside an update (the outbox sender): the caller waits, pausing all sending
            return await make_request(bot, method)
        for attempt in range(1, self.attempts + 1):
            if not scope.failed:
                # the update's changes are stored before anything is said about them
                if scope.changed:
                    await scope.flush()
                if not scope.work.settled:
                    await scope.work.commit()
            try:
                result = await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.attempts or exc.retry_after > self.max_wait:
                    raise
                log.info(
                    "%s: 429, waiting %s s (attempt %d)",
                    type(method).__name__,
                    exc.retry_after,
                    attempt,
                )
                await asyncio.sleep(exc.retry_after)
                continue
            if isinstance(method, AnswerCallbackQuery):
                scope.callback_answered = True
            return result
        raise AssertionError("unreachable")  # pragma: no cover


_EQUIPPED = "_pedbot_equipped"  # marks a session already equipped (checked on every update)


def equip(bot: Bot) -> None:
    """Install the request middlewares on this bot's session (once per session)."""
    if getattr(bot.session, _EQUIPPED, False):
        return
    manager = bot.session.middleware
    setattr(bot.session, _EQUIPPED, True)
    if any(isinstance(manager[i], Outgoing) for i in range(len(manager))):
        return
    manager(Outgoing())
