"""Buttons of the main menu and of the consent screen."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from handlers.common import Id


class MenuCB(CallbackData, prefix="m"):
    """A main-menu destination: ``main``, ``help``, ``consent``, ``register`` or a feature's
    entry (``surveys``, ``results``, ``courses``, ``route``, ``profile``, ``catalog``,
    ``settings``)."""

    to: str


class ConsentCB(CallbackData, prefix="c"):
    ok: bool
    school: Id = 0
