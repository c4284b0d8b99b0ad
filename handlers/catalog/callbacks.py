"""Buttons of the programme catalog (one class per action) and the upload dialog's state.

The catalog has no per-row buttons, so no class carries an id: a payload with anything after
the prefix (a forged id, an unknown action) matches no handler and gets the stale answer.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup


class CatalogOpen(CallbackData, prefix="ctv"):
    """Show the catalog screen (counts and actions); leaves a waiting upload."""


class CatalogUpload(CallbackData, prefix="ctu"):
    """Wait for a file that adds and updates programmes."""


class CatalogReplace(CallbackData, prefix="ctr"):
    """Wait for a file holding the whole catalog (programmes missing from it are withdrawn)."""


class CatalogExport(CallbackData, prefix="cte"):
    """Send the active catalog as an XLSX file."""


class CatalogSample(CallbackData, prefix="cts"):
    """Send the sample file."""


class CatalogForm(StatesGroup):
    """The upload dialog: one step, the file. Its draft (``{"catalog": {"replace": bool}}``)
    says whether the file replaces the catalog."""

    waiting_file = State()
