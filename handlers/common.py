"""Callback data factories, keyboards and message helpers shared by the routers."""

from __future__ import annotations

import html
from collections.abc import Sequence
from functools import cache

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import Translator, languages

MESSAGE_LIMIT = 4096


def esc(text: str) -> str:
    """Escape user or file text for Telegram HTML (quotes need no escaping in text)."""
    return html.escape(text, quote=False)


class MenuCB(CallbackData, prefix="m"):
    to: str


class ConsentCB(CallbackData, prefix="c"):
    ok: bool
    school: int = 0


class PickCB(CallbackData, prefix="p"):
    """A choice in a registration or profile step: ``field`` and an index or id."""

    field: str
    value: int


class SchoolPageCB(CallbackData, prefix="sp"):
    page: int


class YearCB(CallbackData, prefix="y"):
    field: str
    decade: int
    year: int


class ProfileCB(CallbackData, prefix="pr"):
    action: str
    field: str = ""


class SurveyCB(CallbackData, prefix="q"):
    action: str
    attempt: int = 0
    question: int = -1
    option: int = -1
    instrument: str = ""


class ResultCB(CallbackData, prefix="r"):
    attempt: int


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def menu_button(t: Translator) -> InlineKeyboardButton:
    return button(t("menu.to_main"), MenuCB(to="main"))


def markup(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[list(r) for r in rows if r])


@cache
def menu_reply_texts() -> frozenset[str]:
    """The «🏠 Главное меню» reply button as it reads in every installed language."""
    return frozenset(Translator(lang)("menu.reply_button") for lang in languages())


def is_menu_or_command(text: str | None) -> bool:
    """A command or the «Главное меню» button: never a typed answer to a question."""
    if not text:
        return False
    return text.startswith("/") or text in menu_reply_texts()


def reply_menu(t: Translator) -> ReplyKeyboardMarkup:
    """The always-visible «Главное меню» button at the bottom of the chat."""
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=t("menu.reply_button"))]],
        resize_keyboard=True,
        is_persistent=True,
    )


def grid(buttons: Sequence[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    builder = InlineKeyboardBuilder()
    builder.add(*buttons)
    builder.adjust(width)
    return builder.export()


def split_text(blocks: Sequence[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join blocks (each valid HTML on its own) into messages no longer than ``limit``.

    A block longer than the limit is cut between lines; a single line that is still too
    long is cut hard (such lines are plain escaped text in our messages).
    """
    pieces: list[str] = []
    for block in blocks:
        if len(block) <= limit:
            pieces.append(block)
            continue
        for line in block.split("\n"):
            while len(line) > limit:
                pieces.append(line[:limit])
                line = line[limit:]
            pieces.append(line)
    out: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}\n\n{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            if current:
                out.append(current)
            current = piece
    if current:
        out.append(current)
    return out


async def show(
    event: Message | CallbackQuery,
    text: str,
    keyboard: InlineKeyboardMarkup | None = None,
) -> None:
    """Answer on the same screen: edit the message behind a button, or send a new one."""
    if isinstance(event, CallbackQuery):
        message = event.message
        if isinstance(message, Message) and message.text is not None:
            try:
                await message.edit_text(text, reply_markup=keyboard)
                return
            except TelegramBadRequest as exc:
                if "message is not modified" in str(exc):
                    return
        if message is not None:
            await event.bot.send_message(message.chat.id, text, reply_markup=keyboard)  # type: ignore[union-attr]
        return
    await event.answer(text, reply_markup=keyboard)


def refuse(callback_answer: CallbackAnswer, text: str) -> None:
    """Answer the pressed button with an alert (a stale or forged button, a refused action)."""
    callback_answer.text = text
    callback_answer.show_alert = True
