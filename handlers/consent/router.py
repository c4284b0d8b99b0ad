"""Consent: a new edition asked again before anything else, the full text, and the consent
in the profile (re-read, withdraw; withdrawing deletes as «Удалить мои данные» does).

:class:`RenewalGate` comes before every feature: a person who agreed to an older edition of
the text gets the new one on any message or button (except the consent's own buttons) until
they answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, F, Router
from aiogram.filters import MagicData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove, TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import Registered
from bot.i18n import Translator
from handlers.common import render
from handlers.consent import screens
from handlers.consent.callbacks import (
    PASS_OUTDATED,
    ConsentRead,
    ConsentStatus,
    HealthWithdrawAsk,
    HealthWithdrawConfirmed,
    WithdrawAsk,
    WithdrawConfirmed,
)
from models import User
from services import consent as svc
from services.consent import Operator, consent_outdated
from services.instruments import InstrumentRegistry
from services.people import delete_user

HAS_ROW = MagicData(F.person.is_not(None))


def _not_consent_button(data: str | None) -> bool:
    return (data or "").split(":", 1)[0] not in PASS_OUTDATED


class RenewalGate(BaseMiddleware):
    """Before every feature: a person who agreed to an older edition of the consent gets the
    new one, whatever they sent (the consent's own buttons pass, see :data:`PASS_OUTDATED`).

    A gate rather than a router tried first: every update of everyone else passes it with
    one comparison, where a router in front costs each of them a pass through aiogram's
    routing. Registered by ``bot.app`` as an outer middleware of messages and buttons."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        person = data.get("person")
        if person is None or not consent_outdated(person):
            return await handler(event, data)
        if isinstance(event, CallbackQuery) and _not_consent_button(event.data):
            await ask_again(event, data["t"], data["settings"])
            await event.answer()
            return None
        if isinstance(event, Message) and "state" in data:
            await ask_again_msg(event, data["t"], data["settings"], data["state"])
            return None
        return await handler(event, data)


def setup() -> Router:
    """The consent's own screens: its full text, the consent in the profile, withdrawing."""
    router = Router(name="consent")
    cb = router.callback_query
    cb.register(read_full, ConsentRead.filter())
    registered = Registered()
    cb.register(status, ConsentStatus.filter(), registered)
    cb.register(withdraw_ask, WithdrawAsk.filter(), HAS_ROW)
    cb.register(withdraw, WithdrawConfirmed.filter(), HAS_ROW)
    cb.register(health_withdraw_ask, HealthWithdrawAsk.filter(), registered)
    cb.register(health_withdraw, HealthWithdrawConfirmed.filter(), registered)
    return router


async def ask_again(query: CallbackQuery, t: Translator, settings: Settings) -> None:
    await render(query, screens.renew(Operator.of(settings), t))


async def ask_again_msg(
    message: Message, t: Translator, settings: Settings, state: FSMContext
) -> None:
    await state.clear()  # a dialog under the old edition does not go on
    await render(message, screens.renew(Operator.of(settings), t))


async def read_full(
    query: CallbackQuery, callback_data: ConsentRead, t: Translator, settings: Settings
) -> None:
    screen = screens.full(
        Operator.of(settings),
        svc.edition(),
        t,
        school_id=callback_data.school,
        profile=callback_data.profile,
    )
    await render(query, screen)


async def status(query: CallbackQuery, user: User, t: Translator, state: FSMContext) -> None:
    await state.clear()
    await render(query, screens.status(svc.status_of(user), t))


async def withdraw_ask(query: CallbackQuery, t: Translator) -> None:
    await render(query, screens.withdraw_confirm(t))


async def withdraw(
    query: CallbackQuery, user: User, t: Translator, session: AsyncSession, state: FSMContext
) -> None:
    """Withdrawing the consent deletes everything, as «Удалить мои данные» does."""
    await state.clear()
    await delete_user(session, user)
    await render(query, screens.withdrawn(t))
    assert query.bot is not None
    await query.bot.send_message(
        query.from_user.id, t("profile.deleted_hint"), reply_markup=ReplyKeyboardRemove()
    )


async def health_withdraw_ask(query: CallbackQuery, t: Translator) -> None:
    await render(query, screens.health_withdraw_confirm(t))


async def health_withdraw(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
) -> None:
    await svc.withdraw_health(session, registry, user)
    await render(query, screens.health_withdrawn(t))
