"""Questionnaire journeys through the real Dispatcher: each instrument, resume, back, double
tap, restart, results and history."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from models import Answer, Attempt, MentorRequest, ScaleResult
from services.people import get_user
from tests.conftest import Harness
from tests.helpers import add_schools, register
from tests.telegram import TgChat

NAV = ("Назад", "Прервать", "Пропустить", "Главное меню", "Готово")


def options(chat: TgChat) -> list[str]:
    return [b for b in chat.buttons() if not any(n in b for n in NAV)]


async def answer_all(
    chat: TgChat, choose: Callable[[str, list[str]], str | None], limit: int = 80
) -> int:
    """Answer questions until the questionnaire completes; returns how many were asked.

    ``choose(question_text, option_labels)`` returns a label to tap, the text to type for a
    typed question, or ``None`` for «Пропустить».
    """
    start = len(chat.texts())
    for asked in range(1, limit + 1):
        screen = chat.last_with_buttons()
        text = screen.text
        if any("Анкета заполнена" in t for t in chat.texts()[start:]):
            return asked - 1
        choice = choose(text, options(chat))
        if choice is None:
            await chat.tap("Пропустить")
        elif "Напишите ответ" in text:
            await chat.send(choice)
        else:
            await chat.tap(choice)
            if "Готово" in " ".join(chat.buttons()) and "Отметьте" in chat.last.text:
                await chat.tap("Готово")
    raise AssertionError(f"the questionnaire did not end: {chat.texts()[-2:]} {chat.buttons()}")


async def results_of(harness: Harness, telegram_id: int, instrument: str) -> dict[str, ScaleResult]:
    async with harness.sessionmaker() as s:
        user = await get_user(s, telegram_id)
        assert user is not None
        rows = (
            await s.execute(
                select(ScaleResult).where(
                    ScaleResult.user_id == user.id, ScaleResult.instrument_id == instrument
                )
            )
        ).scalars()
        return {r.scale_id: r for r in rows}


async def open_survey(chat: TgChat, button: str) -> None:
    await chat.send("🏠 Главное меню")
    await chat.tap("Анкеты")
    await chat.tap(button)


def deficits_choice(text: str, labels: list[str]) -> str | None:
    """subject (1–9): all serious (0 %); methodical (10–18): none (100 %); psychological
    (19–33): exactly 60 %, five items skipped; communicative (34–43): exactly 80 %."""
    number = int(text.split("Вопрос ")[1].split(" из")[0])
    if "Предметн" in text:
        return "серьёзные"
    if "Методическ" in text:
        return "Не испытываю"
    if "Психолого" in text:
        # 10 answered: 2+2+1×8 = 12 of 30 -> 100 * (1 - 12/30) = 60
        if number in (19, 20):
            return "заметные"
        return "незначительные" if number <= 28 else None
    # communicative, 10 answered: 1×6 = 6 of 30 -> 80
    return "незначительные" if number <= 39 else "Не испытываю"


async def test_deficits_completed_with_band_boundaries(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(2001)
    await register(chat)
    await open_survey(chat, "Профессиональные затруднения")
    assert "Самооценка профессиональных затруднений" in chat.last.text
    await chat.tap("Начать")
    first = chat.last.text
    assert "Вопрос 1 из 43" in first
    assert "Первый блок — о содержании предмета" in first  # the section's intro, once
    await chat.tap("серьёзные")
    assert "Вопрос 2 из 43" in chat.last.text and "Первый блок" not in chat.last.text
    asked = await answer_all(chat, deficits_choice)
    assert asked == 42
    intros = [t for t in chat.texts() if "Второй блок" in t]
    assert len(intros) == 1 and "Вопрос 10 из 43" in intros[0]

    results = await results_of(harness, 2001, "deficits")
    assert {k: (v.score, v.band) for k, v in results.items()} == {
        "subject": (0.0, "high"),
        "methodical": (100.0, "minimal"),
        "psychological": (60.0, "medium"),
        "communicative": (80.0, "medium"),
    }
    assert all(r.instrument_version == 2 for r in results.values())
    shown = "\n".join(chat.texts()[-3:])
    # each block says what its number is
    assert "<b>Предметный блок</b>: освоено 0 % — высокий дефицит (по самооценке)" in shown
    assert "<b>Методический блок</b>: освоено 100 % — минимальный дефицит (по самооценке)" in shown
    assert "<b>Психолого-педагогический блок</b>: освоено 60 % — средний дефицит" in shown
    assert "самооценка" in shown.lower()
    assert "61" not in shown  # the gap of Р-201 is explained in the README, not to teachers
    # answers stored as given; skipped ones as NULL
    async with harness.sessionmaker() as s:
        answers = {a.question_id: a.value for a in (await s.execute(select(Answer))).scalars()}
    assert answers["subj1"] == 3 and answers["meth7"] == 0 and answers["psy6"] is None


async def test_burnout_is_private_and_scored(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(2002)
    await register(chat)
    await open_survey(chat, "выгоран")
    assert "не видят ни методисты, ни администрация школы" in chat.last.text
    assert "видите только вы" not in chat.last.text
    await chat.tap("Начать")
    await chat.tap("Согласен(на), начать")  # answers about health

    def choose(text: str, labels: list[str]) -> str:
        # "Всегда" / "В очень большой степени" everywhere: 100, the reverse item gives 0
        return "Всегда" if "Всегда" in labels else "В очень большой степени"

    assert await answer_all(chat, choose) == 19
    results = await results_of(harness, 2002, "burnout")
    assert results["personal"].score == 100.0 and results["personal"].band == "elevated"
    assert results["student"].score == 100.0
    # work: six items at 100 and the reverse-scored item at 0 -> 600 / 7
    assert results["work"].score == round(600 / 7, 2)
    assert "total" not in results
    assert "не диагноз" in "\n".join(chat.texts()[-3:])


async def test_young_teacher_questionnaire_with_every_question_type(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(2003)
    await register(chat, birth=2001, since=2024, category="Без категории")
    await chat.send("🏠 Главное меню")
    await chat.tap("Анкеты")
    assert any("молодого педагога" in b.lower() for b in chat.buttons())
    await chat.tap("молод")
    await chat.tap("Начать")
    typed: list[str] = []

    def choose(text: str, labels: list[str]) -> str | None:
        if "Напишите ответ числом" in text:
            typed.append("number")
            return "18"
        if "Напишите ответ сообщением" in text:
            typed.append("text")
            return "Помогите, пожалуйста, с рабочей программой & журналом <ЭЖ>"
        if "Нужен ли вам наставник" in text:
            return "Да"
        if "Отметьте" in text:
            return labels[0]
        return labels[-1] if labels else None

    await answer_all(chat, choose)
    assert typed == ["number", "text"]
    async with harness.sessionmaker() as s:
        attempt = await s.scalar(select(Attempt).where(Attempt.instrument_id == "young"))
        assert attempt is not None and attempt.status == "completed"
        answers = {
            a.question_id: a.value
            for a in (
                await s.execute(select(Answer).where(Answer.attempt_id == attempt.id))
            ).scalars()
        }
    assert answers["need_mentor"] == "yes"
    assert isinstance(answers["mentor_areas"], list) and len(answers["mentor_areas"]) == 1
    assert answers["lessons_per_week"] == 18
    assert answers["help_request"].endswith("<ЭЖ>")
    # «Да» to the mentor question leads to the request, with the chosen area ticked
    assert "🙋 Хочу наставника" in chat.buttons()
    await chat.tap("Хочу наставника")
    await chat.tap("Математика")
    assert "☑️ Документация и отчёты" in chat.buttons()
    async with harness.sessionmaker() as s:
        request = (await s.scalars(select(MentorRequest))).one()
    assert (request.status, request.topics, request.young, request.shared_at) == (
        "draft",
        ["docs"],
        True,
        None,
    )


async def test_young_questionnaire_hidden_for_experienced(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(2004)
    await register(chat, birth=1970, since=1995)
    await chat.send("🏠 Главное меню")
    await chat.tap("Анкеты")
    assert not any("молод" in b.lower() for b in chat.buttons())
    # a forged button for it is refused
    await chat.press("qo:young")
    await chat.press("qb:young")
    assert chat.alerts()[-1].startswith("Эта анкета предназначена")
    async with harness.sessionmaker() as s:
        assert (await s.scalar(select(Attempt))) is None


async def test_pause_back_double_tap_and_resume(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(2005)
    await register(chat)
    await open_survey(chat, "Профессиональные затруднения")
    await chat.tap("Начать")
    await chat.tap("заметные")  # q1
    # double tap: the same button again (the message still shows q1's keyboard data)
    async with harness.sessionmaker() as s:
        first_q_data = None
    await chat.tap("незначительные")  # q2
    assert "Вопрос 3 из 43" in chat.last.text
    await chat.tap("Назад")
    assert "Вопрос 2 из 43" in chat.last.text
    assert "• Испытываю незначительные" in " ".join(chat.buttons())
    await chat.tap("серьёзные")  # change the answer to q2
    assert "Вопрос 3 из 43" in chat.last.text
    data_q3, mid = chat.button_data("Не испытываю")
    await chat.press(data_q3, mid)
    await chat.press(data_q3, mid)  # a double tap on q3
    assert chat.alerts()[-1].startswith("Этот вопрос уже закрыт")
    assert "Вопрос 4 из 43" in chat.last.text
    await chat.tap("Прервать")
    assert "прервана" in chat.last.text
    async with harness.sessionmaker() as s:
        answers = {a.question_id: a.value for a in (await s.execute(select(Answer))).scalars()}
    assert answers == {"subj1": 2, "subj8": 3, "subj2": 0}
    del first_q_data

    await chat.tap("Анкеты")
    assert "начата" in chat.last.text
    await chat.tap("Продолжить")
    assert "Вопрос 4 из 43" in chat.last.text


async def test_restart_in_the_middle_loses_nothing(harness: Harness, make_harness) -> None:  # type: ignore[no-untyped-def]
    await add_schools(harness.sessionmaker)
    chat = harness.chat(2006)
    await register(chat)
    await open_survey(chat, "Профессиональные затруднения")
    await chat.tap("Начать")
    for label in ("Не испытываю", "незначительные", "заметные", "серьёзные", "Не испытываю"):
        await chat.tap(label)
    assert "Вопрос 6 из 43" in chat.last.text
    await harness.app.dispatcher.storage.close()

    again = await make_harness()  # a new Dispatcher, Bot and registry on the same database
    chat2 = again.chat(2006)
    await chat2.send("🏠 Главное меню")
    await chat2.tap("Анкеты")
    await chat2.tap("Продолжить")
    assert "Вопрос 6 из 43" in chat2.last.text
    async with again.sessionmaker() as s:
        answers = {a.question_id: a.value for a in (await s.execute(select(Answer))).scalars()}
    assert answers == {"subj1": 0, "subj8": 1, "subj2": 2, "subj9": 3, "subj3": 0}
    await chat2.tap("серьёзные")
    assert "Вопрос 7 из 43" in chat2.last.text


async def test_results_history_and_change_since_previous(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(2007)
    await register(chat)
    await open_survey(chat, "Профессиональные затруднения")
    await chat.tap("Начать")
    await answer_all(chat, lambda text, labels: "серьёзные")
    # 31 days later the second attempt, with fewer difficulties
    harness.clock.now = harness.clock.now.replace(month=11, day=15)
    await open_survey(chat, "Профессиональные затруднения")
    await chat.tap("Начать")
    await answer_all(chat, lambda text, labels: "незначительные")
    shown = "\n".join(chat.texts()[-3:])
    assert "В прошлый раз: 0 %" in shown and "+66,7" in shown

    await chat.send("🏠 Главное меню")
    await chat.tap("Мои результаты")
    labels = chat.buttons()
    assert labels[0].startswith("15.11.2026") and labels[1].startswith("12.10.2026")
    await chat.tap("12.10.2026")
    assert "Результаты: Самооценка" in chat.last.text and "0 %" in chat.last.text
    # the interval rule: a third attempt is not offered yet
    await chat.send("🏠 Главное меню")
    await chat.tap("Анкеты")
    assert "Повторно можно с 15.12.2026" in chat.last.text


async def test_other_teachers_results_are_not_reachable(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    owner = harness.chat(2008)
    await register(owner)
    await open_survey(owner, "выгоран")
    await owner.tap("Начать")
    await owner.tap("Согласен(на), начать")  # answers about health
    await answer_all(owner, lambda text, labels: labels[0])
    async with harness.sessionmaker() as s:
        attempt_id = await s.scalar(select(Attempt.id))
    other = harness.chat(2009)
    await register(other, name="Петров Пётр Петрович")
    before = len(other.texts())
    await other.press(f"r:{attempt_id}")
    assert other.alerts()[-1].startswith("Эта кнопка уже не действует")
    assert not any("Результаты" in t for t in other.texts()[before:])


async def test_text_at_a_button_question_repeats_the_question(harness: Harness) -> None:
    """Text typed where a tap is due is not an answer and does not open the main menu: the
    same question comes again under a hint, and its buttons still work."""
    await add_schools(harness.sessionmaker)
    chat = harness.chat(2091)
    await register(chat)
    await open_survey(chat, "Профессиональные затруднения")
    await chat.tap("Начать")
    question = chat.last.text
    assert "Вопрос 1 из" in question
    await chat.send("не знаю, что выбрать")
    text = chat.last.text
    assert text.startswith("На этот вопрос отвечают кнопками")
    assert question.split("\n", 1)[1] in text and "Главное меню" not in text
    assert options(chat)  # the answer buttons are under it
    async with harness.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Answer)) == 0
    await chat.tap(options(chat)[0])
    assert "Вопрос 2 из" in chat.last.text
    async with harness.sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Answer)) == 1
