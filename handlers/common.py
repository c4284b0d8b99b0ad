"""Widgets every feature uses: bounded ids for buttons, screens, keyboards, sending.

A feature package (``handlers/<feature>/``) holds ``callbacks.py`` (one typed CallbackData
class per action, ids only, bounded with :data:`Id` and :data:`Num`), ``screens.py`` (pure
functions: view model + translator -> :class:`Screen`) and ``router.py`` (``setup()``
building a fresh Router). See the README's Architecture section.
"""

from __future__ import annotations

import html
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Self

from aiogram import Bot, F
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
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
from annotated_types import Ge, Le
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import Translator, languages
from services.outbox import enqueue, in_quiet_hours, next_morning
from services.people import set_blocked

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 4096

# Every number in a button is bounded here, once: a forged or stale payload with a huge id
# does not match any handler (aiogram's CallbackData filter rejects what fails validation)
# and falls through to the «устаревшая кнопка» answer instead of reaching the database.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=0, le=MAX_ID)]
"""A database id in a button (0 where none is meant)."""
Num = Annotated[int, Field(ge=-1, le=9999)]
"""An index, page, year or month in a button (-1 where none is meant)."""


class Button(CallbackData, prefix="button"):
    """The base of every button's data (``class Open(Button, prefix="xo")``): aiogram's
    :class:`CallbackData`, with a quicker :meth:`unpack` for the buttons that carry only
    bounded numbers (:data:`Id`, :data:`Num`), which are most of them.

    aiogram's ``unpack`` validates the fields with pydantic: about 4 µs for three ids, and
    a pressed button is unpacked twice (its handler's filter, and the read that comes with
    the person, :class:`bot.middlewares.ContextMiddleware`). Here plain decimal numbers
    within their bounds make the instance directly; anything else (a sign, spaces, a number
    out of bounds, a field of another kind) goes to aiogram's, which accepts or refuses it
    as before. ``tests/test_callback_pack.py`` compares the two on any string. The strings
    last unpacked are remembered by identity, so the second unpack of the same button costs
    a lookup.
    """

    @classmethod
    def unpack(cls, value: str) -> Self:
        last = _unpacked.get(id(value))
        if last is not None and last[1] is value and last[0] is cls:
            found: Self = last[2]
            return found
        bounds = _bounds.get(cls)
        if bounds is None:
            bounds = _bounds[cls] = _number_bounds(cls)
        made = _unpack_numbers(cls, value, bounds) if bounds else None
        if made is None:
            made = super().unpack(value)
        if len(_unpacked) >= _UNPACKED_KEPT:
            _unpacked.clear()
        _unpacked[id(value)] = (cls, value, made)
        return made


# Kept outside the classes: setting an attribute on a class empties the interpreter's cache
# of attribute lookups for it and its instances.
_bounds: dict[type[CallbackData], tuple[tuple[str, int, int], ...] | tuple[()]] = {}
# The strings last unpacked, by identity (an entry keeps its string alive, so its id is not
# reused meanwhile): enough for the updates in flight, whose reads wait between the two.
_unpacked: dict[int, tuple[type[CallbackData], str, Any]] = {}
_UNPACKED_KEPT = 256


def _number_bounds(cls: type[CallbackData]) -> tuple[tuple[str, int, int], ...] | tuple[()]:
    """Each field's name and bounds, when every field is a required int bounded on both
    sides (as :data:`Id` and :data:`Num` are); else ``()``: no quick path for the class."""
    out = []
    for name, field in cls.model_fields.items():
        lo = [m.ge for m in field.metadata if isinstance(m, Ge)]
        hi = [m.le for m in field.metadata if isinstance(m, Le)]
        if field.annotation is not int or not field.is_required() or len(lo) != 1:
            return ()
        if len(hi) != 1 or len(field.metadata) != 2:
            return ()
        out.append((name, int(lo[0]), int(hi[0])))  # type: ignore[call-overload]
    return tuple(out) if out else ()


def _unpack_numbers(
    cls: type[Button], value: str, bounds: tuple[tuple[str, int, int], ...]
) -> Any | None:
    """The instance for ``prefix:n1:n2…`` with plain decimal numbers within bounds; None
    for anything else (aiogram's own unpack decides)."""
    parts = value.split(cls.__separator__)
    if len(parts) != len(bounds) + 1 or parts[0] != cls.__prefix__:
        return None
    values: dict[str, int] = {}
    for (name, lo, hi), part in zip(bounds, parts[1:], strict=True):
        digits = part[1:] if part[:1] == "-" else part
        if not (0 < len(digits) <= 10 and digits.isascii() and digits.isdigit()):
            return None
        number = int(part)
        if number < lo or number > hi:
            return None
        values[name] = number
    made = _new(cls)
    _set(made, "__dict__", values)
    _set(made, "__pydantic_fields_set__", set(values))
    _set(made, "__pydantic_extra__", None)
    _set(made, "__pydantic_private__", None)
    return made


@dataclass(frozen=True)
class Screen:
    """What a screen shows: HTML text and its inline keyboard."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None


def esc(text: str) -> str:
    """Escape user or file text for Telegram HTML (quotes need no escaping in text)."""
    return html.escape(text, quote=False)


# Every screen builds its keyboard anew, a question screen seven buttons per tap. A button
# is made the way pydantic's own copy makes one (its field values, set fields, extra and
# private attributes), from a validated template with the two fields replaced: 0.7 µs
# instead of 9 µs to validate it or 3.5 µs for ``model_copy``. ``tests/test_callback_pack.py``
# compares the result with a validated button, so a change in pydantic fails there. Callback
# data of ints and strings is joined directly: the same string as ``CallbackData.pack``
# (compared by the same tests), without its ``model_dump`` per button.
_BUTTON = InlineKeyboardButton(text="-", callback_data="-")
_MARKUP = InlineKeyboardMarkup(inline_keyboard=[])
_BUTTON_PRIVATE: dict[str, Any] = _BUTTON.__pydantic_private__ or {}
CALLBACK_LIMIT = 64  # bytes


_new = object.__new__
_set = object.__setattr__


def _made_like(template: BaseModel, fields: dict[str, Any]) -> Any:
    made = _new(type(template))
    values = template.__dict__.copy()
    values.update(fields)
    _set(made, "__dict__", values)
    _set(made, "__pydantic_fields_set__", template.__pydantic_fields_set__ | fields.keys())
    extra = template.__pydantic_extra__
    _set(made, "__pydantic_extra__", None if extra is None else extra.copy())
    private = template.__pydantic_private__
    _set(made, "__pydantic_private__", None if private is None else private.copy())
    return made


def pack(data: CallbackData) -> str:
    """``data.pack()``; fields of other types than int and str, a separator inside a value or
    data over 64 bytes go to aiogram's own (which refuses the last two)."""
    sep = data.__separator__
    parts = [data.__prefix__]
    for value in data.__dict__.values():
        kind = type(value)
        if kind is not int and kind is not str:
            return data.pack()
        text = str(value)
        if sep in text:
            return data.pack()
        parts.append(text)
    packed = sep.join(parts)
    if len(packed) * 4 > CALLBACK_LIMIT and len(packed.encode()) > CALLBACK_LIMIT:
        return data.pack()
    return packed


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return button_with_data(text, pack(data))


def button_with_data(text: str, data: str) -> InlineKeyboardButton:
    """A button whose callback data is already packed (a copy of a drawn screen's):
    :func:`_made_like` for the two fields every button sets, unrolled."""
    made: InlineKeyboardButton = _new(InlineKeyboardButton)
    values = _BUTTON.__dict__.copy()
    values["text"] = text
    values["callback_data"] = data
    _set(made, "__dict__", values)
    _set(made, "__pydantic_fields_set__", {"text", "callback_data"})
    _set(made, "__pydantic_extra__", {})
    _set(made, "__pydantic_private__", _BUTTON_PRIVATE.copy())
    return made


def markup(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    made: InlineKeyboardMarkup = _made_like(
        _MARKUP, {"inline_keyboard": [list(r) for r in rows if r]}
    )
    return made


@cache
def menu_reply_texts() -> frozenset[str]:
    """The «🏠 Главное меню» reply button as it reads in every installed language."""
    return frozenset(Translator(lang)("menu.reply_button") for lang in languages())


def is_menu_or_command(text: str | None) -> bool:
    """A command or the «Главное меню» button: never a typed answer to a question."""
    if not text:
        return False
    return text.startswith("/") or text in menu_reply_texts()


def is_typed_answer(text: str | None) -> bool:
    return bool(text) and not is_menu_or_command(text)


TYPED = F.text.func(is_typed_answer)
"""The one filter of every handler that takes typed text as an answer: a command or the
«🏠 Главное меню» button is never taken as the answer (it reaches the menu instead)."""


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


async def render(event: Message | CallbackQuery, screen: Screen) -> None:
    """Show a screen: edit the message behind a pressed button, or send a new one."""
    await show(event, screen.text, screen.keyboard)


async def send_new(event: Message | CallbackQuery, screen: Screen) -> None:
    """A new message under the current one (which stays as it is)."""
    if isinstance(event, Message):
        await event.answer(screen.text, reply_markup=screen.keyboard)
    elif event.message is not None and event.bot is not None:
        await event.bot.send_message(
            event.message.chat.id, screen.text, reply_markup=screen.keyboard
        )


async def render_all(event: Message | CallbackQuery, screens: Sequence[Screen]) -> None:
    """A screen of one message is shown in place; a longer one comes as new messages."""
    if len(screens) == 1:
        await render(event, screens[0])
        return
    for screen in screens:
        await send_new(event, screen)


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


async def notify(
    bot: Bot,
    chat_id: int,
    screen: Screen,
    *,
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    kind: str,
) -> bool:
    """A message to another person (a mentor, a mentee, a methodist) caused by someone's
    tap. Sent at once, unless it is quiet hours: then it goes into the outbox for the
    morning, like every scheduled message. False when it could not be delivered (the person
    blocked the bot, who is then marked inactive, or never started it). Nothing about the
    person is logged."""
    if in_quiet_hours(settings, now):
        keyboard = (
            screen.keyboard.model_dump(mode="json", exclude_none=True) if screen.keyboard else None
        )
        await enqueue(
            session,
            key=f"notice:{kind}:{chat_id}:{uuid.uuid4().hex}",
            kind=f"notice.{kind}",
            telegram_id=chat_id,
            text=screen.text,
            keyboard=keyboard,
            due_at=next_morning(settings, now),
        )
        return True
    try:
        await bot.send_message(chat_id, screen.text, reply_markup=screen.keyboard)
    except TelegramForbiddenError:
        log.info("a notification was not delivered: the recipient blocked the bot")
        await set_blocked(session, chat_id, True)
        return False
    except TelegramBadRequest as exc:
        log.info("a notification was not delivered: %s", type(exc).__name__)
        return False
    return True


def refuse(callback_answer: CallbackAnswer, text: str) -> None:
    """Answer the pressed button with an alert (a stale or forged button, a refused action)."""
    callback_answer.text = text
    callback_answer.show_alert = True
