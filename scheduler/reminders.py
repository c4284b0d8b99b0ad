"""The scheduler's «send due reminders» job: every personal reminder that is due goes into
the outbox once.

The rules (which reminder is due to whom, the teacher's switches) are in
:mod:`services.notifications`; the messages are screens of ``handlers.settings``, because
the outbox stores finished messages with their buttons. This module only joins the two.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import Translator
from handlers.settings.screens import reminder
from services.notifications import cancel_stale, due_reminders, outbox_kind
from services.outbox import enqueue

log = logging.getLogger("pedbot.reminders")


async def reminders_tick(session: AsyncSession, now: datetime, settings: Settings) -> int:
    """Enqueue every personal reminder due at ``now`` (UTC or aware); how many were added.

    Idempotent: each reminder's key names its occasion, so running again adds nothing new.
    Reminders still waiting whose occasion has gone (the questionnaire finished, the step
    done, a meeting logged) are cancelled first.
    """
    cancelled = await cancel_stale(session)
    added = 0
    translators: dict[str, Translator] = {}
    for due in await due_reminders(session, now, settings.tz):
        t = translators.get(due.language)
        if t is None:
            t = translators[due.language] = Translator(due.language, settings.tz)
        screen = reminder(due, t)
        keyboard = (
            screen.keyboard.model_dump(mode="json", exclude_none=True) if screen.keyboard else None
        )
        added += await enqueue(
            session,
            key=due.key,
            kind=outbox_kind(due.kind),
            telegram_id=due.telegram_id,
            user_id=due.user_id,
            text=screen.text,
            keyboard=keyboard,
            due_at=now,
            reminder=True,
        )
    if added or cancelled:
        log.info("reminders enqueued: %d, cancelled: %d", added, cancelled)
    return added
