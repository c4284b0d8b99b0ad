"""Buttons of «📈 Показатели», one class per action, ids only.

The scope in a button is checked again on every press against the person's roles
(:func:`services.digest.open_digest`): a forged scope shows nothing.
"""

from __future__ import annotations

from handlers.common import Button, Id
from models import ScopeKind


class IndicatorsMenu(Button, prefix="dgm"):
    """«📈 Показатели» in «Кабинет методиста»: the digest of the one scope, or the choice."""


class IndicatorsOpen(Button, prefix="dgo"):
    """The digest of one scope: a school or a municipality by id, or the region (0)."""

    scope: ScopeKind
    target: Id = 0
