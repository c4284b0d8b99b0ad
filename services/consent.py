"""Consent to personal-data processing (152-ФЗ): the editions of its texts, who must be asked
again, the separate consent to the burnout questionnaire, and what the profile shows.

Each text has an edition number. A person's row keeps the edition they agreed to and when
(``users.consent_version``/``consent_at``; ``health_consent_version``/``health_consent_at``).
Whoever agreed to an older edition is asked again at their next visit
(:func:`consent_outdated`); the burnout questionnaire asks its own consent before its first
question, once per person and edition (:func:`needs_health_consent`).

A changed text must get a new edition: ``tests/test_consent.py`` compares the digest of the
Russian texts with the one recorded below for the current edition, so editing the text
without adding an edition fails the tests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from models import Attempt, Outbox, User
from models.people import CONSENT_EDITION
from services.instruments import InstrumentRegistry

CONSENT_VERSION = CONSENT_EDITION
"""The edition of the consent text (``consent.text`` and ``consent.full``) in force."""
CONSENT_EDITIONS: dict[int, tuple[date, str | None]] = {
    # edition: (its date, sha256 of the Russian texts; None: before digests were recorded)
    1: (date(2026, 9, 1), None),
    2: (date(2026, 12, 4), "83e5727315e6dfc0c9f9ac9598775e170c6d1f0ac5fe0eda1221c25501ef43a7"),
}
HEALTH_CONSENT_VERSION = 1
"""The edition of the consent to the burnout questionnaire (``consent.health``)."""
HEALTH_EDITIONS: dict[int, tuple[date, str | None]] = {
    1: (date(2026, 12, 4), "7780dfcd4f053ff7088b4d5972833a58d6134ecd238d7fe3b3e823a2e8487156"),
}
HEALTH_KINDS = frozenset({"burnout"})
"""Questionnaires whose answers are about health: they need their own consent."""

CONSENT_KEYS = ("consent.text", "consent.full")
HEALTH_KEYS = ("consent.health",)


def text_digest(texts: dict[str, str], keys: tuple[str, ...]) -> str:
    """The digest an edition records: sha256 of the texts of ``keys`` (templates, unfilled)."""
    return hashlib.sha256("\n".join(texts[k] for k in keys).encode()).hexdigest()


class HasConsent(Protocol):
    @property
    def consent_version(self) -> int: ...


class HasHealthConsent(Protocol):
    @property
    def health_consent_version(self) -> int | None: ...


def consent_outdated(person: HasConsent | None) -> bool:
    """The person agreed to an older edition of the consent text: ask again."""
    return person is not None and person.consent_version < CONSENT_VERSION


def needs_health_consent(person: HasHealthConsent, kind: str) -> bool:
    """A questionnaire about health, and no consent to its current edition yet."""
    if kind not in HEALTH_KINDS:
        return False
    agreed = person.health_consent_version
    return agreed is None or agreed < HEALTH_CONSENT_VERSION


@dataclass(frozen=True)
class Operator:
    """The operator of personal data as configured (empty strings: not set yet)."""

    name: str
    address: str
    contact: str

    @classmethod
    def of(cls, settings: Settings) -> Operator:
        return cls(settings.operator_name, settings.operator_address, settings.operator_contact)


@dataclass(frozen=True)
class Edition:
    version: int
    dated: date


def edition() -> Edition:
    return Edition(CONSENT_VERSION, CONSENT_EDITIONS[CONSENT_VERSION][0])


def health_edition() -> Edition:
    return Edition(HEALTH_CONSENT_VERSION, HEALTH_EDITIONS[HEALTH_CONSENT_VERSION][0])


@dataclass(frozen=True)
class ConsentStatus:
    """What «Согласие на обработку данных» in the profile shows."""

    agreed_at: datetime
    version: int
    current: Edition
    health_at: datetime | None
    health_version: int | None


class ConsentRow(HasConsent, HasHealthConsent, Protocol):
    @property
    def consent_at(self) -> datetime: ...

    @property
    def health_consent_at(self) -> datetime | None: ...


def status_of(person: ConsentRow) -> ConsentStatus:
    return ConsentStatus(
        agreed_at=person.consent_at,
        version=person.consent_version,
        current=edition(),
        health_at=person.health_consent_at if person.health_consent_version else None,
        health_version=person.health_consent_version,
    )


async def withdraw_health(session: AsyncSession, registry: InstrumentRegistry, user: User) -> int:
    """Withdraw the consent to the questionnaires about health: their attempts go with
    answers and results (and any reminder still waiting for them); the rest of the person's
    data stays. Returns the number of attempts deleted."""
    instrument_ids = [
        r.instrument.id for r in registry.ordered() if r.instrument.kind in HEALTH_KINDS
    ]
    attempts = (
        await session.scalars(
            select(Attempt.id).where(
                Attempt.user_id == user.id, Attempt.instrument_id.in_(instrument_ids)
            )
        )
    ).all()
    if attempts:
        keys = [f"reminder:survey:{a}" for a in attempts]
        await session.execute(delete(Outbox).where(Outbox.key.in_(keys)))
        await session.execute(delete(Attempt).where(Attempt.id.in_(attempts)))
    user.health_consent_version = None
    user.health_consent_at = None
    await session.flush()
    return len(attempts)
