"""Profile journeys: view, edit a field, «Мои данные» as a file, deletion of everything."""

from __future__ import annotations

import json
import logging

import pytest
from aiogram.methods import AnswerCallbackQuery, SendDocument
from aiogram.types import BufferedInputFile
from sqlalchemy import select

from models import Answer, Attempt, FsmRecord, Role, RoleName, ScaleResult, User, UserSubject
from services import roles
from tests.conftest import ADMIN_ID, Harness
from tests.helpers import add_schools, count, register, user_row
from tests.test_survey_journeys import answer_all, open_survey


async def test_view_and_edit_fields(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(3001)
    await register(chat)
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой профиль")
    text = chat.last.text
    assert "Иванова Мария Петровна" in text and "Математика" in text and "Категория: Первая" in text

    await chat.tap("Изменить данные")
    await chat.tap("ФИО")
    await chat.send("Иванова-Смирнова Мария")
    assert "Сохранено" in chat.last.text and "Иванова-Смирнова Мария" in chat.last.text

    await chat.tap("Изменить данные")
    await chat.tap("Категория")
    await chat.tap("Высшая")
    assert "Сохранено" in chat.last.text and "Категория: Высшая" in chat.last.text

    await chat.tap("Изменить данные")
    await chat.tap("Предметы")
    await chat.tap("Физика")
    await chat.tap("Математика")  # untick
    await chat.tap("Готово")
    user = await user_row(harness.sessionmaker, 3001)
    assert user is not None
    assert user.subject_codes == ["physics"]
    assert (user.full_name, user.category, user.category_year) == (
        "Иванова-Смирнова Мария",
        "highest",
        None,  # the new category's date is asked in «Мои курсы»
    )

    # changing the position to one without subjects keeps the old subjects but does not ask
    await chat.tap("Изменить данные")
    await chat.tap("Должность")
    await chat.tap("Социальный педагог")
    assert "Сохранено" in chat.last.text
    await chat.tap("Изменить данные")
    await chat.tap("Предметы")
    assert chat.alerts()[-1].startswith("Предметы указывают учителя")


async def test_export_contains_everything_stored(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(3002)
    await register(chat)
    await open_survey(chat, "выгоран")
    await chat.tap("Начать")
    await chat.tap("Согласен(на), начать")  # answers about health
    await answer_all(chat, lambda text, labels: labels[1])
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой профиль")
    await chat.tap("Мои данные")
    sent = harness.bot.api.of(SendDocument)
    assert len(sent) == 1
    document = sent[0].document
    assert isinstance(document, BufferedInputFile)
    assert document.filename.endswith(".json")
    data = json.loads(document.data.decode("utf-8"))
    assert data["full_name"] == "Иванова Мария Петровна"
    assert data["telegram_id"] == 3002
    assert data["subjects"] == ["math"]
    [attempt] = data["questionnaires"]
    assert attempt["instrument"] == "burnout" and len(attempt["answers"]) == 19
    assert {r["scale"] for r in attempt["results"]} == {"personal", "work", "student"}


async def test_delete_removes_every_row_of_the_person_only(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    keep = harness.chat(3003)
    await register(keep, name="Петров Пётр Петрович")
    await open_survey(keep, "Профессиональные затруднения")
    await keep.tap("Начать")
    await answer_all(keep, lambda text, labels: labels[0])

    chat = harness.chat(3004)
    await register(chat)
    await open_survey(chat, "Профессиональные затруднения")
    await chat.tap("Начать")
    await answer_all(chat, lambda text, labels: labels[2])
    await open_survey(chat, "выгоран")
    await chat.tap("Начать")
    await chat.tap("Согласен(на), начать")  # answers about health
    await chat.tap("Часто")  # an attempt in progress too
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой профиль")
    await chat.tap("Удалить мои данные")
    assert "Восстановить их будет нельзя" in chat.last.text
    await chat.tap("Нет, оставить")
    assert await count(harness.sessionmaker, User) == 2
    await chat.tap("Удалить мои данные")
    await chat.tap("Да, удалить всё")
    assert "удалены" in chat.texts()[-2]

    assert await user_row(harness.sessionmaker, 3004) is None
    kept = await user_row(harness.sessionmaker, 3003)
    assert kept is not None
    async with harness.sessionmaker() as s:
        for model in (Attempt, ScaleResult):
            owners = set((await s.execute(select(model.user_id))).scalars())
            assert owners == {kept.id}
        assert len((await s.execute(select(Answer))).scalars().all()) == 43
        assert (await s.scalar(select(FsmRecord).where(FsmRecord.user_id == 3004))) is None
        assert (await s.scalar(select(UserSubject).where(UserSubject.user_id != kept.id))) is None
    # the person can come back from scratch
    await chat.send("/start")
    assert "152-ФЗ" in chat.last.text


async def test_roles_are_shown_and_checked_in_one_place(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    admin = harness.chat(ADMIN_ID)
    await register(admin)
    await admin.send("🏠 Главное меню")
    await admin.tap("Мой профиль")
    assert "администратор" in admin.last.text

    methodist = harness.chat(3005)
    async with harness.sessionmaker.begin() as s:
        await roles.grant(s, 3005, RoleName.METHODIST, school_code="sch3")
    await register(methodist, name="Сидорова Анна Ивановна")
    await methodist.tap("Мой профиль")
    assert "методист" in methodist.last.text
    async with harness.sessionmaker() as s:
        access = await roles.access_for(s, 3005, {ADMIN_ID})
        assert access.is_methodist and not access.is_admin
        row = await s.scalar(select(Role).where(Role.telegram_id == 3005))
        assert row is not None and row.scope == "school"
        assert access.covers_school(row.school_id, None)
        assert not access.covers_school((row.school_id or 0) + 1, None)


async def test_export_includes_courses_and_routes(harness: Harness) -> None:
    from datetime import date

    from models import Course, Route, RouteStep

    await add_schools(harness.sessionmaker)
    chat = harness.chat(3006)
    await register(chat)
    user = await user_row(harness.sessionmaker, 3006)
    assert user is not None
    async with harness.sessionmaker.begin() as s:
        s.add(
            Course(
                user_id=user.id,
                title="Обновлённые ФГОС ООО",
                kind="qualification",
                hours=36,
                starts_on=date(2026, 3, 1),
                ends_on=date(2026, 3, 20),
                format="distance",
                blocks=["methodical"],
                certificate_file_name="cert.pdf",
            )
        )
        route = Route(user_id=user.id, status="active", baseline={"methodical": 40.0})
        s.add(route)
        await s.flush()
        s.add(
            RouteStep(
                route_id=route.id,
                kind="self_study",
                title="Самообразование",
                target_date=date(2027, 1, 31),
            )
        )
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой профиль")
    await chat.tap("Мои данные")
    document = harness.bot.api.of(SendDocument)[-1].document
    data = json.loads(document.data.decode("utf-8"))
    assert data["courses"][0]["title"] == "Обновлённые ФГОС ООО"
    assert data["courses"][0]["certificate_file"] == "cert.pdf"
    assert data["routes"][0]["status"] == "active"
    assert data["routes"][0]["steps"][0]["title"] == "Самообразование"


async def test_menu_button_is_never_taken_as_an_edited_field(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(3007)
    await register(chat)
    before = await user_row(harness.sessionmaker, 3007)
    assert before is not None
    for field, question in (
        ("ФИО", "Как вас зовут"),
        ("Организация", "страница 1 из"),
        ("Год рождения", "Год вашего рождения"),
        ("Год начала работы", "С какого года"),
        ("Категория", "квалификационная категория"),
    ):
        await chat.send("🏠 Главное меню")
        await chat.tap("Мой профиль")
        await chat.tap("Изменить данные")
        await chat.tap(field)
        assert question in chat.last.text
        await chat.send("🏠 Главное меню")
        assert "Главное меню" in chat.texts()[-1] and "Сохранено" not in chat.texts()[-1]
        async with harness.sessionmaker() as s:
            assert await s.scalar(select(FsmRecord.state).where(FsmRecord.user_id == 3007)) is None
    after = await user_row(harness.sessionmaker, 3007)
    assert after is not None
    assert (after.full_name, after.school_id, after.birth_year, after.teaching_since) == (
        before.full_name,
        before.school_id,
        before.birth_year,
        before.teaching_since,
    )
    assert after.category == before.category  # «Главное меню» was not taken as the category
    # the menu filter typed on the school step was not kept either
    await chat.tap("Мой профиль")
    await chat.tap("Изменить данные")
    await chat.tap("Организация")
    assert "Поиск" not in chat.last.text


async def test_forged_profile_buttons_change_nothing(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await add_schools(harness.sessionmaker)
    caplog.set_level(logging.INFO)
    chat = harness.chat(3008)
    await register(chat)
    await chat.tap("Мой профиль")
    huge = "99999999999999999999"
    for data in (f"pff:{huge}", "pff:catyear", "pff:", f"pfy:{huge}", "pr:delete_yes"):
        caplog.clear()
        before = len(harness.bot.api.of(AnswerCallbackQuery))
        await chat.press(data)
        answers = harness.bot.api.of(AnswerCallbackQuery)[before:]
        assert len(answers) == 1 and answers[0].text and "кнопка" in answers[0].text, data
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert await count(harness.sessionmaker, User) == 1
    user = await user_row(harness.sessionmaker, 3008)
    assert user is not None and user.registered_at is not None
