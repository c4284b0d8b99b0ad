"""What belongs to the update being handled: its database work and what it has learnt.

Set by :class:`bot.middlewares.DbSessionMiddleware` for the duration of one update and read
by the FSM storage (to write through the update's own session) and by the Bot API request
middlewares (to commit before the first request leaves).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from models import FsmRecord, utcnow
from models.db import upsert
from models.work import Work

Conversation = tuple[str | None, dict[str, Any]]


@dataclass
class UpdateScope:
    work: Work
    # conversation (FSM) rows known in this update: storage key -> (state, data)
    conversations: dict[str, Conversation] = field(default_factory=dict)
    # the handler raised: nothing more may be committed for this update
    failed: bool = False
    # the pressed button has been answered (answerCallbackQuery succeeded)
    callback_answered: bool = False
    # conversations changed in this update and not yet written: storage key -> Telegram id
    changed: dict[str, int] = field(default_factory=dict)

    @property
    def session(self) -> AsyncSession:
        """The update's ORM session (made when first asked for)."""
        return self.work.session

    async def flush(self) -> None:
        """Write each changed conversation once (an upsert), just before a commit."""
        for key, user_id in self.changed.items():
            await upsert_conversation(self.session, key, user_id, self.conversations[key])
        self.changed.clear()


async def upsert_conversation(
    session: AsyncSession, key: str, user_id: int, value: Conversation
) -> None:
    """Write one conversation row; an empty conversation (no state, no data) is no row, so
    nothing of a person stays in the table once their dialog is over."""
    if value[0] is None and not value[1]:
        await session.execute(delete(FsmRecord).where(FsmRecord.key == key))
        return
    values = {
        "key": key,
        "user_id": user_id,
        "state": value[0],
        "data": value[1],
        "updated_at": utcnow(),
    }
    await upsert(session, FsmRecord, values, ["key"], ["state", "data", "updated_at"])


current_scope: ContextVar[UpdateScope | None] = ContextVar("pedbot_update_scope", default=None)
