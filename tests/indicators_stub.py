"""A stand-in for ``services.indicators`` with the names of its contract, for the report's
tests on a tree where that module is not there yet (``tests/test_report.py`` installs it only
when ``import services.indicators`` fails). ``compute`` returns an empty table: the report's
content is tested on hand-made tables, the journeys only need a document to come back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


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


DEFAULTS = {"deficits_done": 80.0, "route_any": 30.0}


def definitions(plans: Mapping[str, float] | None = None) -> tuple[IndicatorDef, ...]:
    plans = {**DEFAULTS, **(plans or {})}
    return (
        IndicatorDef("deficits_done", 1, "share", plans.get("deficits_done"), True, False),
        IndicatorDef("route_any", 2, "share", plans.get("route_any"), True, False),
    )


def load_plans(path: str | None) -> dict[str, float]:
    return dict(DEFAULTS)


def scope_of(access: Any) -> list[tuple[str, int | None]]:
    out: list[tuple[str, int | None]] = []
    for scope in access.methodist_scopes:
        kind = str(scope.kind.value)
        if kind == "school":
            out.append(("school", scope.school_id))
        elif kind == "municipality":
            out.append(("municipality", scope.municipality_id))
        else:
            out.append(("region", None))
    return out


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
    empty = {d.code: Value(None, None, 0, False) for d in defs}
    total = Row(None, None, None, 0, empty)
    return IndicatorTable(scope_key, scope_key, period, defs, (), total, ())


def display(v: Value, d: IndicatorDef) -> str:
    if v.suppressed:
        return "< 5"
    if v.value is None:
        return "—"
    if d.kind == "share":
        text = f"{v.value:.1f}".rstrip("0").rstrip(".")
        return text.replace(".", ",") + " %"
    if d.kind == "count":
        return str(round(v.value))
    return f"{v.value:.1f}".replace(".", ",")
