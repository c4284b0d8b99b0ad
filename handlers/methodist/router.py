"""«🗂 Заявки на наставника»: the queue of shared mentoring requests in the methodist's scope,
a request's card with ranked mentors, «Назначить» with a confirmation, and the offer sent to
the mentor.

Only methodists and admins get here (checked once for the whole router); anybody else
pressing these buttons gets the standard stale-button alert from the menu router. The ids in
a button are checked again by the service on every press.

The offer is written before the mentor is told: the request middleware commits the update's
transaction before the message to the mentor leaves, so a failed delivery never undoes the
offer, and the methodist is told plainly that the mentor did not get the message.
"""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, TelegramObject
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import Translator
from handlers.common import notify, refuse, render
from handlers.home.callbacks import MenuCB
from handlers.methodist import screens
from handlers.methodist.callbacks import (
    AssignAsk,
    AssignConfirm,
    OfferWithdraw,
    QueueOpen,
    RequestOpen,
)
from services.mentoring_queue import (
    QueueRefusal,
    assign,
    assign_preview,
    queue,
    request_card,
    withdraw_offer,
)
from services.roles import Access


def setup() -> Router:
    router = Router(name="methodist")
    router.callback_query.filter(is_methodist)
    router.callback_query.register(open_hub, MenuCB.filter(F.to == "methodist"))
    router.callback_query.register(open_queue, QueueOpen.filter())
    router.callback_query.register(open_request, RequestOpen.filter())
    router.callback_query.register(ask_assign, AssignAsk.filter())
    router.callback_query.register(confirm_assign, AssignConfirm.filter())
    router.callback_query.register(take_back, OfferWithdraw.filter())
    return router


def is_methodist(event: TelegramObject, access: Access | None = None) -> bool:
    """The one access check of this router."""
    return access is not None and (access.is_methodist or access.is_admin)


async def open_hub(query: CallbackQuery, t: Translator) -> None:
    await render(query, screens.hub(t))


async def open_queue(
    query: CallbackQuery, t: Translator, session: AsyncSession, access: Access, now: datetime
) -> None:
    view = await queue(session, access, now)
    await render(query, screens.queue(view, t))


async def open_request(
    query: CallbackQuery,
    callback_data: RequestOpen,
    t: Translator,
    session: AsyncSession,
    access: Access,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        card = await request_card(session, access, callback_data.request, now)
    except QueueRefusal as refusal:
        refuse(callback_answer, t(refusal.code, **refusal.params))
        return
    await render(query, screens.request_card(card, t))


async def ask_assign(
    query: CallbackQuery,
    callback_data: AssignAsk,
    t: Translator,
    session: AsyncSession,
    access: Access,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        preview = await assign_preview(
            session, access, callback_data.request, callback_data.mentor, now
        )
    except QueueRefusal as refusal:
        refuse(callback_answer, t(refusal.code, **refusal.params))
        return
    await render(query, screens.confirm(preview, t))


async def confirm_assign(
    query: CallbackQuery,
    callback_data: AssignConfirm,
    t: Translator,
    session: AsyncSession,
    access: Access,
    now: datetime,
    bot: Bot,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        notice = await assign(
            session, access, callback_data.request, callback_data.mentor, access.telegram_id, now
        )
    except QueueRefusal as refusal:
        refuse(callback_answer, t(refusal.code, **refusal.params))
        return
    mentor_t = Translator(notice.mentor_language, t.tz)
    delivered = await notify(
        bot,
        notice.mentor_telegram_id,
        screens.offer(notice, mentor_t),
        session=session,
        settings=settings,
        now=now,
        kind="offer",
    )
    await render(query, screens.assigned(notice, delivered, t))


async def take_back(
    query: CallbackQuery,
    callback_data: OfferWithdraw,
    t: Translator,
    session: AsyncSession,
    access: Access,
    now: datetime,
    bot: Bot,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    """Withdraw an unanswered proposal; the mentor is told, the card shows the request open."""
    try:
        gone = await withdraw_offer(session, access, callback_data.request, now)
        card = await request_card(session, access, callback_data.request, now)
    except QueueRefusal as refusal:
        refuse(callback_answer, t(refusal.code, **refusal.params))
        return
    mentor_t = Translator(gone.mentor_language, t.tz)
    await notify(
        bot,
        gone.mentor_telegram_id,
        screens.withdrawn_for_mentor(gone.mentee_name, mentor_t),
        session=session,
        settings=settings,
        now=now,
        kind="withdrawn",
    )
    callback_answer.text = t("methodist.offer_withdrawn_done")
    await render(query, screens.request_card(card, t))
