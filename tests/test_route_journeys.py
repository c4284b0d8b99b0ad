"""«Мой маршрут (ИОМ)» through the real Dispatcher: from a finished self-assessment to an
active route with catalog courses, edited, followed, downloaded as DOCX, closed by a
recorded course, completed and compared with a re-diagnosis; forged ids refused; a newer
self-assessment offers an update without overwriting."""

from __future__ import annotations

import io
import logging
from datetime import UTC, date, datetime, timedelta

import docx
import pytest
from aiogram.methods import AnswerCallbackQuery, SendDocument
from aiogram.types import Message
from sqlalchemy import select

from bot.i18n import Translator
from handlers.route import screens as route_screens
from handlers.route.callbacks import (
    AddBlock,
    AddCatalogItem,
    DraftConfirm,
    RouteBuild,
    RouteDocx,
    StepCloseWithCourse,
    StepDone,
    StepMonth,
    StepRemove,
    StepReopen,
)
from models import Course, MentorRequest, Route, RouteStep
from services import routes as svc
from services.people import get_user
from tests.conftest import Harness
from tests.helpers import add_route_catalog, add_schools, register
from tests.telegram import TgChat
from tests.test_survey_journeys import answer_all, open_survey

STALE = "Эта кнопка уже не действует"


def methodical_high_psychological_medium(text: str, labels: list[str]) -> str:
    """methodical: all serious (0 %, high); psychological: all slight (66.7 %, medium);
    subject and communicative: none (100 %, minimal)."""
    if "Методическ" in text:
        return "серьёзные"
    if "Психолого" in text:
        return "незначительные"
    return "Не испытываю"


def methodical_medium(text: str, labels: list[str]) -> str:
    return "незначительные" if "Методическ" in text else "Не испытываю"


async def add_catalog(harness: Harness) -> dict[str, int]:
    async with harness.sessionmaker.begin() as s:
        return await add_route_catalog(s)


async def self_assess(chat: TgChat, choose: object) -> None:
    await open_survey(chat, "Профессиональные затруднения")
    await chat.tap("Начать")
    await answer_all(chat, choose)  # type: ignore[arg-type]


async def routes_of(harness: Harness, telegram_id: int) -> list[Route]:
    async with harness.sessionmaker() as s:
        user = await get_user(s, telegram_id)
        assert user is not None
        return list(
            (
                await s.execute(
                    select(Route)
                    .where(Route.user_id == user.id)
                    .order_by(Route.id)
                    .execution_options(populate_existing=True)
                )
            ).scalars()
        )


async def steps_of(harness: Harness, route_id: int) -> list[RouteStep]:
    async with harness.sessionmaker() as s:
        return list(
            (
                await s.execute(
                    select(RouteStep)
                    .where(RouteStep.route_id == route_id)
                    .order_by(RouteStep.position)
                )
            ).scalars()
        )


def snapshot(steps: list[RouteStep]) -> list[tuple[object, ...]]:
    return [(s.id, s.status, s.target_date, s.closed_reason, s.course_id) for s in steps]


async def test_from_self_assessment_to_a_completed_route(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    ids = await add_catalog(harness)
    chat = harness.chat(8001)
    await register(chat)
    await self_assess(chat, methodical_high_psychological_medium)

    # the results offer the route; one tap builds the draft
    assert "Построить маршрут" in " ".join(chat.buttons())
    await chat.tap("Построить маршрут")
    text = chat.last.text
    assert "Черновик маршрута" in text
    assert text.count("отвечает на: методический блок, высокий дефицит") == 3
    assert text.count("отвечает на: психолого-педагогический блок, средний дефицит") == 2
    # one button per step, with its title; the actions are on the step's card
    assert chat.buttons()[:2] == [
        "1. Методика обучения математике по обновлё…",
        "2. Формирующее оценивание на уроке",
    ]
    for title in (
        "Методика обучения математике",
        "Формирующее оценивание",
        "Инклюзивное образование",
        "Самообразование",
        "Семинар",
    ):
        assert title in text
    assert "Набор на эту программу закрыт" not in text and "Олимпиадная" not in text
    [draft] = await routes_of(harness, 8001)
    assert draft.status == "draft"
    steps = await steps_of(harness, draft.id)
    assert [(s.kind, s.block, s.level, s.catalog_item_id, s.target_date) for s in steps] == [
        ("course", "methodical", "high", ids["meth_math"], date(2026, 11, 27)),
        ("course", "methodical", "high", ids["meth_all"], date(2027, 2, 12)),
        ("self_study", "methodical", "high", None, date(2027, 2, 12)),
        ("course", "psychological", "medium", ids["psy"], date(2026, 12, 20)),
        ("seminar", "psychological", "medium", None, date(2027, 6, 12)),
    ]
    assert draft.baseline["methodical"] == 0.0 and draft.attempt_id is not None

    # a double tap on the results button builds nothing new
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой маршрут")
    assert "Черновик маршрута" in chat.last.text
    assert len(await routes_of(harness, 8001)) == 1

    # cancel the second step, move the first one's term to March
    await step_action(chat, 2, "Отменить шаг")
    assert "Шаг отменён" in chat.alerts()[-1]
    assert "Формирующее оценивание" not in chat.last.text
    await step_action(chat, 1, "Изменить срок")
    assert "Выберите месяц" in chat.last.text
    assert chat.buttons()[0] == "октябрь 2026" and "сентябрь 2027" in chat.buttons()
    await chat.tap("март 2027")
    assert "31.03.2027" in chat.last.text

    # add an own step for the communicative block: too long, then fine
    await chat.tap("Добавить шаг")
    await chat.tap("Коммуникативный блок")
    await chat.tap("Свой шаг: семинар")
    assert "Семинар, вебинар — коммуникативный блок" in chat.last.text
    await chat.send("я" * 301)
    assert "Слишком длинно (знаков: 301" in chat.texts()[-1]
    await chat.send("Выступить на методическом объединении")
    assert "Шаг добавлен" in chat.last.text
    # and the catalog list of a block shows only open items that fit the teacher
    await chat.tap("Добавить шаг")
    await chat.tap("Методический блок — высокий дефицит")
    assert "Формирующее оценивание" in chat.last.text
    assert "Набор на эту программу закрыт" not in chat.last.text
    assert "Методика обучения математике" not in chat.last.text  # already in the route
    await chat.tap("К маршруту")
    await step_action(chat, 5, "Отменить шаг")

    assert "Утвердить" not in " ".join(chat.buttons())
    await chat.tap("Сохранить маршрут")
    assert "Маршрут сохранён" in chat.last.text and "Выполнено: <b>0 %</b>" in chat.last.text
    [route] = await routes_of(harness, 8001)
    assert route.status == "active" and route.activated_at is not None
    steps = await steps_of(harness, route.id)
    assert [(s.kind, s.catalog_item_id, s.target_date, s.status) for s in steps] == [
        ("course", ids["meth_math"], date(2027, 3, 31), "planned"),
        ("self_study", None, date(2027, 2, 12), "planned"),
        ("course", ids["psy"], date(2026, 12, 20), "planned"),
        ("seminar", None, date(2027, 6, 12), "planned"),
    ]

    # a course that has not begun cannot be done yet
    await step_action(chat, 1, "Отметить выполненным")
    assert "начнётся 02.11.2026" in chat.alerts()[-1]
    assert (await steps_of(harness, route.id))[0].status == "planned"
    harness.clock.now = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    await chat.tap("Отметить выполненным")
    assert "Шаг 1 отмечен выполненным" in chat.alerts()[-1]
    assert "Выполнено: <b>25 %</b>" in chat.last.text
    await step_action(chat, 2, "Отменить шаг")
    assert "Почему отменяете шаг 2" in chat.last.text
    await chat.send("x" * 301)
    assert "Слишком длинно" in chat.texts()[-1]
    assert (await steps_of(harness, route.id))[1].status == "planned"
    await chat.send("Перенесли на следующий год")
    assert "Шаг 2 отменён" in chat.last.text and "Выполнено: <b>50 %</b>" in chat.last.text
    steps = await steps_of(harness, route.id)
    assert [s.status for s in steps] == ["done", "closed", "planned", "planned"]
    assert steps[1].closed_reason == "Перенесли на следующий год"

    # DOCX: the form, opened with python-docx
    harness.bot.api.clear()
    await chat.tap("Скачать маршрут (файл Word)")
    [sent] = harness.bot.api.of(SendDocument)
    assert "файл Word" in (sent.caption or "")
    document = docx.Document(io.BytesIO(sent.document.data))
    paragraphs = "\n".join(p.text for p in document.paragraphs)
    assert "Индивидуальный образовательный маршрут педагога" in paragraphs
    assert "Иванова Мария Петровна" in paragraphs and "школа № 3" in paragraphs
    assert "Учитель" in paragraphs and "с 12.10.2026 по 12.06.2027" in paragraphs
    assert "«Средняя общеобразовательная школа № 3»" in paragraphs  # «ёлочки»
    [table] = document.tables
    cells = [[c.text for c in row.cells] for row in table.rows]
    assert cells[0][:3] == [
        "№ п/п",
        "Направление (блок), уровень дефицита",
        "Мероприятие, организатор, объём",
    ]
    assert cells[1] == [
        "1",
        "Методический блок\nвысокий дефицит",
        "Методика обучения математике по обновлённым ФГОС\n"
        "ГАУ ДПО «Институт развития образования», 36 ч",
        "Курс повышения квалификации, дистанционно",
        "до 31.03.2027",
        "Удостоверение о повышении квалификации; применение в работе",
        "выполнено 03.11.2026",
    ]
    assert cells[2][3:5] == ["Самообразование", "до 12.02.2027"]
    assert cells[2][6] == "отменено: Перенесли на следующий год"
    assert cells[3][1] == "Психолого-педагогический блок\nсредний дефицит"
    assert cells[4][6] == "" and len(cells) == 5

    # forged and stale ids: an alert, nothing changes
    other = harness.chat(8002, "Ольга")
    await register(other, name="Петрова Ольга Ивановна")
    await self_assess(other, methodical_medium)
    await other.tap("Построить маршрут")
    [their] = await routes_of(harness, 8002)
    their_steps = snapshot(await steps_of(harness, their.id))
    before = snapshot(await steps_of(harness, route.id))
    for data in (
        StepDone(step=their_steps[0][0]).pack(),  # another teacher's step
        StepRemove(step=their_steps[0][0]).pack(),
        StepMonth(step=their_steps[0][0], month=3).pack(),
        RouteDocx(route=their.id).pack(),
        StepDone(step=steps[0].id).pack(),  # already done
        StepDone(step=999_999).pack(),
        StepRemove(step=steps[2].id).pack(),  # not a draft any more
        StepMonth(step=steps[2].id, month=12).pack(),  # no such month
        AddBlock(block=9).pack(),
        AddCatalogItem(item=999_999, block=1).pack(),
        DraftConfirm(route=their.id).pack(),
        StepCloseWithCourse(step=steps[2].id, course=999).pack(),
        "rtd:abc",
        "rtd:99999999999",  # beyond the INTEGER keys
        "rtf:-1",
        f"rtw:{steps[2].id}:99999999999",
        "rti:99999999999:1",
    ):
        harness.bot.api.clear()
        await chat.press(data)
        assert any(STALE in a for a in chat.alerts()), data
    assert snapshot(await steps_of(harness, route.id)) == before
    assert snapshot(await steps_of(harness, their.id)) == their_steps
    assert not harness.bot.api.of(SendDocument)

    # recording a course offers to close the matching step (the courses feature calls this)
    async with harness.sessionmaker.begin() as s:
        user = await get_user(s, 8001)
        assert user is not None
        course = Course(
            user_id=user.id,
            title="Инклюзивное образование: обучение детей с ОВЗ",
            kind="qualification",
            hours=72,
            starts_on=date(2026, 12, 1),
            ends_on=date(2026, 12, 20),
            format="distance",
            blocks=["psychological"],
            catalog_item_id=ids["psy"],
        )
        s.add(course)
        await s.flush()
        matching = await svc.steps_matching_course(s, user.id, course)
        offer_view = await svc.close_offer(s, user.id, course)
    assert [m.id for m in matching] == [steps[2].id]
    assert offer_view is not None and [v.id for v in offer_view.steps] == [steps[2].id]
    message = Message(
        message_id=1, date=harness.clock.now, chat=chat.chat, from_user=chat.user, text="ok"
    ).as_(harness.bot)
    offer = route_screens.close_offer(offer_view, Translator("ru"))
    await message.answer(offer.text, reply_markup=offer.keyboard)
    assert "может быть шагом вашего маршрута" in chat.last.text
    await chat.tap("Отметить выполненным: Инклюзивное")
    assert "Шаг 3 отмечен выполненным: курс" in chat.last.text
    closed = (await steps_of(harness, route.id))[2]
    assert (closed.status, closed.course_id) == ("done", course.id)

    await step_action(chat, 4, "Отметить выполненным")
    assert "Маршрут пройден" in chat.last.text
    assert "Пройдите самооценку" in chat.last.text
    [route] = await routes_of(harness, 8001)
    assert route.status == "completed" and route.completed_at is not None

    # re-diagnosis a month later: before → after per block
    harness.clock.now += timedelta(days=31)
    await self_assess(chat, methodical_medium)
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой маршрут")
    text = chat.last.text
    assert "Изменения по блокам" in text
    assert "Методический блок: 0 % (высокий дефицит) → 67 % (средний дефицит) (+67)" in text
    assert (
        "Психолого-педагогический блок: 67 % (средний дефицит) → 100 % (минимальный дефицит)"
        in text
    )
    assert "Построить новый маршрут" in " ".join(chat.buttons())


async def test_newer_self_assessment_offers_an_update(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    await add_catalog(harness)
    chat = harness.chat(8101)
    await register(chat, birth=2000, since=2025, category="Без категории")
    async with harness.sessionmaker.begin() as s:
        user = await get_user(s, 8101)
        assert user is not None
        s.add(MentorRequest(mentee_id=user.id, status="open", subject="math"))
    await self_assess(chat, methodical_high_psychological_medium)
    await chat.tap("Построить маршрут")
    assert "🤝 Наставничество" in chat.last.text  # she asked for a mentor
    await chat.tap("Сохранить маршрут")
    [active] = await routes_of(harness, 8101)
    await step_action(chat, 1, "Отметить выполненным")  # mentoring: no catalog dates
    before = snapshot(await steps_of(harness, active.id))

    harness.clock.now += timedelta(days=31)
    await self_assess(chat, methodical_medium)
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой маршрут")
    assert "Есть более новая самооценка" in chat.last.text
    assert "Выполнено: <b>16 %</b>" in chat.last.text
    # nothing was overwritten by the new self-assessment
    routes = await routes_of(harness, 8101)
    assert [(r.id, r.status) for r in routes] == [(active.id, "active")]
    assert snapshot(await steps_of(harness, active.id)) == before

    await chat.tap("Обновить маршрут")
    assert "Черновик маршрута" in chat.last.text
    assert "останется в силе" in chat.last.text
    routes = await routes_of(harness, 8101)
    assert [r.status for r in routes] == ["active", "draft"]
    assert routes[1].attempt_id != active.attempt_id
    assert snapshot(await steps_of(harness, active.id)) == before
    draft_steps = await steps_of(harness, routes[1].id)
    assert {(s.kind, s.block, s.level) for s in draft_steps if s.kind == "mentoring"} == {
        ("mentoring", None, None)
    }
    assert {(s.block, s.level) for s in draft_steps if s.kind != "mentoring"} == {
        ("methodical", "medium")
    }

    # the active route is still reachable from the draft; confirming archives it
    await chat.tap("Действующий маршрут")
    assert "Действует с" in chat.last.text
    await chat.tap("Обновить маршрут")  # the same draft again, not a new one
    assert len(await routes_of(harness, 8101)) == 2
    await chat.tap("Сохранить маршрут")
    routes = await routes_of(harness, 8101)
    assert [r.status for r in routes] == ["archived", "active"]
    assert snapshot(await steps_of(harness, active.id)) == before


async def test_no_route_screens(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(8201)
    await register(chat)
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой маршрут")
    assert "Вы её ещё не проходили" in chat.last.text
    harness.bot.api.clear()
    await chat.press(RouteBuild().pack())
    assert any("Сначала пройдите самооценку" in a for a in chat.alerts())
    await chat.tap("Пройти самооценку")
    assert "Самооценка профессиональных затруднений" in chat.last.text
    await chat.tap("Начать")
    await answer_all(chat, lambda text, labels: "Не испытываю")
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой маршрут")
    assert "Маршрут строится по вашей самооценке" in chat.last.text
    await chat.tap("Построить маршрут")
    assert "нет высоких и средних дефицитов" in chat.last.text
    assert "Сохранить маршрут" not in " ".join(chat.buttons())
    # deleting a draft asks first
    await chat.tap("Удалить черновик")
    assert "Удалить черновик маршрута?" in chat.last.text and "0 шагов" in chat.last.text
    await chat.tap("Нет, вернуться к черновику")
    assert "Черновик маршрута" in chat.last.text
    assert len(await routes_of(harness, 8201)) == 1
    await chat.tap("Удалить черновик")
    await chat.tap("Да, удалить черновик")
    assert "Черновик удалён" in chat.alerts()[-1]
    assert "Маршрут строится по вашей самооценке" in chat.last.text
    assert await routes_of(harness, 8201) == []


async def test_long_draft_is_split_and_a_newer_self_assessment_is_offered(
    harness: Harness,
) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(8301)
    await register(chat)
    await self_assess(chat, methodical_high_psychological_medium)
    await chat.tap("Построить маршрут")
    [draft] = await routes_of(harness, 8301)
    async with harness.sessionmaker.begin() as s:
        s.add_all(
            RouteStep(
                route_id=draft.id,
                position=10 + i,
                block="communicative",
                level="minimal",
                kind="other",
                title=f"{i} <b>&amp; " + "длинное название шага " * 13,
                target_date=date(2027, 5, 31),
            )
            for i in range(svc.MAX_STEPS - 2)
        )
    harness.bot.api.clear()
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой маршрут")
    sent = [r.text for r in harness.bot.api.requests if hasattr(r, "text") and r.text]
    assert len(sent) >= 3  # the menu, then the draft in several messages
    assert all(len(text) <= 4096 for text in sent)
    assert "30. " in " ".join(chat.buttons())  # a button per step, not a pair per step
    assert len(chat.buttons()) == svc.MAX_STEPS + 4
    assert "&lt;b&gt;&amp;amp;" in "".join(sent)  # typed titles are escaped
    # the draft is full: adding is refused with a message, nothing is added
    await chat.tap("Добавить шаг")
    await chat.tap("Коммуникативный блок")
    await chat.tap("Свой шаг: другое")
    await chat.send("Ещё один шаг")
    assert "наибольшее число шагов (30)" in chat.texts()[-1]
    assert len(await steps_of(harness, draft.id)) == svc.MAX_STEPS

    # a typed input is abandoned by any other button of the screen
    last = (await steps_of(harness, draft.id))[-1]
    await chat.press(StepRemove(step=last.id).pack())
    await chat.send("Ещё один шаг")
    assert "Я не понял" in chat.texts()[-1]
    assert len(await steps_of(harness, draft.id)) == svc.MAX_STEPS - 1

    # a newer self-assessment while the draft waits: offered, not applied
    harness.clock.now += timedelta(days=31)
    await self_assess(chat, methodical_medium)
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой маршрут")
    assert "Есть более новая самооценка" in "".join(chat.texts()[-3:])
    assert len(await steps_of(harness, draft.id)) == svc.MAX_STEPS - 1
    await chat.tap("Составить по новой самооценке")
    [new] = await routes_of(harness, 8301)
    assert new.attempt_id != draft.attempt_id and new.status == "draft"
    assert {s.block for s in await steps_of(harness, new.id)} == {"methodical"}


async def test_a_mis_tapped_step_can_be_reopened(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    await add_catalog(harness)
    chat = harness.chat(8010)
    await register(chat)
    await self_assess(chat, methodical_medium)
    await chat.tap("Построить маршрут")
    await chat.tap("Сохранить маршрут")
    [route] = await routes_of(harness, 8010)
    steps = await steps_of(harness, route.id)
    assert route.status == "active" and len(steps) >= 2
    harness.clock.now = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)  # the course has begun

    await step_action(chat, 1, "Отметить выполненным")
    assert (await steps_of(harness, route.id))[0].status == "done"
    await step_action(chat, 1, "Вернуть в план")
    assert chat.alerts()[-1] == "Отметка со шага 1 снята: он снова в плане."
    first = (await steps_of(harness, route.id))[0]
    assert (first.status, first.done_at) == ("planned", None)

    # the tap that completes the route can be undone too: the route is active again
    for n in range(1, len(steps) + 1):
        await step_action(chat, n, "Отметить выполненным")
    [route] = await routes_of(harness, 8010)
    assert route.status == "completed"
    await step_action(chat, len(steps), "Вернуть в план")
    [route] = await routes_of(harness, 8010)
    assert (route.status, route.completed_at) == ("active", None)
    assert [s.status for s in await steps_of(harness, route.id)][-1] == "planned"
    assert f"⏳ {len(steps)}. " in " ".join(chat.buttons())

    # a planned step, or someone else's, cannot be «reopened»
    other = harness.chat(8011)
    await register(other, name="Другая Учительница Петровна")
    await other.press(StepReopen(step=steps[0].id).pack())
    assert any(STALE in a for a in other.alerts())
    await chat.press(StepReopen(step=steps[-1].id).pack())
    assert any(STALE in a for a in chat.alerts())


async def all_rows(harness: Harness) -> list[tuple[object, ...]]:
    """Every route and step row, to compare before and after a refused button."""
    async with harness.sessionmaker() as s:
        routes = (await s.execute(select(Route).order_by(Route.id))).scalars()
        steps = (await s.execute(select(RouteStep).order_by(RouteStep.id))).scalars()
        return [(r.id, r.status, r.activated_at, r.completed_at) for r in routes] + [
            (s.id, s.route_id, s.position, s.title, *snapshot([s])[0]) for s in steps
        ]


HUGE = "99999999999999999999"


async def test_forged_buttons_with_huge_ids_are_answered_once(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await add_schools(harness.sessionmaker)
    await add_catalog(harness)
    chat = harness.chat(8401)
    await register(chat)
    await self_assess(chat, methodical_high_psychological_medium)
    await chat.tap("Построить маршрут")
    await chat.tap("Сохранить маршрут")
    [route] = await routes_of(harness, 8401)
    step = (await steps_of(harness, route.id))[0].id
    before = await all_rows(harness)
    caplog.set_level(logging.INFO)
    for data in (
        f"rtk:{HUGE}",
        f"rtx:{HUGE}",
        f"rty:{HUGE}",
        f"rtp:{HUGE}",
        f"rtr:{HUGE}",
        f"rtt:{HUGE}",
        f"rtm:{step}:{HUGE}",
        f"rtm:{HUGE}:1",
        f"rtc:{HUGE}:0",
        f"rtc:1:{HUGE}",
        f"rti:{HUGE}:1",
        f"rti:1:{HUGE}",
        f"rto:1:{HUGE}",
        f"rtd:{HUGE}",
        f"rtu:{HUGE}",
        f"rtz:{HUGE}",
        f"rtf:{HUGE}",
        f"rtw:{step}:{HUGE}",
        f"rtw:{HUGE}:1",
        f"rtd:-{HUGE}",
    ):
        harness.bot.api.clear()
        await chat.press(data)
        answers = harness.bot.api.of(AnswerCallbackQuery)
        assert len(answers) == 1, data
        assert STALE in (answers[0].text or ""), data
        assert not harness.bot.api.of(SendDocument), data
    assert await all_rows(harness) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_main_menu_button_leaves_every_typed_step(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    await add_catalog(harness)
    chat = harness.chat(8501)
    await register(chat)
    await self_assess(chat, methodical_medium)
    await chat.tap("Построить маршрут")
    [draft] = await routes_of(harness, 8501)
    before = await all_rows(harness)

    # an own step's title
    await chat.tap("Добавить шаг")
    await chat.tap("Коммуникативный блок")
    await chat.tap("Свой шаг: семинар")
    assert "Напишите, что вы запланировали" in chat.last.text
    await chat.send("🏠 Главное меню")
    assert "Мой маршрут" in " ".join(chat.buttons())  # the main menu
    assert await all_rows(harness) == before
    await chat.send("Выступить на методическом объединении")  # no longer an answer
    assert "Я не понял" in chat.texts()[-1]
    assert await all_rows(harness) == before

    # a closing reason
    await chat.tap("Мой маршрут")
    await chat.tap("Сохранить маршрут")
    before = await all_rows(harness)
    await step_action(chat, 1, "Отменить шаг")
    assert "Почему отменяете шаг 1" in chat.last.text
    await chat.send("🏠 Главное меню")
    assert "Мой маршрут" in " ".join(chat.buttons())
    await chat.send("Перенесли на следующий год")
    assert "Я не понял" in chat.texts()[-1]
    assert await all_rows(harness) == before
    step = (await steps_of(harness, draft.id))[0]
    assert (step.status, step.closed_reason) == ("planned", None)


async def test_the_editor_dialog_survives_a_restart(harness: Harness, make_harness) -> None:  # type: ignore[no-untyped-def]
    """The draft of a typed input is conversation state in the database: a new dispatcher
    (a restarted bot) takes the answer."""
    await add_schools(harness.sessionmaker)
    chat = harness.chat(8601)
    await register(chat)
    await self_assess(chat, methodical_medium)
    await chat.tap("Построить маршрут")
    await chat.tap("Добавить шаг")
    await chat.tap("Предметный блок")
    await chat.tap("Свой шаг: другое")
    await harness.app.dispatcher.storage.close()
    again = await make_harness()
    chat = again.chat(8601)
    await chat.send("  Разобрать   задания ОГЭ  ")
    assert "Шаг добавлен" in chat.last.text
    [draft] = await routes_of(harness, 8601)
    added = (await steps_of(harness, draft.id))[-1]
    assert (added.title, added.kind, added.block) == ("Разобрать задания ОГЭ", "other", "subject")


async def step_action(chat: TgChat, n: int, action: str) -> None:
    """Open step ``n`` by its button on the route's screen, then press ``action`` on its card."""
    label = next(
        b for b in chat.buttons() if f"{n}. " in b and b.split(f"{n}. ")[0][-1:] in ("", " ")
    )
    await chat.tap(label)
    assert any(action in b for b in chat.buttons()), chat.buttons()
    await chat.tap(action)
