"""After «Удалить мои данные» no trace of the person is left in the database file.

A teacher with a distinctive name registers, answers the young-teacher questionnaire (with a
typed answer), shares a mentoring request in her own words, records a course with a
certificate number and a title of her own; a methodist assigns her a mentor in quiet hours
(so the mentor's notice naming her waits in the outbox). She then deletes her data through
the bot. The engine is closed and the raw bytes of the SQLite file, its WAL and its journal
are searched for her name, her typed answers and the certificate number (as UTF-8, and as
JSON stores them).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App, create_app
from models import Base, MentorProfile, Outbox, Role, User
from models.db import make_engine
from services.outbox import enqueue
from services.people import delete_user
from tests.conftest import Clock, Harness, make_settings
from tests.helpers import add_schools, register
from tests.telegram import MockedBot

SURNAME = "Щеглоклювова"
NAME = f"{SURNAME} Евпраксия Ферапонтовна"
SURVEY_TEXT = "Помогите с журналом: мой номер кабинета Ж-731 и телефон 8-913-400-17-29"
REQUEST_TEXT = "Боюсь открытых уроков, соседка Гюльчатай Ашотовна подскажет"
COURSE_TITLE = "Курс Трансцендентной Педагогики Щеглоклюва"
CERTIFICATE = "УД-77-9038471-ЩЕГ"

TEACHER = 6301
METHODIST = 6302
MENTOR = 6303


@pytest.fixture
async def app_on_file(tmp_path: Path) -> AsyncIterator[tuple[Harness, Path]]:
    path = tmp_path / "pedbot.db"
    url = f"sqlite+aiosqlite:///{path}"
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    # 09:30 UTC is 12:30 in Moscow; the mentor's notice is sent at 22:30 (quiet hours)
    clock = Clock(datetime(2026, 10, 12, 9, 30, tzinfo=UTC))
    app: App = await create_app(make_settings(url), engine=engine, clock=clock)
    yield Harness(app, MockedBot(), clock, app.sessionmaker), path
    await app.close()


def _files(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]


def _found(path: Path, secrets: list[str]) -> list[tuple[str, str]]:
    hits = []
    for file in _files(path):
        data = file.read_bytes()
        for secret in secrets:
            # as UTF-8, and as JSON stores it (answers and conversation drafts are JSON)
            forms = (secret.encode(), json.dumps(secret)[1:-1].encode())
            if any(form in data for form in forms):
                hits.append((file.name, secret))
    return hits


async def test_no_trace_of_a_deleted_teacher_in_the_database_file(
    app_on_file: tuple[Harness, Path],
) -> None:
    harness, path = app_on_file
    await add_schools(harness.sessionmaker, count=3)
    async with harness.sessionmaker.begin() as s:
        for telegram_id, name in (
            (MENTOR, "Наставникова Ольга Ивановна"),
            (METHODIST, "Методистова Анна Ильинична"),
        ):
            s.add(
                User(
                    telegram_id=telegram_id,
                    consent_at=harness.clock.now - timedelta(days=60),
                    registered_at=harness.clock.now - timedelta(days=60),
                    full_name=name,
                    school_id=3,
                    position="teacher",
                    birth_year=1970,
                    teaching_since=1995,
                    category="highest",
                )
            )
        await s.flush()
        mentor = await s.scalar(select(User).where(User.telegram_id == MENTOR))
        assert mentor is not None
        s.add(MentorProfile(user_id=mentor.id, subjects=["math"], max_mentees=2))
        s.add(Role(telegram_id=METHODIST, role="methodist", scope="school", school_id=3))
    chat = harness.chat(TEACHER)
    await register(chat, name=NAME, birth=2001, since=2024, category="Без категории")

    # the young-teacher questionnaire, with its typed answers
    await chat.send("🏠 Главное меню")
    await chat.tap("Анкеты")
    await chat.tap("молод")
    await chat.tap("Начать")
    for _ in range(60):
        text = chat.last_with_buttons().text
        if "Анкета заполнена" in " ".join(chat.texts()[-3:]):
            break
        labels = [b for b in chat.buttons() if "Назад" not in b and "Прервать" not in b]
        if "Напишите ответ числом" in text:
            await chat.send("18")
        elif "Напишите ответ сообщением" in text:
            await chat.send(SURVEY_TEXT)
        elif "Нужен ли вам наставник" in text:
            await chat.tap("Да")
        elif "Отметьте" in text:
            await chat.tap(labels[0])
            await chat.tap("Готово")
        else:
            await chat.tap(labels[0])
    assert any("Анкета заполнена" in t for t in chat.texts())

    # a mentoring request in her own words, shared with the methodist
    await chat.send("🏠 Главное меню")
    await chat.tap("Хочу наставника")
    await chat.tap("Математика")
    await chat.tap("Дисциплина и внимание детей")
    await chat.tap("Готово")
    await chat.send(REQUEST_TEXT)
    await chat.tap("Из моей школы")
    await chat.tap("Передать заявку методисту")

    # a course of her own, with a certificate number
    await chat.send("🏠 Главное меню")
    await chat.tap("Мои курсы")
    await chat.tap("Добавить курс")
    await chat.send(COURSE_TITLE)
    await chat.send("ГАУ ДПО «Институт развития образования»")
    await chat.tap("Повышение квалификации")
    await chat.send("72")
    await chat.send("01.09.2026")
    await chat.send("25.09.2026")
    await chat.tap("Дистанционно")
    await chat.tap("Методическая")
    await chat.tap("Готово")
    await chat.send(CERTIFICATE)
    await chat.tap("Пропустить")
    await chat.tap("Сохранить")
    assert any("Курс сохранён" in s.text for s in chat.screens()[-2:])

    # the methodist proposes the mentor in quiet hours: the notice naming her is queued
    harness.clock.now = datetime(2026, 10, 12, 19, 30, tzinfo=UTC)
    desk = harness.chat(METHODIST, "Методист")
    await desk.send("/menu")
    await desk.tap("Кабинет методиста")
    await desk.tap("Заявки на наставника")
    await desk.tap(SURNAME)
    await desk.tap("Назначить")
    await desk.tap("Да")

    secrets = [NAME, SURNAME, SURVEY_TEXT, "400-17-29", REQUEST_TEXT, COURSE_TITLE, CERTIFICATE]
    # before the deletion each of them is there to be found (the search works)
    assert {secret for _, secret in _found(path, secrets)} == set(secrets)

    harness.clock.now = datetime(2026, 10, 13, 9, 30, tzinfo=UTC)
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой профиль")
    await chat.tap("Удалить мои данные")
    await chat.tap("Да, удалить всё")
    async with harness.sessionmaker() as s:
        assert await s.scalar(select(User).where(User.telegram_id == TEACHER)) is None

    # while the bot runs (its WAL file in use), and after it stopped
    assert _found(path, secrets) == []
    await harness.app.close()
    assert _found(path, secrets) == []


async def test_deletion_removes_messages_to_and_notices_about_the_person(
    session: AsyncSession,
) -> None:
    """On both databases: what was queued or sent to the person, and notices to others that
    name them, go with them; other people's messages stay."""
    now = datetime(2026, 10, 12, 9, 30, tzinfo=UTC)
    gone = User(telegram_id=TEACHER, consent_at=now, full_name=NAME)
    other = User(telegram_id=MENTOR, consent_at=now, full_name="Наставникова Ольга Ивановна")
    session.add_all([gone, other])
    await session.flush()
    rows = [
        ("reminder", "reminder.survey", TEACHER, gone.id, "Напоминание"),
        ("notice-to", "notice.accepted", TEACHER, None, "Наставник согласился"),
        ("notice-about", "notice.offer", MENTOR, None, f"Поддержите педагога <b>{NAME}</b>"),
        ("notice-other", "notice.offer", MENTOR, None, "Поддержите педагога <b>Другой</b>"),
        ("digest", "digest", MENTOR, other.id, f"{SURNAME} — не notice, не трогаем"),
    ]
    for key, kind, chat, user_id, text in rows:
        await enqueue(session, key=key, kind=kind, telegram_id=chat, text=text, user_id=user_id)
    await delete_user(session, gone)
    await session.commit()
    left = set((await session.scalars(select(Outbox.key))).all())
    assert left == {"notice-other", "digest"}
