"""«📄 Аналитическая справка»: the methodist chooses the scope (when there are several) and
gets the analytic report as a DOCX document.

Only methodists and admins get here (checked once for the whole router); anybody else
pressing these buttons gets the standard stale-button alert from the menu router. The scope
in a button is checked again by the service on every press.
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
from handlers.report import screens
from handlers.report.callbacks import ReportMake, ReportOpen
from services.indicators import load_plans
from services.report import ReportFile, ReportRefusal, make_report, open_report
from services.roles import Access


def setup() -> Router:
    router = Router(name="report")
    router.callback_query.filter(is_methodist)
    router.callback_query.register(open_hub_report, ReportOpen.filter())
    router.callback_query.register(make, ReportMake.filter())
    return router


def is_methodist(event: TelegramObject, access: Access | None = None) -> bool:
    """The one access check of this router."""
    return access is not None and (access.is_methodist or access.is_admin)


async def _send(
    query: CallbackQuery, bot: Bot, file: ReportFile, t: Translator, now: datetime
) -> None:
    screen = screens.sent(file, t)
    await bot.send_document(
        query.from_user.id,
        BufferedInputFile(file.data, filename=screens.file_name(t, now.date().isoformat())),
        caption=screen.text,
        reply_markup=screen.keyboard,
    )


async def open_hub_report(
    query: CallbackQuery,
    t: Translator,
    session: AsyncSession,
    access: Access,
    settings: Settings,
    now: datetime,
    bot: Bot,
) -> None:
    found = await open_report(
        session, access, now.date(), now, load_plans(settings.indicator_plans), t
    )
    if isinstance(found, ReportFile):
        await _send(query, bot, found, t, now)
        return
    await render(query, screens.choose(found, t))


async def make(
    query: CallbackQuery,
    callback_data: ReportMake,
    t: Translator,
    session: AsyncSession,
    access: Access,
    settings: Settings,
    now: datetime,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        file = await make_report(
            session,
            access,
            callback_data.kind,
            callback_data.id,
            now.date(),
            now,
            load_plans(settings.indicator_plans),
            t,
        )
    except ReportRefusal as refusal:
        refuse(callback_answer, t(refusal.code))
        return
    await _send(query, bot, file, t, now)
