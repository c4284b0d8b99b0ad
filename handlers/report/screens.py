"""Screens of the analytic report. Pure: view model + translator -> Screen."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton

from bot.i18n import Translator
from handlers.common import Screen, button, esc, markup
from handlers.home.screens import menu_button
from handlers.methodist.screens import hub_button
from handlers.report.callbacks import ReportMake
from models import ScopeKind
from services.report import ReportFile, ReportScope

BUTTON_NAME_MAX = 40
CAPTION_NAME_MAX = 300


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def scope_label(t: Translator, scope: ReportScope) -> str:
    if scope.kind == ScopeKind.REGION:
        return t("report.scope.region")
    return t(f"report.scope.{scope.kind.value}", name=_cut(scope.name or "", BUTTON_NAME_MAX))


def choose(scopes: Sequence[ReportScope], t: Translator) -> Screen:
    """The scopes to report on, one button each; back to the desk and the main menu."""
    rows: list[list[InlineKeyboardButton]] = [
        [button(scope_label(t, s), ReportMake(kind=s.kind, id=s.id or 0))] for s in scopes
    ]
    rows.append([hub_button(t), menu_button(t)])
    return Screen(t("report.choose"), markup(rows))


def sent(file: ReportFile, t: Translator) -> Screen:
    """The document's caption, with the way back."""
    text = t(
        "report.caption",
        scope=esc(_cut(file.scope_name, CAPTION_NAME_MAX)),
        period=esc(file.period),
    )
    return Screen(text, markup([[hub_button(t), menu_button(t)]]))


def file_name(t: Translator, today_iso: str) -> str:
    return f"{t('report.file_name')}-{today_iso}.docx"
