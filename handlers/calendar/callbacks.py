"""The calendar's one button and what a pressed one means.

A feature asks for a date by showing :func:`handlers.calendar.screens.calendar_rows` under
its question with a short ``field`` code of its own (a few letters, e.g. ``cs`` for a
course's start), and handles ``CalendarCB.filter(F.f == field)`` itself: :func:`read` turns
the pressed button into a month to show next, a picked day, or nothing (a label was
pressed); ``None`` means the button was forged or is outside the bounds.

Callback data is ``cal:<field>:<action>:<year>:<month>:<day>``, at most about 30 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from handlers.common import Num

NAV = "m"  # show the month y-m
PICK = "d"  # the day y-m-d was picked
NOOP = "n"  # a label: weekday names, the month title, empty cells

FieldCode = Annotated[str, Field(min_length=1, max_length=4)]
"""Which date a feature asks for (its own short code)."""
Action = Annotated[str, Field(min_length=1, max_length=1)]


class CalendarCB(CallbackData, prefix="cal"):
    f: FieldCode  # which date the feature asks for
    a: Action  # NAV, PICK or NOOP
    y: Num = 0
    m: Num = 0
    d: Num = 0


@dataclass(frozen=True)
class CalendarAction:
    month: date | None = None  # navigation: show the month of this date
    picked: date | None = None  # a day was picked

    @property
    def noop(self) -> bool:
        return self.month is None and self.picked is None


def read(data: CalendarCB, *, lo: date, hi: date) -> CalendarAction | None:
    """What a pressed calendar button means; ``None`` for a forged or out-of-range one."""
    if data.a == NOOP:
        return CalendarAction()
    try:
        value = date(data.y, data.m, data.d if data.a == PICK else 1)
    except ValueError:
        return None
    if data.a == NAV:
        if not lo.replace(day=1) <= value <= hi.replace(day=1):
            return None
        return CalendarAction(month=value)
    if data.a == PICK:
        return CalendarAction(picked=value) if lo <= value <= hi else None
    return None
