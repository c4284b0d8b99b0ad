"""Buttons of the analytic report, one class per action, ids only.

The scope in a button is checked again on every press against the person's own scopes
(:func:`services.report.make_report`): a forged id changes nothing.
"""

from __future__ import annotations

from handlers.common import Button, Id
from models import ScopeKind


class ReportOpen(Button, prefix="rpo"):
    """«📄 Аналитическая справка» in the methodist's desk: the report, or the scopes to choose."""


class ReportMake(Button, prefix="rpm"):
    """Make the report of one scope (``id`` 0 for the region)."""

    kind: ScopeKind
    id: Id = 0
