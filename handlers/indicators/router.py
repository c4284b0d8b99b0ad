"""«📈 Показатели»: the digest of the methodist's scope on demand — the text, then the chart
as a photo and the table by school as a document, sent straight back as replies (not through
the outbox: the person asked for it now).

Only methodists and admins get here (checked once for the whole router); anybody else
pressing these buttons gets the standard stale-button alert from the menu router. The scope
in a button is checked again by the service on every press. Nothing is written.
"""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot, Router
from aiogram.types import BufferedInputFile, CallbackQuery, TelegramObject
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import Translator
from handlers.common import refuse, render
from handlers.indicators import screens
from handlers.indicators.callbacks import IndicatorsMenu, IndicatorsOpen
from services.digest import Digest, DigestRefusal, ScopeChoices, indicators_menu, open_digest
from services.roles import Access


def setup() -> Router:
    router = Router(name="indicators")
    router.callback_query.filter(is_methodist)
    router.callback_query.register(open_menu, IndicatorsMenu.filter())
    router.callback_query.register(open_scope, IndicatorsOpen.filter())
    return router


def is_methodist(event: TelegramObject, access: Access | None = None) -> bool:
    """The one access check of this router."""
    return access is not None and (access.is_methodist or access.is_admin)


async def _send(
    query: CallbackQuery, digest: Digest, t: Translator, bot: Bot, several: bool
) -> None:
    await render(query, screens.text(digest))
    chat_id = query.from_user.id
    if digest.chart is not None:
        await bot.send_photo(
            chat_id, BufferedInputFile(digest.chart, "chart.png"), caption=digest.chart_caption
        )
    await bot.send_document(
        chat_id,
        BufferedInputFile(digest.xlsx, digest.filename),
        caption=digest.xlsx_caption,
        reply_markup=screens.after_files(t, several),
    )


async def open_menu(
    query: CallbackQuery,
    t: Translator,
    session: AsyncSession,
    access: Access,
    now: datetime,
    settings: Settings,
    bot: Bot,
) -> None:
    result = await indicators_menu(session, access, now, settings, t)
    if isinstance(result, ScopeChoices):
        await render(query, screens.choose(result, t))
        return
    await _send(query, result, t, bot, several=False)


async def open_scope(
    query: CallbackQuery,
    callback_data: IndicatorsOpen,
    t: Translator,
    session: AsyncSession,
    access: Access,
    now: datetime,
    settings: Settings,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        digest = await open_digest(
            session, access, callback_data.scope, callback_data.target, now, settings, t
        )
    except DigestRefusal:
        refuse(callback_answer, t("digest.menu.gone"))
        return
    await _send(query, digest, t, bot, several=True)
