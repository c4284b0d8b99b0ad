"""The calendar keyboard: pure (a month, bounds and a translator -> inline rows).

Texts: ``calendar.*`` in the locale files. See :mod:`handlers.calendar.callbacks` for the
buttons and :func:`handlers.calendar.parse.read` for what a pressed one means.
"""

from __future__ import annotations

import calendar as _calendar
from datetime import date

from aiogram.types import InlineKeyboardButton

from bot.i18n import Translator
from handlers.calendar.callbacks import NAV, NOOP, PICK, CalendarCB
from handlers.common import button

EMPTY = "·"


def _month_start(value: date) -> date:
    return value.replace(day=1)


def _shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _clamp_month(month: date, lo: date, hi: date) -> date:
    return max(_month_start(lo), min(_month_start(hi), _month_start(month)))


def month_name(t: Translator, month: int) -> str:
    return t(f"calendar.month.{month}")


def calendar_rows(
    field: str,
    shown: date,
    t: Translator,
    *,
    lo: date,
    hi: date,
    selected: date | None = None,
) -> list[list[InlineKeyboardButton]]:
    """The month of ``shown`` (kept within lo…hi): year and month navigation, the days."""
    month = _clamp_month(shown, lo, hi)
    first, last = _month_start(lo), _month_start(hi)
    noop = CalendarCB(f=field, a=NOOP)

    def nav(target: date, label: str) -> InlineKeyboardButton:
        target = _clamp_month(target, lo, hi)
        return button(label, CalendarCB(f=field, a=NAV, y=target.year, m=target.month))

    title = button(f"{month_name(t, month.month)} {month.year}", noop)
    year_row = [
        nav(_shift(month, -12), t("calendar.year_back", year=month.year - 1))
        if month.year > first.year
        else button(EMPTY, noop),
        title,
        nav(_shift(month, 12), t("calendar.year_forward", year=month.year + 1))
        if month.year < last.year
        else button(EMPTY, noop),
    ]
    rows: list[list[InlineKeyboardButton]] = [year_row]
    rows.append([button(name, noop) for name in t("calendar.weekdays").split()])
    for week in _calendar.Calendar(firstweekday=0).monthdayscalendar(month.year, month.month):
        row: list[InlineKeyboardButton] = []
        for day in week:
            if day == 0:
                row.append(button(EMPTY, noop))
                continue
            value = date(month.year, month.month, day)
            if not lo <= value <= hi:
                row.append(button(EMPTY, noop))
                continue
            label = f"[{day}]" if value == selected else str(day)
            row.append(
                button(label, CalendarCB(f=field, a=PICK, y=value.year, m=value.month, d=day))
            )
        rows.append(row)
    prev_month, next_month = _shift(month, -1), _shift(month, 1)
    rows.append(
        [
            nav(prev_month, t("calendar.prev", month=month_name(t, prev_month.month)))
            if month > first
            else button(EMPTY, noop),
            nav(next_month, t("calendar.next", month=month_name(t, next_month.month)))
            if month < last
            else button(EMPTY, noop),
        ]
    )
    return rows
