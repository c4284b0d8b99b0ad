"""The main menu, help, and the fallbacks for anything the other routers did not take."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import Translator
from handlers.common import menu_reply_texts, refuse, render
from handlers.home import screens
from handlers.home.callbacks import MenuCB
from models import User
from services.consent import Operator
from services.people import menu_of, menu_view, set_blocked
from services.roles import Access


def setup() -> Router:
    router = Router(name="home")
    router.callback_query.register(menu_cb, MenuCB.filter(F.to == "main"))
    router.message.register(menu_msg, Command("menu"))
    router.message.register(menu_msg, F.text.func(lambda text: text in menu_reply_texts()))
    router.callback_query.register(help_cb, MenuCB.filter(F.to == "help"))
    router.message.register(help_msg, Command("help"))
    router.my_chat_member.register(membership)
    # last: whatever no feature took
    router.callback_query.register(stale_button)
    router.message.register(anything_else)
    return router


async def menu_cb(
    query: CallbackQuery,
    user: User | None,
    t: Translator,
    state: FSMContext,
    access: Access,
    session: AsyncSession,
    now: datetime,
) -> None:
    await state.clear()
    await render(query, screens.main_menu(await menu_of(session, user, access, now.date()), t))


async def menu_msg(
    message: Message,
    user: User | None,
    t: Translator,
    state: FSMContext,
    access: Access,
    session: AsyncSession,
    now: datetime,
) -> None:
    await state.clear()
    await render(message, screens.main_menu(await menu_of(session, user, access, now.date()), t))


async def membership(update: ChatMemberUpdated, session: AsyncSession) -> None:
    """The person blocked the bot in their private chat (or unblocked it): scheduled sending
    skips them until they are back."""
    if update.chat.type != "private":
        return
    status = update.new_chat_member.status
    await set_blocked(session, update.from_user.id, status in ("kicked", "left"))


async def help_cb(query: CallbackQuery, t: Translator) -> None:
    await render(query, screens.help_screen(t))


async def help_msg(message: Message, t: Translator) -> None:
    await render(message, screens.help_screen(t))


async def stale_button(
    query: CallbackQuery, t: Translator, callback_answer: CallbackAnswer
) -> None:
    """Any button no other handler took: an old message, a forged payload, or no access."""
    refuse(callback_answer, t("common.stale"))


async def anything_else(
    message: Message, user: User | None, t: Translator, access: Access, settings: Settings
) -> None:
    """Text, files or stickers nobody expected: explain and offer the menu (or the consent)."""
    if user is None:
        notice = t("start.need_consent")
        await render(message, screens.consent(t, Operator.of(settings), notice=notice))
        return
    view = menu_view(user, access)
    await render(message, screens.main_menu(view, t, notice=t("common.not_understood")))
