"""The attestation term of a teacher: a qualification category, or the attestation for
«соответствие занимаемой должности». Pure functions, shared by «Мои курсы», the reminders,
the indicators and the route document.

Categories after приказ Минпросвещения № 196 of 24.03.2023: первая, высшая,
«педагог-методист», «педагог-наставник» (``services.reference.CATEGORIES``).
«Соответствие занимаемой должности» is an attestation, not a category: its own date
(``users.conformity_date``), valid five years like a category.

A term counted in years ends on the same day and month of its last year (ст. 191–192 ГК РФ):
given 15.03.2021, valid until 15.03.2026 inclusive, expired from 16.03.2026. The warning
starts 6 months before the expiry date. When only the year of a category is known the term
is counted from 1 January of that year, the earliest date it can have been given, so the
warning never comes too late.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

ATTESTATION_YEARS = 5
ATTESTATION_WARN_MONTHS = 6


def add_months(value: date, months: int) -> date:
    """The same day ``months`` later (or earlier); the 31st becomes the month's last day."""
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


def add_years(value: date, years: int) -> date:
    """The same day and month ``years`` later; 29 February becomes 28 February."""
    return add_months(value, 12 * years)


def has_category(category: str | None) -> bool:
    """Holds a qualification category (``none`` and an empty profile do not)."""
    return bool(category) and category != "none"


class AttStatus(StrEnum):
    NONE = "none"  # no category and no attestation for conformity recorded
    UNKNOWN = "unknown"  # a category without a year or date
    VALID = "valid"
    SOON = "soon"  # within 6 months of the expiry date
    EXPIRED = "expired"


CONFORMITY = "conformity"
""":attr:`Attestation.category` of an attestation for «соответствие занимаемой должности»."""


@dataclass(frozen=True)
class Attestation:
    category: str | None  # a category code, or :data:`CONFORMITY` for the attestation itself
    status: AttStatus
    given: date | None = None  # the date, or 1 January of the year when only that is known
    year_only: bool = False
    expires: date | None = None  # the last day the category is valid
    warn_from: date | None = None

    @property
    def conformity(self) -> bool:
        return self.category == CONFORMITY


def _term(category: str, given: date, year_only: bool, today: date) -> Attestation:
    expires = add_years(given, ATTESTATION_YEARS)
    warn_from = add_months(expires, -ATTESTATION_WARN_MONTHS)
    if today > expires:
        status = AttStatus.EXPIRED
    elif today >= warn_from:
        status = AttStatus.SOON
    else:
        status = AttStatus.VALID
    return Attestation(category, status, given, year_only, expires, warn_from)


def attestation(
    category: str | None,
    category_date: date | None,
    category_year: int | None,
    today: date,
    conformity_date: date | None = None,
) -> Attestation:
    """The term of the teacher's attestation, from the profile.

    A qualification category (первая, высшая, педагог-методист, педагог-наставник, after
    приказ Минпросвещения № 196 of 24.03.2023): the exact date is used when it agrees with
    the year in the profile (a date left from a previous category, whose year differs, is
    ignored); otherwise 1 January of the year. Without a category, the attestation for
    «соответствие занимаемой должности» (:data:`CONFORMITY`) when its date is recorded;
    both are valid five years.
    """
    if not has_category(category):
        if conformity_date is not None:
            return _term(CONFORMITY, conformity_date, False, today)
        return Attestation(category=category, status=AttStatus.NONE)
    assert category is not None
    if category_date is not None and category_year in (None, category_date.year):
        return _term(category, category_date, False, today)
    if category_year is not None:
        return _term(category, date(category_year, 1, 1), True, today)
    return Attestation(category=category, status=AttStatus.UNKNOWN)
