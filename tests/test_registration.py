"""Registration journeys through the real Dispatcher: consent, the steps, bad input."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from aiogram.methods import AnswerCallbackQuery, SendMessage, SetMyCommands
from sqlalchemy import select

from bot.app import set_commands
from handlers.common import MAX_ID
from handlers.registration import callbacks as cb
from models import FsmRecord, School, User, UserSubject
from services import people
from services.reference import CATEGORIES, POSITIONS, SUBJECTS
from tests.conftest import Harness
from tests.helpers import add_schools, count, register, user_row
from tests.telegram import TgChat

HUGE = "99999999999999999999"


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
    # started teaching 18 years ago: never young, so the year of birth is not asked
    assert (user.birth_year, user.teaching_since) == (None, 2008)
    # the category without its date: the date is asked in «Мои курсы»
    assert (user.category, user.category_year) == ("first", None)
    assert user.registered_at == harness.clock.now
    texts = chat.texts()
    assert any("Регистрация завершена" in t and "Мои курсы" in t for t in texts)
    assert "Главное меню" in chat.last.text
    assert "Мария Петровна, выберите раздел" in chat.last.text  # имя и отчество
    assert chat.buttons() == [
        "📝 Анкеты",
        "📊 Мои результаты",
        "📚 Мои курсы",
        "🧭 Мой маршрут (ИОМ)",
        "🤝 Наставничество",
        "👤 Мой профиль",
        "⚙️ Настройки",
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
    assert "С какого года" in chat.last.text
    for bad in ("85", "1899", "2030", "тысяча"):
        await chat.send(bad)
        assert "четырьмя цифрами" in chat.texts()[-1]
    await chat.send("2024")  # a recent start: the year of birth is asked next
    assert (await user_row(harness.sessionmaker, 1004)).teaching_since == 2024  # type: ignore[union-attr]
    assert "Год вашего рождения" in chat.last.text
    await chat.send("2015")  # younger than 18
    assert "четырьмя цифрами" in chat.texts()[-1]
    await chat.send("1990")
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
    await register(admin)
    assert "📥 Каталог программ" in admin.buttons()
    teacher = harness.chat(1010)
    await register(teacher, name="Простая Учительница Ивановна")
    assert "📥 Каталог программ" not in teacher.buttons()


def _profile_columns(user: User | None) -> tuple[object, ...]:
    assert user is not None
    return (
        user.full_name,
        user.school_id,
        user.position,
        tuple(user.subject_codes),
        user.birth_year,
        user.teaching_since,
        user.category,
        user.category_year,
        user.registered_at,
        user.language,
    )


async def _press_forged(chat: TgChat, data: str, caplog: pytest.LogCaptureFixture) -> None:
    """Press forged data; it is answered once, plainly, and nothing is logged as an error."""
    api = chat.bot.api
    caplog.clear()
    before = len(api.of(AnswerCallbackQuery))
    await chat.press(data)
    answers = api.of(AnswerCallbackQuery)[before:]
    assert len(answers) == 1, data
    assert answers[0].text and "кнопка" in answers[0].text, data
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], data


async def test_forged_buttons_are_refused_and_change_nothing(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await add_schools(harness.sessionmaker)
    caplog.set_level(logging.INFO)
    chat = harness.chat(1020)
    await chat.send("/start")
    await chat.tap("Согласен")
    await chat.send("Фролова Вера Павловна")
    assert "страница 1 из" in chat.last.text  # the school step
    before = _profile_columns(await user_row(harness.sessionmaker, 1020))
    forged = [
        f"rgs:{HUGE}",  # a school
        f"p:school:{HUGE}",  # the old shape of the same button
        "rgs:0",
        "rgs:2147483647",
        f"rgp:{HUGE}",
        f"rgo:{HUGE}",
        "rgo:99",  # within the bounds of a button, but no such position
        f"rgt:{HUGE}",
        f"rgc:{HUGE}",
        f"rgy:birth:{HUGE}",
        f"rgz:birth:{HUGE}",
        "rgz:birth:1985",  # a real year, but not the step being asked
        "rgz:name:1985",
        f"pff:{HUGE}",
        "pff:catyear",
        "rgy:catyear:2020",  # the category year is no longer a step
    ]
    for data in forged:
        await _press_forged(chat, data, caplog)
    assert _profile_columns(await user_row(harness.sessionmaker, 1020)) == before
    # the dialog goes on where it was
    await chat.tap("Школа № 4")
    await chat.tap("Воспитатель")
    assert "С какого года" in chat.last.text
    await _press_forged(chat, "rgz:teaching:1900", caplog)  # outside the plausible years
    await _press_forged(chat, "rgz:birth:1990", caplog)
    user = await user_row(harness.sessionmaker, 1020)
    assert user is not None and user.birth_year is None and user.teaching_since is None


async def test_forged_consent_creates_no_row(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    chat = harness.chat(1021)
    await chat.send("/start")
    for data in (f"c:1:{HUGE}", f"c:0:{HUGE}", "c:1:-5"):
        await _press_forged(chat, data, caplog)
    assert await count(harness.sessionmaker, User) == 0
    assert await count(harness.sessionmaker, FsmRecord) == 0
    # a school id that does not exist is simply not taken
    await chat.press("c:1:2147483647")
    user = await user_row(harness.sessionmaker, 1021)
    assert user is not None and user.school_id is None
    assert "Как вас зовут" in chat.last.text


MENU = "🏠 Главное меню"


async def _menu_instead_of_answer(chat: TgChat, expect: str) -> None:
    await chat.send(MENU)
    assert expect in chat.texts()[-1]
    assert "Главное меню" in chat.texts()[-1] or "Регистрация не закончена" in chat.texts()[-1]


async def test_menu_button_is_never_taken_as_a_typed_answer(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(1022)
    await chat.send("/start")
    await chat.tap("Согласен")
    assert "Как вас зовут" in chat.last.text
    await _menu_instead_of_answer(chat, "Регистрация не закончена")
    assert (await user_row(harness.sessionmaker, 1022)).full_name is None  # type: ignore[union-attr]

    await chat.tap("Продолжить регистрацию")
    assert "Как вас зовут" in chat.last.text
    await chat.send("Белова Ирина Сергеевна")
    assert "страница 1 из" in chat.last.text
    await _menu_instead_of_answer(chat, "Регистрация не закончена")
    async with harness.sessionmaker() as s:
        assert await s.scalar(select(FsmRecord.state).where(FsmRecord.user_id == 1022)) is None
    await chat.tap("Продолжить регистрацию")
    assert "Поиск" not in chat.last.text  # the menu text was not taken as a filter
    await chat.tap("Школа № 5")
    await _menu_instead_of_answer(chat, "Регистрация не закончена")  # a button step
    await chat.tap("Продолжить регистрацию")
    await chat.tap("Учитель")
    await chat.tap("Информатика")
    await chat.tap("Готово")

    for step, question, typed in (
        ("teaching_since", "С какого года", "2024"),
        ("birth_year", "Год вашего рождения", "1990"),
    ):
        assert question in chat.last.text
        await _menu_instead_of_answer(chat, "Регистрация не закончена")
        user = await user_row(harness.sessionmaker, 1022)
        assert user is not None and getattr(user, step) is None
        await chat.tap("Продолжить регистрацию")
        assert question in chat.last.text
        await chat.send(typed)
    assert "квалификационная категория" in chat.last.text
    await _menu_instead_of_answer(chat, "Регистрация не закончена")
    user = await user_row(harness.sessionmaker, 1022)
    assert user is not None and user.category is None and user.registered_at is None
    await chat.tap("Продолжить регистрацию")
    await chat.tap("Первая")
    user = await user_row(harness.sessionmaker, 1022)
    assert user is not None and user.registered_at is not None
    assert (user.birth_year, user.teaching_since, user.category) == (1990, 2024, "first")
    assert "Главное меню" in chat.last.text


async def test_registration_survives_429_from_the_bot_api(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(1023)
    await register(chat, category="")  # stops before the category
    assert "квалификационная категория" in chat.last.text
    harness.bot.api.retry_after[SendMessage] = 1  # the next message is answered with 429
    sent_before = len(harness.bot.api.of(SendMessage))
    await chat.tap("Первая")
    assert SendMessage not in harness.bot.api.retry_after  # the 429 was answered
    user = await user_row(harness.sessionmaker, 1023)
    assert user is not None and user.registered_at == harness.clock.now
    assert user.category == "first"
    sent = [r.text for r in harness.bot.api.of(SendMessage)[sent_before:]]
    # «done» refused once with 429 and sent again, then the main menu
    assert len(sent) == 3 and "Регистрация завершена" in sent[0] and sent[0] == sent[1]
    assert "Главное меню" in chat.last.text
    assert "👤 Мой профиль" in chat.buttons()


def test_next_step_is_derived_from_the_row_alone() -> None:
    user = User(telegram_id=1, language="ru")
    user.subjects = []
    answers: list[tuple[str, str, object]] = [
        ("name", "full_name", "Иванова Мария"),
        ("school", "school_id", 1),
        ("position", "position", "teacher"),
        ("subjects", "subjects", [UserSubject(subject="math")]),
        ("teaching", "teaching_since", 2024),
        ("birth", "birth_year", 1999),
        ("category", "category", "first"),
    ]
    today = date(2026, 10, 12)
    for step, column, value in answers:
        assert people.next_step(user, today) == step
        setattr(user, column, value)
    assert people.next_step(user, today) is None  # the category's date is not asked here
    user.position, user.subjects = "psychologist", []
    assert people.next_step(user, today) is None  # subjects are asked of teachers only
    user.birth_year, user.teaching_since = None, 2022
    assert people.next_step(user, today) is None  # 4 years of teaching: never young
    user.teaching_since = 2023
    assert people.next_step(user, today) == "birth"  # may be young: the year of birth counts


def test_typed_answers_are_checked_by_the_service() -> None:
    assert people.check_name("  иванова   мария ") == "Иванова Мария"
    for bad in ("Мария", "Ivan0v Ivan", "🏠 Главное меню"):
        with pytest.raises(people.ProfileError) as refused:
            people.check_name(bad)
        assert refused.value.code == "reg.bad_name"
    user = User(telegram_id=1, language="ru", birth_year=1990)
    today = date(2026, 10, 12)
    assert people.check_year("teaching", " 2012 ", user, today) == 2012
    with pytest.raises(people.ProfileError) as refused:
        people.check_year("teaching", "2001", user, today)
    assert refused.value.code == "reg.bad_year"
    assert refused.value.params == {"lo": 2006, "hi": 2026}


def test_draft_survives_the_fsm_storage() -> None:
    draft = people.Draft(editing=True, school_query="сош 5", subjects=("math", "physics"))
    assert people.Draft.from_data(draft.to_data()) == draft
    assert people.Draft.from_data(None) == people.Draft()
    assert people.Draft.from_data({"subjects": ["math", "nope"]}).subjects == ("math",)


def test_every_button_fits_in_64_bytes() -> None:
    longest = [
        cb.SchoolPick(school=MAX_ID),
        cb.SchoolPage(page=-1),
        cb.PositionPick(index=len(POSITIONS) - 1),
        cb.SubjectToggle(index=len(SUBJECTS) - 1),
        cb.SubjectsDone(),
        cb.CategoryPick(index=len(CATEGORIES) - 1),
        cb.YearDecade(step="teaching", decade=9999),
        cb.YearPick(step="teaching", year=9999),
        cb.ProfileFieldEdit(field="position"),
    ]
    for data in longest:
        assert len(data.pack().encode()) <= 64
    prefixes = [
        c.__prefix__ for c in vars(cb).values() if isinstance(c, type) and hasattr(c, "__prefix__")
    ]
    assert len(prefixes) == len(set(prefixes))


async def test_registration_takes_nine_taps_for_a_teacher_with_two_subjects_and_a_category(
    harness: Harness,
) -> None:
    """The shortest path that still records what the indicators need: the year of birth only
    of someone who may be young, the category without its date (asked in «Мои курсы»)."""
    await add_schools(harness.sessionmaker)
    chat = harness.chat(1030)
    taps: list[str] = []

    async def tap(label: str) -> None:
        taps.append(label)
        await chat.tap(label)

    await chat.send("/start")
    await tap("Согласен")
    await chat.send("Петрова Анна Ивановна")
    await tap("Школа № 3")
    await tap("Учитель")
    await tap("Математика")
    await tap("Физика")
    await tap("Готово")
    await tap("2000–2009")
    await tap("2006")
    await tap("Высшая")
    assert len(taps) == 9
    user = await user_row(harness.sessionmaker, 1030)
    assert user is not None and user.registered_at is not None
    assert user.subject_codes == ["math", "physics"]
    assert (user.teaching_since, user.category, user.birth_year) == (2006, "highest", None)
    assert "Главное меню" in chat.last.text

    # a young teacher starting this year: her year with one tap, then the year of birth
    young = harness.chat(1031)
    taps.clear()
    await young.send("/start")
    await tap_on(young, taps, "Согласен")
    await young.send("Юная Ольга Игоревна")
    for label in ("Школа № 3", "Учитель", "Русский язык", "Литература", "Готово", "2026"):
        await tap_on(young, taps, label)
    assert "Год вашего рождения" in young.last.text
    for label in ("2000–2009", "2002", "Без категории"):
        await tap_on(young, taps, label)
    assert len(taps) == 10
    user = await user_row(harness.sessionmaker, 1031)
    assert user is not None and people.is_young(user, date(2026, 10, 12))


async def tap_on(chat: TgChat, taps: list[str], label: str) -> None:
    taps.append(label)
    await chat.tap(label)


async def test_text_at_a_button_step_repeats_the_question(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(1032)
    await chat.send("/start")
    await chat.tap("Согласен")
    await chat.send("Сомова Инна Петровна")
    await chat.tap("Школа № 2")
    await chat.send("учитель")
    text = chat.last.text
    assert "выберите ответ кнопкой" in text and "Ваша должность" in text
    assert "Учитель" in chat.buttons() and "Главное меню" not in text
    await chat.tap("Учитель")
    await chat.send("математика")
    assert "Какие предметы" in chat.last.text and "Математика" in chat.buttons()
    user = await user_row(harness.sessionmaker, 1032)
    assert user is not None and user.position == "teacher" and user.subject_codes == []
