"""What belongs to the update being handled: its database session and what it has learnt.

Set by :class:`bot.middlewares.DbSessionMiddleware` for the duration of one update and read
by the FSM storage (to write through the update's own session) and by the Bot API request
middlewares (to commit before the first request leaves).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

Conversation = tuple[str | None, dict[str, Any]]


@dataclass
class UpdateScope:
    session: AsyncSession
    # conversation (FSM) rows known in this update: storage key -> (state, data)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    # the handler raised: nothing more may be committed for this update
    failed: bool = False
    # the pressed button has been answered (answerCallbackQuery succeeded)
    callback_answered: bool = False


current_scope: ContextVar[UpdateScope | None] = ContextVar("pedbot_update_scope", default=None)
