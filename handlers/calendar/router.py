"""An inline month calendar to pick a date, for any feature.

A feature asks for a date by showing :func:`calendar_rows` under its question with a short
``field`` code of its own (a few letters, e.g. ``cs`` for a course's start), and handles
``CalendarCB.filter(F.f == field)`` itself: :func:`read` turns the pressed button into a
month to show next, a picked day, or nothing (a label was pressed); ``None`` means the button
was forged or is outside the bounds. Texts: ``calendar.*`` in the locale files.

Callback data is ``cal:<field>:<action>:<year>:<month>:<day>``, at most about 30 bytes.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton

from bot.i18n import Translator
from handlers.common import button

NAV = "m"  # show the month y-m
PICK = "d"  # the day y-m-d was picked
NOOP = "n"  # a label: weekday names, the month title, empty cells
EMPTY = "·"


class CalendarCB(CallbackData, prefix="cal"):
    f: str  # which date the feature asks for
    a: str  # NAV, PICK or NOOP
    y: int = 0
    m: int = 0
    d: int = 0


@dataclass(frozen=True)
class CalendarAction:
    month: date | None = None  # navigation: show the month of this date
    picked: date | None = None  # a day was picked

    @property
    def noop(self) -> bool:
        return self.month is None and self.picked is None


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


def read(data: CalendarCB, *, lo: date, hi: date) -> CalendarAction | None:
    """What a pressed calendar button means; ``None`` for a forged or out-of-range one."""
    if data.a == NOOP:
        return CalendarAction()
    try:
        value = date(data.y, data.m, data.d if data.a == PICK else 1)
    except ValueError:
        return None
    if data.a == NAV:
        if not _month_start(lo) <= value <= _month_start(hi):
            return None
        return CalendarAction(month=value)
    if data.a == PICK:
        return CalendarAction(picked=value) if lo <= value <= hi else None
    return None
