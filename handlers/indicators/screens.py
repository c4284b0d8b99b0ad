"""Screens of «📈 Показатели». Pure: view model + translator -> Screen."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from handlers.common import Screen, button, markup
from handlers.home.screens import menu_button
from handlers.indicators.callbacks import IndicatorsMenu, IndicatorsOpen
from handlers.methodist.screens import hub_button
from services.digest import Digest, ScopeChoices

BUTTON_NAME_MAX = 40


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def choose(view: ScopeChoices, t: Translator) -> Screen:
    """One button per scope of the person."""
    rows: list[list[InlineKeyboardButton]] = [
        [
            button(
                "📈 " + _cut(c.name, BUTTON_NAME_MAX),
                IndicatorsOpen(scope=c.scope_kind, target=c.target),
            )
        ]
        for c in view.scopes
    ]
    rows.append([hub_button(t), menu_button(t)])
    return Screen(t("digest.menu.choose"), markup(rows))


def text(digest: Digest) -> Screen:
    """The digest's text (its buttons come under the files, at the bottom of the chat)."""
    return Screen(digest.text)


def after_files(t: Translator, several: bool) -> InlineKeyboardMarkup:
    """Under the spreadsheet: another scope (when there are several), the desk, the menu."""
    rows: list[list[InlineKeyboardButton]] = []
    if several:
        rows.append([button(t("digest.menu.back"), IndicatorsMenu())])
    rows.append([hub_button(t), menu_button(t)])
    return markup(rows)
