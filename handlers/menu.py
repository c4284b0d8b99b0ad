"""The main menu, help, and the fallbacks for anything the other routers did not take."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from handlers.common import (
    MenuCB,
    ProfileCB,
    ResultCB,
    SurveyCB,
    button,
    markup,
    menu_reply_texts,
    refuse,
    reply_menu,
    show,
)
from models import User
from services.roles import Access

router = Router(name="menu")


def main_menu(
    user: User | None, t: Translator, access: Access | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    """The main menu shows only what works for this person."""
    if user is None:
        return t("menu.not_registered"), markup(
            [[button(t("menu.register"), MenuCB(to="consent"))]]
        )
    if user.registered_at is None:
        return t("menu.finish_registration"), markup(
            [[button(t("menu.continue_reg"), MenuCB(to="register"))]]
        )
    rows = [
        [button(t("menu.surveys"), SurveyCB(action="list"))],
        [button(t("menu.results"), ResultCB(attempt=0))],
        [button(t("menu.courses"), MenuCB(to="courses"))],
        [button(t("menu.route"), MenuCB(to="route"))],
        [button(t("menu.profile"), ProfileCB(action="view"))],
        [button(t("menu.help"), MenuCB(to="help"))],
    ]
    if access is not None and access.manages_catalog:
        rows.insert(-1, [button(t("menu.catalog"), MenuCB(to="catalog"))])
    first = (user.full_name or "").split(" ")
    name = first[1] if len(first) > 1 else first[0]
    from handlers.common import esc

    return t("menu.title", name=esc(name)), markup(rows)


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


@router.callback_query(MenuCB.filter(F.to == "main"))
async def menu_cb(
    query: CallbackQuery, user: User | None, t: Translator, state: FSMContext, access: Access
) -> None:
    await state.clear()
    text, kb = main_menu(user, t, access)
    await show(query, text, kb)


@router.message(Command("menu"))
async def menu_cmd(
    message: Message, user: User | None, t: Translator, state: FSMContext, access: Access
) -> None:
    await state.clear()
    await send_main_menu(message, user=user, t=t, access=access)


@router.message(F.text.func(lambda text: text in menu_reply_texts()))
async def menu_reply_button(
    message: Message, user: User | None, t: Translator, state: FSMContext, access: Access
) -> None:
    await state.clear()
    await send_main_menu(message, user=user, t=t, access=access)


@router.callback_query(MenuCB.filter(F.to == "consent"))
async def back_to_consent(
    query: CallbackQuery, user: User | None, t: Translator, access: Access | None = None
) -> None:
    from handlers.start import consent_keyboard

    if user is not None:
        text, kb = main_menu(user, t, access)
        await show(query, text, kb)
        return
    await show(query, t("consent.text"), consent_keyboard(t, 0))  # type: ignore[arg-type]


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
    from handlers.registration import after_step

    if user is None:
        await back_to_consent(query, user, t, access)
        return
    await after_step(
        query, user=user, t=t, state=state, session=session, now=now, editing=False, access=access
    )


@router.callback_query(MenuCB.filter(F.to == "help"))
async def help_cb(query: CallbackQuery, t: Translator, access: Access) -> None:
    await show(
        query, help_text(t, access), markup([[button(t("menu.to_main"), MenuCB(to="main"))]])
    )


@router.message(Command("help"))
async def help_cmd(message: Message, t: Translator, access: Access) -> None:
    await message.answer(
        help_text(t, access), reply_markup=markup([[button(t("menu.to_main"), MenuCB(to="main"))]])
    )


def help_text(t: Translator, access: Access) -> str:
    return t("help.text")


@router.callback_query()
async def stale_button(
    query: CallbackQuery, t: Translator, callback_answer: CallbackAnswer
) -> None:
    """Any button no other handler took: an old message, a forged payload, or no access."""
    refuse(callback_answer, t("common.stale"))


@router.message()
async def anything_else(
    message: Message, user: User | None, t: Translator, state: FSMContext, access: Access
) -> None:
    """Text, files or stickers nobody expected: explain and offer the menu."""
    if user is None:
        from handlers.start import consent_keyboard

        await message.answer(t("start.need_consent"), reply_markup=consent_keyboard(t, 0))  # type: ignore[arg-type]
        return
    text, kb = main_menu(user, t, access)
    await message.answer(t("common.not_understood") + "\n\n" + text, reply_markup=kb)
