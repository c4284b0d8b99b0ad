"""«🗂 Заявки на наставника» through the real Dispatcher: who sees which requests, the card
with ranked mentors, assigning a mentor and the offer the mentor receives, and forged or
refused buttons."""

from __future__ import annotations

from datetime import date, timedelta

from aiogram.methods import SendMessage
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.home.callbacks import MenuCB
from handlers.mentoring.callbacks import OfferAccept, OfferDecline
from handlers.methodist.callbacks import (
    AssignAsk,
    AssignConfirm,
    QueueOpen,
    RequestOpen,
)
from models import (
    MentorOffer,
    MentorPair,
    MentorProfile,
    MentorRequest,
    RoleName,
    User,
)
from services.roles import grant
from tests.conftest import ADMIN_ID, NOW, Harness
from tests.helpers import add_schools, count
from tests.telegram import html_length

STALE = "Эта кнопка уже не действует. Откройте нужный раздел заново из главного меню."
GONE = "Этой заявки больше нет в вашем списке. Откройте список заявок заново."
FULL = "У этого наставника больше нет свободных мест. Выберите другого."

SCHOOL_METHODIST = 7001  # methodist of school 1 (sch1)
MUNICIPAL_METHODIST = 7002  # methodist of the municipality
TEACHER = 7003  # a registered teacher without a role


async def person(
    s: AsyncSession,
    telegram_id: int,
    name: str,
    school_id: int | None,
    *,
    birth: int = 1980,
    since: int = 2005,
    category: str = "first",
) -> User:
    user = User(
        telegram_id=telegram_id,
        consent_at=NOW - timedelta(days=60),
        registered_at=NOW - timedelta(days=60),
        full_name=name,
        school_id=school_id,
        position="teacher",
        birth_year=birth,
        teaching_since=since,
        category=category,
    )
    s.add(user)
    await s.flush()
    return user


async def request(
    s: AsyncSession,
    mentee: User,
    *,
    days: int | None,
    status: str = "open",
    subject: str | None = "math",
    same_school: bool = False,
    details: str | None = None,
) -> MentorRequest:
    row = MentorRequest(
        mentee_id=mentee.id,
        status=status,
        subject=subject,
        topics=["lesson_planning"],
        details=details,
        same_school=same_school,
        young=True,
        created_at=NOW - timedelta(days=(days or 0) + 1),
        shared_at=None if days is None else NOW - timedelta(days=days),
    )
    s.add(row)
    await s.flush()
    return row


async def mentor(
    s: AsyncSession,
    telegram_id: int,
    name: str,
    school_id: int,
    subjects: list[str],
    capacity: int = 2,
    category: str = "highest",
) -> User:
    user = await person(s, telegram_id, name, school_id, category=category)
    s.add(MentorProfile(user_id=user.id, subjects=subjects, max_mentees=capacity))
    await s.flush()
    return user


class World:
    """School 1 and 2 of one municipality: requests in several states, three mentors."""

    old: int  # school 1, shared 10 days ago
    new: int  # school 1, shared 2 days ago
    other: int  # school 2, shared 5 days ago
    draft: int  # school 1, not shared
    unshared_open: int  # school 1, open but never shared
    matched: int  # school 1, closed
    math_mentor: int  # school 2, maths, 2 places
    near_mentor: int  # school 1, russian, 1 place
    full_mentor: int  # school 2, maths, 1 place taken by a pair


async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    await add_schools(sessionmaker, count=3)
    w = World()
    async with sessionmaker.begin() as s:
        await grant(s, SCHOOL_METHODIST, RoleName.METHODIST, school_code="sch1")
        await grant(s, MUNICIPAL_METHODIST, RoleName.METHODIST, municipality_code="ensk")
        await person(s, TEACHER, "Обычная Ольга Ивановна", 1)
        young = dict(birth=2000, since=2024, category="none")
        a = await person(s, 8001, "Петрова Анна Сергеевна", 1, **young)
        b = await person(s, 8002, "Смирнов Борис <b>Олегович</b>", 1, **young)
        c = await person(s, 8003, "Кузнецова Вера Павловна", 2, **young)
        d = await person(s, 8004, "Тайная Дарья Ильинична", 1, **young)
        e = await person(s, 8005, "Скрытый Егор Петрович", 1, **young)
        f = await person(s, 8006, "Готовая Фаина Львовна", 1, **young)
        w.old = (await request(s, a, days=10, details="Не умею держать дисциплину & <класс>")).id
        w.new = (await request(s, b, days=2, same_school=True)).id
        w.other = (await request(s, c, days=5)).id
        w.draft = (await request(s, d, days=None, status="draft")).id
        w.unshared_open = (await request(s, e, days=None, status="open")).id
        w.matched = (await request(s, f, days=20, status="matched")).id
        w.math_mentor = (await mentor(s, 9001, "Математикова Мария Ивановна", 2, ["math"])).id
        w.near_mentor = (
            await mentor(s, 9002, "Соседова Нина Андреевна", 1, ["russian"], capacity=1)
        ).id
        full = await mentor(s, 9003, "Занятова Зоя Петровна", 2, ["math"], capacity=1)
        w.full_mentor = full.id
        s.add(
            MentorPair(
                mentor_id=full.id, mentee_id=f.id, request_id=w.matched, started_on=date(2026, 9, 1)
            )
        )
    return w


async def offers(sessionmaker: async_sessionmaker[AsyncSession]) -> list[MentorOffer]:
    async with sessionmaker() as s:
        return list((await s.execute(select(MentorOffer).order_by(MentorOffer.id))).scalars())


async def status(sessionmaker: async_sessionmaker[AsyncSession], request_id: int) -> str:
    async with sessionmaker() as s:
        row = await s.get(MentorRequest, request_id)
        assert row is not None
        return row.status


# ---------------------------------------------------------------- who sees what


async def test_school_methodist_sees_only_their_schools_shared_requests(harness: Harness) -> None:
    w = await world(harness.sessionmaker)
    chat = harness.chat(SCHOOL_METHODIST)
    await chat.press(MenuCB(to="methodist").pack())
    assert "Кабинет методиста" in chat.last.text
    await chat.tap("Заявки на наставника")
    text = chat.last.text
    assert "Заявки на наставника" in text
    assert "Петрова Анна" in text and "Смирнов Борис" in text
    assert "&lt;b&gt;Олегович&lt;/b&gt;" in text  # a name is text, never markup
    for hidden in ("Кузнецова", "Тайная", "Скрытый", "Готовая"):
        assert hidden not in text
    # the longest waiting first, flagged after a week
    assert text.index("Петрова") < text.index("Смирнов")
    assert "⚠️ ждёт 10 дней" in text
    assert "ждёт 2 дня" in text and "⚠️ ждёт 2" not in text
    assert chat.buttons() == [
        "1. Петрова Анна Сергеевна",
        "2. Смирнов Борис <b>Олегович</b>",
        "🗂 Кабинет методиста",
        "🏠 Главное меню",
    ]
    # a draft, a request never shared, a closed one and another school's: as if they were not
    for request_id in (w.draft, w.unshared_open, w.matched, w.other, 10**6):
        harness.bot.api.clear()
        await chat.press(RequestOpen(request=request_id).pack())
        assert chat.alerts() == [GONE]


async def test_municipal_methodist_sees_every_school(harness: Harness) -> None:
    w = await world(harness.sessionmaker)
    chat = harness.chat(MUNICIPAL_METHODIST)
    await chat.press(QueueOpen().pack())
    text = chat.last.text
    assert "В очереди: <b>3</b>" in text
    order = [text.index(n) for n in ("Петрова", "Кузнецова", "Смирнов")]
    assert order == sorted(order)
    assert "Тайная" not in text and "Скрытый" not in text and "Готовая" not in text
    await chat.tap("Кузнецова")
    assert "Кузнецова Вера Павловна" in chat.last.text
    assert (await status(harness.sessionmaker, w.other)) == "open"


async def test_admin_sees_all_and_empty_queue_has_a_way_back(harness: Harness) -> None:
    await add_schools(harness.sessionmaker, count=2)
    chat = harness.chat(ADMIN_ID)
    await chat.press(QueueOpen().pack())
    assert "Сейчас заявок нет" in chat.last.text
    assert chat.buttons() == ["🗂 Кабинет методиста", "🏠 Главное меню"]


# ---------------------------------------------------------------- the card and assigning


async def test_card_ranks_mentors_and_assign_sends_the_offer(harness: Harness) -> None:
    w = await world(harness.sessionmaker)
    chat = harness.chat(SCHOOL_METHODIST)
    await chat.press(QueueOpen().pack())
    await chat.tap("Петрова")
    card = chat.last.text
    assert "Петрова Анна Сергеевна" in card and "Школа № 1" in card
    assert "Молодой педагог" in card and "Математика" in card
    assert "Не умею держать дисциплину &amp; &lt;класс&gt;" in card
    assert "⚠️ В очереди: 10 дней" in card
    # the maths mentor first (same subject), the full one not at all
    assert card.index("Математикова") < card.index("Соседова")
    assert "Занятова" not in card
    assert "ведёт тот же предмет" in card and "из той же школы" in card
    assert "свободных мест: 2 из 2" in card
    assert chat.buttons() == [
        "✅ Назначить: Математикова Мария Ивановна",
        "✅ Назначить: Соседова Нина Андреевна",
        "⬅️ К списку заявок",
        "🏠 Главное меню",
    ]
    await chat.tap("Математикова")
    assert "Предложить наставника <b>Математикова Мария Ивановна</b>" in chat.last.text
    assert await offers(harness.sessionmaker) == []  # asking writes nothing
    await chat.tap("Да, предложить")

    [offer] = await offers(harness.sessionmaker)
    assert (offer.request_id, offer.mentor_id, offer.offered_by) == (
        w.old,
        w.math_mentor,
        SCHOOL_METHODIST,
    )
    assert offer.accepted is None and offer.answered_at is None
    assert await status(harness.sessionmaker, w.old) == "offered"
    assert "Предложение отправлено" in chat.last.text

    [sent] = [m for m in harness.bot.api.of(SendMessage) if int(m.chat_id) == 9001]
    assert "Вам предлагают стать наставником" in sent.text
    assert "Петрова Анна Сергеевна" in sent.text and "Не умею держать" in sent.text
    data = [b.callback_data for row in sent.reply_markup.inline_keyboard for b in row]
    labels = [b.text for row in sent.reply_markup.inline_keyboard for b in row]
    assert OfferAccept(offer=offer.id).pack() in data
    assert OfferDecline(offer=offer.id).pack() in data
    assert "✅ Принять" in labels and "Отказаться" in labels

    # the queue now says whom the request waits for; the card offers no second mentor
    await chat.press(QueueOpen().pack())
    assert "предложено: Математикова Мария Ивановна, ждём ответа" in chat.last.text
    await chat.tap("Петрова")
    assert "Назначить" not in " ".join(chat.buttons())
    # pressing the old confirmation again changes nothing
    harness.bot.api.clear()
    await chat.press(AssignConfirm(request=w.old, mentor=w.near_mentor).pack())
    assert chat.alerts() == [
        "Для этой заявки наставник уже предложен. Откройте список заявок заново."
    ]
    assert len(await offers(harness.sessionmaker)) == 1


async def test_pending_offer_takes_the_mentors_place(harness: Harness) -> None:
    w = await world(harness.sessionmaker)
    chat = harness.chat(SCHOOL_METHODIST)
    await chat.press(AssignConfirm(request=w.old, mentor=w.near_mentor).pack())
    assert len(await offers(harness.sessionmaker)) == 1
    await chat.press(RequestOpen(request=w.new).pack())
    assert "Соседова" not in chat.last.text  # her one place waits for her answer
    harness.bot.api.clear()
    await chat.press(AssignConfirm(request=w.new, mentor=w.near_mentor).pack())
    assert chat.alerts() == [FULL]
    assert len(await offers(harness.sessionmaker)) == 1


async def test_undelivered_offer_is_said_plainly_and_kept(harness: Harness) -> None:
    w = await world(harness.sessionmaker)
    harness.bot.api.fail[SendMessage] = "chat not found"
    chat = harness.chat(SCHOOL_METHODIST)
    await chat.press(RequestOpen(request=w.old).pack())
    await chat.tap("Математикова")
    await chat.tap("Да, предложить")
    assert "не доставлено" in chat.last.text
    assert "Математикова Мария Ивановна" in chat.last.text
    [offer] = await offers(harness.sessionmaker)
    assert offer.mentor_id == w.math_mentor
    assert await status(harness.sessionmaker, w.old) == "offered"


# ---------------------------------------------------------------- refused and forged


async def test_teacher_without_role_gets_the_stale_answer(harness: Harness) -> None:
    w = await world(harness.sessionmaker)
    chat = harness.chat(TEACHER)
    for data in (
        MenuCB(to="methodist").pack(),
        QueueOpen().pack(),
        RequestOpen(request=w.old).pack(),
        AssignAsk(request=w.old, mentor=w.math_mentor).pack(),
        AssignConfirm(request=w.old, mentor=w.math_mentor).pack(),
    ):
        harness.bot.api.clear()
        await chat.press(data)
        assert chat.alerts() == [STALE]
        assert not harness.bot.api.of(SendMessage)
    assert await offers(harness.sessionmaker) == []
    assert await status(harness.sessionmaker, w.old) == "open"


async def test_school_methodist_cannot_assign_on_another_school(harness: Harness) -> None:
    w = await world(harness.sessionmaker)
    chat = harness.chat(SCHOOL_METHODIST)
    for data in (
        AssignAsk(request=w.other, mentor=w.math_mentor).pack(),
        AssignConfirm(request=w.other, mentor=w.math_mentor).pack(),
        AssignConfirm(request=w.draft, mentor=w.math_mentor).pack(),
        AssignConfirm(request=w.unshared_open, mentor=w.math_mentor).pack(),
    ):
        harness.bot.api.clear()
        await chat.press(data)
        assert chat.alerts() == [GONE]
        assert not harness.bot.api.of(SendMessage)
    assert await offers(harness.sessionmaker) == []
    assert await status(harness.sessionmaker, w.other) == "open"
    # huge or malformed ids never reach the service
    for data in ("mty:99999999999999999999:1", "mta:1", "mtr:-5", "mtq:x"):
        harness.bot.api.clear()
        await chat.press(data)
        assert chat.alerts() == [STALE]


async def test_mentor_at_capacity_or_not_a_mentor_is_refused(harness: Harness) -> None:
    w = await world(harness.sessionmaker)
    chat = harness.chat(MUNICIPAL_METHODIST)
    for data in (
        AssignAsk(request=w.old, mentor=w.full_mentor).pack(),
        AssignConfirm(request=w.old, mentor=w.full_mentor).pack(),
    ):
        harness.bot.api.clear()
        await chat.press(data)
        assert chat.alerts() == [FULL]
    async with harness.sessionmaker() as s:
        teacher = await s.scalar(select(User.id).where(User.telegram_id == TEACHER))
        mentee = await s.scalar(select(MentorRequest.mentee_id).where(MentorRequest.id == w.old))
    assert teacher is not None and mentee is not None
    for mentor_id in (teacher, mentee, 10**6):  # not a mentor; the mentee themselves; nobody
        harness.bot.api.clear()
        await chat.press(AssignConfirm(request=w.old, mentor=mentor_id).pack())
        assert chat.alerts() == [
            "Этого наставника сейчас предложить нельзя: он больше не берёт подопечных "
            "или уже отказался от этой заявки."
        ]
    assert await offers(harness.sessionmaker) == []
    assert await status(harness.sessionmaker, w.old) == "open"
    assert await count(harness.sessionmaker, MentorPair) == 1


async def test_long_queue_fits_one_message(harness: Harness) -> None:
    await add_schools(harness.sessionmaker, count=1)
    async with harness.sessionmaker.begin() as s:
        await grant(s, SCHOOL_METHODIST, RoleName.METHODIST, school_code="sch1")
        for i in range(30):
            name = f"Длинноимённая{'я' * 80} {i}"
            user = await person(s, 8100 + i, name, 1)
            await request(s, user, days=30 - i)
    chat = harness.chat(SCHOOL_METHODIST)
    await chat.press(MenuCB(to="methodist").pack())
    assert "Кабинет методиста" in chat.last.text
    await chat.tap("Заявки на наставника")
    text = chat.last.text
    assert "В очереди: <b>30</b>" in text
    assert "… и ещё " in text
    assert html_length(text) <= 4096
    shown = len(chat.buttons()) - 2  # the desk and the main menu
    assert 0 < shown <= 20
    assert text.count("\n\n") - 2 == shown  # a line per button, then «… и ещё N»


def test_long_card_fits_one_message() -> None:
    from bot.i18n import Translator
    from handlers.methodist import screens
    from services.matching import Candidate, Need, rank_mentors
    from services.mentoring_queue import EarlierRefusal, RequestCard
    from tests.telegram import html_errors

    long_name = "Ю" * 100
    people = [
        Candidate(i, long_name, 2, "Ш" * 100, frozenset({"math"}), "highest", True, 30, 0, 5)
        for i in range(2, 12)
    ]
    card = RequestCard(
        request_id=1,
        status="open",
        mentee_name=long_name,
        school_name="Ш" * 100,
        young=True,
        subject="math",
        topics=tuple(f"topic{i}" for i in range(8)),
        details="<&>" * 333,
        same_school=True,
        days_waiting=400,
        overdue=True,
        offered_to=None,
        refusals=tuple(EarlierRefusal(long_name, "<причина>" * 50) for _ in range(30)),
        suggestions=tuple(rank_mentors(Need(1, 2, "math", True), people)),
    )
    screen = screens.request_card(card, Translator("ru"))
    assert html_length(screen.text) <= 4096
    assert not html_errors(screen.text)
    assert "&lt;причина&gt;" in screen.text and "… и ещё " in screen.text
    assert screen.keyboard is not None and len(screen.keyboard.inline_keyboard) == 5 + 2
