"""What a pressed calendar button means, within the bounds the feature allows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from handlers.calendar.callbacks import NAV, NOOP, PICK, CalendarCB


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
