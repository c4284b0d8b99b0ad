"""The analytic report: the rules file, recommendations and the DOCX on hand-made indicator
tables, the periods held and the catalog per block on both databases, ``pedbot export
report``, and «📄 Аналитическая справка» through the real Dispatcher."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from aiogram.methods import SendDocument
from aiogram.types import BufferedInputFile
from docx import Document
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import Translator
from handlers.home.callbacks import MenuCB
from handlers.report.callbacks import ReportMake, ReportOpen
from models import (
    Attempt,
    CatalogItem,
    InstrumentVersion,
    Municipality,
    Provider,
    RoleName,
    School,
    ScopeKind,
    User,
)
from services.indicators import (
    CampaignRate,
    IndicatorDef,
    IndicatorTable,
    Period,
    Row,
    Value,
    definitions,
)
from services.report import catalog_by_block, periods_held, report_scopes, resolve_scope
from services.report_docx import build_report
from services.report_rules import (
    RULES_FILE,
    RulesError,
    default_rules,
    load_rules,
    parse_rules,
    recommendations,
    unknown_indicators,
)
from services.roles import Access, Scope, grant
from tests.conftest import ADMIN_ID, NOW, Harness
from tests.helpers import add_schools

T = Translator("ru")
STALE = "Эта кнопка уже не действует. Откройте нужный раздел заново из главного меню."

# ---------------------------------------------------------------- hand-made tables


def share(num: int, den: int, *, suppressed: bool = False) -> Value:
    return Value(round(100 * num / den, 1) if den else None, num, den, suppressed)


def count(n: int) -> Value:
    return Value(float(n), n, None, False)


DEFS = (
    IndicatorDef("deficits_done", 1, "share", 80.0, True, False),
    IndicatorDef("route_any", 2, "share", 30.0, True, False),
    IndicatorDef("mentors", 5, "count", None, True, False),
    IndicatorDef("cbi_work_high", 10, "share", None, False, True),
    IndicatorDef("deficit_subject_high", 15, "share", None, False, False),
    IndicatorDef("deficit_subject_medium", 15, "share", None, False, False),
    IndicatorDef("deficit_methodical_high", 16, "share", None, False, False),
    IndicatorDef("deficit_methodical_medium", 16, "share", None, False, False),
)


def row(school: int | None, teachers: int, **values: Value) -> Row:
    name = None if school is None else f"Школа № {school}"
    code = None if school is None else f"sch{school}"
    return Row(school, code, name, teachers, values)


# School 1: 20 teachers, below plan on the diagnosis, many methodical deficits, burnout 25 %.
SCHOOL_1 = row(
    1,
    20,
    deficits_done=share(12, 20),
    route_any=share(7, 20),
    mentors=count(2),
    cbi_work_high=share(5, 20),
    deficit_subject_high=share(2, 20),
    deficit_subject_medium=share(6, 20),
    deficit_methodical_high=share(8, 20),
    deficit_methodical_medium=share(7, 20),
)
# School 2: 4 teachers. Every figure is a breakdown of a group under five: hidden, even the
# two the indicators forgot to flag.
SCHOOL_2 = row(
    2,
    4,
    deficits_done=share(3, 4),
    route_any=share(1, 4, suppressed=True),
    mentors=count(1),
    cbi_work_high=share(3, 4, suppressed=True),
    deficit_subject_high=share(3, 4, suppressed=True),
    deficit_subject_medium=share(1, 4, suppressed=True),
    deficit_methodical_high=share(3, 4),
    deficit_methodical_medium=share(1, 4, suppressed=True),
)
# School 3: 10 teachers; burnout answered by 3 of them (a small group); route below plan.
SCHOOL_3 = row(
    3,
    10,
    deficits_done=share(9, 10),
    route_any=share(2, 10),
    mentors=count(0),
    cbi_work_high=share(2, 3),
    deficit_subject_high=share(1, 10),
    deficit_subject_medium=share(3, 10),
    deficit_methodical_high=share(5, 10),
    deficit_methodical_medium=share(2, 10),
)
TOTAL = row(
    None,
    34,
    deficits_done=share(24, 34),  # 70,6 %
    route_any=share(10, 34),  # 29,4 %
    mentors=count(3),
    cbi_work_high=share(10, 27),  # 37 %
    deficit_subject_high=share(6, 34),  # 17,6 %
    deficit_subject_medium=share(10, 34),  # 29,4 %
    deficit_methodical_high=share(16, 34),  # 47,1 %
    deficit_methodical_medium=share(10, 34),  # 29,4 %
)
CURRENT = IndicatorTable(
    scope_key="municipality:1",
    scope_name="Энский муниципальный округ",
    period=Period(date(2026, 9, 1), date(2027, 8, 31)),
    definitions=DEFS,
    schools=(SCHOOL_1, SCHOOL_2, SCHOOL_3),
    total=TOTAL,
    campaigns=(
        CampaignRate(1, "deficits", "Профессиональные дефициты", date(2026, 10, 30), 14, 34),
        CampaignRate(2, "burnout", "Выгорание", date(2026, 10, 30), 2, 3),
    ),
)
PREVIOUS = IndicatorTable(
    scope_key="municipality:1",
    scope_name="Энский муниципальный округ",
    period=Period(date(2025, 9, 1), date(2026, 8, 31)),
    definitions=DEFS,
    schools=(),
    total=row(
        None,
        30,
        deficits_done=share(15, 30),  # 50 %
        route_any=share(6, 30),  # 20 %
        mentors=count(2),
        cbi_work_high=share(2, 4, suppressed=True),
        deficit_subject_high=share(9, 30),
        deficit_subject_medium=share(9, 30),
        deficit_methodical_high=share(12, 30),
        deficit_methodical_medium=share(9, 30),
    ),
    campaigns=(),
)
RULES_YAML = """
rules:
  - indicator: deficits_done
    when: below_plan
    text: "{school}: диагностику прошли {value} при плане {plan} ({gap})."
    action: campaign:deficits
  - indicator: route_any
    when: below_plan
    text: "Маршруты у {value} при плане {plan}."
  - indicator: deficit_methodical_high
    when: above:30
    text: "Высокие методические дефициты у {value}."
    action: catalog_block:methodical
  - indicator: cbi_work_high
    when: above:20
    text: "Риск выгорания у {value}."
  - indicator: mentors
    when: below:1
    text: "Наставников нет."
    action: mentor_queue
  - indicator: not_in_the_list
    when: below_plan
    text: "Никогда."
"""
RULES = parse_rules(RULES_YAML)
CATALOG = {
    "methodical": [f"Методическая программа {i}" for i in range(1, 8)],
    "subject": [],
}


# ---------------------------------------------------------------- the rules file


def test_the_shipped_rules_load() -> None:
    rules = load_rules()
    assert rules == default_rules() and len(rules) >= 5
    assert {r.action.partition(":")[0] for r in rules if r.action} == {
        "campaign",
        "catalog_block",
        "mentor_queue",
    }
    assert RULES_FILE.name == "report_rules.yaml"


def test_the_shipped_rules_name_real_indicators() -> None:
    assert unknown_indicators(default_rules(), definitions()) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [", "report_rules.yaml: файл не читается как YAML, строка 1."),
        ("- a\n- b\n", "report_rules.yaml: ожидается список правил под ключом «rules»."),
        ("rules: []", "report_rules.yaml: «rules»: List should have at least 1 item"),
        (
            "rules:\n  - {indicator: route_any, when: below_plan, text: ok}\n"
            "  - {indicator: route_any, when: under:3, text: ok}\n",
            "report_rules.yaml: правило 2, поле «when»: ожидается below_plan, "
            "above:<число> или below:<число>.",
        ),
        (
            "rules:\n  - {indicator: route_any, when: below_plan, text: 'у {teacher}'}\n",
            "report_rules.yaml: правило 1, поле «text»: неизвестная подстановка {teacher}; "
            "можно: {gap}, {plan}, {school}, {value}.",
        ),
        (
            "rules:\n  - {indicator: route_any, when: below_plan, text: ok, "
            "action: 'catalog_block:music'}\n",
            "report_rules.yaml: правило 1, поле «action»: ожидается catalog_block:<блок> "
            "(блоки: subject, methodical, psychological, communicative), campaign:<анкета> "
            "или mentor_queue.",
        ),
        (
            "rules:\n  - {indicator: Route Any, when: below_plan, text: ok, colour: red}\n",
            "report_rules.yaml: правило 1, поле «indicator»: String should match pattern",
        ),
    ],
)
def test_a_bad_rules_file_is_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(text)
    assert str(caught.value).startswith(message), str(caught.value)


def test_a_rules_file_that_is_not_there(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="Файл правил не читается"):
        load_rules(tmp_path / "nope.yaml")
    good = tmp_path / "mine.yaml"
    good.write_text(RULES_YAML, encoding="utf-8")
    assert load_rules(good) == RULES


def test_conditions() -> None:
    [below, _, above, _, under, _] = RULES
    plan80 = DEFS[0]
    assert below.holds(79.9, plan80) and not below.holds(80.0, plan80)
    less_is_better = IndicatorDef("waiting", 9, "count", 3.0, False, False)
    assert below.holds(4.0, less_is_better) and not below.holds(3.0, less_is_better)
    no_plan = DEFS[3]
    assert not below.holds(0.0, no_plan)
    assert above.holds(30.1, no_plan) and not above.holds(30.0, no_plan)
    assert under.holds(0.0, no_plan) and not under.holds(1.0, no_plan)
    assert parse_rules("rules: [{indicator: x, when: 'above:12,5', text: t}]")[0].when == (
        "above:12.5"
    )


# ---------------------------------------------------------------- recommendations


def test_recommendations_for_schools_below_plan() -> None:
    recs = recommendations(CURRENT, RULES, CATALOG)
    got = [(r.school_name, r.indicator) for r in recs]
    assert got == [
        ("Школа № 1", "deficits_done"),  # 60 % < 80 %
        ("Школа № 1", "deficit_methodical_high"),  # 40 % > 30
        ("Школа № 1", "cbi_work_high"),  # 25 % of 20 > 20
        ("Школа № 3", "route_any"),  # 20 % < 30 %
        ("Школа № 3", "deficit_methodical_high"),  # 50 % > 30
        ("Школа № 3", "mentors"),  # 0 < 1
    ]
    first = recs[0]
    assert first.text == "Школа № 1: диагностику прошли 60 % при плане 80 % (−20 п. п.)."
    assert first.action == "campaign:deficits" and first.programmes == ()
    assert first.school_id == 1 and first.school_code == "sch1"
    # the catalog's programmes for the block, at most five
    assert recs[1].programmes == tuple(f"Методическая программа {i}" for i in range(1, 6))
    assert recs[5].action == "mentor_queue"


def test_hidden_values_never_give_a_school_its_own_text() -> None:
    recs = recommendations(CURRENT, RULES, CATALOG)
    # school 2 (4 teachers) is below plan and over every threshold, but its figures are «< 5»
    assert all(r.school_id != 2 for r in recs)
    # school 3's burnout share (2 of 3 answered, 66,7 %) is over 20 but of a group under five
    assert ("Школа № 3", "cbi_work_high") not in [(r.school_name, r.indicator) for r in recs]
    assert not any("66,7" in r.text or "75 %" in r.text for r in recs)


def test_a_block_without_programmes_and_no_schools() -> None:
    rules = parse_rules(
        "rules: [{indicator: deficit_subject_high, when: 'above:5', text: '{value}', "
        "action: 'catalog_block:subject'}]"
    )
    recs = recommendations(CURRENT, rules, CATALOG)
    assert [(r.school_name, r.text, r.programmes) for r in recs] == [
        ("Школа № 1", "10 %", ()),
        ("Школа № 3", "10 %", ()),
    ]
    empty = IndicatorTable(
        CURRENT.scope_key, "x", CURRENT.period, DEFS, (), TOTAL, ()
    )  # the whole-scope row never gets a per-school text
    assert recommendations(empty, RULES, CATALOG) == []


# ---------------------------------------------------------------- the document


def cells(table: object) -> list[list[str]]:
    return [[c.text for c in r.cells] for r in table.rows]  # type: ignore[attr-defined]


def open_docx(data: bytes) -> object:
    return Document(io.BytesIO(data))


def test_the_document_sections_tables_and_hidden_cells() -> None:
    data = build_report([PREVIOUS, CURRENT], RULES, CATALOG, date(2026, 10, 12), t=T)
    doc = open_docx(data)
    paragraphs = [(p.style.name, p.text) for p in doc.paragraphs]  # type: ignore[attr-defined]
    headings = [(s, x) for s, x in paragraphs if s.startswith(("Title", "Heading"))]
    assert headings == [
        ("Title", "Аналитическая справка"),
        ("Heading 1", "1. Показатели в сравнении с плановыми значениями"),
        ("Heading 1", "2. Профиль профессиональных дефицитов по блокам"),
        ("Heading 1", "3. Выполнение плановых значений"),
        ("Heading 1", "4. Адресные рекомендации"),
        ("Heading 2", "Школа № 1"),
        ("Heading 2", "Школа № 3"),
    ]
    text = "\n".join(x for _, x in paragraphs)
    assert "Территория: Энский муниципальный округ" in text
    assert "Отчётный период: 2026/2027" in text
    assert "Периоды в динамике: 2025/2026, 2026/2027" in text
    assert "Дата составления: 12.10.2026" in text
    assert "Педагогов в мониторинге: 34" in text and "Организаций: 3" in text

    summary, campaigns, profile, per_school, standing = doc.tables  # type: ignore[attr-defined]
    assert cells(summary) == [
        [
            "№",
            "Показатель",
            "2025/2026",
            "2026/2027",
            "План",
            "Отклонение от плана",
            "Изменение к прошлому периоду",
        ],
        # the indicators' titles are their codes until the indicator texts are in the locales
        summary_row(1, "deficits_done", "50 %", "70,6 %", "80 %", "−9,4 п. п.", "+20,6 п. п."),
        summary_row(2, "route_any", "20 %", "29,4 %", "30 %", "−0,6 п. п.", "+9,4 п. п."),
        summary_row(5, "mentors", "2", "3", "—", "—", "+1"),
        # last year's burnout figure was of a small group: «< 5», and no change printed
        summary_row(10, "cbi_work_high", "< 5", "37 %", "—", "—", "—"),
    ]
    assert cells(campaigns) == [
        ["Опрос", "Срок", "Ответили", "Приглашено"],
        ["Профессиональные дефициты", "30.10.2026", "14", "34"],
        ["Выгорание", "30.10.2026", "< 5", "< 5"],
    ]
    assert cells(profile) == [
        ["Блок компетенций", "Высокий уровень", "Средний уровень"],
        ["Предметный блок", "17,6 %", "29,4 %"],
        ["Методический блок", "47,1 %", "29,4 %"],
    ]
    assert cells(per_school) == [
        [
            "Организация",
            "Предметный блок",
            "Предметный блок",
            "Методический блок",
            "Методический блок",
        ],
        ["Организация", *["Высокий уровень", "Средний уровень"] * 2],
        ["Школа № 1", "10 %", "30 %", "40 %", "35 %"],
        ["Школа № 2", "< 5", "< 5", "< 5", "< 5"],
        ["Школа № 3", "10 %", "30 %", "50 %", "20 %"],
    ]
    assert cells(standing) == [
        ["Организация", "Педагогов", "На уровне плана", "Ниже плана", "Нет данных или скрыто"],
        ["Школа № 1", "20", "1", "1", "0"],
        ["Школа № 2", "< 5", "0", "0", "2"],
        ["Школа № 3", "10", "1", "1", "0"],
    ]
    assert (
        "Энский муниципальный округ: показателей с заданным планом — 2, плановые значения "
        "достигнуты: 0 (нет данных или значение скрыто: 0)."
    ) in text
    assert f"{title('route_any')}: 29,4 % при плане 30 % (отклонение −0,6 п. п.)" in text

    # the recommendations: the rule's text, the catalog's titles, the action's note
    bullets = [x for s, x in paragraphs if s.startswith("List Bullet")]
    assert "Школа № 1: диагностику прошли 60 % при плане 80 % (−20 п. п.)." in bullets
    assert "Мера: опрос педагогов организации по анкете «deficits»." in text
    assert "Программы каталога — методический блок:" in text
    assert [x for s, x in paragraphs if s == "List Bullet 2"] == [
        f"Методическая программа {i}" for i in range(1, 6)
    ] * 2
    assert "Мера: назначить наставников из очереди заявок" in text
    # school 2's own numbers (75 %: 3 of 4) and school 3's burnout (66,7 %) appear nowhere
    table_texts = [c for tb in doc.tables for r in cells(tb) for c in r]  # type: ignore[attr-defined]
    everything = text + "\n" + "\n".join(table_texts)
    assert "75 %" not in everything and "66,7" not in everything


def title(code: str) -> str:
    key = f"indicators.{code}.title"
    return T(key) if T.has(key) else code


def summary_row(number: int, code: str, *values: str) -> list[str]:
    return [str(number), title(code), *values]


def test_a_school_report_of_one_period() -> None:
    school = IndicatorTable(
        "school:1", "Школа № 1", CURRENT.period, DEFS, (SCHOOL_1,), SCHOOL_1, ()
    )
    doc = open_docx(build_report([school], RULES, {}, date(2026, 10, 12), t=T))
    text = "\n".join(p.text for p in doc.paragraphs)  # type: ignore[attr-defined]
    assert "Периоды в динамике" not in text and "Организаций:" not in text
    # no per-school tables for one school: the summary, the profile, nothing more
    assert len(doc.tables) == 2  # type: ignore[attr-defined]
    assert cells(doc.tables[0])[0][2:4] == ["2026/2027", "План"]  # type: ignore[attr-defined]
    assert "Методический блок: в каталоге пока нет действующих программ." in text


def test_a_small_scope_and_no_data() -> None:
    tiny = IndicatorTable("school:2", "Школа № 2", CURRENT.period, DEFS, (SCHOOL_2,), SCHOOL_2, ())
    doc = open_docx(build_report([tiny], RULES, CATALOG, date(2026, 10, 12), t=T))
    text = "\n".join(p.text for p in doc.paragraphs)  # type: ignore[attr-defined]
    assert "Педагогов в мониторинге: < 5" in text
    values = [r[2] for r in cells(doc.tables[0])[1:]]  # type: ignore[attr-defined]
    assert values == ["< 5"] * 4
    assert "Ни одно правило рекомендаций не сработало" in text
    empty = IndicatorTable("region", "Регион", CURRENT.period, (), (), row(None, 0), ())
    doc = open_docx(build_report([empty], RULES, CATALOG, date(2026, 10, 12), t=T))
    text = "\n".join(p.text for p in doc.paragraphs)  # type: ignore[attr-defined]
    assert "Данных пока нет." in text and "Плановые значения показателей не заданы." in text
    with pytest.raises(ValueError):
        build_report([], RULES, CATALOG, date(2026, 10, 12), t=T)


def test_the_document_in_english() -> None:
    doc = open_docx(build_report([CURRENT], RULES, CATALOG, date(2026, 10, 12), t=Translator("en")))
    assert doc.paragraphs[0].text == "Analytic report"  # type: ignore[attr-defined]
    assert cells(doc.tables[0])[0][-1] == "Change since the previous period"  # type: ignore[attr-defined]


# ---------------------------------------------------------------- periods, catalog, scopes


async def teacher_with_attempt(
    s: AsyncSession, telegram_id: int, school_id: int, completed: datetime | None
) -> None:
    version = await s.get(InstrumentVersion, 1)
    if version is None:
        version = InstrumentVersion(
            id=1, instrument_id="deficits", version=1, digest="x", definition={}
        )
        s.add(version)
    user = User(
        telegram_id=telegram_id,
        registered_at=NOW - timedelta(days=2000),
        full_name="Педагог",
        school_id=school_id,
    )
    s.add(user)
    await s.flush()
    s.add(
        Attempt(
            user_id=user.id,
            instrument_version_id=1,
            instrument_id="deficits",
            status="completed" if completed else "in_progress",
            started_at=(completed or NOW) - timedelta(hours=1),
            completed_at=completed,
        )
    )
    await s.flush()


async def test_periods_held(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await add_schools(sessionmaker, count=2)
    async with sessionmaker.begin() as s:
        other = Municipality(code="other", name="Другой район")
        s.add(other)
        await s.flush()
        s.add(School(municipality_id=other.id, code="far", name="Дальняя", short_name="Дальняя"))
        await s.flush()
        await teacher_with_attempt(s, 1, 1, datetime(2024, 3, 1, tzinfo=UTC))
        await teacher_with_attempt(s, 2, 2, datetime(2026, 9, 20, tzinfo=UTC))
        await teacher_with_attempt(s, 3, 3, datetime(2018, 10, 1, tzinfo=UTC))
        await teacher_with_attempt(s, 4, 2, None)  # not completed: not counted
    today = date(2026, 10, 12)
    async with sessionmaker() as s:
        labels = [p.label for p in await periods_held(s, "school:1", today, NOW)]
        assert labels == ["2023/2024", "2024/2025", "2025/2026", "2026/2027"]
        assert [p.label for p in await periods_held(s, "school:2", today)] == ["2026/2027"]
        assert [p.label for p in await periods_held(s, "municipality:1", today)] == labels
        # the region starts in 2018: the latest five years
        assert [p.label for p in await periods_held(s, "region", today)] == [
            "2022/2023",
            "2023/2024",
            "2024/2025",
            "2025/2026",
            "2026/2027",
        ]
        # a past year asked for: nothing after it
        assert [p.label for p in await periods_held(s, "school:1", date(2025, 8, 31))] == [
            "2023/2024",
            "2024/2025",
        ]
        with pytest.raises(ValueError):
            await periods_held(s, "school:x", today)


async def test_catalog_by_block(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker.begin() as s:
        provider = Provider(name="ИРО")
        s.add(provider)
        await s.flush()

        def item(
            title: str,
            blocks: list[str],
            *,
            active: bool = True,
            ends: date | None = None,
            kind: str = "qualification",
        ) -> CatalogItem:
            return CatalogItem(
                title=title,
                provider_id=provider.id,
                hours=36,
                format="distance",
                blocks=blocks,
                active=active,
                ends_on=ends,
                kind=kind,
            )

        s.add_all(
            [
                item("Б: оценивание", ["methodical", "subject"]),
                item("А: урок", ["methodical"], ends=date(2026, 12, 1)),
                item("Снята", ["methodical"], active=False),
                item("Прошла", ["methodical"], ends=date(2026, 1, 1)),
                item("Общение", ["communicative"]),
                item("В: семинар", ["methodical"], kind="seminar"),
                item("Г: урок и общение", ["methodical", "communicative"]),
            ]
        )
    async with sessionmaker() as s:
        got = await catalog_by_block(s, date(2026, 10, 12))
    assert got == {
        "subject": ["Б: оценивание"],
        # a course before a seminar, one block before two, then by title
        "methodical": ["А: урок", "Б: оценивание", "Г: урок и общение", "В: семинар"],
        "psychological": [],
        "communicative": ["Общение", "Г: урок и общение"],
    }


async def test_scopes_and_resolving(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await add_schools(sessionmaker, count=2)
    both = Access(
        telegram_id=1,
        methodist_scopes=(
            Scope(ScopeKind.MUNICIPALITY, municipality_id=1),
            Scope(ScopeKind.SCHOOL, school_id=2),
        ),
    )
    async with sessionmaker() as s:
        scopes = await report_scopes(s, both)
        assert [(x.key, x.name) for x in scopes] == [
            ("school:2", "Школа № 2"),
            ("municipality:1", "Энский муниципальный округ"),
        ]
        admin = await report_scopes(s, Access(telegram_id=2, is_admin=True))
        assert [x.key for x in admin] == ["region"]
        assert await report_scopes(s, Access(telegram_id=3)) == []
        assert await resolve_scope(s, "school:sch2") == "school:2"
        assert await resolve_scope(s, "municipality") == "municipality:1"
        assert await resolve_scope(s, "municipality:ensk") == "municipality:1"
        assert await resolve_scope(s, "region") == "region"
        for bad in ("school:nope", "municipality:nope", "city", "school"):
            with pytest.raises(ValueError):
                await resolve_scope(s, bad)


# ---------------------------------------------------------------- the command line


def test_cli_export_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from bot.cli import main
    from models.db import make_engine, make_sessionmaker

    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    main(["migrate"])

    async def seed() -> None:
        engine = make_engine(url)
        try:
            await add_schools(make_sessionmaker(engine), count=2)
        finally:
            await engine.dispose()

    asyncio.run(seed())
    out = tmp_path / "spravka.docx"
    main(["export", "report", "--scope", "school:sch1", "--out", str(out)])
    assert "Аналитическая справка сохранена" in capsys.readouterr().out
    doc = open_docx(out.read_bytes())
    assert doc.paragraphs[0].text == "Аналитическая справка"  # type: ignore[attr-defined]
    text = "\n".join(p.text for p in doc.paragraphs)  # type: ignore[attr-defined]
    assert "4. Адресные рекомендации" in text

    main(["export", "report", "--scope", "municipality", "--period", "2025/2026"])
    assert (tmp_path / "spravka-municipality.docx").is_file()
    text = "\n".join(
        p.text for p in open_docx((tmp_path / "spravka-municipality.docx").read_bytes()).paragraphs
    )  # type: ignore[attr-defined]
    assert "Отчётный период: 2025/2026" in text

    def fails(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as caught:
            main(["export", "report", *args])
        return int(caught.value.code or 0), capsys.readouterr().err

    assert fails("--scope", "school:nope") == (2, "Ошибка: нет организации с кодом nope.\n")
    code, err = fails("--scope", "region", "--period", "2026-2027")
    assert code == 1 and "2026/2027" in err
    code, err = fails("--scope", "region", "--period", "2099/2100")
    assert code == 1 and "ещё не начался" in err
    code, err = fails("--scope", "region", "--out", str(tmp_path / "x.pdf"))
    assert code == 1 and ".docx" in err
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  - {indicator: x, when: sometimes, text: t}\n", encoding="utf-8")
    code, err = fails("--scope", "region", "--rules", str(bad))
    assert code == 1 and "rules.yaml: правило 1, поле «when»" in err
    with pytest.raises(SystemExit):
        main(["export", "report"])  # --scope is required


# ---------------------------------------------------------------- «Справка» in the bot

SCHOOL_METHODIST = 7101
TWO_SCOPES = 7102
TEACHER = 7103


async def roles_world(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await add_schools(sessionmaker, count=3)
    async with sessionmaker.begin() as s:
        await grant(s, SCHOOL_METHODIST, RoleName.METHODIST, school_code="sch1")
        await grant(s, TWO_SCOPES, RoleName.METHODIST, school_code="sch2")
        await grant(s, TWO_SCOPES, RoleName.METHODIST, municipality_code="ensk")
        s.add(
            User(
                telegram_id=TEACHER,
                registered_at=NOW - timedelta(days=30),
                full_name="Обычная Ольга",
                school_id=1,
                position="teacher",
            )
        )


def sent_documents(harness: Harness, chat_id: int) -> list[SendDocument]:
    return [d for d in harness.bot.api.of(SendDocument) if int(d.chat_id) == chat_id]


def the_document(harness: Harness, chat_id: int) -> object:
    [sent] = sent_documents(harness, chat_id)
    assert isinstance(sent.document, BufferedInputFile)
    assert sent.document.filename == "analiticheskaya-spravka-2026-10-12.docx"
    assert (sent.caption or "").startswith("<b>📄 Аналитическая справка</b>")
    assert "«&lt; 5»" in (sent.caption or "")
    doc = open_docx(sent.document.data)
    assert doc.paragraphs[0].text == "Аналитическая справка"  # type: ignore[attr-defined]
    return doc


async def test_a_school_methodist_gets_the_report_at_once(harness: Harness) -> None:
    await roles_world(harness.sessionmaker)
    chat = harness.chat(SCHOOL_METHODIST)
    await chat.press(MenuCB(to="methodist").pack())
    assert "📄 Аналитическая справка" in chat.buttons()
    await chat.tap("Аналитическая справка")
    doc = the_document(harness, SCHOOL_METHODIST)
    text = "\n".join(p.text for p in doc.paragraphs)  # type: ignore[attr-defined]
    assert "Отчётный период: 2026/2027" in text and "Дата составления: 12.10.2026" in text
    assert chat.buttons() == ["🗂 Кабинет методиста", "🏠 Главное меню"]
    assert chat.alerts() == []


async def test_several_scopes_are_chosen_and_checked_again(harness: Harness) -> None:
    await roles_world(harness.sessionmaker)
    chat = harness.chat(TWO_SCOPES)
    await chat.press(ReportOpen().pack())
    assert "Выберите, по какой территории" in chat.last.text
    assert chat.buttons() == [
        "🏫 Школа № 2",
        "🏙 Энский муниципальный округ",
        "🗂 Кабинет методиста",
        "🏠 Главное меню",
    ]
    assert sent_documents(harness, TWO_SCOPES) == []
    await chat.tap("Энский")
    the_document(harness, TWO_SCOPES)

    # another school, the region, a school that is not there: refused, nothing sent
    gone = (
        "Эта территория больше не в вашем ведении. Откройте справку заново из кабинета методиста."
    )
    for forged in (
        ReportMake(kind=ScopeKind.SCHOOL, id=1),
        ReportMake(kind=ScopeKind.REGION),
        ReportMake(kind=ScopeKind.MUNICIPALITY, id=99),
    ):
        harness.bot.api.clear()
        await chat.press(forged.pack())
        assert chat.alerts() == [gone]
        assert sent_documents(harness, TWO_SCOPES) == []
    harness.bot.api.clear()
    await chat.press("rpm:school:99999999999")  # an id out of bounds matches no handler
    assert chat.alerts() == [STALE]


async def test_a_teacher_without_the_role_gets_the_stale_answer(harness: Harness) -> None:
    await roles_world(harness.sessionmaker)
    chat = harness.chat(TEACHER)
    for data in (ReportOpen().pack(), ReportMake(kind=ScopeKind.SCHOOL, id=1).pack()):
        harness.bot.api.clear()
        await chat.press(data)
        assert chat.alerts() == [STALE]
    assert sent_documents(harness, TEACHER) == []


async def test_an_admin_gets_the_regions_report(harness: Harness) -> None:
    await add_schools(harness.sessionmaker, count=2)
    chat = harness.chat(ADMIN_ID)
    await chat.press(ReportOpen().pack())
    the_document(harness, ADMIN_ID)
