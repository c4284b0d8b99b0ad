"""The calendar's one button: which date, which action, the year, month and day (bounded).

A feature asks for a date by showing :func:`handlers.calendar.screens.calendar_rows` under
its question with a short ``field`` code of its own (a few letters, e.g. ``cs`` for a
course's start), and handles ``CalendarCB.filter(F.f == field)`` itself:
:func:`handlers.calendar.parse.read` turns the pressed button into a month to show next, a
picked day, or nothing (a label was pressed); ``None`` means the button was forged or is
outside the bounds.

Callback data is ``cal:<field>:<action>:<year>:<month>:<day>``, at most about 30 bytes.
"""

from __future__ import annotations

from handlers.common import Button, Num

NAV = "m"  # show the month y-m
PICK = "d"  # the day y-m-d was picked
NOOP = "n"  # a label: weekday names, the month title, empty cells


class CalendarCB(Button, prefix="cal"):
    f: str  # which date the feature asks for: a short code of its own (up to 4 letters)
    a: str  # NAV, PICK or NOOP
    y: Num = 0
    m: Num = 0
    d: Num = 0
