"""Mentoring through the real Dispatcher, as people tap it: a young teacher asks for a
mentor, the school's methodist proposes one, the first declines, the second accepts, both
log meetings, the mentor completes the pair and the mentee rates it. Plus the refusals: a
second request, forged buttons, another teacher's pair."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

from aiogram.methods import SendDocument, SendMessage
from sqlalchemy import select

from handlers.mentoring.callbacks import (
    Checkin,
    MeetingNew,
    OfferAccept,
    PairClose,
    PairOpen,
    RequestNew,
    RequestShare,
)
from handlers.methodist.callbacks import AssignConfirm, QueueOpen
from models import (
    MentorCheckin,
    MentorMeeting,
    MentorOffer,
    MentorPair,
    MentorProfile,
    MentorRequest,
    Outbox,
    RoleName,
    User,
)
from services.roles import grant
from tests.conftest import Harness
from tests.helpers import add_schools, register
from tests.telegram import TgChat

STALE = "Эта кнопка уже не действует. Откройте нужный раздел заново из главного меню."
METHODIST = 5100
YOUNG = 5101
MENTOR_A = 5102
MENTOR_B = 5103
OTHER = 5104


async def ids(h: Harness) -> dict[int, int]:
    async with h.sessionmaker() as s:
        rows = (await s.execute(select(User.telegram_id, User.id))).all()
    return {tg: uid for tg, uid in rows}


async def become_mentor(chat: TgChat, capacity: str = "2") -> None:
    await chat.send("/menu")
    await chat.tap("Мой профиль")
    await chat.tap("Готов(а) быть наставником")
    await chat.tap(capacity)
    await chat.tap("Сохранить")


def sent_to(h: Harness, chat_id: int) -> list[SendMessage]:
    return [r for r in h.bot.api.of(SendMessage) if int(r.chat_id) == chat_id]


async def test_request_assign_decline_accept_meetings_close(harness: Harness) -> None:
    h = harness
    await add_schools(h.sessionmaker)
    async with h.sessionmaker.begin() as s:
        await grant(s, METHODIST, RoleName.METHODIST, school_code="sch3")
    young = h.chat(YOUNG, "Анна")
    await register(
        young,
        name="Молодова Анна Сергеевна",
        birth=2000,
        since=2024,
        category="Без категории",
    )
    mentor_a = h.chat(MENTOR_A, "Борис")
    await register(mentor_a, name="Опытов Борис Ильич", birth=1970, since=1995, category="Высшая")
    mentor_b = h.chat(MENTOR_B, "Вера")
    await register(mentor_b, name="Знающая Вера Павловна", birth=1975, since=2000)
    for chat in (mentor_a, mentor_b):
        await become_mentor(chat)
    people = await ids(h)
    async with h.sessionmaker() as s:
        cards = (await s.scalars(select(MentorProfile))).all()
    assert {(c.user_id, tuple(c.subjects), c.max_mentees, c.active) for c in cards} == {
        (people[MENTOR_A], ("math",), 2, True),
        (people[MENTOR_B], ("math",), 2, True),
    }

    # the young teacher's menu offers a mentor; the request takes four steps
    await young.send("/menu")
    assert "🤝 Хочу наставника" in young.buttons()
    await young.tap("Хочу наставника")
    await young.tap("Математика")
    await young.tap("Дисциплина и внимание детей")
    await young.tap("Работа с родителями")
    await young.tap("Готово")
    await young.send("Трудно удерживать внимание 7 «Б» <после физкультуры>")
    await young.tap("Из моей школы")
    assert "Передать заявку методисту" in " ".join(young.buttons())
    assert "ровно то, что написано выше" in young.last.text
    assert "&lt;после физкультуры&gt;" in young.last.text
    async with h.sessionmaker() as s:
        req = (await s.scalars(select(MentorRequest))).one()
    assert (req.status, req.subject, req.topics, req.same_school, req.shared_at) == (
        "draft",
        "math",
        ["discipline", "parents"],
        True,
        None,
    )
    # nothing reaches the methodist before the teacher shares it
    methodist = h.chat(METHODIST, "Методист")
    await methodist.press(QueueOpen().pack())
    assert "Сейчас заявок нет" in methodist.last.text
    await young.tap("Передать заявку методисту")
    async with h.sessionmaker() as s:
        req = (await s.scalars(select(MentorRequest))).one()
    assert req.status == "open" and req.shared_at == h.clock.now

    # a second request is refused with the way to the first
    await young.press(RequestNew().pack())
    assert "передана методисту" in young.last.text
    async with h.sessionmaker() as s:
        assert len((await s.scalars(select(MentorRequest))).all()) == 1

    # the methodist proposes mentor A, who declines with a reason
    await methodist.press(QueueOpen().pack())
    assert "Молодова Анна Сергеевна" in methodist.last.text
    await methodist.press(AssignConfirm(request=req.id, mentor=people[MENTOR_A]).pack())
    assert "✅ Принять" in mentor_a.buttons()
    await mentor_a.tap("Отказаться")
    await mentor_a.send("Уезжаю на курсы до декабря")
    assert any("Уезжаю на курсы" in m.text for m in sent_to(h, METHODIST))
    async with h.sessionmaker() as s:
        offer = (await s.scalars(select(MentorOffer))).one()
        req = await s.get(MentorRequest, req.id)
    assert (offer.accepted, offer.reason) == (False, "Уезжаю на курсы до декабря")
    assert req is not None and req.status == "open"
    # the old offer's buttons no longer work
    await mentor_a.press(OfferAccept(offer=offer.id).pack())
    assert mentor_a.alerts()[-1] == "Это предложение уже неактуально."

    # then mentor B, who accepts: both learn the other's name and school
    await methodist.press(AssignConfirm(request=req.id, mentor=people[MENTOR_B]).pack())
    await mentor_b.tap("Принять")
    assert "Молодова Анна Сергеевна" in mentor_b.last.text
    assert any("Знающая Вера Павловна" in m.text for m in sent_to(h, YOUNG))
    assert any("принял заявку" in m.text for m in sent_to(h, METHODIST))
    async with h.sessionmaker() as s:
        pair = (await s.scalars(select(MentorPair))).one()
        req = await s.get(MentorRequest, req.id)
    assert (pair.mentor_id, pair.mentee_id, pair.status) == (
        people[MENTOR_B],
        people[YOUNG],
        "active",
    )
    assert pair.goals is not None and "Дисциплина и внимание детей" in pair.goals
    assert req is not None and req.status == "matched"

    # meetings from both sides; each sees both
    await young.send("/menu")
    assert "🤝 Наставничество" in young.buttons()
    await young.tap("Наставничество")
    await young.tap("Знающая Вера Павловна")
    await young.tap("Записать встречу")
    await young.tap("Вчера")
    await young.send("Разбор урока в 7 «Б»")
    await young.tap("Посещение урока")
    await young.tap("45 мин")
    await young.tap("Пропустить")
    await mentor_b.press(MeetingNew(pair=pair.id).pack())
    await mentor_b.tap("Сегодня")
    await mentor_b.send("Рабочая программа")
    await mentor_b.tap("Совместное планирование")
    await mentor_b.tap("60 мин")
    await mentor_b.send("Договорились о плане на четверть")
    assert "Встречи (2)" in mentor_b.last.text
    async with h.sessionmaker() as s:
        meetings = (await s.scalars(select(MentorMeeting).order_by(MentorMeeting.id))).all()
    assert [(m.held_on, m.format, m.minutes, m.logged_by, m.note) for m in meetings] == [
        (h.clock.now.date() - timedelta(days=1), "lesson_visit", 45, people[YOUNG], None),
        (
            h.clock.now.date(),
            "joint_planning",
            60,
            people[MENTOR_B],
            "Договорились о плане на четверть",
        ),
    ]
    await young.press(PairOpen(pair=pair.id).pack())
    assert "Рабочая программа" in young.last.text and "Разбор урока" in young.last.text
    await young.press(Checkin(pair=pair.id, score=4).pack())
    async with h.sessionmaker() as s:
        assert [c.score for c in (await s.scalars(select(MentorCheckin))).all()] == [4]

    # the mentor completes the pair; the mentee rates it and keeps the comment anonymous
    await mentor_b.press(PairClose(pair=pair.id, done=True).pack())
    await mentor_b.tap("Завершить без комментария")
    await young.tap("5")
    await young.send("Очень помогло, спасибо!")
    await young.tap("Только методисту")
    async with h.sessionmaker() as s:
        pair = await s.get(MentorPair, pair.id)
    assert pair is not None
    assert (pair.status, pair.rating, pair.rating_comment, pair.comment_anonymous) == (
        "completed",
        5,
        "Очень помогло, спасибо!",
        True,
    )
    # a closed pair takes no more meetings
    await young.press(MeetingNew(pair=pair.id).pack())
    assert young.alerts()[-1] == "Это наставничество уже завершено."


async def test_forged_and_foreign_buttons_change_nothing(harness: Harness) -> None:
    h = harness
    await add_schools(h.sessionmaker)
    young = h.chat(YOUNG)
    await register(young, birth=2001, since=2025, category="Без категории")
    other = h.chat(OTHER)
    await register(other, name="Чужая Ольга Петровна")
    await young.send("/menu")
    await young.tap("Хочу наставника")
    await young.tap("Математика")
    async with h.sessionmaker() as s:
        req = (await s.scalars(select(MentorRequest))).one()
    # another teacher presses the young teacher's request, a pair and an offer that are not theirs
    for data in (
        RequestShare(request=req.id).pack(),
        PairOpen(pair=1).pack(),
        OfferAccept(offer=1).pack(),
        Checkin(pair=1, score=5).pack(),
        "mrs:1:99999999999",  # an id no column can hold
    ):
        await other.press(data)
        assert other.alerts()[-1] == STALE, data
    async with h.sessionmaker() as s:
        again = await s.get(MentorRequest, req.id)
    assert again is not None and (again.status, again.shared_at) == ("draft", None)
    # sharing an unfinished draft is refused with a reason
    await young.press(RequestShare(request=req.id).pack())
    assert young.alerts()[-1] == "Сначала выберите предмет и хотя бы одну тему."


async def test_my_data_includes_mentoring_and_deletion_removes_it(harness: Harness) -> None:
    h = harness
    await add_schools(h.sessionmaker)
    mentor = h.chat(MENTOR_A)
    await register(mentor, name="Опытов Борис Ильич", birth=1970, since=1995)
    await become_mentor(mentor, capacity="3")
    young = h.chat(YOUNG)
    await register(young, birth=2001, since=2025, category="Без категории")
    people = await ids(h)
    async with h.sessionmaker.begin() as s:
        s.add(
            MentorPair(
                mentor_id=people[MENTOR_A],
                mentee_id=people[YOUNG],
                started_on=h.clock.now.date(),
                goals="Рабочая программа",
            )
        )
    await mentor.send("/menu")
    await mentor.tap("Мой профиль")
    await mentor.tap("Мои данные")
    document = h.bot.api.of(SendDocument)[-1].document
    data = json.loads(document.data.decode("utf-8"))["mentoring"]
    assert data["mentor_card"]["subjects"] == ["math"]
    assert data["mentor_card"]["max_mentees"] == 3
    assert [(p["role"], p["goals"]) for p in data["pairs"]] == [("mentor", "Рабочая программа")]
    # the mentor deletes their data: their card and the pair go with them
    await mentor.send("/menu")
    await mentor.tap("Мой профиль")
    await mentor.tap("Удалить мои данные")
    await mentor.tap("Да, удалить всё")
    async with h.sessionmaker() as s:
        assert (await s.scalars(select(MentorProfile))).all() == []
        assert (await s.scalars(select(MentorPair))).all() == []


async def test_pair_screen_fits_telegram_with_longest_texts(harness: Harness) -> None:
    """Goals of 2,000 characters and ten meetings with 1,000-character notes of HTML-looking
    text: the pair's screen and the whole log stay within Telegram's limits (the harness
    fails on any request Telegram would refuse)."""
    h = harness
    await add_schools(h.sessionmaker)
    young = h.chat(YOUNG)
    await register(young, birth=2001, since=2025, category="Без категории")
    mentor = h.chat(MENTOR_A)
    await register(mentor, name="Опытов Борис Ильич", birth=1970, since=1995)
    people = await ids(h)
    async with h.sessionmaker.begin() as s:
        pair = MentorPair(
            mentor_id=people[MENTOR_A],
            mentee_id=people[YOUNG],
            started_on=h.clock.now.date(),
            goals="<&>" * 666 + "ab",
        )
        s.add(pair)
        await s.flush()
        for i in range(10):
            s.add(
                MentorMeeting(
                    pair_id=pair.id,
                    held_on=h.clock.now.date() - timedelta(days=i),
                    topic="Т<" * 100,
                    format="other",
                    minutes=120,
                    note="&" * 1000,
                    logged_by=people[YOUNG],
                )
            )
        pair_id = pair.id
    await young.press(PairOpen(pair=pair_id).pack())
    assert "Встречи (10)" in young.last.text
    await young.tap("Все встречи")
    assert len(young.texts()) > 2


async def test_a_notice_in_quiet_hours_waits_in_the_outbox_for_the_morning(
    harness: Harness,
) -> None:
    h = harness
    await add_schools(h.sessionmaker)
    young = h.chat(YOUNG)
    await register(young, birth=2001, since=2025, category="Без категории")
    mentor = h.chat(MENTOR_A)
    await register(mentor, name="Опытов Борис Ильич", birth=1970, since=1995)
    people = await ids(h)
    async with h.sessionmaker.begin() as s:
        pair = MentorPair(
            mentor_id=people[MENTOR_A], mentee_id=people[YOUNG], started_on=h.clock.now.date()
        )
        s.add(pair)
    evening = h.clock.now.astimezone(h.app.settings.tz).replace(hour=22, minute=30)
    h.clock.now = evening.astimezone(UTC)
    h.bot.api.requests.clear()
    await mentor.press(PairClose(pair=pair.id, done=True).pack())
    await mentor.tap("Завершить без комментария")
    assert sent_to(h, YOUNG) == []  # nothing to the mentee at 22:30
    async with h.sessionmaker() as s:
        queued = (await s.scalars(select(Outbox))).all()
    assert [(o.telegram_id, o.kind) for o in queued] == [(YOUNG, "notice.closed")]
    morning = (evening + timedelta(days=1)).replace(hour=8, minute=0)
    assert queued[0].due_at == morning.astimezone(UTC)
    assert "Оцените" in queued[0].text and queued[0].keyboard is not None
