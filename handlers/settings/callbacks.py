"""The buttons of «⚙️ Настройки» (its entry is ``MenuCB(to="settings")``)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from handlers.common import Num


class SettingToggle(CallbackData, prefix="stt"):
    """Switch a reminder kind on or off: ``kind`` is an index in
    ``services.notifications.KINDS``."""

    kind: Num
