"""«⚙️ Настройки»: the teacher switches reminder kinds on and off (quiet hours are common to
everyone and are only shown). Registered people only; a button naming no kind gets the
stale-button answer and changes nothing."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import Registered
from bot.i18n import Translator
from handlers.common import refuse, render
from handlers.home.callbacks import MenuCB
from handlers.settings import screens
from handlers.settings.callbacks import SettingToggle
from models import User
from services.notifications import settings_view, toggle_kind


def setup() -> Router:
    router = Router(name="settings")
    router.callback_query.filter(Registered())
    router.callback_query.register(open_settings, MenuCB.filter(F.to == "settings"))
    router.callback_query.register(toggle, SettingToggle.filter())
    return router


async def open_settings(
    query: CallbackQuery, user: User, t: Translator, session: AsyncSession, settings: Settings
) -> None:
    view = await settings_view(session, user.id)
    await render(query, screens.settings(view, settings.quiet, t))


async def toggle(
    query: CallbackQuery,
    callback_data: SettingToggle,
    user: User,
    t: Translator,
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        view = await toggle_kind(session, user.id, callback_data.kind, now)
    except IndexError:
        refuse(callback_answer, t("common.stale"))
        return
    await render(query, screens.settings(view, settings.quiet, t))
