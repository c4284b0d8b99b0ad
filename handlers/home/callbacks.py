"""Buttons of the main menu and of the consent screen."""

from __future__ import annotations

from handlers.common import Button, Id


class MenuCB(Button, prefix="m"):
    """A main-menu destination: ``main``, ``help``, ``consent``, ``register`` or a feature's
    entry (``surveys``, ``results``, ``courses``, ``route``, ``profile``, ``catalog``,
    ``settings``)."""

    to: str


class ConsentCB(Button, prefix="c"):
    ok: bool
    school: Id = 0
