"""The end of registration and the menu entries that lead into it."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from handlers.common import render, reply_menu, show
from handlers.home import screens
from handlers.home.callbacks import MenuCB
from models import User
from services.people import menu_view
from services.roles import Access

router = Router(name="registration-menu")


def main_menu(
    user: User | None, t: Translator, access: Access | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    screen = screens.main_menu(menu_view(user, bool(access and access.manages_catalog)), t)
    assert screen.keyboard is not None
    return screen.text, screen.keyboard


async def send_main_menu(
    message: Message, *, user: User | None, t: Translator, access: Access | None = None
) -> None:
    text, kb = main_menu(user, t, access)
    await message.answer(text, reply_markup=kb)


async def finish_registration(
    event: Message | CallbackQuery,
    *,
    user: User,
    t: Translator,
    now: datetime,
    access: Access | None = None,
) -> None:
    first_time = user.registered_at is None
    if first_time:
        user.registered_at = now
    chat_id = event.chat.id if isinstance(event, Message) else event.from_user.id
    bot = event.bot
    assert bot is not None
    if first_time:
        await bot.send_message(chat_id, t("reg.done"), reply_markup=reply_menu(t))
    text, kb = main_menu(user, t, access)
    await bot.send_message(chat_id, text, reply_markup=kb)


@router.callback_query(MenuCB.filter(F.to == "consent"))
async def back_to_consent(
    query: CallbackQuery, user: User | None, t: Translator, access: Access | None = None
) -> None:
    if user is not None:
        text, kb = main_menu(user, t, access)
        await show(query, text, kb)
        return
    await render(query, screens.consent(t))


@router.callback_query(MenuCB.filter(F.to == "register"))
async def continue_registration(
    query: CallbackQuery,
    user: User | None,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
) -> None:
    from handlers.registration.steps import after_step

    if user is None:
        await back_to_consent(query, user, t, access)
        return
    await after_step(
        query, user=user, t=t, state=state, session=session, now=now, editing=False, access=access
    )
