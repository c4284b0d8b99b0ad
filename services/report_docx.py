"""«Аналитическая справка» as a DOCX document: what methodists write by hand today from the
monitoring spreadsheets.

Sections, from the same scope's indicator tables over the periods held (oldest first, the
last one current):

1. the title, the scope, the period and the date;
2. the indicators against plan: a column per period (the dynamics), the plan, the gap
   between the current value and the plan, the change since the previous period; the
   running questionnaire campaigns;
3. the deficit profile by block: shares with a high and a medium level, for the scope and
   per school;
4. where the scope stands against its plan: how many planned indicators are met, which are
   not, and per school;
5. «Адресные рекомендации»: for each school, the texts of the rules that hold
   (:mod:`services.report_rules`), with the catalog's programmes for a block.

Privacy: a value the indicators suppress, and any figure of a group under five teachers,
prints «< 5» (:func:`services.report_rules.shown`); a gap or a change is not printed for a
hidden value, since it would give the value back. Nothing in the document is about one
person. Texts come from the caller's translator (``report.docx.*``, ``indicators.*``,
``block.*``); nothing here knows about Telegram.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt, RGBColor

from services.indicators import IndicatorDef, IndicatorTable, Row, Value
from services.report_rules import (
    SMALL_GROUP,
    Recommendation,
    Rule,
    gap_text,
    hidden,
    plan_text,
    recommendations,
    shown,
)
from services.route_docx import Texts, block_name

HIDDEN = "< 5"
LEVELS = ("high", "medium")
_DEFICIT = re.compile(r"^deficit_([a-z]+)_(high|medium)$")


def _has(t: Texts, key: str) -> bool:
    has = getattr(t, "has", None)
    if callable(has):
        return bool(has(key))
    try:
        t(key)
    except KeyError:
        return False
    return True


def title_of(t: Texts, d: IndicatorDef) -> str:
    key = f"indicators.{d.code}.title"
    return t(key) if _has(t, key) else d.code


def teachers_text(n: int) -> str:
    return HIDDEN if 0 < n < SMALL_GROUP else str(n)


def deficit_blocks(defs: Sequence[IndicatorDef]) -> list[str]:
    """The blocks with a ``deficit_<block>_high`` or ``_medium`` indicator, in list order."""
    blocks: list[str] = []
    for d in defs:
        m = _DEFICIT.match(d.code)
        if m and m.group(1) not in blocks:
            blocks.append(m.group(1))
    return blocks


def is_deficit(d: IndicatorDef) -> bool:
    return bool(_DEFICIT.match(d.code))


def standing(v: Value | None, d: IndicatorDef, row: Row) -> str | None:
    """``"met"``, ``"below"`` (worse than plan) or None (no plan, no data, or hidden)."""
    if d.plan is None or v is None or v.value is None or hidden(v, d, row):
        return None
    worse = v.value < d.plan if d.higher_is_better else v.value > d.plan
    return "below" if worse else "met"


def _visible(v: Value | None, d: IndicatorDef, row: Row) -> float | None:
    if v is None or v.value is None or hidden(v, d, row):
        return None
    return v.value


# ---------------------------------------------------------------- document helpers


def _cell(cell: Any, text: str, *, bold: bool = False, size: float = 9) -> None:
    cell.text = ""
    run = cell.paragraphs[0].add_run(text)
    run.bold = bold
    run.font.size = Pt(size)


def _table(doc: Any, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Any:
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        _cell(cell, text, bold=True)
    for values in rows:
        for cell, text in zip(table.add_row().cells, values, strict=True):
            _cell(cell, text)
    return table


def _heading(doc: Any, text: str, level: int) -> None:
    heading = doc.add_heading(text, level=level)
    for run in heading.runs:
        run.font.name = "Times New Roman"
        run.font.color.rgb = RGBColor(0, 0, 0)
    if level == 0:
        heading.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _line(doc: Any, label: str, value: str) -> None:
    para = doc.add_paragraph()
    para.add_run(label + " ").bold = True
    para.add_run(value)


def _new_document() -> Any:
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.5))
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(12)
    return doc


# ---------------------------------------------------------------- sections


def _summary(doc: Any, tables: Sequence[IndicatorTable], t: Texts) -> None:
    current = tables[-1]
    previous = tables[-2] if len(tables) > 1 else None
    header = [
        t("report.docx.col.number"),
        t("report.docx.col.indicator"),
        *[tb.period.label for tb in tables],
        t("report.docx.col.plan"),
        t("report.docx.col.gap"),
        t("report.docx.col.change"),
    ]
    rows: list[list[str]] = []
    for d in current.definitions:
        if is_deficit(d):
            continue  # the deficit profile has its own section
        values = [shown(tb.total.values.get(d.code), d, tb.total) for tb in tables]
        now = _visible(current.total.values.get(d.code), d, current.total)
        gap = gap_text(now - d.plan, d) if now is not None and d.plan is not None else "—"
        change = "—"
        if previous is not None and now is not None:
            before = _visible(previous.total.values.get(d.code), d, previous.total)
            if before is not None:
                change = gap_text(now - before, d)
        rows.append([str(d.number), title_of(t, d), *values, plan_text(d), gap, change])
    if rows:
        _table(doc, header, rows)
        doc.add_paragraph(t("report.docx.summary_note", hidden=HIDDEN))
    else:
        doc.add_paragraph(t("report.docx.no_data"))
    if current.campaigns:
        doc.add_paragraph().add_run(t("report.docx.campaigns")).bold = True
        _table(
            doc,
            [
                t("report.docx.col.campaign"),
                t("report.docx.col.deadline"),
                t("report.docx.col.answered"),
                t("report.docx.col.invited"),
            ],
            [
                [
                    c.title,
                    c.deadline.strftime("%d.%m.%Y"),
                    HIDDEN if c.invited < SMALL_GROUP else str(c.answered),
                    teachers_text(c.invited),
                ]
                for c in current.campaigns
            ],
        )


def _profile(doc: Any, table: IndicatorTable, t: Texts, per_school: bool) -> None:
    defs = {d.code: d for d in table.definitions}
    blocks = deficit_blocks(table.definitions)
    if not blocks:
        doc.add_paragraph(t("report.docx.no_data"))
        return

    def value(row: Row, block: str, level: str) -> str:
        d = defs.get(f"deficit_{block}_{level}")
        return "—" if d is None else shown(row.values.get(d.code), d, row)

    _table(
        doc,
        [t("report.docx.col.block"), t("report.docx.col.high"), t("report.docx.col.medium")],
        [[block_name(t, b), *(value(table.total, b, lv) for lv in LEVELS)] for b in blocks],
    )
    if not per_school or not table.schools:
        return
    doc.add_paragraph().add_run(t("report.docx.profile_schools")).bold = True
    # two header rows: a block's name across its two cells, the levels under it
    grid = doc.add_table(rows=2, cols=1 + len(blocks) * len(LEVELS))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    top, under = grid.rows[0].cells, grid.rows[1].cells
    for i, block in enumerate(blocks):
        for j, level in enumerate(LEVELS):
            _cell(under[1 + 2 * i + j], t(f"report.docx.col.{level}"), bold=True)
        _cell(top[1 + 2 * i].merge(top[2 + 2 * i]), block_name(t, block), bold=True)
    _cell(top[0].merge(under[0]), t("report.docx.col.school"), bold=True)
    for row in table.schools:
        texts = [row.school_name or "", *(value(row, b, lv) for b in blocks for lv in LEVELS)]
        for cell, text in zip(grid.add_row().cells, texts, strict=True):
            _cell(cell, text)


def _standing(doc: Any, table: IndicatorTable, t: Texts, per_school: bool) -> None:
    planned = [d for d in table.definitions if d.plan is not None]
    if not planned:
        doc.add_paragraph(t("report.docx.no_plan"))
        return
    marks = {d.code: standing(table.total.values.get(d.code), d, table.total) for d in planned}
    met = sum(1 for m in marks.values() if m == "met")
    below = [d for d in planned if marks[d.code] == "below"]
    unknown = sum(1 for m in marks.values() if m is None)
    doc.add_paragraph(
        t(
            "report.docx.standing",
            scope=table.scope_name,
            met=met,
            planned=len(planned),
            unknown=unknown,
        )
    )
    if below:
        doc.add_paragraph(t("report.docx.below_list"))
        for d in below:
            v = table.total.values[d.code]
            now = v.value if v.value is not None else 0.0
            doc.add_paragraph(
                t(
                    "report.docx.below_item",
                    indicator=title_of(t, d),
                    value=shown(v, d, table.total),
                    plan=plan_text(d),
                    gap=gap_text(now - (d.plan or 0.0), d),
                ),
                style="List Bullet",
            )
    else:
        doc.add_paragraph(t("report.docx.all_met"))
    if not per_school or not table.schools:
        return
    doc.add_paragraph().add_run(t("report.docx.standing_schools")).bold = True
    rows = []
    for row in table.schools:
        per = [standing(row.values.get(d.code), d, row) for d in planned]
        rows.append(
            [
                row.school_name or "",
                teachers_text(row.teachers),
                str(per.count("met")),
                str(per.count("below")),
                str(per.count(None)),
            ]
        )
    _table(
        doc,
        [
            t("report.docx.col.school"),
            t("report.docx.col.teachers"),
            t("report.docx.col.met"),
            t("report.docx.col.below"),
            t("report.docx.col.unknown"),
        ],
        rows,
    )


def _recommendations(doc: Any, recs: Sequence[Recommendation], t: Texts) -> None:
    if not recs:
        doc.add_paragraph(t("report.docx.no_recommendations"))
        return
    school: tuple[int | None, str | None] | None = None
    for rec in recs:
        if (rec.school_id, rec.school_name) != school:
            school = (rec.school_id, rec.school_name)
            _heading(doc, rec.school_name or rec.school_code or "—", 2)
        doc.add_paragraph(rec.text, style="List Bullet")
        kind, _, arg = (rec.action or "").partition(":")
        if kind == "catalog_block":
            if rec.programmes:
                doc.add_paragraph(t("report.docx.programmes", block=block_name(t, arg).lower()))
                for title in rec.programmes:
                    doc.add_paragraph(title, style="List Bullet 2")
            else:
                doc.add_paragraph(t("report.docx.no_programmes", block=block_name(t, arg)))
        elif kind == "campaign":
            doc.add_paragraph(t("report.docx.action.campaign", instrument=arg))
        elif kind == "mentor_queue":
            doc.add_paragraph(t("report.docx.action.mentor_queue"))


def build_report(
    tables: Sequence[IndicatorTable],
    rules: Sequence[Rule],
    catalog: Mapping[str, Sequence[str]],
    today: date,
    *,
    t: Texts,
) -> bytes:
    """The analytic report as DOCX bytes. ``tables``: one scope over the periods held, oldest
    first (the last is the current one); ``catalog``: active programme titles per block."""
    if not tables:
        raise ValueError("build_report needs at least the current period's table")
    current = tables[-1]
    per_school = not current.scope_key.startswith("school:") and len(current.schools) > 0
    doc = _new_document()

    _heading(doc, t("report.docx.title"), 0)
    sub = doc.add_paragraph(t("report.docx.subtitle"))
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _line(doc, t("report.docx.scope"), current.scope_name)
    _line(doc, t("report.docx.period"), current.period.label)
    if len(tables) > 1:
        _line(doc, t("report.docx.periods"), ", ".join(tb.period.label for tb in tables))
    _line(doc, t("report.docx.date"), today.strftime("%d.%m.%Y"))
    _line(doc, t("report.docx.teachers"), teachers_text(current.total.teachers))
    if per_school:
        _line(doc, t("report.docx.schools"), str(len(current.schools)))

    _heading(doc, t("report.docx.h.summary"), 1)
    _summary(doc, tables, t)
    _heading(doc, t("report.docx.h.profile"), 1)
    _profile(doc, current, t, per_school)
    _heading(doc, t("report.docx.h.standing"), 1)
    _standing(doc, current, t, per_school)
    _heading(doc, t("report.docx.h.recommendations"), 1)
    _recommendations(doc, recommendations(current, rules, catalog), t)

    doc.add_paragraph()
    doc.add_paragraph(t("report.docx.privacy"))
    doc.add_paragraph(t("report.docx.sign"))

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
