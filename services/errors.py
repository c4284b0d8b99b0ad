"""What services raise when they refuse an input or a button."""

from __future__ import annotations

from typing import Any


class Refusal(ValueError):
    """A refused input or button; nothing was changed. ``code`` is a locale key and
    ``params`` its placeholders, so the handler shows exactly why."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
