"""Texts from locale files (``bot/locales/<lang>/*.yaml``); Russian is the default.

Each language is a folder; its files (one per capability) are merged, and a key defined in
two files of one language is an error.

Keys are dotted paths (``survey.error.not_number``); values are ``str.format`` templates.
Adding a language means adding a file with the same keys: no handler changes.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LANGUAGE = "ru"


def _flatten(prefix: str, node: Any, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = str(node)


@cache
def catalogs() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for folder in sorted(p for p in LOCALES_DIR.iterdir() if p.is_dir()):
        merged: dict[str, str] = {}
        for path in sorted(folder.glob("*.yaml")):
            flat: dict[str, str] = {}
            _flatten("", yaml.safe_load(path.read_text(encoding="utf-8")), flat)
            twice = set(flat) & set(merged)
            if twice:
                raise ValueError(f"{path}: keys already defined in another file: {sorted(twice)}")
            merged.update(flat)
        if merged:
            out[folder.name] = merged
    return out


def plural_form(n: int) -> str:
    """The Russian plural form a number takes: ``one`` (1, 21, 101 год), ``few`` (2–4, 22–24
    года), ``many`` (0, 5–20, 25 лет). English texts fill the same three keys."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


def languages() -> list[str]:
    return sorted(catalogs())


class Translator:
    """Texts and date formats for one person: their language, the municipality's time zone."""

    def __init__(self, language: str = DEFAULT_LANGUAGE, tz: tzinfo | None = None) -> None:
        self.tz = tz
        cats = catalogs()
        self.language = language if language in cats else DEFAULT_LANGUAGE
        self._own = cats[self.language]
        self._default = cats[DEFAULT_LANGUAGE]

    def has(self, key: str) -> bool:
        return key in self._own or key in self._default

    def __call__(self, key: str, /, **params: Any) -> str:
        template = self._own.get(key) or self._default.get(key)
        if template is None:
            raise KeyError(f"no text for key {key!r}")
        return template.format(**params) if params else template

    def plural(self, key: str, n: int, /, **params: Any) -> str:
        """A number with its noun in the right form: ``key`` has ``one``, ``few`` and
        ``many`` templates with ``{n}`` (``plural.years`` → «1 год», «3 года», «18 лет»)."""
        return self(f"{key}.{plural_form(n)}", n=n, **params)

    def date(self, value: datetime | date) -> str:
        """A date as ДД.ММ.ГГГГ; a stored moment (UTC) is shown in the local time zone."""
        if isinstance(value, datetime):
            value = value.astimezone(self.tz).date()
        return value.strftime("%d.%m.%Y")


def pick_language(code: str | None) -> str:
    """The user's Telegram language if we have it, otherwise Russian."""
    if code:
        short = code.split("-")[0].lower()
        if short in catalogs():
            return short
    return DEFAULT_LANGUAGE
