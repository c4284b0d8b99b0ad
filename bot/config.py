"""Configuration from the environment and ``.env`` (pydantic-settings)."""

from __future__ import annotations

import sys
from datetime import time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/pedbot.db"
DEFAULT_API_URL = "https://api.telegram.org"
OPERATOR_MAX = 300  # each operator field: the consent text must stay within one message

FIXES = {
    "BOT_TOKEN": "получите токен у @BotFather и задайте BOT_TOKEN=123456:ABC... в .env",
    "DATABASE_URL": (
        "пример: sqlite+aiosqlite:///data/pedbot.db или "
        "postgresql+asyncpg://user:password@host:5432/pedbot"
    ),
    "TELEGRAM_API_URL": "адрес Bot API сервера, например http://127.0.0.1:8081",
    "ADMIN_IDS": "числовые Telegram id через запятую, например ADMIN_IDS=12345,67890",
    "TIMEZONE": "имя часового пояса IANA, например Europe/Moscow",
    "REDIS_URL": "пример: redis://127.0.0.1:6379/0",
    "LOG_LEVEL": "одно из DEBUG, INFO, WARNING, ERROR",
    "RUN_SCHEDULER": "true в одном процессе (планировщик и рассылки), false в остальных",
    "SEND_RATE": "сообщений в секунду при рассылках, от 1 до 30 (по умолчанию 25)",
    "QUIET_HOURS": "тихие часы по местному времени, например 21:00-08:00, или off",
    "DIGEST_DAY": "день еженедельной сводки: mon, tue, wed, thu, fri, sat или sun",
    "DIGEST_TIME": "время еженедельной сводки, например 09:00",
    "INDICATOR_PLANS": "путь к YAML-файлу плановых значений показателей",
    "OPERATOR_NAME": (
        "полное название оператора персональных данных (организации, которая ведёт бота), "
        f"до {OPERATOR_MAX} знаков"
    ),
    "OPERATOR_ADDRESS": f"почтовый адрес оператора персональных данных, до {OPERATOR_MAX} знаков",
    "OPERATOR_CONTACT": (
        f"телефон или электронная почта для обращений о персональных данных, до {OPERATOR_MAX} знаков"
    ),
}
OPERATOR_FIELDS = ("OPERATOR_NAME", "OPERATOR_ADDRESS", "OPERATOR_CONTACT")


def _is_clock(text: str) -> bool:
    hours, sep, minutes = text.strip().partition(":")
    return (
        bool(sep)
        and hours.isdigit()
        and minutes.isdigit()
        and len(minutes) == 2
        and 0 <= int(hours) <= 23
        and 0 <= int(minutes) <= 59
    )


def clock(text: str) -> time:
    """«ЧЧ:ММ» as a time (already validated)."""
    hours, _, minutes = text.strip().partition(":")
    return time(int(hours), int(minutes))


class ConfigError(Exception):
    """A configuration problem, already phrased as one line for the person running the bot."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_url: str = DEFAULT_API_URL
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    timezone: str = "Europe/Moscow"
    redis_url: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    default_language: str = Field(default="ru")
    # the scheduler and the outbox sender (exactly one process runs them)
    run_scheduler: bool = True
    send_rate: float = Field(default=25.0, gt=0, le=30)  # messages per second in all
    quiet_hours: str = "21:00-08:00"  # local; nothing but replies is sent then
    digest_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    digest_time: str = "09:00"  # local
    # plan values of the indicators (YAML: code -> percent or number); default: the seeds'
    indicator_plans: str | None = None
    # the operator of personal data named in the consent text (152-ФЗ, art. 9 part 4)
    operator_name: str = ""
    operator_address: str = ""
    operator_contact: str = ""

    @field_validator("operator_name", "operator_address", "operator_contact")
    @classmethod
    def _operator(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value) > OPERATOR_MAX:
            raise ValueError(f"длиннее {OPERATOR_MAX} знаков")
        return value

    def operator_missing(self) -> list[str]:
        """The operator fields not set yet (the consent text then says they are not given)."""
        values = (self.operator_name, self.operator_address, self.operator_contact)
        return [name for name, value in zip(OPERATOR_FIELDS, values, strict=True) if not value]

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        value = value.strip()
        if value in ("", "off"):
            return "off"
        parts = value.split("-")
        if len(parts) != 2 or not all(_is_clock(p) for p in parts):
            raise ValueError("ожидается интервал ЧЧ:ММ-ЧЧ:ММ, например 21:00-08:00, или off")
        return value

    @field_validator("digest_time")
    @classmethod
    def _digest_time(cls, value: str) -> str:
        if not _is_clock(value.strip()):
            raise ValueError("ожидается время ЧЧ:ММ, например 09:00")
        return value.strip()

    @field_validator("bot_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        left, sep, right = value.partition(":")
        if not sep or not left.isdigit() or len(right) < 20:
            raise ValueError("токен должен выглядеть как 123456789:AA... (цифры, двоеточие, ключ)")
        return value

    @field_validator("database_url")
    @classmethod
    def _db(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError("не похоже на адрес базы данных") from exc
        if url.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ValueError("поддерживаются sqlite+aiosqlite и postgresql+asyncpg")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _api(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError("адрес должен начинаться с http:// или https://")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admins(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            if not all(p.lstrip("-").isdigit() for p in parts):
                raise ValueError("ожидаются числа через запятую")
            return frozenset(int(p) for p in parts)
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("неизвестный часовой пояс") from exc
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("адрес должен начинаться с redis://")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def quiet(self) -> tuple[time, time] | None:
        """Quiet hours (start, end) in local time, or None when switched off."""
        if self.quiet_hours == "off":
            return None
        start, end = self.quiet_hours.split("-")
        return clock(start), clock(end)


def load_settings(**overrides: object) -> Settings:
    """Settings, or :class:`ConfigError` with one line naming the variable and the fix."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "?"
        reason = str(err["msg"]).removeprefix("Value error, ")
        fix = FIXES.get(name, "")
        raise ConfigError(f"Ошибка настройки {name}: {reason}. {fix}".strip()) from exc


def settings_or_exit(require_token: bool = False) -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
    if require_token and not settings.bot_token:
        print(f"Не задан BOT_TOKEN: {FIXES['BOT_TOKEN']}", file=sys.stderr)
        raise SystemExit(2)
    return settings
