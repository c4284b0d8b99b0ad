"""Kindergarten staff get the instruments and the route written for their work: the
pre-school self-assessment and CBI, route steps without lessons and exams, pre-school
programmes from the catalog; school staff never see the pre-school ones, and neither side
can open the other's questionnaire with a forged button."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Answer, Attempt, MentorRequest, Municipality, School, User
from services.catalog import SAMPLE_CATALOG_CSV, active_catalog, import_catalog
from services.reference import setting_of
from services.routes import (
    PRESCHOOL_TITLES,
    BlockDeficit,
    CatalogEntry,
    TeacherProfile,
    fits,
    propose_route,
)
from services.surveys import in_audience
from surveys.loader import load_instruments
from tests.conftest import Harness
from tests.helpers import add_route_catalog, register
from tests.test_survey_journeys import answer_all, results_of

INSTRUMENTS = load_instruments()
TODAY = date(2026, 10, 12)
SCHOOL_WORDS = ("урок", "ОГЭ", "ЕГЭ", "ВПР", "класс")


async def add_organisations(harness: Harness) -> None:
    async with harness.sessionmaker.begin() as s:
        mun = Municipality(code="ensk", name="Энский муниципальный округ")
        s.add(mun)
        await s.flush()
        s.add_all(
            [
                School(
                    municipality_id=mun.id,
                    code="sch3",
                    name='МБОУ "Средняя общеобразовательная школа № 3"',
                    short_name="Школа № 3",
                    kind="school",
                ),
                School(
                    municipality_id=mun.id,
                    code="ds5",
                    name='МБДОУ "Детский сад № 5 «Солнышко»"',
                    short_name="Детский сад № 5",
                    kind="kindergarten",
                ),
            ]
        )


# ---------------------------------------------------------------- who gets which instrument


def test_setting_follows_position_and_organisation() -> None:
    assert setting_of("preschool", "kindergarten") == "preschool"
    assert setting_of("preschool", "school") == "preschool"  # a school's pre-school group
    assert setting_of("psychologist", "kindergarten") == "preschool"
    assert setting_of("teacher", "school") == "school"
    assert setting_of("extra", "extra") == "school"
    assert setting_of(None, None) == "school"


def test_each_person_gets_one_instrument_of_a_kind() -> None:
    people = [
        (User(position="preschool"), "kindergarten", "deficits_preschool", "burnout_preschool"),
        (User(position="deputy"), "kindergarten", "deficits_preschool", "burnout_preschool"),
        (User(position="teacher"), "school", "deficits", "burnout"),
        (User(position="extra"), "extra", "deficits", "burnout"),
    ]
    for user, kind, deficits, burnout in people:
        fitting = {
            i.id
            for i in INSTRUMENTS.values()
            if i.kind in ("deficits", "burnout") and in_audience(i, user, TODAY, kind)
        }
        assert fitting == {deficits, burnout}, (user.position, kind)


def test_young_staff_get_the_young_questionnaire_of_their_setting() -> None:
    young = {"birth_year": 2001, "teaching_since": 2024}
    people = [
        (User(position="preschool", **young), "kindergarten", {"young_preschool"}),
        (User(position="preschool", **young), "school", {"young_preschool"}),  # a pre-school group
        (User(position="psychologist", **young), "kindergarten", {"young_preschool"}),
        (User(position="teacher", **young), "school", {"young"}),
        (User(position="extra", **young), "extra", {"young"}),
        (User(position="preschool", birth_year=1980, teaching_since=2005), "kindergarten", set()),
    ]
    for user, kind, expected in people:
        fitting = {
            i.id
            for i in INSTRUMENTS.values()
            if i.kind == "young" and in_audience(i, user, TODAY, kind)
        }
        assert fitting == expected, (user.position, kind)


# ---------------------------------------------------------------- the route


def test_preschool_route_speaks_of_kindergarten() -> None:
    deficits = {
        "subject": BlockDeficit("high", 40.0),
        "methodical": BlockDeficit("high", 30.0),
        "psychological": BlockDeficit("medium", 70.0),
        "communicative": BlockDeficit("medium", 75.0),
    }
    teacher = TeacherProfile(position="preschool", preschool=True, wants_mentor=True)
    steps = propose_route(deficits, teacher, [], TODAY)
    titles = [s.title for s in steps]
    assert set(titles) <= set(PRESCHOOL_TITLES.values())
    assert len(titles) == 5  # mentoring and one step per block
    for title in titles:
        for word in SCHOOL_WORDS:
            assert word not in title, (word, title)
    school = propose_route(deficits, TeacherProfile(position="teacher"), [], TODAY)
    assert any("ОГЭ" in s.title for s in school)


def test_catalog_matching_per_audience() -> None:
    def entry(positions: set[str], subjects: set[str] = frozenset()) -> CatalogEntry:  # type: ignore[assignment]
        return CatalogEntry(
            1, "Курс", "distance", positions=frozenset(positions), subjects=frozenset(subjects)
        )

    kindergarten_psychologist = TeacherProfile(position="psychologist", preschool=True)
    school_psychologist = TeacherProfile(position="psychologist")
    vospitatel = TeacherProfile(position="preschool", preschool=True)
    for_preschool = entry({"preschool"})
    for_teachers = entry({"teacher"})
    assert fits(for_preschool, kindergarten_psychologist, TODAY)
    assert not fits(for_preschool, school_psychologist, TODAY)
    assert fits(for_preschool, vospitatel, TODAY)
    assert not fits(for_teachers, vospitatel, TODAY)
    assert not fits(entry(set(), {"math"}), vospitatel, TODAY)
    assert fits(entry(set()), vospitatel, TODAY)


async def test_sample_catalog_has_programmes_for_kindergartens(session: AsyncSession) -> None:
    report = await import_catalog(session, SAMPLE_CATALOG_CSV)
    assert not report.errors
    rows = await active_catalog(session)
    preschool = [r for r in rows if "preschool" in r.positions]
    blocks = {b for r in preschool if r.kind != "retraining" for b in r.blocks}
    assert blocks == {"subject", "methodical", "psychological", "communicative"}
    for r in rows:
        if any(w in r.title for w in ("урок", "ОГЭ", "ЕГЭ", "школьной")):
            assert r.positions and "preschool" not in r.positions, r.title


# ---------------------------------------------------------------- journeys


async def test_vospitatel_gets_preschool_instruments_and_route(harness: Harness) -> None:
    await add_organisations(harness)
    async with harness.sessionmaker.begin() as s:
        await add_route_catalog(s)
    chat = harness.chat(5101)
    await register(chat, school="Детский сад № 5", position="Воспитатель")
    await chat.send("🏠 Главное меню")
    await chat.tap("Анкеты")
    buttons = chat.buttons()
    assert sum("Профессиональные затруднения" in b for b in buttons) == 1
    assert sum("выгорание" in b.lower() for b in buttons) == 1
    # a forged button for the school questionnaire is refused and starts nothing
    await chat.press("qo:deficits")
    assert "другой группы педагогов" in chat.alerts()[-1]
    async with harness.sessionmaker() as s:
        assert (await s.scalars(select(Attempt))).first() is None

    await chat.tap("Профессиональные затруднения")
    assert "педагога детского сада" in chat.last.text
    await chat.tap("Начать")
    first = chat.last.text
    assert "Вопрос 1 из 39" in first and "содержании дошкольного образования" in first

    def choose(text: str, labels: list[str]) -> str:
        for word in SCHOOL_WORDS:
            assert word not in text.split("\n", 3)[-1].replace("начальных классов", ""), text
        return "серьёзные" if "Методическ" in text else "Не испытываю"

    assert await answer_all(chat, choose) == 39
    results = await results_of(harness, 5101, "deficits_preschool")
    assert {k: v.band for k, v in results.items()} == {
        "subject": "minimal",
        "methodical": "high",
        "psychological": "minimal",
        "communicative": "minimal",
    }
    shown = "\n".join(chat.texts()[-3:])
    assert "<b>Методический блок</b>: освоено 0 % — высокий дефицит (по самооценке)" in shown

    await chat.tap("Построить маршрут")
    route = "\n".join(chat.texts()[-2:])
    assert PRESCHOOL_TITLES["self_study.methodical"] in route
    for word in ("ОГЭ", "уроков"):
        assert word not in route
    # the catalog's courses for a maths teacher and «на уроке» are not for her
    assert "Методика обучения математике" not in route


async def test_teacher_never_sees_the_preschool_questionnaires(harness: Harness) -> None:
    await add_organisations(harness)
    chat = harness.chat(5102)
    await register(chat)
    await chat.send("🏠 Главное меню")
    await chat.tap("Анкеты")
    assert sum("Профессиональные затруднения" in b for b in chat.buttons()) == 1
    await chat.tap("Профессиональные затруднения")
    assert "педагога детского сада" not in chat.last.text
    await chat.press("qo:deficits_preschool")
    assert "другой группы педагогов" in chat.alerts()[-1]
    await chat.press("qo:burnout_preschool")
    assert "другой группы педагогов" in chat.alerts()[-1]
    async with harness.sessionmaker() as s:
        assert (await s.scalars(select(Attempt))).first() is None


async def test_young_vospitatel_answers_the_preschool_survey_and_asks_for_a_mentor(
    harness: Harness,
) -> None:
    await add_organisations(harness)
    chat = harness.chat(5103)
    await register(
        chat,
        school="Детский сад № 5",
        position="Воспитатель",
        birth=2001,
        since=2024,
        category="Без категории",
    )
    await chat.send("🏠 Главное меню")
    await chat.tap("Анкеты")
    assert sum("молодого педагога" in b for b in chat.buttons()) == 1
    # the school one cannot be opened with a forged button
    await chat.press("qo:young")
    assert "другой группы педагогов" in chat.alerts()[-1]
    async with harness.sessionmaker() as s:
        assert (await s.scalars(select(Attempt))).first() is None

    await chat.tap("молодого педагога")
    assert "Первые годы в детском саду" in chat.last.text
    await chat.tap("Начать")
    assert "Вопрос 1 из 25" in chat.last.text and "дошкольного образования" in chat.last.text

    def choose(text: str, labels: list[str]) -> str | None:
        for word in SCHOOL_WORDS:
            assert word not in text, (word, text)
            assert not any(word in label for label in labels), (word, labels)
        if "Напишите ответ" in text:
            return None
        if "Нужен ли вам наставник" in text:
            return "Да"
        if "должен помочь наставник" in text:
            return "Педагогическая диагностика"
        if "Отметьте" in text:
            return labels[0]
        return labels[2] if len(labels) > 2 else labels[0]

    await answer_all(chat, choose)
    counters = set(re.findall(r"Вопрос (\d+) из (\d+)", "\n".join(chat.texts())))
    assert counters == {(str(n), "25") for n in range(1, 26)}  # every question, one total
    async with harness.sessionmaker() as s:
        attempt = (await s.scalars(select(Attempt))).one()
        answers = {
            a.question_id: a.value
            for a in (await s.scalars(select(Answer).where(Answer.attempt_id == attempt.id)))
        }
    assert (attempt.instrument_id, attempt.status) == ("young_preschool", "completed")
    assert answers["need_mentor"] == "yes" and answers["mentor_areas"] == ["assessment"]
    results = await results_of(harness, 5103, "young_preschool")
    # «Заметные трудности» on all 16 topics: 100 × 32 / 48
    assert (results["difficulties"].score, results["difficulties"].band) == (66.67, "many")

    # «Да» to the mentor question: the request is offered, pre-filled with the chosen area
    assert "🙋 Хочу наставника" in chat.buttons()
    await chat.tap("Хочу наставника")
    await chat.tap("Общие вопросы работы педагога")  # воспитатели have no school subject
    assert "☑️ Оценивание и диагностика" in chat.buttons()
    async with harness.sessionmaker() as s:
        request = (await s.scalars(select(MentorRequest))).one()
    assert (request.status, request.subject, request.topics, request.young) == (
        "draft",
        "general",
        ["assessment"],
        True,
    )


async def test_young_teacher_sees_only_the_school_young_survey(harness: Harness) -> None:
    await add_organisations(harness)
    chat = harness.chat(5104)
    await register(chat, birth=2001, since=2024, category="Без категории")
    await chat.send("🏠 Главное меню")
    await chat.tap("Анкеты")
    assert sum("молодого педагога" in b for b in chat.buttons()) == 1
    await chat.tap("молодого педагога")
    assert "Первые годы в школе" in chat.last.text
    await chat.press("qo:young_preschool")
    assert "другой группы педагогов" in chat.alerts()[-1]
    async with harness.sessionmaker() as s:
        assert (await s.scalars(select(Attempt))).first() is None
