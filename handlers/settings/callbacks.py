"""The buttons of «⚙️ Настройки» (its entry is ``MenuCB(to="settings")``)."""

from __future__ import annotations

from handlers.common import Button, Num


class SettingToggle(Button, prefix="stt"):
    """Switch a reminder kind on or off: ``kind`` is an index in
    ``services.notifications.KINDS``."""

    kind: Num
