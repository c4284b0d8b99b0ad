"""Buttons of the programme catalog (one class per action) and the upload dialog's state.

Only :class:`ProviderApprove` carries an id (bounded; checked again by the service); any
other payload with anything after the prefix matches no handler and gets the stale answer.
"""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup

from handlers.common import Button, Id


class CatalogOpen(Button, prefix="ctv"):
    """Show the catalog screen (counts and actions); leaves a waiting upload."""


class CatalogUpload(Button, prefix="ctu"):
    """Wait for a file that adds and updates programmes."""


class CatalogReplace(Button, prefix="ctr"):
    """Wait for a file holding the whole catalog (programmes missing from it are withdrawn)."""


class CatalogExport(Button, prefix="cte"):
    """Send the active catalog as an XLSX file."""


class CatalogSample(Button, prefix="cts"):
    """Send the sample file."""


class ProviderList(Button, prefix="ctp"):
    """Organisers of courses typed by teachers, waiting for approval."""


class ProviderApprove(Button, prefix="cta"):
    provider: Id


class CatalogForm(StatesGroup):
    """The upload dialog: one step, the file. Its draft (``{"catalog": {"replace": bool}}``)
    says whether the file replaces the catalog."""

    waiting_file = State()
