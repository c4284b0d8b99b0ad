"""«Мои курсы» through the real Dispatcher: adding with a certificate, bad input re-asked,
editing, deleting, forged buttons, totals and attestation, and a restart mid-dialog."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime

import pytest
from aiogram.methods import AnswerCallbackQuery, SendDocument, SendPhoto
from aiogram.types import Document, PhotoSize, Sticker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import create_app
from models import Course, Provider, User
from models.db import make_engine
from tests.conftest import NOW, Clock, Harness, make_settings, reset_schema
from tests.helpers import add_schools, count, register, user_row
from tests.telegram import MockedBot, TgChat

MB = 1024 * 1024
STALE = "Эта кнопка уже не действует"


def pdf(
    size: int = 345_678, name: str = "Удостоверение ПК.pdf", file_id: str = "BQACpdf1"
) -> Document:
    return Document(
        file_id=file_id,
        file_unique_id=f"u-{file_id}",
        file_name=name,
        mime_type="application/pdf",
        file_size=size,
    )


async def open_courses(chat: TgChat) -> None:
    await chat.send("🏠 Главное меню")
    await chat.tap("Мои курсы")
    assert "Мои курсы" in chat.last.text


async def start_course(
    chat: TgChat,
    *,
    title: str = "Реализация требований обновлённых ФГОС ООО",
    provider: str = "ГАУ ДПО «Институт развития образования»",
    kind: str = "Повышение квалификации",
) -> None:
    await open_courses(chat)
    await chat.tap("Добавить курс")
    assert "Шаг 1 из 10" in chat.last.text
    await chat.send(title)
    assert "Кто проводил курс" in chat.last.text
    await chat.send(provider)
    assert "Что это было" in chat.last.text
    await chat.tap(kind)
    assert "Сколько часов" in chat.last.text


async def finish_course(
    chat: TgChat,
    *,
    hours: str = "72",
    start: str = "01.09.2026",
    end: str = "25.09.2026",
    fmt: str = "Дистанционно",
    blocks: tuple[str, ...] = ("Методическая",),
) -> None:
    await chat.send(hours)
    await chat.send(start)
    await chat.send(end)
    await chat.tap(fmt)
    for block in blocks:
        await chat.tap(block)
    await chat.tap("Готово")
    await chat.tap("Пропустить")  # number
    await chat.tap("Пропустить")  # file
    assert "Проверьте и сохраните курс" in chat.last.text
    await chat.tap("Сохранить")
    # the saved card (an offer to close a route step may follow it)
    assert any("Курс сохранён" in screen.text for screen in chat.screens()[-2:])


async def courses_of(harness: Harness, telegram_id: int) -> list[Course]:
    async with harness.sessionmaker() as s:
        user = await s.scalar(select(User).where(User.telegram_id == telegram_id))
        assert user is not None
        return list(
            (await s.execute(select(Course).where(Course.user_id == user.id).order_by(Course.id)))
            .scalars()
            .all()
        )


async def test_record_a_course_with_a_pdf_certificate(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(7001)
    await register(chat)
    await open_courses(chat)
    text = chat.last.text
    assert "Курсов пока нет" in text
    assert "повышение квалификации пока не записано" in text
    # the category is given at registration, its date here
    assert "Аттестация: Первая. Год присвоения не указан" in text
    await chat.tap("Аттестация: указать дату")
    await chat.send("15.03.2021")
    assert "Первая, присвоена 15.03.2021" in chat.last.text
    await start_course(chat)
    await chat.send("72")
    # the start date from the calendar: October 2026 is shown, go back a month, pick the 14th
    assert "Дата начала курса" in chat.last.text and "Октябрь 2026" in chat.buttons()
    await chat.tap("◀️ Сентябрь")
    assert "Сентябрь 2026" in chat.buttons()
    await chat.tap("14")
    # the end date typed
    assert "Дата окончания курса" in chat.last.text
    assert "[14]" not in chat.buttons()  # days before the start are not offered
    assert "13" not in chat.buttons() and "15" in chat.buttons()
    await chat.send("25.09.2026")
    assert "Как проходило обучение" in chat.last.text
    await chat.tap("Дистанционно")
    await chat.tap("Предметная")
    await chat.tap("Методическая")
    assert "✅ Предметная" in chat.buttons() and "✅ Методическая" in chat.buttons()
    await chat.tap("Готово")
    await chat.send("ПК-00123")
    assert "Файл удостоверения" in chat.last.text
    await chat.send_message(document=pdf())
    summary = chat.last.text
    for part in (
        "Реализация требований обновлённых ФГОС ООО",
        "ГАУ ДПО «Институт развития образования»",
        "Вид: Повышение квалификации",
        "Объём: 72 ч",
        "Сроки: 14.09.2026 — 25.09.2026",
        "Формат: Дистанционно",
        "Компетенции: Предметная, Методическая",
        "Номер удостоверения: ПК-00123",
        "Файл: Удостоверение ПК.pdf (338 КБ)",
    ):
        assert part in summary, part
    assert await count(harness.sessionmaker, Course) == 0  # nothing written before «Сохранить»
    await chat.tap("Сохранить")
    assert "Курс сохранён" in chat.last.text and "Объём: 72 ч" in chat.last.text

    [course] = await courses_of(harness, 7001)
    async with harness.sessionmaker() as s:
        provider = await s.get(Provider, course.provider_id)
    assert provider is not None and provider.name == "ГАУ ДПО «Институт развития образования»"
    assert (course.title, course.kind, course.hours, course.format) == (
        "Реализация требований обновлённых ФГОС ООО",
        "qualification",
        72,
        "distance",
    )
    assert (course.starts_on, course.ends_on) == (date(2026, 9, 14), date(2026, 9, 25))
    assert course.blocks == ["subject", "methodical"]
    assert course.certificate_number == "ПК-00123"
    assert (
        course.certificate_file_id,
        course.certificate_file_name,
        course.certificate_file_size,
    ) == ("BQACpdf1", "Удостоверение ПК.pdf", 345_678)

    # the certificate comes back by its file id
    await chat.tap("Сертификат")
    [sent] = harness.bot.api.of(SendDocument)
    assert sent.document == "BQACpdf1" and sent.chat_id == 7001

    # the list shows the totals and the course, the draft is gone
    await open_courses(chat)
    text = chat.last.text
    assert "Часов обучения в 2026 году: <b>72</b>" in text
    assert "Последнее повышение квалификации: 25.09.2026" in text
    assert "не позднее 25.09.2029" in text
    assert "25.09.2026 · Реализация требований" in chat.buttons()[0]
    assert "Продолжить добавление" not in " ".join(chat.buttons())

    # a second course picks the provider from the buttons; a typed twin is not duplicated
    await chat.tap("Добавить курс")
    await chat.send("Второй курс")
    await chat.tap("ГАУ ДПО «Институт развития образования»")
    assert "Что это было" in chat.last.text
    await chat.tap("Назад")
    await chat.send('гау дпо "институт развития образования"')
    await chat.tap("Семинар")
    await finish_course(chat, hours="8", start="1.10.2026", end="1.10.2026")
    assert await count(harness.sessionmaker, Provider) == 1
    second = (await courses_of(harness, 7001))[1]
    assert second.provider_id == course.provider_id and second.kind == "seminar"


async def test_bad_hours_and_dates_are_asked_again(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(7002)
    await register(chat)
    await start_course(chat)
    for bad, message in (
        ("0", "от 1 до 2000"),
        ("2001", "от 1 до 2000"),
        ("двадцать", "цифрами"),
        ("1,5", "целое число"),
    ):
        await chat.send(bad)
        assert message in chat.last.text, bad
        assert "Сколько часов" in chat.last.text  # the question again, with its buttons
    await chat.send_message(sticker=sticker())
    assert "нужно написать текстом" in chat.last.text
    await chat.send("72")
    assert "Дата начала курса" in chat.last.text
    for bad, message in (
        ("31.02.2026", "Такой даты нет"),
        ("первое сентября", "Не получилось понять дату"),
        ("01.01.1975", "не раньше 01.01.1980 и не позже 12.10.2028"),
    ):
        await chat.send(bad)
        assert message in chat.last.text, bad
        assert "Дата начала курса" in chat.last.text
    await chat.send("01.09.2026")
    await chat.send("31.08.2026")
    assert "не может быть раньше даты начала (01.09.2026)" in chat.last.text
    assert "Дата окончания курса" in chat.last.text
    # a forged calendar day before the start is refused like a stale button
    await chat.press("cal:ce:d:2026:8:20")
    assert chat.alerts()[-1].startswith(STALE)
    await chat.send("01.09.2026")  # a one-day course
    assert "Как проходило обучение" in chat.last.text
    await chat.send("очно")
    assert "выберите ответ кнопкой" in chat.last.text
    assert await count(harness.sessionmaker, Course) == 0


async def test_retraining_under_250_hours_asks_to_confirm(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(7003)
    await register(chat)
    await start_course(chat, kind="Профессиональная переподготовка")
    await chat.send("120")
    assert "обычно длится 250 часов" in chat.last.text
    await chat.tap("Исправить")
    assert "Сколько часов" in chat.last.text
    await chat.send("100")
    assert "а вы указали <b>100</b> ч" in chat.last.text
    await chat.send("120 ч")  # typing new hours at the warning corrects them
    assert "а вы указали <b>120</b> ч" in chat.last.text
    await chat.tap("Да, верно")
    assert "Дата начала курса" in chat.last.text
    await chat.send("01.02.2026")
    await chat.send("30.06.2026")
    await chat.tap("Смешанно")
    await chat.tap("Психолого-педагогическая")
    await chat.tap("Готово")
    await chat.tap("Пропустить")
    await chat.tap("Пропустить")
    await chat.tap("Сохранить")
    [course] = await courses_of(harness, 7003)
    assert (course.kind, course.hours, course.format) == ("retraining", 120, "blended")
    assert course.certificate_file_id is None and course.certificate_number is None


def sticker() -> Sticker:
    return Sticker(
        file_id="CAACsticker",
        file_unique_id="ust",
        type="regular",
        width=512,
        height=512,
        is_animated=False,
        is_video=False,
    )


async def test_wrong_certificate_files_are_refused(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(7004)
    await register(chat)
    await start_course(chat)
    await chat.send("36")
    await chat.send("01.09.2026")
    await chat.send("05.09.2026")
    await chat.tap("Очно")
    await chat.tap("Коммуникативная")
    await chat.tap("Готово")
    await chat.tap("Пропустить")
    assert "Файл удостоверения" in chat.last.text
    docx = Document(
        file_id="BQACdocx",
        file_unique_id="udocx",
        file_name="Удостоверение.docx",
        mime_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        file_size=50_000,
    )
    for kwargs, message in (
        ({"document": docx}, "Этот файл не подходит"),
        ({"sticker": sticker()}, "Это стикер"),
        ({"document": pdf(size=21 * MB)}, "Файл слишком большой: 21,0 МБ, можно не больше 20 МБ"),
        ({"text": "вот он"}, "Нужно прислать файл удостоверения"),
    ):
        await chat.send_message(**kwargs)
        assert message in chat.last.text, kwargs
        assert "Файл удостоверения" in chat.last.text
    photo = [
        PhotoSize(file_id="AgACsmall", file_unique_id="ps", width=90, height=120, file_size=2_000),
        PhotoSize(
            file_id="AgACbig", file_unique_id="pb", width=960, height=1280, file_size=180_000
        ),
    ]
    await chat.send_message(photo=photo)
    assert "Файл: фотография (176 КБ)" in chat.last.text
    await chat.tap("Сохранить")
    [course] = await courses_of(harness, 7004)
    assert (course.certificate_file_id, course.certificate_file_size) == ("AgACbig", 180_000)
    assert course.certificate_file_name == "photo.jpg"
    # the stored photo goes back as a photo, by its file id
    await chat.tap("Сертификат")
    [sent] = harness.bot.api.of(SendPhoto)
    assert sent.photo == "AgACbig" and not harness.bot.api.of(SendDocument)


async def test_edit_fields_and_delete_with_confirmation(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(7005)
    await register(chat)
    await start_course(chat)
    await finish_course(chat)
    [course] = await courses_of(harness, 7005)

    await chat.tap("Изменить")
    assert "Что изменить" in chat.last.text
    await chat.tap("Часы")
    assert "Изменение: Часы" in chat.last.text and "Сейчас: 72" in chat.last.text
    await chat.send("много")
    assert "цифрами" in chat.last.text
    await chat.send("36")
    assert "Изменения сохранены" in chat.last.text and "Объём: 36 ч" in chat.last.text

    await chat.tap("Изменить")
    await chat.tap("Дата окончания")
    await chat.send("31.08.2026")  # before the start
    assert "не может быть раньше даты начала (01.09.2026)" in chat.last.text
    assert "Сентябрь 2026" in chat.buttons() and "[25]" in chat.buttons()
    await chat.tap("Октябрь ▶️")
    await chat.tap("1")  # 1 October
    assert "Сроки: 01.09.2026 — 01.10.2026" in chat.last.text

    await chat.tap("Изменить")
    await chat.tap("Дата начала")
    await chat.send("02.10.2026")
    assert "не может быть позже даты окончания (01.10.2026)" in chat.last.text
    await chat.tap("К курсу")  # leave without a change

    await chat.tap("Изменить")
    await chat.tap("Компетенции")
    await chat.tap("Методическая")  # untick the only one
    await chat.tap("Готово")
    assert chat.alerts()[-1] == "Отметьте хотя бы одну компетенцию."
    await chat.tap("Предметная")
    await chat.tap("Готово")
    assert "Компетенции: Предметная" in chat.last.text

    await chat.tap("Изменить")
    await chat.tap("Вид")
    await chat.tap("Профессиональная переподготовка")
    assert "проверьте объём" in chat.last.text  # 36 h of retraining: a warning, not a refusal

    await chat.tap("Изменить")
    await chat.tap("Файл сертификата")
    await chat.send_message(document=pdf(file_id="BQACnew", name="new.pdf", size=2 * MB))
    assert "Файл: new.pdf (2,0 МБ)" in chat.last.text
    await chat.tap("Изменить")
    await chat.tap("Номер удостоверения")
    await chat.send("№ 42")
    await chat.tap("Изменить")
    await chat.tap("Организация")
    await chat.send("ЦНППМ")
    await chat.tap("Изменить")
    await chat.tap("Название")
    await chat.send("ФГОС: практика")

    [changed] = await courses_of(harness, 7005)
    assert changed.id == course.id
    assert (changed.hours, changed.ends_on, changed.blocks, changed.kind) == (
        36,
        date(2026, 10, 1),
        ["subject"],
        "retraining",
    )
    assert (changed.certificate_file_id, changed.certificate_file_size) == ("BQACnew", 2 * MB)
    assert (changed.certificate_number, changed.title) == ("№ 42", "ФГОС: практика")
    assert await count(harness.sessionmaker, Provider) == 2

    # removing the number
    await chat.tap("Изменить")
    await chat.tap("Номер удостоверения")
    await chat.tap("Убрать")
    assert "Номер удостоверения: не указано" in chat.last.text

    await chat.tap("Удалить")
    assert "Удалить курс «ФГОС: практика»?" in chat.last.text
    await chat.tap("Нет, оставить")
    assert await count(harness.sessionmaker, Course) == 1
    await chat.tap("Удалить")
    await chat.tap("Да, удалить")
    assert "Курс удалён" in chat.last.text and "Курсов пока нет" in chat.last.text
    assert await count(harness.sessionmaker, Course) == 0


async def test_forged_buttons_change_nothing(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    owner = harness.chat(7006)
    await register(owner)
    await start_course(owner)
    await finish_course(owner)
    [course] = await courses_of(harness, 7006)

    other = harness.chat(7007, "Пётр")
    await register(other, name="Петров Пётр", category="Без категории")
    cid = course.id
    forged = [
        f"coo:{cid}",
        f"coe:{cid}",
        f"cof:{cid}:3",
        f"cod:{cid}",
        f"cox:{cid}",
        f"coc:{cid}",
        "cof:999999:0",
        "coo:99999999999",  # beyond a 32-bit id
        "cof:-5:0",
        "cok:0",
        "cofm:9",
        "cosv",
        "cos",
        "coy",
        "cob",
        "coq",
        "cor",
        "cop:1",
        "cal:cs:d:2026:10:1",
        "cal:ca:d:2026:10:1",
    ]
    for data in forged:
        before = len(harness.bot.api.of(AnswerCallbackQuery))
        await other.press(data)
        answers = harness.bot.api.of(AnswerCallbackQuery)[before:]
        assert answers and answers[-1].show_alert and STALE in (answers[-1].text or ""), data
    [same] = await courses_of(harness, 7006)
    assert (same.title, same.hours, same.ends_on) == (course.title, course.hours, course.ends_on)
    assert not await courses_of(harness, 7007)
    assert not harness.bot.api.of(SendDocument)
    victim = await user_row(harness.sessionmaker, 7007)
    assert victim is not None and victim.category_date is None

    # a teacher in the middle of a step cannot be pushed to another one
    await start_course(other, title="Свой курс")
    await other.press("cofm:0")  # format is not asked yet
    assert other.alerts()[-1].startswith(STALE)
    await other.press("cal:ce:d:2026:10:1")
    assert other.alerts()[-1].startswith(STALE)
    assert "Сколько часов" in other.last.text


async def test_totals_and_attestation_warning(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    harness.clock.now = datetime(2025, 10, 12, 9, 0, tzinfo=UTC)
    chat = harness.chat(7008)
    await register(chat, category="Высшая", today=date(2025, 10, 12))
    async with harness.sessionmaker.begin() as s:
        user = await s.scalar(select(User).where(User.telegram_id == 7008))
        assert user is not None
        assert user.category_year is None  # the date is asked in «Мои курсы», not at registration
        user.category_year = 2021
        provider = Provider(name="ИРО")
        s.add(provider)
        await s.flush()
        for title, kind, hours, start, end in (
            ("Старый курс", "qualification", 18, date(2022, 10, 1), date(2022, 10, 11)),
            ("ПК три года назад", "qualification", 72, date(2022, 10, 1), date(2022, 10, 12)),
            ("Семинар", "seminar", 8, date(2025, 3, 1), date(2025, 3, 1)),
            ("Идёт сейчас", "qualification", 36, date(2025, 10, 1), date(2025, 11, 30)),
        ):
            s.add(
                Course(
                    user_id=user.id,
                    title=title,
                    provider_id=provider.id,
                    kind=kind,
                    hours=hours,
                    starts_on=start,
                    ends_on=end,
                    format="in_person",
                    blocks=["subject"],
                )
            )
    await open_courses(chat)
    text = chat.last.text
    assert "Часов обучения в 2025 году: <b>8</b>" in text
    assert "За последние 3 года (с 12.10.2022): <b>80</b> ч" in text
    assert "Ещё идут или запланированы: 36 ч" in text
    assert "Последнее повышение квалификации: 12.10.2022" in text
    assert "не позднее 12.10.2025" in text and "Срок ПК подошёл" not in text
    # year only: counted from 01.01.2021, expires 01.01.2026, within 6 months of it
    assert "Высшая, присвоена в 2021 году" in text and "действует до <b>01.01.2026</b>" in text
    assert "меньше 6 месяцев" in text
    # newest first
    assert [b.split(" · ")[1] for b in chat.buttons()[:4]] == [
        "Идёт сейчас",
        "Семинар",
        "ПК три года назад",
        "Старый курс",
    ]

    # the next day the 3 years are over
    harness.clock.now = datetime(2025, 10, 13, 9, 0, tzinfo=UTC)
    await open_courses(chat)
    assert "Срок ПК подошёл" in chat.last.text and "(12.10.2022)" in chat.last.text

    # the exact date, picked in the calendar (it opens at January of the known year)
    await chat.tap("Аттестация: указать дату")
    assert "Когда присвоена категория «Высшая»" in chat.last.text
    assert "Январь 2021" in chat.buttons()
    await chat.tap("2022 ⏩")
    assert "Январь 2022" in chat.buttons()
    await chat.send("20.06.2031")
    assert "не может быть позже сегодняшнего дня" in chat.last.text
    await chat.send("20.04.2021")
    text = chat.last.text
    assert "Дата присвоения категории сохранена" in text
    assert "Высшая, присвоена 20.04.2021, действует до <b>20.04.2026</b>" in text
    assert "меньше 6 месяцев" not in text  # the warning starts on 20.10.2025
    user = await user_row(harness.sessionmaker, 7008)
    assert user is not None and user.category_date == date(2021, 4, 20)
    assert user.category_year == 2021

    harness.clock.now = datetime(2025, 10, 19, 9, 0, tzinfo=UTC)  # a day before the warning
    await open_courses(chat)
    assert "меньше 6 месяцев" not in chat.last.text and "истекла" not in chat.last.text
    harness.clock.now = datetime(2025, 10, 20, 9, 0, tzinfo=UTC)  # exactly 6 months before
    await open_courses(chat)
    assert "меньше 6 месяцев" in chat.last.text
    harness.clock.now = datetime(2026, 4, 21, 9, 0, tzinfo=UTC)  # the day after expiry
    await open_courses(chat)
    assert "Категория истекла: она действовала до 20.04.2026" in chat.last.text


async def test_adding_continues_after_a_restart(harness: Harness, make_harness) -> None:  # type: ignore[no-untyped-def]
    await add_schools(harness.sessionmaker)
    chat = harness.chat(7009)
    await register(chat)
    await start_course(chat, title="Курс до перезапуска", provider="ИРО", kind="Стажировка")
    # the process dies at the hours step; a new one starts on the same database
    await harness.app.dispatcher.storage.close()
    again = await make_harness()
    chat2 = again.chat(7009)
    await chat2.send("40")
    assert "Шаг 5 из 10" in chat2.last.text and "Дата начала курса" in chat2.last.text
    await chat2.send("01.09.2026")
    assert "Шаг 6 из 10" in chat2.last.text
    # the teacher leaves to «Мои курсы»: the draft waits there, and survives another restart
    await chat2.press("m:courses")
    assert "▶️ Продолжить добавление курса" in chat2.buttons()
    await chat2.send("15.09.2026")  # not in a step any more: nothing is taken
    assert "Я не понял" in chat2.texts()[-1]
    await again.app.dispatcher.storage.close()
    third = await make_harness()
    chat3 = third.chat(7009)
    await chat3.press("m:courses")
    await chat3.tap("Продолжить добавление курса")
    assert "Шаг 6 из 10" in chat3.last.text and "Дата окончания курса" in chat3.last.text
    await chat3.send("15.09.2026")
    await chat3.tap("Очно")
    await chat3.tap("Предметная")
    await chat3.tap("Готово")
    await chat3.send("А-17")
    await chat3.tap("Пропустить")
    summary = chat3.last.text
    assert "Курс до перезапуска" in summary and "Организация: ИРО" in summary
    assert "Вид: Стажировка" in summary and "Сроки: 01.09.2026 — 15.09.2026" in summary
    await chat3.tap("Сохранить")
    [course] = await courses_of(third, 7009)
    assert (course.title, course.kind, course.hours, course.certificate_number) == (
        "Курс до перезапуска",
        "internship",
        40,
        "А-17",
    )
    assert (course.starts_on, course.ends_on) == (date(2026, 9, 1), date(2026, 9, 15))
    async with third.sessionmaker() as s:
        provider = await s.get(Provider, course.provider_id)
    assert provider is not None and provider.name == "ИРО"


async def test_cancel_and_back(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(7011)
    await register(chat)
    await start_course(chat)
    await chat.tap("Назад")
    assert "Что это было" in chat.last.text and "✅ Повышение квалификации" in chat.buttons()
    await chat.tap("Назад")
    assert "Кто проводил курс" in chat.last.text
    assert "Сейчас: ГАУ ДПО «Институт развития образования»" in chat.last.text
    await chat.tap("Отменить")
    assert "черновик удалён" in chat.last.text
    assert "Продолжить добавление" not in " ".join(chat.buttons())
    assert await count(harness.sessionmaker, Course) == 0
    assert await count(harness.sessionmaker, Provider) == 0
    # every step has the way to the main menu
    await chat.tap("Добавить курс")
    assert "🏠 Главное меню" in chat.buttons()
    await chat.tap("Главное меню")
    assert "Главное меню" in chat.last.text
    await chat.send("Какой-то текст")
    assert "Я не понял" in chat.texts()[-1]


async def test_saving_a_course_offers_matching_route_steps(harness: Harness, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from models import Route, RouteStep
    from services import routes

    await add_schools(harness.sessionmaker)
    chat = harness.chat(7012)
    await register(chat)
    async with harness.sessionmaker.begin() as s:
        user = await s.scalar(select(User).where(User.telegram_id == 7012))
        assert user is not None
        route = Route(user_id=user.id, status="active")
        s.add(route)
        await s.flush()
        step = RouteStep(
            route_id=route.id,
            position=0,
            block="methodical",
            level="high",
            kind="course",
            title="Курс по методике",
            target_date=date(2027, 3, 1),
        )
        s.add(step)
        await s.flush()
        step_id = step.id

    # a lookup that fails never undoes the saved course
    async def broken(*args: object) -> object:
        raise RuntimeError("boom")

    with monkeypatch.context() as patch:
        patch.setattr(routes, "close_offer", broken)
        await start_course(chat, title="Первый курс")
        await finish_course(chat, blocks=("Методическая",))
    assert [c.title for c in await courses_of(harness, 7012)] == ["Первый курс"]
    assert not any("Что-то пошло не так" in text for text in chat.texts())

    # a course that develops another block: nothing is offered (the card is the last message)
    await start_course(chat, title="Второй курс")
    await finish_course(chat, blocks=("Коммуникативная",))
    assert "Курс сохранён" in chat.last.text

    # a matching course: the step is offered under the saved card
    await start_course(chat, title="Третий курс")
    await finish_course(chat, blocks=("Методическая",))
    course = (await courses_of(harness, 7012))[-1]
    assert "Курс сохранён" not in chat.last.text
    data, _ = chat.button_data("Курс по методике")
    assert data == f"rtw:{step_id}:{course.id}"


# ---------- forged huge ids and the menu button in the middle of a step ----------

HUGE = "99999999999999999999"


async def _course_rows(harness: Harness) -> list[tuple[object, ...]]:
    async with harness.sessionmaker() as s:
        rows = (await s.execute(select(Course).order_by(Course.id))).scalars().all()
        users = (await s.execute(select(User).order_by(User.id))).scalars().all()
        return [
            *((c.id, c.user_id, c.title, c.hours, c.starts_on, c.ends_on, c.blocks) for c in rows),
            *((u.id, u.category_date, u.category_year) for u in users),
        ]


async def test_forged_huge_ids_are_answered_once_as_stale(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(7020)
    await register(chat)
    await start_course(chat)
    await finish_course(chat)
    await start_course(chat, title="Второй курс")  # in the middle of a dialog
    before_rows = await _course_rows(harness)
    providers = await count(harness.sessionmaker, Provider)
    caplog.set_level(logging.WARNING)
    forged = [
        f"col:{HUGE}",
        f"coo:{HUGE}",
        f"coe:{HUGE}",
        f"cof:{HUGE}:0",
        f"cof:1:{HUGE}",
        f"cod:{HUGE}",
        f"cox:{HUGE}",
        f"coc:{HUGE}",
        f"cop:{HUGE}",
        f"cog:{HUGE}",
        f"cok:{HUGE}",
        f"cofm:{HUGE}",
        f"cot:{HUGE}",
        f"cal:cs:d:{HUGE}:9:1",
        f"cal:ce:m:2026:{HUGE}:1",
        f"cal:ca:d:2026:1:{HUGE}",
    ]
    for data in forged:
        before = len(harness.bot.api.of(AnswerCallbackQuery))
        await chat.press(data)
        answers = harness.bot.api.of(AnswerCallbackQuery)[before:]
        assert len(answers) == 1, data
        assert answers[0].show_alert and STALE in (answers[0].text or ""), data
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [r.getMessage() for r in errors]
    assert await _course_rows(harness) == before_rows
    assert await count(harness.sessionmaker, Provider) == providers
    assert "Сколько часов" in chat.last.text  # the dialog waits where it was


MENU = "🏠 Главное меню"


async def _reach(chat: TgChat, step: str) -> None:
    """Start adding a course and answer up to ``step`` (its question is the last screen)."""
    await open_courses(chat)
    await chat.tap("Добавить курс")
    answers: list[tuple[str, str, str]] = [
        ("title", "send", "Курс о меню"),
        ("provider", "send", "ИРО"),
        ("kind", "tap", "Профессиональная переподготовка"),
        ("hours", "send", "72"),
        ("hours_warn", "tap", "Да, верно"),
        ("starts_on", "send", "01.09.2026"),
        ("ends_on", "send", "25.09.2026"),
        ("format", "tap", "Очно"),
        ("blocks", "tap", "Предметная"),
        ("blocks_done", "tap", "Готово"),
        ("certificate_number", "send", "ПК-1"),
    ]
    for name, how, value in answers:
        if name == step:
            return
        await (chat.send(value) if how == "send" else chat.tap(value))


async def test_menu_button_in_a_typed_step_is_never_the_answer(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(7021)
    await register(chat)
    steps = [
        ("title", 1),
        ("provider", 2),
        ("hours", 4),
        ("hours_warn", 4),
        ("starts_on", 5),
        ("ends_on", 6),
        ("certificate_number", 9),
        ("certificate", 10),
    ]
    for step, number in steps:
        await _reach(chat, step)
        assert f"Шаг {number} из 10" in chat.last.text, step
        if step == "hours_warn":
            assert "Да, верно" in " ".join(chat.buttons())
        await chat.send(MENU)
        assert "Главное меню" in chat.last.text and "📚 Мои курсы" in chat.buttons(), step
        # the dialog is left (handlers/home clears it): no step takes the next text
        await chat.send("72")
        assert "Я не понял" in chat.texts()[-1], step
        await open_courses(chat)
        assert not any("Продолжить" in b for b in chat.buttons()), step
    assert await count(harness.sessionmaker, Course) == 0
    assert await count(harness.sessionmaker, Provider) == 0

    # editing a typed field of a recorded course
    await start_course(chat, title="Записанный курс")
    await finish_course(chat)
    [course] = await courses_of(harness, 7021)
    for field in ("Название", "Часы", "Дата начала", "Номер удостоверения"):
        await chat.tap("Изменить")
        await chat.tap(field)
        assert "Изменение:" in chat.last.text
        await chat.send(MENU)
        assert "Главное меню" in chat.last.text and "📚 Мои курсы" in chat.buttons(), field
        await open_courses(chat)
        await chat.tap("Записанный курс")
    [same] = await courses_of(harness, 7021)
    assert (same.title, same.hours, same.starts_on, same.certificate_number) == (
        course.title,
        course.hours,
        course.starts_on,
        course.certificate_number,
    )

    # the attestation date
    await open_courses(chat)
    await chat.tap("Аттестация: указать дату")
    await chat.send(MENU)
    assert "Главное меню" in chat.last.text and "📚 Мои курсы" in chat.buttons()
    await chat.send("15.03.2021")  # not in a step any more: nothing is taken
    victim = await user_row(harness.sessionmaker, 7021)
    assert victim is not None and victim.category_date is None


# ---------- property: random buttons and messages from another teacher ----------

VICTIM, ATTACKER = 7101, 7102
CO_PREFIXES = (
    *("col", "con", "cor", "coq", "cob", "coo", "coe", "cof", "cod", "cox", "coc", "coa"),
    *("cop", "cog", "cok", "cofm", "coy", "coh", "cot", "cobd", "cos", "cosv", "co", "zz"),
)
_ids = st.sampled_from([0, 1, 2, 3, -1, 2**40])
co_callback = st.one_of(
    st.builds(
        lambda prefix, numbers: ":".join([prefix, *map(str, numbers)]),
        st.sampled_from(CO_PREFIXES),
        st.lists(st.one_of(_ids, st.integers(-2, 12)), max_size=3),
    ),
    st.builds(
        lambda f, a, y, m, d: f"cal:{f}:{a}:{y}:{m}:{d}",
        st.sampled_from(["cs", "ce", "ca", "xx"]),
        st.sampled_from(["d", "m", "n", "q"]),
        st.sampled_from([0, 1979, 2025, 2026, 2028, 99999]),
        st.integers(-1, 13),
        st.integers(-1, 32),
    ),
    st.sampled_from(["m:courses", "m:main", "con"]),
    st.text(max_size=80),
)
co_message = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        ["72", "0", "01.09.2026", "31.02.2026", "ИРО", "Пропустить", "/menu", "🏠 Главное меню"]
    ),
)
co_action = st.one_of(
    st.tuples(st.just("msg"), co_message),
    st.tuples(st.just("cb"), co_callback),
    st.tuples(st.just("doc"), st.sampled_from(["application/pdf", "text/plain", "image/png"])),
)


async def _co_scenario(url: str, actions: list[tuple[str, str]]) -> None:
    engine = make_engine(url)
    await reset_schema(engine)
    app = await create_app(make_settings(url), engine=engine, clock=Clock())
    try:
        await add_schools(app.sessionmaker, count=1)
        async with app.sessionmaker.begin() as s:
            people = [
                User(
                    telegram_id=tg,
                    registered_at=NOW,
                    full_name=name,
                    school_id=1,
                    position="teacher",
                    birth_year=1980,
                    teaching_since=2005,
                    category="first",
                    category_year=2022,
                )
                for tg, name in ((VICTIM, "Жертва Анна"), (ATTACKER, "Другой Иван"))
            ]
            s.add_all(people)
            provider = Provider(name="ИРО")
            s.add(provider)
            await s.flush()
            s.add(
                Course(
                    user_id=people[0].id,
                    title="Курс жертвы",
                    provider_id=provider.id,
                    kind="qualification",
                    hours=72,
                    starts_on=date(2026, 1, 10),
                    ends_on=date(2026, 1, 20),
                    format="distance",
                    blocks=["subject"],
                    certificate_file_id="BQACvictim",
                    certificate_file_name="v.pdf",
                    certificate_file_size=10,
                )
            )

        async def snapshot() -> tuple[object, ...]:
            async with app.sessionmaker() as s:
                victim = await s.scalar(select(User).where(User.telegram_id == VICTIM))
                rows = (
                    await s.execute(select(Course).where(Course.user_id == victim.id))
                ).scalars()  # type: ignore[union-attr]
                return (
                    victim.category_date,  # type: ignore[union-attr]
                    victim.category_year,  # type: ignore[union-attr]
                    tuple(
                        (c.id, c.title, c.hours, c.starts_on, c.ends_on, c.blocks, c.provider_id)
                        for c in rows
                    ),
                )

        before = await snapshot()
        bot = MockedBot()
        attacker = TgChat(app.dispatcher, bot, ATTACKER)
        errors: list[logging.LogRecord] = []
        handler = logging.Handler(logging.ERROR)
        handler.emit = errors.append  # type: ignore[method-assign]
        logging.getLogger("pedbot.errors").addHandler(handler)
        try:
            for kind, payload in actions:
                if kind == "msg":
                    await attacker.send(payload or ".")
                elif kind == "doc":
                    await attacker.send_message(
                        document=Document(
                            file_id="BQACx", file_unique_id="ux", file_name="f", mime_type=payload
                        )
                    )
                else:
                    await attacker.press(payload)
        finally:
            logging.getLogger("pedbot.errors").removeHandler(handler)
        assert not errors, [r.getMessage() for r in errors]
        assert not bot.api.violations, bot.api.violations
        assert await snapshot() == before
        sent = [r.document for r in bot.api.of(SendDocument)]
        assert "BQACvictim" not in sent
    finally:
        await app.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_random_course_buttons_never_raise_nor_touch_others(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.conftest import scratch_url

    url = scratch_url(backend, tmp_path_factory)

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(co_action, min_size=1, max_size=15))
    def run(actions: list[tuple[str, str]]) -> None:
        asyncio.run(_co_scenario(url, actions))

    run()


async def test_attestation_for_conformity_with_the_position(harness: Harness) -> None:
    """Not a category: a teacher without one records its date in «Мои курсы»; it is valid
    five years and warned about six months before."""
    await add_schools(harness.sessionmaker)
    chat = harness.chat(7030)
    await register(chat, category="Без категории")
    await open_courses(chat)
    assert "без категории" in chat.last.text
    await chat.tap("Соответствие должности: указать дату")
    assert "аттестацию на соответствие занимаемой должности" in chat.last.text
    await chat.send("01.12.2030")
    assert "не может быть позже сегодняшнего дня" in chat.last.text
    await chat.send("01.12.2021")
    text = chat.last.text
    assert "Дата аттестации на соответствие занимаемой должности сохранена" in text
    assert "соответствие занимаемой должности от 01.12.2021, действует до <b>01.12.2026</b>" in text
    assert "меньше 6 месяцев" in text
    user = await user_row(harness.sessionmaker, 7030)
    assert user is not None
    assert (user.category, user.conformity_date, user.category_date) == (
        "none",
        date(2021, 12, 1),
        None,
    )
