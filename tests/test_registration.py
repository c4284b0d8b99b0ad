"""Registration journeys through the real Dispatcher: consent, the steps, bad input."""

from __future__ import annotations

from aiogram.methods import SendMessage, SetMyCommands
from sqlalchemy import select

from bot.app import set_commands
from models import FsmRecord, School, User, UserSubject
from tests.conftest import Harness
from tests.helpers import add_schools, count, register, user_row


async def test_full_registration_with_buttons(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(1001)
    await register(chat)

    user = await user_row(harness.sessionmaker, 1001)
    assert user is not None
    assert user.full_name == "Иванова Мария Петровна"
    assert user.school is not None and user.school.short_name == "Школа № 3"
    assert user.position == "teacher"
    assert user.subject_codes == ["math"]
    assert (user.birth_year, user.teaching_since) == (1985, 2008)
    assert (user.category, user.category_year) == ("first", 2021)
    assert user.registered_at == harness.clock.now
    texts = chat.texts()
    assert any("Регистрация завершена" in t for t in texts)
    assert "Главное меню" in chat.last.text
    assert chat.buttons() == [
        "📝 Анкеты",
        "📊 Мои результаты",
        "📚 Мои курсы",
        "🧭 Мой маршрут (ИОМ)",
        "👤 Мой профиль",
        "❓ Помощь",
    ]
    # the persistent «Главное меню» keyboard was sent once
    reply_kb = [
        r
        for r in harness.bot.api.of(SendMessage)
        if r.reply_markup is not None and hasattr(r.reply_markup, "keyboard")
    ]
    assert len(reply_kb) == 1


async def test_refusing_consent_leaves_no_row(harness: Harness) -> None:
    chat = harness.chat(1002)
    await chat.send("/start")
    assert "152-ФЗ" in chat.last.text
    await chat.tap("Не согласен")
    assert "ничего о вас не сохранили" in chat.last.text
    assert await count(harness.sessionmaker, User) == 0
    assert await count(harness.sessionmaker, FsmRecord) == 0
    # a polite way back
    await chat.tap("Вернуться к согласию")
    assert "152-ФЗ" in chat.last.text
    await chat.tap("Согласен")
    assert await count(harness.sessionmaker, User) == 1


async def test_text_before_consent_stores_nothing(harness: Harness) -> None:
    chat = harness.chat(1003)
    await chat.send("Иванова Мария Петровна")
    assert "согласие" in chat.texts()[-1]
    assert await count(harness.sessionmaker, User) == 0
    assert await count(harness.sessionmaker, FsmRecord) == 0


async def test_bad_name_and_year_are_asked_again(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(1004)
    await chat.send("/start")
    await chat.tap("Согласен")
    for bad in (
        "Мария",
        "Иванова Мария Петровна Сидорова",
        "Ivan0v Ivan",
        "<b>x</b> y",
        "А" * 60 + " " + "Б" * 50,
    ):
        await chat.send(bad)
        assert "Не получилось распознать ФИО" in chat.texts()[-1]
    assert (await user_row(harness.sessionmaker, 1004)).full_name is None  # type: ignore[union-attr]
    await chat.send("петров-водкин кузьма")
    assert (await user_row(harness.sessionmaker, 1004)).full_name == "Петров-Водкин Кузьма"  # type: ignore[union-attr]
    await chat.tap("Школа № 1")
    await chat.tap("Педагог-психолог")  # no subjects asked for a psychologist
    assert "Год вашего рождения" in chat.last.text
    for bad in ("85", "1899", "2020", "тысяча"):
        await chat.send(bad)
        assert "четырьмя цифрами" in chat.texts()[-1]
    await chat.send("1990")
    assert (await user_row(harness.sessionmaker, 1004)).birth_year == 1990  # type: ignore[union-attr]
    await chat.send("2001")  # before 16 years of age
    assert "четырьмя цифрами" in chat.texts()[-1]
    await chat.send("2012")
    await chat.tap("Без категории")
    user = await user_row(harness.sessionmaker, 1004)
    assert user is not None and user.registered_at is not None
    assert user.category == "none" and user.category_year is None
    assert user.subject_codes == []


async def test_school_filter_paging_and_deep_link(harness: Harness) -> None:
    await add_schools(harness.sessionmaker, count=20)
    chat = harness.chat(1005)
    await chat.send("/start")
    await chat.tap("Согласен")
    await chat.send("Сидоров Пётр")
    assert "страница 1 из 3" in chat.last.text
    await chat.tap("Дальше")
    assert "страница 2 из 3" in chat.last.text
    await chat.send("ШКОЛА № 1")
    assert "Поиск" in chat.last.text
    labels = [b for b in chat.buttons() if b.startswith("Школа")]
    assert "Школа № 1" in labels and "Школа № 12" in labels and "Школа № 2" not in labels
    await chat.send("нет такой")
    assert "Ничего не нашлось" in chat.last.text
    await chat.tap("Весь список")
    assert "Школа № 1" in chat.buttons()

    async with harness.sessionmaker() as s:
        school = await s.scalar(select(School).where(School.code == "sch7"))
    linked = harness.chat(1006)
    await linked.send("/start ssch7")
    assert "Школа № 7" in linked.texts()[0] or school.name in linked.texts()[0]  # type: ignore[union-attr]
    await linked.tap("Согласен")
    assert "Как вас зовут" in linked.last.text
    await linked.send("Кузнецова Анна Ивановна")
    assert "Ваша должность" in linked.last.text  # school step skipped
    user = await user_row(harness.sessionmaker, 1006)
    assert user is not None and user.school_id == school.id  # type: ignore[union-attr]


async def test_registration_resumes_after_restart(harness: Harness, make_harness) -> None:  # type: ignore[no-untyped-def]
    await add_schools(harness.sessionmaker)
    chat = harness.chat(1007)
    await chat.send("/start")
    await chat.tap("Согласен")
    await chat.send("Орлова Ольга Олеговна")
    await chat.tap("Школа № 2")
    await chat.tap("Учитель")
    await chat.tap("Физика")
    await chat.tap("Химия")
    # the process dies here; a new one starts on the same database
    await harness.app.dispatcher.storage.close()
    again = await make_harness()
    chat2 = again.chat(1007)
    chat2.bot.api.shown = {}
    await chat2.send("/start")
    assert "Продолжим регистрацию" in chat2.last.text
    assert "✅ Физика" in chat2.buttons() and "✅ Химия" in chat2.buttons()
    await chat2.tap("Готово")
    async with again.sessionmaker() as s:
        subjects = (
            (await s.execute(select(UserSubject.subject).order_by(UserSubject.subject)))
            .scalars()
            .all()
        )
    assert subjects == ["chemistry", "physics"]


async def test_set_my_commands_failure_is_not_fatal(harness: Harness) -> None:
    harness.bot.api.fail[SetMyCommands] = "Too Many Requests: retry later"
    await set_commands(harness.bot)
    assert harness.bot.api.of(SetMyCommands)


async def test_admin_sees_the_catalog_entry_right_after_registration(harness: Harness) -> None:
    from tests.conftest import ADMIN_ID

    await add_schools(harness.sessionmaker)
    admin = harness.chat(ADMIN_ID)
    await register(admin)  # the category year is typed: the last step is a text message
    assert "📥 Каталог программ" in admin.buttons()
    teacher = harness.chat(1010)
    await register(teacher, name="Простая Учительница Ивановна")
    assert "📥 Каталог программ" not in teacher.buttons()
