"""The weekly digest of the indicators, the same on demand, and the exports of the table.

Everything here starts from one :class:`services.indicators.IndicatorTable` (one definition
per indicator, computed in SQL by :mod:`services.indicators`):

* :func:`digest_text`: the message (Telegram HTML, at most 4096 characters; lines are left
  out rather than overflow): the indicators of the whole scope with fact, plan and the change
  since the last digest (↑ ↓ →), headed by what needs attention first (:func:`attention`);
* :func:`chart_png`: fact against plan as horizontal bars (the share indicators with a plan);
* :func:`xlsx_bytes`, :func:`csv_bytes`, :func:`json_bytes`: the table, one row per school and
  the total, one column per indicator, and the definitions;
* :func:`enqueue_digests`: the weekly job's work — one outbox message per methodist per scope
  per ISO week (the key holds the week, so a second run adds nothing), with this week's
  snapshot stored for the next week's change;
* :func:`indicators_menu` / :func:`open_digest`: the on-demand «📈 Показатели»;
  :func:`export_table`: ``pedbot export indicators``.

Privacy: a value the table marks ``suppressed`` (a group under 5 teachers), any burnout
figure of a group under 5 and the teacher count of a row under 5 are written «< 5» in every
output; the snapshot stores no number for them, so no later change reveals one.

Texts come from the caller's translator (``digest.*``, ``indicators.<code>.title`` …);
nothing here knows about Telegram.
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import json
import re
import textwrap
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from models import (
    Campaign,
    IndicatorSnapshot,
    Municipality,
    Outbox,
    Role,
    RoleName,
    School,
    ScopeKind,
    User,
)
from services import indicators
from services.mentoring_figures import mentoring_figures
from services.outbox import OutFile, enqueue
from services.roles import Access, access_of

if TYPE_CHECKING:
    from bot.config import Settings

matplotlib.use("Agg")

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
SMALL_GROUP = 5  # a group under this many teachers is never broken down
SUPPRESSED = "< 5"
NO_DATA = "—"
UP, DOWN, SAME = "↑", "↓", "→"
GAPS_SHOWN = 3
CAMPAIGNS_SHOWN = 5
LONG_WAIT_DAYS = 7
NAME_MAX = 80  # a scope's or school's name in the text
CAMPAIGN_TITLE_MAX = 60
CHART_FONT = "DejaVu Sans"  # ships with matplotlib and has Cyrillic
KIND = "digest"
FORMATS = ("xlsx", "csv", "json")


class Texts(Protocol):
    """What the builders need of a translator (``bot.i18n.Translator`` fits)."""

    def __call__(self, key: str, /, **params: Any) -> str: ...

    def has(self, key: str) -> bool: ...

    def date(self, value: datetime | date) -> str: ...


# ---------------------------------------------------------------- small pieces


def iso_week(day: date) -> str:
    """The ISO week of a day as the snapshot and the outbox key name it: ``2026-W42``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def scope_key(kind: ScopeKind | str, target: int | None) -> str:
    kind = ScopeKind(kind)
    return kind.value if kind == ScopeKind.REGION else f"{kind.value}:{target}"


def scope_keys(access: Access) -> list[str]:
    """The scopes a person sees the indicators of: each methodist scope, and the region for
    an admin; in that order, each once."""
    keys: list[str] = []
    for s in access.methodist_scopes:
        target = s.school_id if s.kind == ScopeKind.SCHOOL else s.municipality_id
        key = scope_key(s.kind, target)
        if key not in keys:
            keys.append(key)
    if access.is_admin and ScopeKind.REGION.value not in keys:
        keys.append(ScopeKind.REGION.value)
    return keys


def hidden(v: indicators.Value, d: indicators.IndicatorDef) -> bool:
    """Shown as «< 5»: suppressed by the table, or a burnout figure of a group under 5."""
    return v.suppressed or (
        d.sensitive and v.denominator is not None and v.denominator < SMALL_GROUP
    )


def shown(v: indicators.Value, d: indicators.IndicatorDef) -> str:
    """The value as text: «42,5 %», «12», «< 5» or «—»."""
    return SUPPRESSED if hidden(v, d) else indicators.display(v, d)


def teachers_text(n: int) -> str:
    return SUPPRESSED if n < SMALL_GROUP else str(n)


def plan_text(d: indicators.IndicatorDef) -> str:
    if d.plan is None:
        return NO_DATA
    return indicators.display(indicators.Value(d.plan, None, None, False), d)


_TAG = re.compile(r"<[^>]*>")


def plain(text: str) -> str:
    """A locale text without its markup (for a chart, a spreadsheet, a CSV)."""
    return html.unescape(_TAG.sub("", text))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def title(t: Texts, d: indicators.IndicatorDef) -> str:
    """The indicator's short title (its code when the locale has none)."""
    key = f"indicators.{d.code}.title"
    return t(key) if t.has(key) else d.code


def definition(t: Texts, d: indicators.IndicatorDef) -> str:
    key = f"indicators.{d.code}.definition"
    return t(key) if t.has(key) else ""


def _decimal(x: float, digits: int) -> str:
    return f"{x:.{digits}f}".replace(".", ",")


def _short(x: float, digits: int) -> str:
    """Like :func:`_decimal` without a trailing «,0» (as the indicators' ``display`` writes)."""
    text = f"{x:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def _digits(d: indicators.IndicatorDef) -> int:
    return 0 if d.kind == "count" else 1


def snapshot_values(table: indicators.IndicatorTable) -> dict[str, float | None]:
    """The whole scope's values as stored for next week's change; no number for a hidden one."""
    out: dict[str, float | None] = {}
    for d in table.definitions:
        v = table.total.values.get(d.code)
        out[d.code] = None if v is None or hidden(v, d) else v.value
    return out


def change(v: indicators.Value, d: indicators.IndicatorDef, previous: float | None) -> str | None:
    """«↑ +2,5», «↓ −1», «→ 0»; None when either week has no number to compare."""
    if previous is None or v.value is None or hidden(v, d):
        return None
    digits = _digits(d)
    delta = round(v.value - previous, digits)
    if delta > 0:
        return f"{UP} +{_short(delta, digits)}"
    if delta < 0:
        return f"{DOWN} −{_short(-delta, digits)}"
    return f"{SAME} 0"


# ---------------------------------------------------------------- what needs attention


@dataclass(frozen=True, slots=True)
class Gap:
    """An indicator of the whole scope behind its plan, and the school furthest behind."""

    definition: indicators.IndicatorDef
    value: indicators.Value
    gap: float  # percentage points for a share, percent of the plan otherwise
    weakest: indicators.Row | None  # None: the scope is one school, or no school has a number


@dataclass(frozen=True, slots=True)
class LateCampaign:
    rate: indicators.CampaignRate
    answered_share: float  # percent of the invited who answered
    elapsed_share: float  # percent of the campaign's days gone by


@dataclass(frozen=True, slots=True)
class Attention:
    gaps: tuple[Gap, ...]
    waiting_over_week: int  # mentoring requests waiting more than 7 days
    late: tuple[LateCampaign, ...]

    @property
    def empty(self) -> bool:
        return not self.gaps and not self.waiting_over_week and not self.late


def shortfall(v: indicators.Value, d: indicators.IndicatorDef) -> float | None:
    """How far a value is behind its plan (None when it is not, or has no number): in
    percentage points for a share, in percent of the plan for a count or a mean."""
    if d.plan is None or v.value is None or hidden(v, d):
        return None
    short = d.plan - v.value if d.higher_is_better else v.value - d.plan
    if short <= 0:
        return None
    return short if d.kind == "share" else 100 * short / max(abs(d.plan), 1.0)


def _weakest(table: indicators.IndicatorTable, d: indicators.IndicatorDef) -> indicators.Row | None:
    if len(table.schools) < 2 or d.kind == "count":  # a school's count is not the scope's
        return None
    candidates = [
        r
        for r in table.schools
        if (v := r.values.get(d.code)) is not None and v.value is not None and not hidden(v, d)
    ]
    if not candidates:
        return None
    sign = 1 if d.higher_is_better else -1
    return min(candidates, key=lambda r: sign * (r.values[d.code].value or 0.0))


def gaps(table: indicators.IndicatorTable, limit: int = GAPS_SHOWN) -> tuple[Gap, ...]:
    """The ``limit`` largest gaps of the whole scope against plan, the largest first (ties in
    the indicators' order)."""
    found: list[Gap] = []
    for d in table.definitions:
        v = table.total.values.get(d.code)
        if v is None:
            continue
        short = shortfall(v, d)
        if short is not None:
            found.append(Gap(d, v, short, _weakest(table, d)))
    found.sort(key=lambda g: -g.gap)  # stable: equal gaps stay in the indicators' order
    return tuple(found[:limit])


def late_campaigns(
    campaigns: Iterable[indicators.CampaignRate], starts: Mapping[int, date], today: date
) -> tuple[LateCampaign, ...]:
    """Running campaigns whose share answered is below the share of their days gone by
    (days from the start to ``today`` over the days from the start to the deadline,
    inclusive); the furthest behind first. A campaign without a known start is not judged."""
    late: list[LateCampaign] = []
    for rate in campaigns:
        start = starts.get(rate.campaign_id)
        if start is None or rate.invited <= 0:
            continue
        days = (rate.deadline - start).days + 1
        elapsed = 1.0 if days <= 0 else min(max((today - start).days, 0) / days, 1.0)
        answered = rate.answered / rate.invited
        if answered < elapsed:
            late.append(LateCampaign(rate, 100 * answered, 100 * elapsed))
    late.sort(key=lambda c: (-(c.elapsed_share - c.answered_share), c.rate.deadline))
    return tuple(late)


def attention(
    table: indicators.IndicatorTable,
    *,
    today: date,
    starts: Mapping[int, date],
    waiting_over_week: int,
) -> Attention:
    return Attention(gaps(table), waiting_over_week, late_campaigns(table.campaigns, starts, today))


# ---------------------------------------------------------------- the message


def _gap_line(t: Texts, g: Gap) -> str:
    d = g.definition
    line = t(
        "digest.attention.gap",
        number=d.number,
        title=title(t, d),
        fact=esc(shown(g.value, d)),
        plan=esc(plan_text(d)),
    )
    if g.weakest is not None:
        line += t(
            "digest.attention.weakest",
            school=esc(_cut(g.weakest.school_name or g.weakest.school_code or "?", NAME_MAX)),
            value=esc(shown(g.weakest.values[d.code], d)),
        )
    return line


def _late_line(t: Texts, c: LateCampaign) -> str:
    r = c.rate
    small = r.invited < SMALL_GROUP
    return t(
        "digest.attention.campaign",
        title=esc(_cut(r.title, CAMPAIGN_TITLE_MAX)),
        answered=esc(SUPPRESSED) if small else r.answered,
        invited=esc(SUPPRESSED) if small else r.invited,
        share=NO_DATA if small else _decimal(c.answered_share, 0),
        elapsed=_decimal(c.elapsed_share, 0),
        deadline=t.date(r.deadline),
    )


def _indicator_line(
    t: Texts, d: indicators.IndicatorDef, v: indicators.Value, previous: float | None
) -> str:
    parts = [t("digest.line", number=d.number, title=title(t, d), fact=esc(shown(v, d)))]
    if d.plan is not None:
        parts.append(t("digest.plan", plan=esc(plan_text(d))))
    moved = change(v, d, previous)
    if moved is not None:
        parts.append(moved)
    return " · ".join(parts)


def _assemble(
    t: Texts, head: str, sections: Sequence[tuple[str, Sequence[str]]], tail: str, limit: int
) -> str:
    """``head``, then each section's heading and as many of its lines as fit (the rest named
    by «… и ещё N»), then ``tail``; never longer than ``limit``."""
    reserve = len(tail) + 2
    text = head
    for heading, lines in sections:
        if not lines:
            continue
        more_room = len(t("digest.more", count=len(lines))) + 1
        if len(text) + 2 + len(heading) + reserve + more_room > limit:
            break
        text += "\n\n" + heading
        for i, line in enumerate(lines):
            rest = len(lines) - i - 1
            room = more_room if rest else 0
            if len(text) + 1 + len(line) + room + reserve > limit:
                text += "\n" + t("digest.more", count=len(lines) - i)
                break
            text += "\n" + line
    return text + "\n\n" + tail if tail else text


def digest_text(
    table: indicators.IndicatorTable,
    t: Texts,
    *,
    previous: Mapping[str, float | None] | None,
    attention: Attention,
    today: date,
    limit: int = TEXT_LIMIT,
) -> str:
    """The digest: the scope, what needs attention first, then every indicator of the whole
    scope with fact, plan and the change since ``previous`` (the last snapshot's values)."""
    head = t(
        "digest.title",
        scope=esc(_cut(table.scope_name, NAME_MAX)),
        period=esc(table.period.label),
        teachers=esc(teachers_text(table.total.teachers)),
        date=t.date(today),
    )
    if previous is None:
        head += "\n" + t("digest.first")
    alerts: list[str] = [_gap_line(t, g) for g in attention.gaps]
    if attention.waiting_over_week:
        alerts.append(t("digest.attention.waiting", count=attention.waiting_over_week))
    late = list(attention.late)
    alerts += [_late_line(t, c) for c in late[:CAMPAIGNS_SHOWN]]
    if len(late) > CAMPAIGNS_SHOWN:
        alerts.append(t("digest.attention.more_campaigns", count=len(late) - CAMPAIGNS_SHOWN))
    if not alerts:
        alerts = [t("digest.attention.none")]
    lines = [
        _indicator_line(t, d, table.total.values[d.code], (previous or {}).get(d.code))
        for d in table.definitions
        if d.code in table.total.values
    ]
    tail = t("digest.tail" if _bars(table) else "digest.tail_no_chart")
    if any(esc(SUPPRESSED) in x for x in (head, *alerts)) or any(
        hidden(v, d) for d in table.definitions if (v := table.total.values.get(d.code))
    ):
        tail += " " + t("digest.hidden_note")
    return _assemble(
        t,
        head,
        [(t("digest.attention.title"), alerts), (t("digest.indicators"), lines)],
        tail,
        limit,
    )


# ---------------------------------------------------------------- the chart

_render_lock = threading.Lock()  # matplotlib's font cache is not made for threads


def _bars(table: indicators.IndicatorTable) -> list[tuple[indicators.IndicatorDef, float]]:
    out: list[tuple[indicators.IndicatorDef, float]] = []
    for d in table.definitions:
        v = table.total.values.get(d.code)
        if d.kind != "share" or d.plan is None or v is None or v.value is None:
            continue
        if not hidden(v, d):
            out.append((d, v.value))
    return out


def chart_png(table: indicators.IndicatorTable, t: Texts) -> bytes | None:
    """Fact against plan of the whole scope, one pair of bars per share indicator with a plan
    and a number; None when there is none to draw."""
    bars = _bars(table)
    if not bars:
        return None
    labels = [
        textwrap.fill(
            plain(f"{d.number}. {title(t, d)}")
            + ("" if d.higher_is_better else " " + plain(t("digest.chart.lower_better"))),
            width=38,
        )
        for d, _ in bars
    ]
    with _render_lock, matplotlib.rc_context({"font.family": CHART_FONT, "font.size": 9}):
        height = 1.6 + 0.62 * len(bars) + 0.1 * sum(label.count("\n") for label in labels)
        fig = Figure(figsize=(9.0, height), dpi=110)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ys = list(range(len(bars)))[::-1]
        facts = [value for _, value in bars]
        plans = [d.plan or 0.0 for d, _ in bars]
        ax.barh(
            [y + 0.18 for y in ys],
            facts,
            height=0.36,
            color="#2b6cb0",
            label=plain(t("digest.chart.fact")),
        )
        ax.barh(
            [y - 0.18 for y in ys],
            plans,
            height=0.36,
            color="#cbd5e0",
            label=plain(t("digest.chart.plan")),
        )
        for y, (d, value) in zip(ys, bars, strict=True):
            ax.text(
                value + 1,
                y + 0.18,
                shown(indicators.Value(value, None, None, False), d),
                va="center",
                fontsize=8,
            )
        ax.set_yticks(ys, labels)
        ax.set_xlim(0, 110)
        ax.set_xlabel("%")
        ax.set_title(
            f"{plain(t('digest.chart.title'))}: {_cut(table.scope_name, NAME_MAX)}\n"
            f"{table.period.label}",
            fontsize=10,
        )
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.55 / height), ncol=2, fontsize=8)
        ax.grid(axis="x", color="#e2e8f0")
        ax.set_axisbelow(True)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    return buffer.getvalue()


# ---------------------------------------------------------------- the table as files


def _unit(t: Texts, d: indicators.IndicatorDef) -> str:
    return plain(t(f"digest.unit.{d.kind}")) if t.has(f"digest.unit.{d.kind}") else ""


def _headers(t: Texts, table: indicators.IndicatorTable) -> list[str]:
    head = [plain(t(f"digest.file.{k}")) for k in ("school_code", "school", "teachers")]
    for d in table.definitions:
        unit = _unit(t, d)
        head.append(f"{d.number}. {plain(title(t, d))}" + (f", {unit}" if unit else ""))
    return head


def _cell(v: indicators.Value | None, d: indicators.IndicatorDef) -> float | str:
    if v is None or v.value is None:
        return SUPPRESSED if v is not None and hidden(v, d) else NO_DATA
    if hidden(v, d):
        return SUPPRESSED
    return round(v.value) if d.kind == "count" else v.value


def _rows(t: Texts, table: indicators.IndicatorTable) -> list[list[Any]]:
    """One row per school, then the total: code, name, teachers, a cell per indicator."""
    out: list[list[Any]] = []
    for row in (*table.schools, table.total):
        is_total = row is table.total
        name = (
            f"{plain(t('digest.file.total'))}: {table.scope_name}" if is_total else row.school_name
        )
        teachers: int | str = row.teachers if row.teachers >= SMALL_GROUP else SUPPRESSED
        out.append(
            [
                "" if is_total else (row.school_code or ""),
                name or "",
                teachers,
                *(_cell(row.values.get(d.code), d) for d in table.definitions),
            ]
        )
    return out


_NUMBER_FORMATS = {"share": "0.0", "mean": "0.0", "count": "0"}


def xlsx_bytes(table: indicators.IndicatorTable, t: Texts, today: date | None = None) -> bytes:
    """Sheet «Показатели»: one row per school and the total, one column per indicator (hidden
    cells «< 5»); sheet «Определения»: code, number, title, definition, unit, plan, direction."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = plain(t("digest.file.sheet_values"))
    ws.append(_headers(t, table))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for values in _rows(t, table):
        ws.append(values)
    for row in ws.iter_rows(min_row=2, min_col=4):
        for d, cell in zip(table.definitions, row, strict=False):
            if isinstance(cell.value, int | float):
                cell.number_format = _NUMBER_FORMATS.get(d.kind, "General")
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    widths = [12, 48, 11] + [16] * len(table.definitions)
    for idx, width in enumerate(widths, start=1):
        ws.column_dimensions[ws.cell(row=1, column=idx).column_letter].width = width
    ws.row_dimensions[1].height = 60
    ws.freeze_panes = "D2"

    defs = wb.create_sheet(plain(t("digest.file.sheet_definitions")))
    defs.append(
        [
            plain(t(f"digest.file.{k}"))
            for k in ("code", "number", "title", "definition", "unit", "plan", "direction")
        ]
    )
    for cell in defs[1]:
        cell.font = Font(bold=True)
    for d in table.definitions:
        defs.append(
            [
                d.code,
                d.number,
                plain(title(t, d)),
                plain(definition(t, d)),
                _unit(t, d),
                d.plan,
                plain(t("digest.file.higher" if d.higher_is_better else "digest.file.lower")),
            ]
        )
    defs.append([])
    defs.append([plain(t("digest.file.note_scope")), table.scope_name])
    defs.append([plain(t("digest.file.note_period")), table.period.label])
    if today is not None:
        defs.append([plain(t("digest.file.note_date")), t.date(today)])
    defs.append([plain(t("digest.file.note_hidden"))])
    for idx, width in enumerate((22, 6, 40, 80, 10, 8, 16), start=1):
        defs.column_dimensions[defs.cell(row=1, column=idx).column_letter].width = width
    for row in defs.iter_rows(min_row=2, min_col=4, max_col=4):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def csv_bytes(table: indicators.IndicatorTable, t: Texts) -> bytes:
    """The «Показатели» sheet as CSV (``;``, UTF-8 with BOM, decimal comma: Excel in Russia
    opens it as it is)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(_headers(t, table))
    for row in _rows(t, table):
        writer.writerow([_decimal(v, 1) if isinstance(v, float) else v for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def _json_value(v: indicators.Value | None, d: indicators.IndicatorDef) -> dict[str, Any]:
    if v is None:
        return {
            "value": None,
            "numerator": None,
            "denominator": None,
            "suppressed": False,
            "text": NO_DATA,
        }
    if hidden(v, d):
        return {
            "value": None,
            "numerator": None,
            "denominator": None,
            "suppressed": True,
            "text": SUPPRESSED,
        }
    return {
        "value": v.value,
        "numerator": v.numerator,
        "denominator": v.denominator,
        "suppressed": False,
        "text": indicators.display(v, d),
    }


def _json_row(row: indicators.Row, table: indicators.IndicatorTable) -> dict[str, Any]:
    small = row.teachers < SMALL_GROUP
    return {
        "school_code": row.school_code,
        "school_name": row.school_name,
        "teachers": None if small else row.teachers,
        "teachers_text": teachers_text(row.teachers),
        "values": {d.code: _json_value(row.values.get(d.code), d) for d in table.definitions},
    }


def json_bytes(table: indicators.IndicatorTable, t: Texts) -> bytes:
    """The same table for machines: definitions, schools, the total and the campaigns; a
    hidden value has no number (``value``/``numerator``/``denominator`` null, ``suppressed``)."""
    data = {
        "scope": table.scope_key,
        "scope_name": table.scope_name,
        "period": {
            "label": table.period.label,
            "start": table.period.start.isoformat(),
            "end": table.period.end.isoformat(),
        },
        "definitions": [
            {
                "code": d.code,
                "number": d.number,
                "kind": d.kind,
                "title": plain(title(t, d)),
                "definition": plain(definition(t, d)),
                "plan": d.plan,
                "higher_is_better": d.higher_is_better,
                "sensitive": d.sensitive,
            }
            for d in table.definitions
        ],
        "schools": [_json_row(r, table) for r in table.schools],
        "total": _json_row(table.total, table),
        "campaigns": [
            {
                "campaign_id": c.campaign_id,
                "instrument_id": c.instrument_id,
                "title": c.title,
                "deadline": c.deadline.isoformat(),
                "answered": None if c.invited < SMALL_GROUP else c.answered,
                "invited": None if c.invited < SMALL_GROUP else c.invited,
            }
            for c in table.campaigns
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def file_stem(table: indicators.IndicatorTable, label: str | None = None) -> str:
    """An ASCII file name without extension: ``indicators-school-12-2026-W42``."""
    key = table.scope_key.replace(":", "-")
    tail = label or table.period.label.replace("/", "-")
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"indicators-{key}-{tail}")


# ---------------------------------------------------------------- one digest, all its parts


@dataclass(frozen=True, slots=True)
class Digest:
    """What a methodist receives for one scope: the text, the chart (None: nothing to draw)
    and the spreadsheet."""

    scope_key: str
    scope_name: str
    text: str
    chart: bytes | None
    xlsx: bytes
    filename: str  # of the spreadsheet
    chart_caption: str
    xlsx_caption: str


@dataclass(frozen=True, slots=True)
class Inputs:
    """Everything a digest is built from, read from the database once per scope."""

    table: indicators.IndicatorTable
    previous: dict[str, float | None] | None
    attention: Attention
    today: date
    week: str


def build(inputs: Inputs, t: Texts) -> Digest:
    """The pure part: text, chart and spreadsheet from the inputs."""
    table = inputs.table
    name = _cut(table.scope_name, NAME_MAX)
    return Digest(
        scope_key=table.scope_key,
        scope_name=table.scope_name,
        text=digest_text(
            table, t, previous=inputs.previous, attention=inputs.attention, today=inputs.today
        ),
        chart=chart_png(table, t),
        xlsx=xlsx_bytes(table, t, inputs.today),
        filename=file_stem(table, inputs.week) + ".xlsx",
        chart_caption=_cut(t("digest.caption.chart", scope=esc(name)), CAPTION_LIMIT),
        xlsx_caption=_cut(t("digest.caption.xlsx", scope=esc(name)), CAPTION_LIMIT),
    )


async def build_async(inputs: Inputs, t: Texts) -> Digest:
    """:func:`build` off the event loop (drawing and writing the spreadsheet take CPU)."""
    return await asyncio.to_thread(build, inputs, t)


# ---------------------------------------------------------------- reading the inputs


def _local(now: datetime, settings: Settings) -> datetime:
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(settings.tz)


async def previous_values(
    session: AsyncSession, key: str, week: str
) -> dict[str, float | None] | None:
    """The values of the last snapshot of the scope before ``week``; None: there is none."""
    snap = await session.scalar(
        select(IndicatorSnapshot)
        .where(IndicatorSnapshot.scope == key, IndicatorSnapshot.period < week)
        .order_by(IndicatorSnapshot.period.desc())
        .limit(1)
    )
    if snap is None:
        return None
    return {
        str(k): (float(v) if isinstance(v, int | float) else None) for k, v in snap.values.items()
    }


async def store_snapshot(
    session: AsyncSession, table: indicators.IndicatorTable, week: str, now: datetime
) -> bool:
    """This week's snapshot of the scope, unless one is stored already (kept as it is)."""
    exists = await session.scalar(
        select(IndicatorSnapshot.id).where(
            IndicatorSnapshot.scope == table.scope_key, IndicatorSnapshot.period == week
        )
    )
    if exists is not None:
        return False
    try:
        async with session.begin_nested():  # another process may store the same week
            session.add(
                IndicatorSnapshot(
                    scope=table.scope_key, period=week, taken_at=now, values=snapshot_values(table)
                )
            )
            await session.flush()
    except IntegrityError:
        return False
    return True


async def _waiting_over_week(session: AsyncSession, key: str, today: date, now: datetime) -> int:
    """Mentoring requests of the scope waiting more than a week (the mentoring figures')."""
    kind, _, target = key.partition(":")
    if kind == ScopeKind.REGION.value:
        _, total = await mentoring_figures(session, today, now)
        return total.waiting_over_7_days
    if kind == ScopeKind.MUNICIPALITY.value:
        _, total = await mentoring_figures(session, today, now, int(target))
        return total.waiting_over_7_days
    school = await session.get(School, int(target))
    if school is None:
        return 0
    rows, _ = await mentoring_figures(session, today, now, school.municipality_id)
    return next((r.waiting_over_7_days for r in rows if r.school_id == school.id), 0)


async def _campaign_starts(
    session: AsyncSession, table: indicators.IndicatorTable, settings: Settings
) -> dict[int, date]:
    ids = [c.campaign_id for c in table.campaigns]
    if not ids:
        return {}
    rows = (
        await session.execute(select(Campaign.id, Campaign.starts_at).where(Campaign.id.in_(ids)))
    ).all()
    return {cid: starts.astimezone(settings.tz).date() for cid, starts in rows}


async def read_inputs(
    session: AsyncSession,
    key: str,
    now: datetime,
    settings: Settings,
    plans: Mapping[str, float] | None = None,
) -> Inputs:
    """The table of the scope for the current academic year, the last snapshot before this
    ISO week, the requests waiting and the campaigns' starts."""
    local = _local(now, settings)
    today = local.date()
    week = iso_week(today)
    if plans is None:
        plans = indicators.load_plans(settings.indicator_plans)
    table = await indicators.compute(
        session,
        scope_key=key,
        period=indicators.academic_year(today),
        today=today,
        now=now,
        plans=plans,
        tz=settings.tz,
    )
    starts = await _campaign_starts(session, table, settings)
    waiting = await _waiting_over_week(session, key, today, now)
    return Inputs(
        table=table,
        previous=await previous_values(session, key, week),
        attention=attention(table, today=today, starts=starts, waiting_over_week=waiting),
        today=today,
        week=week,
    )


# ---------------------------------------------------------------- the weekly job


@dataclass(frozen=True, slots=True)
class Recipient:
    telegram_id: int
    scope_key: str
    language: str
    user_id: int | None


def digest_key(telegram_id: int, key: str, week: str) -> str:
    return f"digest:{telegram_id}:{key}:{week}"


async def recipients(session: AsyncSession, admin_ids: Iterable[int]) -> list[Recipient]:
    """Every methodist with each of their scopes, and every admin with the region; not those
    who blocked the bot. Sorted by Telegram id, then in the order of :func:`scope_keys`."""
    roles = list((await session.execute(select(Role).order_by(Role.id))).scalars())
    admins = set(admin_ids)
    ids = sorted(
        {r.telegram_id for r in roles if r.role in (RoleName.METHODIST.value, RoleName.ADMIN.value)}
        | admins
    )
    if not ids:
        return []
    users = {
        u.telegram_id: u
        for u in (await session.execute(select(User).where(User.telegram_id.in_(ids)))).scalars()
    }
    out: list[Recipient] = []
    for tg in ids:
        user = users.get(tg)
        if user is not None and user.blocked_bot:
            continue
        access = access_of(tg, [r for r in roles if r.telegram_id == tg], admins)
        language = user.language if user is not None else "ru"
        user_id = user.id if user is not None else None
        out += [Recipient(tg, key, language, user_id) for key in scope_keys(access)]
    return out


async def _sent_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found |= set(
            (await session.execute(select(Outbox.key).where(Outbox.key.in_(chunk)))).scalars()
        )
    return found


async def enqueue_digests(session: AsyncSession, now: datetime, settings: Settings) -> int:
    """The weekly digests: for each methodist and each of their scopes one outbox message
    (text, the chart as a photo, the spreadsheet as a document) keyed by the ISO week, so a
    second run in the same week adds nothing; this week's snapshot of each scope is stored
    (kept if it exists). Returns how many messages were added."""
    local = _local(now, settings)
    week = iso_week(local.date())
    everyone = await recipients(session, settings.admin_ids)
    done = await _sent_keys(
        session, [digest_key(r.telegram_id, r.scope_key, week) for r in everyone]
    )
    plans = indicators.load_plans(settings.indicator_plans)
    inputs: dict[str, Inputs] = {}
    built: dict[tuple[str, str], Digest] = {}
    added = 0
    for r in everyone:
        key = digest_key(r.telegram_id, r.scope_key, week)
        if key in done:
            continue
        if r.scope_key not in inputs:
            inputs[r.scope_key] = await read_inputs(session, r.scope_key, now, settings, plans)
            await store_snapshot(session, inputs[r.scope_key].table, week, now)
        lang = (r.scope_key, r.language)
        if lang not in built:
            built[lang] = await build_async(
                inputs[r.scope_key], Translator(r.language, settings.tz)
            )
        digest = built[lang]
        files = [
            *(
                [OutFile("photo", "chart.png", digest.chart, digest.chart_caption)]
                if digest.chart is not None
                else []
            ),
            OutFile("document", digest.filename, digest.xlsx, digest.xlsx_caption),
        ]
        if await enqueue(
            session,
            key=key,
            kind=KIND,
            telegram_id=r.telegram_id,
            user_id=r.user_id,
            text=digest.text,
            files=files,
            due_at=now,
        ):
            added += 1
    return added


# ---------------------------------------------------------------- on demand


@dataclass(frozen=True, slots=True)
class ScopeChoice:
    scope_kind: ScopeKind
    target: int  # the school or municipality id, 0 for the region
    name: str


@dataclass(frozen=True, slots=True)
class ScopeChoices:
    """A person with several scopes chooses one."""

    scopes: tuple[ScopeChoice, ...]


class DigestRefusal(Exception):
    """The scope is not the person's (a forged or stale button)."""


async def _choices(session: AsyncSession, access: Access, t: Texts) -> list[ScopeChoice]:
    keys = scope_keys(access)
    school_ids = [int(k.split(":")[1]) for k in keys if k.startswith("school:")]
    mun_ids = [int(k.split(":")[1]) for k in keys if k.startswith("municipality:")]
    schools: dict[int, str] = {}
    if school_ids:
        rows = await session.execute(
            select(School.id, School.short_name).where(School.id.in_(school_ids))
        )
        schools = {sid: name for sid, name in rows}
    muns: dict[int, str] = {}
    if mun_ids:
        rows = await session.execute(
            select(Municipality.id, Municipality.name).where(Municipality.id.in_(mun_ids))
        )
        muns = {mid: name for mid, name in rows}
    out: list[ScopeChoice] = []
    for k in keys:
        kind, _, target = k.partition(":")
        if kind == ScopeKind.REGION.value:
            out.append(ScopeChoice(ScopeKind.REGION, 0, t("digest.region")))
        elif kind == ScopeKind.SCHOOL.value and int(target) in schools:
            out.append(ScopeChoice(ScopeKind.SCHOOL, int(target), schools[int(target)]))
        elif kind == ScopeKind.MUNICIPALITY.value and int(target) in muns:
            out.append(ScopeChoice(ScopeKind.MUNICIPALITY, int(target), muns[int(target)]))
    return out


async def open_digest(
    session: AsyncSession,
    access: Access,
    kind: ScopeKind,
    target: int,
    now: datetime,
    settings: Settings,
    t: Texts,
) -> Digest:
    """The digest of one of the person's scopes, as it would be sent now (the change since the
    last weekly snapshot). :class:`DigestRefusal` for a scope that is not theirs."""
    key = scope_key(kind, None if kind == ScopeKind.REGION else target)
    if key not in scope_keys(access):
        raise DigestRefusal(key)
    return await build_async(await read_inputs(session, key, now, settings), t)


async def indicators_menu(
    session: AsyncSession, access: Access, now: datetime, settings: Settings, t: Texts
) -> ScopeChoices | Digest:
    """«📈 Показатели»: the digest of the one scope, or the choice among several."""
    choices = await _choices(session, access, t)
    if len(choices) == 1:
        c = choices[0]
        return await open_digest(session, access, c.scope_kind, c.target, now, settings, t)
    return ScopeChoices(tuple(choices))


# ---------------------------------------------------------------- the command line


class ExportError(ValueError):
    """A problem with the command's arguments, phrased for the person who typed them."""


def parse_period(label: str) -> indicators.Period:
    """«2026/2027»: 1 September 2026 – 31 August 2027."""
    first, sep, second = label.strip().partition("/")
    if not (sep and first.isdigit() and second.isdigit() and int(second) == int(first) + 1):
        raise ExportError(f"период указывается как 2026/2027, а не «{label}»")
    return indicators.Period(date(int(first), 9, 1), date(int(second), 8, 31))


async def resolve_scope(session: AsyncSession, text: str) -> str:
    """``school:CODE``, ``municipality[:CODE]`` or ``region`` as a scope key."""
    kind, _, code = text.strip().partition(":")
    if kind == ScopeKind.REGION.value and not code:
        return ScopeKind.REGION.value
    if kind == ScopeKind.SCHOOL.value and code:
        school_id = await session.scalar(select(School.id).where(School.code == code))
        if school_id is None:
            raise ExportError(f"нет школы с кодом {code}")
        return scope_key(ScopeKind.SCHOOL, school_id)
    if kind == ScopeKind.MUNICIPALITY.value:
        if code:
            mun_id = await session.scalar(select(Municipality.id).where(Municipality.code == code))
            if mun_id is None:
                raise ExportError(f"нет муниципалитета с кодом {code}")
            return scope_key(ScopeKind.MUNICIPALITY, mun_id)
        found = [
            (mid, mcode)
            for mid, mcode in await session.execute(
                select(Municipality.id, Municipality.code).order_by(Municipality.code)
            )
        ]
        if len(found) == 1:
            return scope_key(ScopeKind.MUNICIPALITY, found[0][0])
        if not found:
            raise ExportError("в базе нет ни одного муниципалитета")
        codes = ", ".join(c for _, c in found)
        raise ExportError(f"муниципалитетов несколько, укажите код: municipality:КОД ({codes})")
    raise ExportError(
        f"охват указывается как school:КОД, municipality[:КОД] или region, а не «{text}»"
    )


@dataclass(frozen=True, slots=True)
class Export:
    data: bytes
    filename: str
    schools: int
    scope_name: str
    period: str


async def export_table(
    session: AsyncSession,
    *,
    scope: str,
    fmt: str,
    now: datetime,
    settings: Settings,
    period: str | None = None,
) -> Export:
    """``pedbot export indicators``: the table of a scope as XLSX, CSV or JSON.
    :class:`ExportError` for an unknown scope, format or period."""
    if fmt not in FORMATS:
        raise ExportError(f"формат — xlsx, csv или json, а не «{fmt}»")
    local = _local(now, settings)
    today = local.date()
    chosen = parse_period(period) if period else indicators.academic_year(today)
    key = await resolve_scope(session, scope)
    table = await indicators.compute(
        session,
        scope_key=key,
        period=chosen,
        today=min(today, chosen.end),
        now=now,
        plans=indicators.load_plans(settings.indicator_plans),
        tz=settings.tz,
    )
    t = Translator("ru", settings.tz)
    if fmt == "xlsx":
        data = xlsx_bytes(table, t, today)
    elif fmt == "csv":
        data = csv_bytes(table, t)
    else:
        data = json_bytes(table, t)
    return Export(
        data, f"{file_stem(table)}.{fmt}", len(table.schools), table.scope_name, table.period.label
    )
