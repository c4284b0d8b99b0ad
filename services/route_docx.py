"""The route as a DOCX document, in the form a school accepts for an ИОМ.

* «УТВЕРЖДАЮ» for the head of the organisation, top right; the title;
* the header: ФИО, должность, образовательная организация, предметы, педагогический стаж,
  квалификационная категория (with its term when known), период реализации, the date of
  the self-assessment with the result of each block (percent of mastery and the level of
  deficit);
* цель, задачи and тема самообразования: there is no field for them in the bot, so they are
  derived from the self-assessment (a task per block with a high or medium deficit, the
  topic of the most severe one) and the document says so: the teacher corrects them in Word
  before signing;
* the table: № п/п, направление (блок) and the level of deficit, мероприятие with its
  provider and hours (from the catalog), форма, срок, планируемый результат / форма
  предъявления, отметка о выполнении (the date, and the certificate number of the recorded
  course that closed the step);
* signatures: педагог, наставник (when the route has a mentoring step and a mentor), the
  date.

Layout that holds in LibreOffice and МойОфис / Р7-Офис, which do not all honour cell widths
alone: the table has a fixed layout, its width and a grid (``w:tblGrid`` / ``w:gridCol``) in
twips, and every cell the width of its grid column; the header row repeats on each page
(``w:tblHeader``); no row is split across pages (``w:cantSplit``). Straight quotes in names
(«МБОУ "СОШ № 1"») become «ёлочки» (:func:`russian_quotes`).

A mentoring step answers no deficit block: its row is filed under «Наставничество»
(``route.docx.mentoring``) without a deficit level, and its title names the mentor when the
caller knows one (:func:`mentor_title`).

Texts come from the caller's translator (``route.docx.*``, ``block_name.*`` …), so the
document follows the teacher's language; nothing here knows about Telegram.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from models import Route, RouteStep, StepKind, StepStatus

COLUMNS = ("n", "block", "step", "form", "term", "result", "mark")
# landscape A4 with 1.5 cm margins: 26.7 cm of text width, all of it for the table
WIDTHS_CM = (1.0, 4.2, 7.4, 3.0, 2.4, 4.5, 4.2)
TWIPS_PER_CM = 1440 / 2.54
DEFICIT_ORDER = ("high", "medium")


def twips(cm: float) -> int:
    return round(cm * TWIPS_PER_CM)


class Texts(Protocol):
    """What the document needs of a translator (``bot.i18n.Translator`` fits)."""

    def __call__(self, key: str, /, **params: Any) -> str: ...

    def date(self, value: datetime | date) -> str: ...

    def plural(self, key: str, n: int, /, **params: Any) -> str: ...


class StepKindForm(Protocol):
    """What :func:`step_form` reads of a step (a ``RouteStep`` or a step's view model)."""

    @property
    def kind(self) -> str: ...

    @property
    def form(self) -> str | None: ...


@dataclass(frozen=True)
class TeacherLine:
    """The header's facts about the teacher, already in words (labels, not codes)."""

    name: str
    organisation: str
    position: str
    subjects: str = ""
    experience: str = ""  # «18 лет (с 2008 года)»
    category: str = ""  # «высшая, действует до 01.03.2029»


@dataclass(frozen=True)
class BlockResult:
    """One block of the self-assessment the route was built from."""

    block: str
    score: float | None
    level: str | None


@dataclass(frozen=True)
class StepSource:
    """What the catalog and the recorded course add to a step's row."""

    provider: str | None = None
    hours: int | None = None
    certificate: str | None = None  # the number of the recorded course that closed it


@dataclass(frozen=True)
class RouteFacts:
    """Everything the document shows besides the route's own rows."""

    teacher: TeacherLine
    diagnosed_on: datetime | date | None = None
    results: tuple[BlockResult, ...] = ()
    sources: Mapping[int, StepSource] = field(default_factory=dict)  # by step id
    mentor: str | None = None


def _has(t: Texts, key: str) -> bool:
    has = getattr(t, "has", None)
    if callable(has):
        return bool(has(key))
    try:
        t(key)
    except KeyError:
        return False
    return True


def _label(t: Texts, prefix: str, code: str | None) -> str:
    if not code:
        return "—"
    key = f"{prefix}.{code}"
    return t(key) if _has(t, key) else code


def block_label(t: Texts, block: str | None) -> str:
    """The block's label as an adjective of «компетенция» (``block.*`` texts)."""
    return _label(t, "block", block)


def block_name(t: Texts, block: str | None) -> str:
    """The block as a noun phrase: «Предметный блок» (``block_name.*`` texts)."""
    return _label(t, "block_name", block)


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


_QUOTED = re.compile(r"[\"“”„]([^\"“”„]*)[\"“”„]")


def russian_quotes(text: str) -> str:
    """Straight and English quotes around a name become «ёлочки»: МБОУ "СОШ № 1" →
    МБОУ «СОШ № 1» (pairs only; an odd quote is left as it is)."""
    return _QUOTED.sub(r"«\1»", text)


def step_mark(step: RouteStep, t: Texts, certificate: str | None = None) -> str:
    if step.status == StepStatus.DONE.value:
        when = t.date(step.done_at) if step.done_at else ""
        mark = t("route.docx.mark_done", date=when)
        if certificate:
            mark += "\n" + t("route.docx.mark_certificate", number=certificate)
        return mark
    if step.status == StepStatus.CLOSED.value:
        return t("route.docx.mark_closed", reason=step.closed_reason or "")
    return ""


def period(route: Route) -> tuple[date, date]:
    start = (route.activated_at or route.created_at).date()
    end = max((s.target_date for s in route.steps), default=start)
    return start, max(start, end)


def deficits(results: Sequence[BlockResult]) -> list[BlockResult]:
    """Blocks with a high or medium deficit, the most severe first (high before medium,
    then the lower score)."""
    found = [r for r in results if r.level in DEFICIT_ORDER]
    return sorted(
        found,
        key=lambda r: (DEFICIT_ORDER.index(r.level or ""), r.score if r.score is not None else 0),
    )


def goal_and_tasks(results: Sequence[BlockResult], t: Texts) -> tuple[str, list[str], str]:
    """The default goal, tasks and topic of self-education from the self-assessment."""
    found = deficits(results)
    if not found:
        return t("route.docx.goal_none"), [t("route.docx.task_none")], t("route.docx.topic_none")
    names = ", ".join(
        f"{block_name(t, r.block).lower()} ({level_label(t, r.level)})" for r in found
    )
    tasks = [
        t(f"route.docx.task.{r.block}") for r in found if _has(t, f"route.docx.task.{r.block}")
    ]
    tasks.append(t("route.docx.task_apply"))
    topic_key = f"route.docx.topic.{found[0].block}"
    topic = t(topic_key) if _has(t, topic_key) else t("route.docx.topic_none")
    return t("route.docx.goal", blocks=names), tasks, topic


# ---------------------------------------------------------------- the table's XML


def _set(parent: Any, tag: str, **attrs: str) -> Any:
    """The child ``tag`` of ``parent`` (created when missing) with these ``w:`` attributes."""
    child = parent.find(qn(tag))
    if child is None:
        child = OxmlElement(tag)
        parent.append(child)
    for name, value in attrs.items():
        child.set(qn(f"w:{name}"), value)
    return child


def _fix_layout(table: Any, widths: Sequence[float]) -> None:
    """Width, fixed layout and grid of the table in twips; each cell its column's width."""
    tbl = table._tbl
    tbl_pr = tbl.tblPr
    _set(tbl_pr, "w:tblW", w=str(sum(twips(w) for w in widths)), type="dxa")
    _set(tbl_pr, "w:tblLayout", type="fixed")
    grid = tbl.tblGrid
    for col in list(grid):
        grid.remove(col)
    for width in widths:
        col = OxmlElement("w:gridCol")
        col.set(qn("w:w"), str(twips(width)))
        grid.append(col)
    for row in table.rows:
        for cell, width in zip(row.cells, widths, strict=True):
            cell.width = Cm(width)
            _set(cell._tc.get_or_add_tcPr(), "w:tcW", w=str(twips(width)), type="dxa")


def _row_flags(row: Any, *, header: bool) -> None:
    """A row is never split across pages; the header row repeats on each page."""
    tr_pr = row._tr.get_or_add_trPr()
    _set(tr_pr, "w:cantSplit")
    if header:
        _set(tr_pr, "w:tblHeader")


def _cell_text(cell: Any, text: str, *, bold: bool = False, size: float = 10) -> None:
    cell.text = ""
    lines = text.split("\n")
    para = cell.paragraphs[0]
    for i, line in enumerate(lines):
        run = para.add_run(line)
        run.bold = bold
        run.font.size = Pt(size)
        if i < len(lines) - 1:
            run.add_break()


def _line(doc: Any, label: str, value: str) -> None:
    para = doc.add_paragraph()
    para.paragraph_format.space_after = Pt(2)
    para.add_run(label + " ").bold = True
    para.add_run(value or "—")


def _approval(doc: Any, t: Texts, organisation: str) -> None:
    """«УТВЕРЖДАЮ» for the head of the organisation, at the top right."""
    for i, key in enumerate(("approve", "approve_head", "approve_sign", "approve_date")):
        para = doc.add_paragraph()
        para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        para.paragraph_format.space_after = Pt(0)
        text = t(f"route.docx.{key}", organisation=organisation or "")
        run = para.add_run(text)
        run.bold = i == 0


def route_docx(route: Route, facts: RouteFacts, t: Texts) -> bytes:
    """The route as DOCX bytes (steps in route order)."""
    teacher = facts.teacher
    organisation = russian_quotes(teacher.organisation)
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.5))
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"  # type: ignore[attr-defined]
    style.font.size = Pt(12)  # type: ignore[attr-defined]

    _approval(doc, t, organisation)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(t("route.docx.title"))
    run.bold = True
    run.font.size = Pt(14)

    start, end = period(route)
    for key, value in (
        ("teacher", teacher.name),
        ("position", teacher.position),
        ("organisation", organisation),
        ("subjects", teacher.subjects),
        ("experience", teacher.experience),
        ("category", teacher.category),
        ("period", t("route.docx.period_value", start=t.date(start), end=t.date(end))),
    ):
        _line(doc, t(f"route.docx.{key}"), value)
    if facts.diagnosed_on is not None:
        results = [
            t(
                "route.docx.result_line",
                block=block_name(t, r.block),
                score=f"{r.score:.1f}".replace(".", ",") if r.score is not None else "—",
                level=level_label(t, r.level),
            )
            for r in facts.results
        ]
        _line(
            doc,
            t("route.docx.diagnosis", date=t.date(facts.diagnosed_on)),
            "; ".join(results) if results else "—",
        )

    goal, tasks, topic = goal_and_tasks(facts.results, t)
    _line(doc, t("route.docx.goal_label"), goal)
    para = doc.add_paragraph()
    para.paragraph_format.space_after = Pt(2)
    para.add_run(t("route.docx.tasks_label")).bold = True
    for n, task in enumerate(tasks, start=1):
        item = doc.add_paragraph(f"{n}. {task}")
        item.paragraph_format.space_after = Pt(0)
    _line(doc, t("route.docx.topic_label"), topic)
    note = doc.add_paragraph()
    note_run = note.add_run(t("route.docx.derived_note"))
    note_run.italic = True
    note_run.font.size = Pt(10)

    table = doc.add_table(rows=1, cols=len(COLUMNS))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for cell, col in zip(table.rows[0].cells, COLUMNS, strict=True):
        _cell_text(cell, t(f"route.docx.col.{col}"), bold=True)
    _row_flags(table.rows[0], header=True)
    for n, step in enumerate(route.steps, start=1):
        source = facts.sources.get(step.id, StepSource())
        mentoring = is_mentoring(step)
        if mentoring:
            direction = t("route.docx.mentoring")
        else:
            direction = block_name(t, step.block)
            if step.level:
                direction += "\n" + level_label(t, step.level)
        activity = russian_quotes(
            mentor_title(step.title, facts.mentor) if mentoring else step.title
        )
        details = []
        if source.provider:
            details.append(russian_quotes(source.provider))
        if source.hours:
            details.append(t("route.docx.hours", hours=source.hours))
        if details:
            activity += "\n" + ", ".join(details)
        result_key = f"route.docx.result.{step.kind}"
        values = (
            str(n),
            direction,
            activity,
            step_form(step, t),
            t("route.docx.term_value", date=t.date(step.target_date)),
            t(result_key) if _has(t, result_key) else "",
            step_mark(step, t, source.certificate),
        )
        row = table.add_row()
        for cell, value in zip(row.cells, values, strict=True):
            _cell_text(cell, value)
        _row_flags(row, header=False)
    _fix_layout(table, WIDTHS_CM)

    doc.add_paragraph()
    doc.add_paragraph(t("route.docx.sign_teacher", name=teacher.name or ""))
    if facts.mentor and any(is_mentoring(s) for s in route.steps):
        doc.add_paragraph(t("route.docx.sign_mentor", name=facts.mentor))
    doc.add_paragraph(t("route.docx.sign_methodist"))
    doc.add_paragraph(t("route.docx.sign_date"))

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
