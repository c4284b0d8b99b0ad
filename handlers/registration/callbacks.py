"""Buttons of registration and the profile."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from handlers.common import Id, Num


class PickCB(CallbackData, prefix="p"):
    """A choice in a registration or profile step: ``field`` and an index or id."""

    field: str
    value: Id


class SchoolPageCB(CallbackData, prefix="sp"):
    page: Num


class YearCB(CallbackData, prefix="y"):
    field: str
    decade: Num
    year: Num


class ProfileCB(CallbackData, prefix="pr"):
    action: str
    field: str = ""
