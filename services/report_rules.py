"""«Адресные рекомендации» of the analytic report: rules from a YAML file and a pure function
that applies them to an indicator table.

A rule names an indicator, a condition and a recommendation text in Russian::

    - indicator: deficits_done
      when: below_plan            # or above:<число>, below:<число>
      text: "{school}: диагностику прошли {value} педагогов при плане {plan}. ..."
      action: campaign:deficits   # or catalog_block:<блок>, mentor_queue; may be left out

``below_plan`` means worse than the plan: under it when more is better, over it when less
is better (deficit shares). The text may use ``{school}``, ``{value}``, ``{plan}`` and
``{gap}``. The shipped rules are ``services/report_rules.yaml``; the file is validated when it
is loaded, and a bad file is refused with the rule and the field named.

Privacy: a value shown as «< 5» (a group under five teachers, a burnout figure of a small
group) never gives a school its own recommendation, so the text cannot reveal it.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.indicators import IndicatorDef, IndicatorTable, Row, Value, display

RULES_FILE = Path(__file__).with_name("report_rules.yaml")
BLOCKS = ("subject", "methodical", "psychological", "communicative")
PLACEHOLDERS = frozenset({"school", "value", "plan", "gap"})
MAX_PROGRAMMES = 5
SMALL_GROUP = 5
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")


class RulesError(ValueError):
    """A rules file that cannot be used, phrased for the person who edits it."""


class Rule(BaseModel):
    """One rule of the file (validated; frozen)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    indicator: str = Field(pattern=_CODE.pattern)
    when: str
    text: str = Field(min_length=1, max_length=1000)
    action: str | None = None

    @field_validator("when")
    @classmethod
    def _when(cls, value: str) -> str:
        value = value.strip()
        if value == "below_plan":
            return value
        kind, sep, number = value.partition(":")
        if sep and kind in ("above", "below") and _NUMBER.match(number.strip()):
            return f"{kind}:{float(number.strip().replace(',', '.'))}"
        raise ValueError("ожидается below_plan, above:<число> или below:<число>")

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"фигурные скобки не закрыты ({exc})") from exc
        unknown = sorted(names - PLACEHOLDERS)
        if unknown:
            allowed = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
            raise ValueError(f"неизвестная подстановка {{{unknown[0]}}}; можно: {allowed}")
        return value.strip()

    @field_validator("action")
    @classmethod
    def _action(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if value == "mentor_queue":
            return value
        kind, _, arg = value.partition(":")
        if kind == "catalog_block" and arg in BLOCKS:
            return value
        if kind == "campaign" and _CODE.match(arg):
            return value
        raise ValueError(
            "ожидается catalog_block:<блок> (блоки: "
            + ", ".join(BLOCKS)
            + "), campaign:<анкета> или mentor_queue"
        )

    @property
    def block(self) -> str | None:
        """The catalog block of a ``catalog_block:<block>`` action."""
        if self.action and self.action.startswith("catalog_block:"):
            return self.action.partition(":")[2]
        return None

    def holds(self, value: float, d: IndicatorDef) -> bool:
        """The condition on a shown value of indicator ``d``."""
        if self.when == "below_plan":
            if d.plan is None:
                return False
            return value < d.plan if d.higher_is_better else value > d.plan
        kind, _, number = self.when.partition(":")
        threshold = float(number)
        return value > threshold if kind == "above" else value < threshold


class RulesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(min_length=1)


def _where(loc: Sequence[Any]) -> str:
    parts = list(loc)
    if len(parts) >= 2 and parts[0] == "rules" and isinstance(parts[1], int):
        where = f"правило {parts[1] + 1}"
        if len(parts) > 2:
            where += f", поле «{parts[2]}»"
        return where
    return "«" + ".".join(str(p) for p in parts) + "»" if parts else "файл"


def parse_rules(text: str, source: str = "report_rules.yaml") -> tuple[Rule, ...]:
    """The rules of a file's text, or :class:`RulesError` naming the rule and the field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", строка {mark.line + 1}" if mark is not None else ""
        raise RulesError(f"{source}: файл не читается как YAML{line}.") from exc
    if not isinstance(data, dict):
        raise RulesError(f"{source}: ожидается список правил под ключом «rules».")
    try:
        parsed = RulesFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        reason = str(err["msg"]).removeprefix("Value error, ")
        more = f" (ошибок всего: {exc.error_count()})" if exc.error_count() > 1 else ""
        raise RulesError(f"{source}: {_where(err['loc'])}: {reason}{more}.") from exc
    return tuple(parsed.rules)


def load_rules(path: Path | str | None = None) -> tuple[Rule, ...]:
    """The rules of a file (the shipped ``report_rules.yaml`` by default)."""
    path = Path(path) if path is not None else RULES_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"Файл правил не читается: {path} ({type(exc).__name__}).") from exc
    return parse_rules(text, path.name)


@cache
def default_rules() -> tuple[Rule, ...]:
    """The shipped rules, read and validated once per process."""
    return load_rules(RULES_FILE)


def unknown_indicators(rules: Sequence[Rule], defs: Sequence[IndicatorDef]) -> list[str]:
    """Indicator codes the rules name that the indicator list does not have."""
    known = {d.code for d in defs}
    return sorted({r.indicator for r in rules} - known)


# ---------------------------------------------------------------- privacy


def hidden(v: Value, d: IndicatorDef, row: Row) -> bool:
    """Shown as «< 5»: suppressed by the indicator, or a figure about a group under five
    teachers (a row of fewer teachers, or a share or mean over fewer people)."""
    if v.suppressed or row.teachers < SMALL_GROUP:
        return True
    return d.kind != "count" and v.denominator is not None and 0 < v.denominator < SMALL_GROUP


def shown(v: Value | None, d: IndicatorDef, row: Row) -> str:
    """The value as the report prints it: «< 5» when hidden, «—» without data."""
    if v is None:
        return "—"
    if hidden(v, d, row):
        return "< 5"
    return display(v, d)


def plan_text(d: IndicatorDef) -> str:
    if d.plan is None:
        return "—"
    return display(Value(value=d.plan, numerator=None, denominator=None, suppressed=False), d)


def number(value: float, decimals: int = 1) -> str:
    """A number as the indicators show one: the Russian decimal comma, no trailing zeros,
    and a true minus sign."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",").replace("-", "−")


def gap_text(value: float, d: IndicatorDef, unit: str = "п. п.") -> str:
    """``value − plan`` (or another difference) with its sign; percentage points for shares."""
    rounded = round(value, 1) or 0.0  # never «−0»
    sign = "+" if rounded > 0 else ""
    text = sign + number(rounded, 1)
    return f"{text} {unit}" if d.kind == "share" else text


# ---------------------------------------------------------------- recommendations


@dataclass(frozen=True, slots=True)
class Recommendation:
    school_id: int | None
    school_code: str | None
    school_name: str | None
    indicator: str
    text: str
    action: str | None
    programmes: tuple[str, ...]  # the catalog's titles for a ``catalog_block`` action


def recommendations(
    table: IndicatorTable, rules: Sequence[Rule], catalog: Mapping[str, Sequence[str]]
) -> list[Recommendation]:
    """For each school of the table (in its order) and each rule (in the file's order) whose
    condition holds on the school's shown value: the rule's text for that school. Hidden
    values («< 5») and values without data give nothing."""
    defs = {d.code: d for d in table.definitions}
    out: list[Recommendation] = []
    for row in table.schools:
        for rule in rules:
            d = defs.get(rule.indicator)
            v = row.values.get(rule.indicator)
            if d is None or v is None or v.value is None or hidden(v, d, row):
                continue
            if not rule.holds(v.value, d):
                continue
            gap = gap_text(v.value - d.plan, d) if d.plan is not None else "—"
            text = rule.text.format(
                school=row.school_name or row.school_code or "",
                value=display(v, d),
                plan=plan_text(d),
                gap=gap,
            )
            block = rule.block
            titles = tuple(catalog.get(block, ())[:MAX_PROGRAMMES]) if block else ()
            out.append(
                Recommendation(
                    school_id=row.school_id,
                    school_code=row.school_code,
                    school_name=row.school_name,
                    indicator=rule.indicator,
                    text=text,
                    action=rule.action,
                    programmes=titles,
                )
            )
    return out
