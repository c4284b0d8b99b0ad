"""The route as a DOCX document, in the form Russian schools use for an ИОМ.

A title («Индивидуальный образовательный маршрут педагога»), the teacher's name,
organisation, position and the period, then a table — Блок (компетенция), Уровень дефицита,
Мероприятие (шаг), Форма, Срок, Отметка о выполнении — and the signature lines.

A mentoring step answers no deficit block: its row is filed under «Наставничество»
(``route.docx.mentoring``) without a deficit level, and its title names the mentor when the
caller knows one (:func:`mentor_title`).

Texts come from the caller's translator (``route.docx.*``, ``block.*`` …), so the
document follows the teacher's language; nothing here knows about Telegram.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt

from models import Route, RouteStep, StepKind, StepStatus

COLUMNS = ("block", "level", "step", "form", "term", "mark")
WIDTHS_CM = (4.2, 3.2, 8.8, 3.8, 2.6, 4.4)


class Texts(Protocol):
    """What the document needs of a translator (``bot.i18n.Translator`` fits)."""

    def __call__(self, key: str, /, **params: Any) -> str: ...

    def date(self, value: datetime | date) -> str: ...


class StepKindForm(Protocol):
    """What :func:`step_form` reads of a step (a ``RouteStep`` or a step's view model)."""

    @property
    def kind(self) -> str: ...

    @property
    def form(self) -> str | None: ...


@dataclass(frozen=True)
class TeacherLine:
    name: str
    organisation: str
    position: str


def _label(t: Texts, prefix: str, code: str | None) -> str:
    if not code:
        return "—"
    key = f"{prefix}.{code}"
    return t(key) if _has(t, key) else code


def _has(t: Texts, key: str) -> bool:
    has = getattr(t, "has", None)
    if callable(has):
        return bool(has(key))
    try:
        t(key)
    except KeyError:
        return False
    return True


def block_label(t: Texts, block: str | None) -> str:
    """The block's label (``block.*`` texts)."""
    if not block:
        return "—"
    key = f"block.{block}"
    return t(key) if _has(t, key) else block


def level_label(t: Texts, level: str | None) -> str:
    return _label(t, "route.level", level)


def step_form(step: StepKindForm, t: Texts) -> str:
    kind = _label(t, "route.kind", step.kind)
    return f"{kind}, {_label(t, 'route.form', step.form)}" if step.form else kind


def is_mentoring(step: StepKindForm) -> bool:
    """A mentoring step: filed under «Наставничество», whatever block an older one has."""
    return step.kind == StepKind.MENTORING.value


def mentor_title(title: str, mentor: str | None) -> str:
    """The mentor's name in a mentoring step's title: «Работа с наставником: …» →
    «Работа с наставником (Петрова А. И.): …» (after the whole title when it has no colon)."""
    if not mentor or f"({mentor})" in title:
        return title
    head, colon, tail = title.partition(":")
    return f"{head} ({mentor}){colon}{tail}" if colon else f"{title} ({mentor})"


def step_mark(step: RouteStep, t: Texts) -> str:
    if step.status == StepStatus.DONE.value:
        when = t.date(step.done_at) if step.done_at else ""
        return t("route.docx.mark_done", date=when)
    if step.status == StepStatus.CLOSED.value:
        return t("route.docx.mark_closed", reason=step.closed_reason or "")
    return ""


def period(route: Route) -> tuple[date, date]:
    start = (route.activated_at or route.created_at).date()
    end = max((s.target_date for s in route.steps), default=start)
    return start, max(start, end)


def _cell_text(cell: Any, text: str, *, bold: bool = False, size: float = 10) -> None:
    cell.text = ""
    run = cell.paragraphs[0].add_run(text)
    run.bold = bold
    run.font.size = Pt(size)


def route_docx(
    route: Route,
    teacher: TeacherLine,
    t: Texts,
    *,
    diagnosed_on: datetime | date | None = None,
    mentor: str | None = None,
) -> bytes:
    """The route as DOCX bytes (steps in route order); ``mentor`` is named in the title of
    a mentoring step."""
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.5))
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"  # type: ignore[attr-defined]
    style.font.size = Pt(12)  # type: ignore[attr-defined]

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(t("route.docx.title"))
    run.bold = True
    run.font.size = Pt(14)

    start, end = period(route)
    for key, value in (
        ("route.docx.teacher", teacher.name),
        ("route.docx.organisation", teacher.organisation),
        ("route.docx.position", teacher.position),
        ("route.docx.period", t("route.docx.period_value", start=t.date(start), end=t.date(end))),
    ):
        para = doc.add_paragraph()
        para.add_run(t(key) + " ").bold = True
        para.add_run(value or "—")
    if diagnosed_on is not None:
        doc.add_paragraph(t("route.docx.basis", date=t.date(diagnosed_on)))

    table = doc.add_table(rows=1, cols=len(COLUMNS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, col in zip(table.rows[0].cells, COLUMNS, strict=True):
        _cell_text(cell, t(f"route.docx.col.{col}"), bold=True)
    for step in route.steps:
        mentoring = is_mentoring(step)
        values = (
            t("route.docx.mentoring") if mentoring else block_label(t, step.block),
            "—" if mentoring else level_label(t, step.level),
            mentor_title(step.title, mentor) if mentoring else step.title,
            step_form(step, t),
            t.date(step.target_date),
            step_mark(step, t),
        )
        for cell, value in zip(table.add_row().cells, values, strict=True):
            _cell_text(cell, value)
    for row in table.rows:
        for cell, width in zip(row.cells, WIDTHS_CM, strict=True):
            cell.width = Cm(width)

    doc.add_paragraph()
    doc.add_paragraph(t("route.docx.sign_teacher", name=teacher.name or ""))
    doc.add_paragraph(t("route.docx.sign_methodist"))
    doc.add_paragraph(t("route.docx.sign_date"))

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
