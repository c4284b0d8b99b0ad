"""A stand-in for ``services.indicators`` with the agreed names, used by the digest's tests
only while the real module is not on the branch (:func:`install` does nothing once it is).

It keeps to the contract's shapes; its figures are simple SQL counts (teachers per school,
the share of them with the highest category), enough for the digest's plumbing.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select

from models import Municipality, School, User


def install() -> None:
    """Put this module in place of ``services.indicators`` when that does not exist."""
    try:
        import services.indicators
    except ModuleNotFoundError:
        import services

        module = sys.modules[__name__]
        sys.modules["services.indicators"] = module
        services.indicators = module  # type: ignore[attr-defined]


def real() -> bool:
    module: types.ModuleType | None = sys.modules.get("services.indicators")
    return module is not None and module.__name__ != __name__


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date

    @property
    def label(self) -> str:
        if (self.start.month, self.start.day, self.end.month, self.end.day) == (9, 1, 8, 31):
            return f"{self.start.year}/{self.end.year}"
        return f"{self.start:%d.%m.%Y}–{self.end:%d.%m.%Y}"


def academic_year(today: date) -> Period:
    first = today.year if today.month >= 9 else today.year - 1
    return Period(date(first, 9, 1), date(first + 1, 8, 31))


@dataclass(frozen=True, slots=True)
class IndicatorDef:
    code: str
    number: int
    kind: str
    plan: float | None
    higher_is_better: bool
    sensitive: bool


@dataclass(frozen=True, slots=True)
class Value:
    value: float | None
    numerator: int | None
    denominator: int | None
    suppressed: bool


@dataclass(frozen=True, slots=True)
class Row:
    school_id: int | None
    school_code: str | None
    school_name: str | None
    teachers: int
    values: dict[str, Value]


@dataclass(frozen=True, slots=True)
class CampaignRate:
    campaign_id: int
    instrument_id: str
    title: str
    deadline: date
    answered: int
    invited: int


@dataclass(frozen=True, slots=True)
class IndicatorTable:
    scope_key: str
    scope_name: str
    period: Period
    definitions: tuple[IndicatorDef, ...]
    schools: tuple[Row, ...]
    total: Row
    campaigns: tuple[CampaignRate, ...]


_DEFS: tuple[tuple[str, int, str, float | None, bool, bool], ...] = (
    ("highest_share", 1, "share", 60.0, True, False),
    ("burnout_high", 10, "share", None, False, True),
)


def load_plans(path: str | None) -> dict[str, float]:
    return {code: plan for code, _, _, plan, _, _ in _DEFS if plan is not None}


def definitions(plans: Mapping[str, float] | None = None) -> tuple[IndicatorDef, ...]:
    plans = load_plans(None) if plans is None else plans
    return tuple(
        IndicatorDef(code, n, kind, plans.get(code), hib, sens)
        for code, n, kind, _, hib, sens in _DEFS
    )


def display(v: Value, d: IndicatorDef) -> str:
    if v.suppressed:
        return "< 5"
    if v.value is None:
        return "—"
    if d.kind == "share":
        return f"{v.value:.1f}".replace(".", ",") + " %"
    if d.kind == "count":
        return str(round(v.value))
    return f"{v.value:.1f}".replace(".", ",")


def _values(teachers: int, highest: int, defs: tuple[IndicatorDef, ...]) -> dict[str, Value]:
    small = teachers < 5
    share = round(100 * highest / teachers, 1) if teachers else None
    return {
        "highest_share": Value(None if small else share, highest, teachers, small),
        "burnout_high": Value(None, None, teachers, small),
    }


async def compute(
    session: Any,
    *,
    scope_key: str,
    period: Period,
    today: date,
    now: datetime,
    plans: Mapping[str, float] | None = None,
) -> IndicatorTable:
    defs = definitions(plans)
    kind, _, target = scope_key.partition(":")
    where: list[Any] = []
    name = "Весь регион"
    if kind == "school":
        where.append(School.id == int(target))
        name = (await session.scalar(select(School.name).where(School.id == int(target)))) or "?"
    elif kind == "municipality":
        where.append(School.municipality_id == int(target))
        name = (
            await session.scalar(select(Municipality.name).where(Municipality.id == int(target)))
        ) or "?"
    active = (User.registered_at.is_not(None)) & (User.blocked_bot.is_(False))
    teachers = func.count(User.id).filter(active)
    highest = func.sum(case((active & (User.category == "highest"), 1), else_=0))
    rows = (
        await session.execute(
            select(School.id, School.code, School.name, teachers, highest)
            .outerjoin(User, User.school_id == School.id)
            .where(*where)
            .group_by(School.id, School.code, School.name)
            .order_by(School.name, School.id)
        )
    ).all()
    schools = tuple(
        Row(sid, code, sname, int(n or 0), _values(int(n or 0), int(h or 0), defs))
        for sid, code, sname, n, h in rows
    )
    all_n = sum(r.teachers for r in schools)
    all_h = sum(r.values["highest_share"].numerator or 0 for r in schools)
    total = Row(None, None, None, all_n, _values(all_n, all_h, defs))
    return IndicatorTable(scope_key, name, period, defs, schools, total, ())
