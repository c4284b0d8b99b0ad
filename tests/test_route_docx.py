"""The ИОМ document a school accepts: its header, goal and tasks, the table read back (grid
widths in twips, the header row repeated on each page, rows never split) and signatures."""

from __future__ import annotations

import io
from datetime import date

import docx
from docx.oxml.ns import qn
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator, plural_form
from models import Course, Municipality, School, UserSubject
from services import routes as svc
from services.instruments import InstrumentRegistry
from services.people import get_user
from services.route_docx import (
    WIDTHS_CM,
    BlockResult,
    goal_and_tasks,
    russian_quotes,
    twips,
)
from tests.helpers import add_route_catalog
from tests.test_routes_unit import NOW, TODAY, make_teacher, registry, self_assess

__all__ = ["registry"]  # the fixture, used by name

RU = Translator("ru")


def test_plural_forms_and_experience() -> None:
    forms = {n: plural_form(n) for n in (0, 1, 2, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111)}
    assert forms == {
        0: "many",
        1: "one",
        2: "few",
        4: "few",
        5: "many",
        11: "many",
        12: "many",
        14: "many",
        21: "one",
        22: "few",
        25: "many",
        101: "one",
        111: "many",
    }
    assert svc.experience_text(2008, TODAY, RU) == "18 лет (с 2008 года)"
    assert svc.experience_text(2005, TODAY, RU) == "21 год (с 2005 года)"
    assert svc.experience_text(2023, TODAY, RU) == "3 года (с 2023 года)"
    assert svc.experience_text(2026, TODAY, RU) == "первый год работы (с 2026 года)"
    assert svc.experience_text(None, TODAY, RU) == ""


def test_quotes_goal_and_topic() -> None:
    assert russian_quotes('МБОУ "СОШ № 1"') == "МБОУ «СОШ № 1»"
    assert russian_quotes("ГАУ ДПО “ИРО”") == "ГАУ ДПО «ИРО»"
    assert russian_quotes('один " знак') == 'один " знак'
    goal, tasks, topic = goal_and_tasks(
        [
            BlockResult("subject", 80.0, "minimal"),
            BlockResult("psychological", 55.0, "medium"),
            BlockResult("methodical", 40.0, "high"),
        ],
        RU,
    )
    # the most severe block first; its topic
    assert goal.index("методический блок (высокий дефицит)") < goal.index(
        "психолого-педагогический блок (средний дефицит)"
    )
    assert "предметный" not in goal
    assert len(tasks) == 3 and tasks[0].startswith("Освоить современные методы")
    assert topic.startswith("Применение современных образовательных технологий")
    goal, tasks, topic = goal_and_tasks([BlockResult("subject", 90.0, "minimal")], RU)
    assert "не выявлено" in goal and len(tasks) == 1 and topic.startswith("Обобщение")


def _w(element: object, tag: str) -> str | None:
    child = element.find(qn(tag))  # type: ignore[attr-defined]
    return None if child is None else child.get(qn("w:w")) or child.get(qn("w:type")) or "on"


async def test_the_iom_document_a_school_accepts(
    session: AsyncSession, registry: InstrumentRegistry
) -> None:
    mun = Municipality(code="m1", name="Энский округ")
    session.add(mun)
    await session.flush()
    school = School(
        municipality_id=mun.id,
        code="s1",
        name='МБОУ "Средняя общеобразовательная школа № 1"',
        short_name="Школа № 1",
    )
    session.add(school)
    teacher = await make_teacher(session)
    teacher.school_id = school.id
    teacher.category, teacher.category_year = "highest", 2024
    teacher.category_date = date(2024, 3, 1)
    session.add(UserSubject(user_id=teacher.id, subject="physics"))
    await session.flush()
    telegram_id = teacher.telegram_id
    session.expire(teacher)
    user = await get_user(session, telegram_id)
    assert user is not None
    await add_route_catalog(session)
    await self_assess(
        session, registry, user, {"methodical": "high", "psychological": "medium"}, NOW
    )
    draft = await svc.build_for_latest(session, registry, user, NOW)
    active = await svc.confirm_draft(session, registry, user.id, draft.id, NOW)
    route = await svc.route_by_id(session, user.id, active.id)
    step = next(s for s in route.steps if s.catalog_item_id is not None)
    course = Course(
        user_id=user.id,
        title=step.title,
        kind="qualification",
        hours=36,
        starts_on=date(2026, 9, 1),
        ends_on=date(2026, 10, 1),
        format="distance",
        blocks=["methodical"],
        catalog_item_id=step.catalog_item_id,
        certificate_number="772400012345",
    )
    session.add(course)
    await session.flush()
    await svc.close_with_course(session, registry, user.id, step.id, course.id, NOW)

    data = await svc.route_document(session, registry, user, active.id, RU, TODAY)
    doc = docx.Document(io.BytesIO(data))
    text = "\n".join(p.text for p in doc.paragraphs)
    for line in (
        "УТВЕРЖДАЮ",
        "Руководитель образовательной организации",
        "Индивидуальный образовательный маршрут педагога",
        "ФИО педагога: Иванова Мария Петровна",
        "Должность: Учитель",
        "Образовательная организация: МБОУ «Средняя общеобразовательная школа № 1»",
        "Преподаваемые предметы: Математика, Физика",
        "Педагогический стаж: 18 лет (с 2008 года)",
        "Квалификационная категория: высшая, действует до 01.03.2029",
        "Самооценка профессиональных дефицитов от 12.10.2026:",
        "Тема самообразования: Применение современных образовательных технологий",
        "Педагог ______________________ / Иванова Мария Петровна /",
    ):
        assert line in text, line
    assert "Методический блок — освоено" in text and "высокий дефицит" in text
    assert "Психолого-педагогический блок — освоено" in text and "средний дефицит" in text
    assert "Цель:" in text and "Задачи:" in text and "1. Освоить современные методы" in text
    assert "предложены по результатам самооценки" in text
    assert "Наставник" not in text  # no mentor, no mentor's signature
    assert '"' not in text

    [table] = doc.tables
    tbl = table._tbl
    grid = [int(c.get(qn("w:w"))) for c in tbl.tblGrid.findall(qn("w:gridCol"))]
    assert grid == [twips(w) for w in WIDTHS_CM]
    assert sum(grid) <= twips(29.7 - 2 * 1.5)  # the page's text width, landscape
    assert _w(tbl.tblPr, "w:tblW") == str(sum(grid))
    assert _w(tbl.tblPr, "w:tblLayout") == "fixed"
    rows = table.rows
    assert len(rows) == 1 + len(route.steps)
    for i, row in enumerate(rows):
        tr_pr = row._tr.trPr
        assert tr_pr is not None and tr_pr.find(qn("w:cantSplit")) is not None, i
        assert (tr_pr.find(qn("w:tblHeader")) is not None) == (i == 0), i
        widths = [int(c._tc.tcPr.find(qn("w:tcW")).get(qn("w:w"))) for c in row.cells]
        assert widths == grid, i
    assert [c.text for c in rows[0].cells] == [
        "№ п/п",
        "Направление (блок), уровень дефицита",
        "Мероприятие, организатор, объём",
        "Форма",
        "Срок",
        "Планируемый результат / форма предъявления",
        "Отметка о выполнении (дата, № документа)",
    ]
    done_row = rows[1 + route.steps.index(step)].cells
    assert done_row[0].text == str(1 + route.steps.index(step))
    assert done_row[1].text.startswith("Методический блок\nвысокий дефицит")
    assert "ГАУ ДПО «Институт развития образования»" in done_row[2].text
    assert done_row[2].text.endswith(" ч")
    assert done_row[4].text.startswith("до ")
    assert done_row[5].text.startswith("Удостоверение о повышении квалификации")
    assert done_row[6].text == "выполнено 12.10.2026\nдокумент № 772400012345"
