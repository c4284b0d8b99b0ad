"""Survey campaigns: launching through the real Dispatcher, the fixed audience, the minute
tick (invitations, reminders, answers, the deadline's report), extending and closing, the
monitoring calendar's offers, and forged buttons.

The world (the test clock: Monday 12.10.2026 12:30 in Moscow):

- school 1: a (teacher, maths), b (teacher, Russian, young: born 2000, teaching since 2024),
  c (pre-school), d (teacher, maths; completed the deficits questionnaire 10 days ago, within
  its 30-day interval), e (teacher, physics), f (psychologist); g never finished
  registering, h blocked the bot;
- school 2: i (teacher, maths), j (teacher, English);
- school 3: nobody.

A municipal deficits campaign for everyone: members a b d e f i j = 7 (c, a воспитатель,
answers the pre-school self-assessment, a campaign of its own), d counted before, 6
invited. Progress: school 1 «1 из 5 (20 %)» (d), school 2 has 2 members: «< 5».
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.calendar.callbacks import CalendarCB
from handlers.campaigns.callbacks import (
    DEADLINE_FIELD,
    CampaignOpen,
    CloseAsk,
    CloseConfirm,
    Extend,
    LaunchDraft,
    WindowLaunch,
)
from handlers.home.callbacks import MenuCB
from handlers.surveys.callbacks import SurveyOpen
from models import (
    Attempt,
    AttemptStatus,
    Campaign,
    CampaignMember,
    Outbox,
    OutboxStatus,
    RoleName,
    ScopeKind,
    User,
    UserSubject,
)
from services import campaigns as svc
from services.roles import Access, Scope, access_for, grant
from tests.conftest import NOW, Harness
from tests.helpers import add_schools

MSK = ZoneInfo("Europe/Moscow")
STALE = "Эта кнопка уже не действует. Откройте нужный раздел заново из главного меню."
GONE = "Этой кампании нет в вашем списке. Откройте «📣 Кампании» заново."

SCHOOL_METHODIST = 7101  # school 1
OTHER_METHODIST = 7102  # school 2
MUNICIPAL_METHODIST = 7103
TEACHER = 8101  # a, no role
TEACHERS = {
    # key: (telegram id, school, position, subjects, birth, since)
    "a": (8101, 1, "teacher", ["math"], 1980, 2005),
    "b": (8102, 1, "teacher", ["russian"], 2000, 2024),
    "c": (8103, 1, "preschool", [], 1985, 2010),
    "d": (8104, 1, "teacher", ["math"], 1979, 2001),
    "e": (8105, 1, "teacher", ["physics"], 1990, 2012),
    "f": (8106, 1, "psychologist", [], 1988, 2011),
    "g": (8107, 1, "teacher", ["math"], 1980, 2005),
    "h": (8108, 1, "teacher", ["math"], 1980, 2005),
    "i": (8109, 2, "teacher", ["math"], 1982, 2006),
    "j": (8110, 2, "teacher", ["english"], 1984, 2007),
}


def local(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=MSK).astimezone(UTC)


async def world(harness: Harness) -> dict[str, int]:
    """The people above; returns user ids by key."""
    sm = harness.sessionmaker
    await add_schools(sm, count=3)
    ids: dict[str, int] = {}
    version = harness.app.registry.get("deficits")
    assert version is not None
    async with sm.begin() as s:
        await grant(s, SCHOOL_METHODIST, RoleName.METHODIST, school_code="sch1")
        await grant(s, OTHER_METHODIST, RoleName.METHODIST, school_code="sch2")
        await grant(s, MUNICIPAL_METHODIST, RoleName.METHODIST, municipality_code="ensk")
        for key, (tg, school, position, subjects, birth, since) in TEACHERS.items():
            user = User(
                telegram_id=tg,
                language="en" if key == "e" else "ru",
                consent_at=NOW - timedelta(days=90),
                registered_at=None if key == "g" else NOW - timedelta(days=90),
                full_name=f"Педагог {key.upper()}",
                school_id=school,
                position=position,
                birth_year=birth,
                teaching_since=since,
                category="first",
                blocked_bot=key == "h",
            )
            s.add(user)
            await s.flush()
            s.add_all(UserSubject(user_id=user.id, subject=code) for code in subjects)
            ids[key] = user.id
        await s.flush()
        done = NOW - timedelta(days=10)
        s.add(completed(ids["d"], version.version_id, done))
    return ids


def completed(user_id: int, version_id: int, at: datetime, instrument: str = "deficits") -> Attempt:
    return Attempt(
        user_id=user_id,
        instrument_version_id=version_id,
        instrument_id=instrument,
        status=AttemptStatus.COMPLETED.value,
        started_at=at - timedelta(minutes=10),
        updated_at=at,
        completed_at=at,
    )


async def complete(harness: Harness, user_id: int, at: datetime) -> None:
    version = harness.app.registry.get("deficits")
    assert version is not None
    async with harness.sessionmaker.begin() as s:
        s.add(completed(user_id, version.version_id, at))


async def tick(harness: Harness, now: datetime) -> int:
    harness.clock.now = now
    async with harness.sessionmaker.begin() as s:
        return await svc.campaign_tick(s, now, harness.app.settings)


async def calendar(harness: Harness, today: date) -> int:
    async with harness.sessionmaker.begin() as s:
        return await svc.calendar_tick(s, today, harness.app.settings)


async def outbox(sm: async_sessionmaker[AsyncSession], prefix: str = "") -> list[Outbox]:
    async with sm() as s:
        rows = await s.scalars(
            select(Outbox).where(Outbox.key.startswith(prefix)).order_by(Outbox.id)
        )
        return list(rows)


async def members(sm: async_sessionmaker[AsyncSession], campaign_id: int) -> list[CampaignMember]:
    async with sm() as s:
        rows = await s.scalars(
            select(CampaignMember)
            .where(CampaignMember.campaign_id == campaign_id)
            .order_by(CampaignMember.user_id)
        )
        return list(rows)


async def campaign_row(sm: async_sessionmaker[AsyncSession], campaign_id: int) -> Campaign:
    async with sm() as s:
        row = await s.get(Campaign, campaign_id)
        assert row is not None
        return row


async def launch_municipal(harness: Harness) -> int:
    """The municipal methodist launches the deficits campaign for everyone, +14 days, with
    the default reminders, through the bot; returns its id."""
    chat = harness.chat(MUNICIPAL_METHODIST)
    await chat.press(MenuCB(to="methodist").pack())
    await chat.tap("Кампании")
    await chat.tap("Новая кампания")
    await chat.tap("Школы · Самооценка профессиональных")
    await chat.tap("Всех педагогов")
    await chat.tap("+14 дней")
    await chat.tap("Да, как обычно")
    await chat.tap("Запустить")
    async with harness.sessionmaker() as s:
        found = await s.scalar(select(Campaign.id).order_by(Campaign.id.desc()).limit(1))
    assert found is not None
    return found


def user_of(row: Outbox) -> int:
    assert row.user_id is not None
    return row.user_id


# ---------------------------------------------------------------- launching


async def test_launch_through_the_bot_fixes_the_members(harness: Harness) -> None:
    ids = await world(harness)
    chat = harness.chat(MUNICIPAL_METHODIST)
    await chat.press(MenuCB(to="methodist").pack())
    assert "📣 Кампании" in chat.buttons()
    await chat.tap("Кампании")
    assert "Кампаний пока нет" in chat.last.text
    await chat.tap("Новая кампания")
    assert "Какую анкету отправить?" in chat.last.text
    # the school and the kindergarten version share a title: the buttons tell them apart
    offered = chat.buttons()
    assert len(offered) == len(set(offered))
    assert "Детские сады · Профессиональное выгоран…" in offered
    await chat.tap("Школы · Самооценка профессиональных")
    # one scope: the scope step is skipped
    assert "Кого спросить?" in chat.last.text and "Энский" in chat.last.text
    await chat.tap("Всех педагогов")
    # text where a button is due: the same step again, not the main menu
    await chat.send("через две недели")
    assert chat.last.text.startswith("Пожалуйста, выберите ответ кнопкой")
    assert "До какого дня" in chat.last.text and "+21 день" in chat.buttons()
    await chat.tap("+14 дней")
    assert "до 26.10.2026 включительно" in chat.last.text
    await chat.tap("Назад")  # the deadline is asked again
    assert "До какого дня" in chat.last.text
    await chat.tap("+14 дней")
    await chat.tap("Да, как обычно")
    summary = chat.last.text
    assert "Получат приглашение: <b>6</b>" in summary
    assert "будут засчитаны без вопроса): <b>1</b>" in summary
    async with harness.sessionmaker() as s:
        assert await s.scalar(select(Campaign.id)) is None  # the summary writes nothing
    await chat.tap("Запустить")
    card = chat.last.text
    assert "Кампания запущена" in card
    assert "Ответили: <b>1 из 7</b> (14 %)" in card
    assert "• Школа № 1: 1 из 5 (20 %)" in card
    assert "• Школа № 2: &lt; 5" in card
    assert "15.10.2026, 25.10.2026" in card  # 3 days after the start, a day before
    [campaign] = await _all_campaigns(harness)
    assert (campaign.school_id, campaign.deadline) == (None, date(2026, 10, 26))
    assert campaign.municipality_id is not None and campaign.created_by == MUNICIPAL_METHODIST
    rows = await members(harness.sessionmaker, campaign.id)
    expect = sorted(ids[k] for k in "abdefij")  # c: the pre-school self-assessment
    assert [m.user_id for m in rows] == expect  # g (unregistered) and h (blocked) are not
    assert [m.user_id for m in rows if m.counted_before] == [ids["d"]]
    # a second «Запустить» (the dialog is over) launches nothing
    harness.bot.api.clear()
    await chat.press(LaunchDraft().pack())
    assert chat.alerts() == [STALE]
    assert len(await _all_campaigns(harness)) == 1


async def _all_campaigns(harness: Harness) -> list[Campaign]:
    async with harness.sessionmaker() as s:
        return list(await s.scalars(select(Campaign).order_by(Campaign.id)))


async def test_school_methodist_filters_and_calendar_deadline(harness: Harness) -> None:
    ids = await world(harness)
    chat = harness.chat(SCHOOL_METHODIST)
    await chat.press(MenuCB(to="methodist").pack())
    await chat.tap("Кампании")
    await chat.tap("Новая кампания")
    await chat.tap("Школы · Самооценка профессиональных")
    await chat.tap("По предмету")
    await chat.tap("Математика")
    assert "предмет: Математика" in chat.last.text
    # the calendar opens at October (13.10 is the earliest day); on to November, the 5th
    await chat.tap("Ноябрь ▶️")
    assert "Ноябрь 2026" in chat.buttons()
    await chat.press(CalendarCB(f=DEADLINE_FIELD, a="d", y=2026, m=11, d=5).pack())
    assert "до 05.11.2026 включительно" in chat.last.text
    await chat.tap("Без напоминаний")
    summary = chat.last.text
    # maths teachers of school 1: a (asked) and d (counted)
    assert "Получат приглашение: <b>1</b>" in summary and "<b>1</b>" in summary
    assert "Напоминания: нет" in summary
    await chat.tap("Запустить")
    [campaign] = await _all_campaigns(harness)
    assert campaign.school_id == 1 and campaign.deadline == date(2026, 11, 5)
    assert campaign.filters == {"positions": [], "subjects": ["math"], "young_only": False}
    assert campaign.remind_after_days == [] and campaign.remind_before_days == []
    rows = await members(harness.sessionmaker, campaign.id)
    assert sorted(m.user_id for m in rows) == sorted([ids["a"], ids["d"]])
    # a school campaign is not broken down by school
    assert "По школам" not in chat.last.text


async def test_young_only_and_a_position(harness: Harness) -> None:
    ids = await world(harness)
    async with harness.sessionmaker.begin() as s:
        access = await _access(s, SCHOOL_METHODIST)
        scope = Scope(ScopeKind.SCHOOL, 1)
        young = await svc.launch(
            s,
            access,
            harness.app.registry,
            instrument_id="burnout",
            scope=scope,
            filters=svc.Filters(young_only=True),
            deadline=date(2026, 10, 20),
            reminders=True,
            now=NOW,
            tz=MSK,
        )
        pre = await svc.launch(
            s,
            access,
            harness.app.registry,
            instrument_id="burnout_preschool",
            scope=scope,
            filters=svc.Filters(),
            deadline=date(2026, 10, 20),
            reminders=True,
            now=NOW,
            tz=MSK,
        )
        # the young-teacher questionnaire is for young teachers only, whatever the filter
        yq = await svc.launch(
            s,
            access,
            harness.app.registry,
            instrument_id="young",
            scope=scope,
            filters=svc.Filters(),
            deadline=date(2026, 10, 20),
            reminders=True,
            now=NOW,
            tz=MSK,
        )
    assert [m.user_id for m in await members(harness.sessionmaker, young.id)] == [ids["b"]]
    assert [m.user_id for m in await members(harness.sessionmaker, pre.id)] == [ids["c"]]
    assert [m.user_id for m in await members(harness.sessionmaker, yq.id)] == [ids["b"]]


async def test_each_deficits_campaign_reaches_the_staff_it_fits(harness: Harness) -> None:
    """The school self-assessment never goes to a воспитатель, the pre-school one only to
    pre-school staff; the pre-school one is never narrowed by school subjects."""
    ids = await world(harness)
    async with harness.sessionmaker.begin() as s:
        access = await _access(s, SCHOOL_METHODIST)
        launched = {
            instrument: await svc.launch(
                s,
                access,
                harness.app.registry,
                instrument_id=instrument,
                scope=Scope(ScopeKind.SCHOOL, 1),
                filters=svc.Filters(),
                deadline=date(2026, 10, 20),
                reminders=True,
                now=NOW,
                tz=MSK,
            )
            for instrument in ("deficits", "deficits_preschool")
        }
    school = [m.user_id for m in await members(harness.sessionmaker, launched["deficits"].id)]
    assert school == sorted(ids[k] for k in "abdef")
    preschool = launched["deficits_preschool"].id
    assert [m.user_id for m in await members(harness.sessionmaker, preschool)] == [ids["c"]]
    inst = harness.app.registry.get("deficits_preschool")
    assert inst is not None and not svc.subjects_allowed(inst.instrument)


async def _access(s: AsyncSession, telegram_id: int) -> Access:
    return await access_for(s, telegram_id, [])


async def test_launch_refusals(harness: Harness) -> None:
    await world(harness)
    registry = harness.app.registry
    async with harness.sessionmaker.begin() as s:
        school = await _access(s, SCHOOL_METHODIST)
        cases: list[tuple[Access, dict[str, object], str]] = [
            # another school, the municipality, the region: not a school methodist's
            (school, {"scope": Scope(ScopeKind.SCHOOL, 2)}, "campaigns.refused.scope"),
            (
                school,
                {"scope": Scope(ScopeKind.MUNICIPALITY, None, 1)},
                "campaigns.refused.scope",
            ),
            (school, {"deadline": NOW.date()}, "campaigns.refused.deadline"),
            (school, {"deadline": date(2027, 6, 1)}, "campaigns.refused.deadline"),
            (school, {"instrument_id": "nope"}, "campaigns.refused.unknown_instrument"),
            (
                school,
                {"filters": svc.Filters(positions=("director",))},
                "campaigns.refused.not_for_audience",
            ),
            (
                school,
                {"filters": svc.Filters(subjects=("chemistry",))},
                "campaigns.refused.empty",
            ),
            (Access(telegram_id=TEACHER), {}, "campaigns.refused.gone"),
        ]
        for access, change, code in cases:
            args: dict[str, object] = {
                "instrument_id": "deficits",
                "scope": Scope(ScopeKind.SCHOOL, 1),
                "filters": svc.Filters(),
                "deadline": date(2026, 10, 20),
                "reminders": True,
                "now": NOW,
                "tz": MSK,
            }
            args.update(change)
            try:
                await svc.launch(s, access, registry, **args)  # type: ignore[arg-type]
            except svc.CampaignRefusal as refusal:
                assert refusal.code == code, (change, refusal.code)
            else:
                raise AssertionError(f"launched with {change}")
    assert await _all_campaigns(harness) == []


# ---------------------------------------------------------------- the tick


async def test_invitations_reminders_answers_and_the_report(harness: Harness) -> None:
    ids = await world(harness)
    sm = harness.sessionmaker
    cid = await launch_municipal(harness)

    # invitations: one to each of the 6 asked (not d), once
    assert await tick(harness, NOW) == 6
    assert await tick(harness, NOW + timedelta(minutes=1)) == 0
    invites = await outbox(sm, f"campaign:{cid}:invite:")
    assert sorted(user_of(r) for r in invites) == sorted(ids[k] for k in "abefij")
    by_user = {user_of(r): r for r in invites}
    assert all(not r.reminder and r.kind == "campaign.invite" for r in invites)
    ru, en = by_user[ids["a"]], by_user[ids["e"]]
    assert "Самооценка профессиональных затруднений" in ru.text and "26.10.2026" in ru.text
    assert "The methodical service asks you" in en.text  # e reads English
    keyboard = InlineKeyboardMarkup.model_validate(ru.keyboard)
    first = keyboard.inline_keyboard[0][0]
    assert first.callback_data == SurveyOpen(instrument="deficits").pack()
    assert ru.key == f"campaign:{cid}:invite:{ids['a']}" and ru.telegram_id == 8101

    # a answers before the first reminder day; nothing until that day
    await complete(harness, ids["a"], local(2026, 10, 14, 18))
    assert await tick(harness, local(2026, 10, 14, 23, 59)) == 0
    # 15.10 (3 days after the start): reminders to b e f i j, due 10:00 local
    assert await tick(harness, local(2026, 10, 15, 0, 5)) == 5
    reminders = await outbox(sm, f"campaign:{cid}:remind:1:")
    assert sorted(user_of(r) for r in reminders) == sorted(ids[k] for k in "befij")
    assert all(r.reminder and r.due_at == local(2026, 10, 15, 10) for r in reminders)
    assert "Напоминание" in reminders[0].text
    [a] = [m for m in await members(sm, cid) if m.user_id == ids["a"]]
    assert a.answered_at == local(2026, 10, 14, 18)

    # b answers in the morning before the reminder goes: the next tick cancels it
    await complete(harness, ids["b"], local(2026, 10, 15, 8))
    assert await tick(harness, local(2026, 10, 15, 8, 1)) == 0
    statuses = {user_of(r): r.status for r in await outbox(sm, f"campaign:{cid}:remind:1:")}
    assert statuses[ids["b"]] == OutboxStatus.CANCELLED.value
    assert [u for u, st in statuses.items() if st == "pending"] == sorted(ids[k] for k in "efij")
    # an attempt completed before the campaign started does not count as an answer
    assert await tick(harness, local(2026, 10, 20)) == 0

    # the methodist extends by 7 days: the deadline 02.11, the last reminder 01.11
    chat = harness.chat(MUNICIPAL_METHODIST)
    harness.clock.now = local(2026, 10, 20)
    await chat.press(CampaignOpen(campaign=cid).pack())
    card = chat.last.text
    assert "Ответили: <b>3 из 7</b> (43 %)" in card  # d before, a and b now
    assert "• Школа № 1: 3 из 5 (60 %)" in card
    await chat.tap("Продлить на 7 дней")
    assert "Срок продлён до 02.11.2026" in chat.last.text
    assert (await campaign_row(sm, cid)).deadline == date(2026, 11, 2)
    assert await tick(harness, local(2026, 10, 25, 9)) == 0  # the old day passes quietly
    assert await tick(harness, local(2026, 11, 1, 7)) == 4  # e f i j
    second = await outbox(sm, f"campaign:{cid}:remind:2:")
    assert all(r.due_at == local(2026, 11, 1, 10) for r in second)
    assert await tick(harness, local(2026, 11, 1, 12)) == 0
    # never a reminder left for d (counted before) or a, b (answered; b's was cancelled)
    every = await outbox(sm, f"campaign:{cid}:remind:")
    live = {user_of(r) for r in every if r.status != OutboxStatus.CANCELLED.value}
    assert not live & {ids["a"], ids["b"], ids["d"]}

    # the last day is 02.11; the first tick of 03.11 closes and reports, once
    assert await tick(harness, local(2026, 11, 2, 23, 59)) == 0
    assert await tick(harness, local(2026, 11, 3, 0, 1)) == 1
    assert await tick(harness, local(2026, 11, 3, 0, 2)) == 0
    row = await campaign_row(sm, cid)
    assert row.status == "closed" and row.closed_at == local(2026, 11, 3, 0, 1)
    [report] = await outbox(sm, f"campaign:{cid}:report")
    assert report.telegram_id == MUNICIPAL_METHODIST and not report.reminder
    assert "Кампания завершена" in report.text
    assert "Ответили: <b>3 из 7</b> (43 %)" in report.text
    assert "• Школа № 1: 3 из 5 (60 %)" in report.text and "Школа № 2: &lt; 5" in report.text
    data = InlineKeyboardMarkup.model_validate(report.keyboard).inline_keyboard[0][0]
    assert data.callback_data == CampaignOpen(campaign=cid).pack()


async def registers(harness: Harness, user_id: int, at: datetime) -> None:
    async with harness.sessionmaker.begin() as s:
        user = await s.get(User, user_id)
        assert user is not None
        user.registered_at = at


async def test_teachers_who_come_while_it_runs_are_invited(harness: Harness) -> None:
    """g registers after the launch: invited by the next tick, counted in the progress, and
    not reminded on the day of the invitation; the campaign's other members are not
    invited twice."""
    ids = await world(harness)
    sm = harness.sessionmaker
    cid = await launch_municipal(harness)
    assert await tick(harness, NOW) == 6
    assert ids["g"] not in {m.user_id for m in await members(sm, cid)}

    # g finishes registering on 15.10 at 06:00, the day of the first reminder
    await registers(harness, ids["g"], local(2026, 10, 15, 6))
    assert await tick(harness, local(2026, 10, 15, 6, 1)) == 1 + 6  # g's invitation, reminders
    [g] = [m for m in await members(sm, cid) if m.user_id == ids["g"]]
    assert not g.counted_before and g.answered_at is None
    invites = await outbox(sm, f"campaign:{cid}:invite:")
    assert sorted(user_of(r) for r in invites) == sorted(ids[k] for k in "abefgij")
    reminders = await outbox(sm, f"campaign:{cid}:remind:1:")
    assert ids["g"] not in {user_of(r) for r in reminders}
    assert len(reminders) == 6  # a b e f i j: the others, invited on 12.10
    assert await tick(harness, local(2026, 10, 15, 7)) == 0

    chat = harness.chat(MUNICIPAL_METHODIST)
    harness.clock.now = local(2026, 10, 15, 7)
    await chat.press(CampaignOpen(campaign=cid).pack())
    assert "Ответили: <b>1 из 8</b>" in chat.last.text  # d counted before; g among the asked

    # the second reminder (the day before the deadline) reaches g too
    assert await tick(harness, local(2026, 10, 25, 7)) == 7
    second = await outbox(sm, f"campaign:{cid}:remind:2:")
    assert ids["g"] in {user_of(r) for r in second}


async def test_close_early_cancels_what_is_pending(harness: Harness) -> None:
    await world(harness)
    sm = harness.sessionmaker
    cid = await launch_municipal(harness)
    assert await tick(harness, NOW) == 6
    chat = harness.chat(MUNICIPAL_METHODIST)
    await chat.press(CampaignOpen(campaign=cid).pack())
    await chat.tap("Закрыть досрочно")
    assert "досрочно?" in chat.last.text
    assert (await campaign_row(sm, cid)).status == "active"  # asking changes nothing
    await chat.tap("Да, закрыть")
    assert "Кампания закрыта" in chat.last.text
    assert "Продлить" not in " ".join(chat.buttons())
    row = await campaign_row(sm, cid)
    assert row.status == "closed" and row.closed_at == NOW
    assert {r.status for r in await outbox(sm, f"campaign:{cid}:")} == {"cancelled"}
    # nothing more for it: no reminders, no report
    assert await tick(harness, local(2026, 10, 15, 7)) == 0
    assert await tick(harness, local(2026, 10, 27, 7)) == 0
    assert await outbox(sm, f"campaign:{cid}:report") == []
    # closing or extending again is refused
    harness.bot.api.clear()
    await chat.press(CloseConfirm(campaign=cid).pack())
    await chat.press(Extend(campaign=cid).pack())
    assert chat.alerts() == ["Эта кампания уже закрыта."] * 2


async def test_list_shows_progress(harness: Harness) -> None:
    await world(harness)
    cid = await launch_municipal(harness)
    chat = harness.chat(MUNICIPAL_METHODIST)
    await chat.tap("К кампаниям")
    text = chat.last.text
    assert "🟢 <b>Школы · Самооценка профессиональных затруднений</b> — Энский" in text
    assert "до 26.10.2026: ответили 1 из 7 (14 %)" in text
    assert chat.buttons()[0] == "1. Школы · Самооценка профессиональных зат…"
    await chat.tap("1. Школы · Самооценка")
    assert "Ответили: <b>1 из 7</b>" in chat.last.text
    assert cid


# ---------------------------------------------------------------- who may see what


async def test_other_school_and_teacher_cannot_see_or_act(harness: Harness) -> None:
    await world(harness)
    sm = harness.sessionmaker
    cid = await launch_municipal(harness)
    forged = [
        CampaignOpen(campaign=cid).pack(),
        Extend(campaign=cid).pack(),
        CloseAsk(campaign=cid).pack(),
        CloseConfirm(campaign=cid).pack(),
    ]
    # a school methodist (even of school 1) does not see a municipal campaign
    for methodist in (OTHER_METHODIST, SCHOOL_METHODIST):
        chat = harness.chat(methodist)
        await chat.press(MenuCB(to="methodist").pack())
        await chat.tap("Кампании")
        assert "Кампаний пока нет" in chat.last.text
        harness.bot.api.clear()
        for data in forged:
            await chat.press(data)
        assert chat.alerts() == [GONE] * len(forged)
    # a teacher gets the stale-button answer for every campaign button
    teacher = harness.chat(TEACHER)
    harness.bot.api.clear()
    for data in [*forged, WindowLaunch(window="deficits_autumn", year=2026, municipality=1).pack()]:
        await teacher.press(data)
    assert teacher.alerts() == [STALE] * (len(forged) + 1)
    row = await campaign_row(sm, cid)
    assert row.status == "active" and row.deadline == date(2026, 10, 26)
    # an id past the bounds matches no handler
    harness.bot.api.clear()
    chat = harness.chat(MUNICIPAL_METHODIST)
    await chat.press(f"cmo:{2**40}")
    assert chat.alerts() == [STALE]


# ---------------------------------------------------------------- the monitoring calendar


async def test_calendar_offers_once_per_window_and_launches_once(harness: Harness) -> None:
    await world(harness)
    sm = harness.sessionmaker
    assert await calendar(harness, date(2026, 9, 30)) == 0
    # 01.10: deficits (autumn, school and pre-school) and the young-teacher survey (school and
    # pre-school); activity is not loaded
    assert await calendar(harness, date(2026, 10, 1)) == 4
    assert await calendar(harness, date(2026, 10, 1)) == 0
    assert await calendar(harness, date(2026, 10, 2)) == 0
    offers = await outbox(sm, "calendar:")
    assert sorted(r.key for r in offers) == [
        f"calendar:deficits_autumn:2026:{MUNICIPAL_METHODIST}",
        f"calendar:preschool_autumn:2026:{MUNICIPAL_METHODIST}",
        f"calendar:young:2026:{MUNICIPAL_METHODIST}",
        f"calendar:young_preschool:2026:{MUNICIPAL_METHODIST}",
    ]
    offer = next(r for r in offers if "deficits_autumn" in r.key)
    assert offer.due_at == local(2026, 10, 1, 10) and not offer.reminder
    assert "Календарь мониторинга" in offer.text and "Энский" in offer.text
    assert "22.10.2026" in offer.text  # 01.10 + 21 days
    button = InlineKeyboardMarkup.model_validate(offer.keyboard).inline_keyboard[0][0]
    assert (
        button.callback_data
        == WindowLaunch(window="deficits_autumn", year=2026, municipality=1).pack()
    )

    # the methodist taps «Запустить» (on 02.10), then again: one campaign
    harness.clock.now = local(2026, 10, 2, 9)
    chat = harness.chat(MUNICIPAL_METHODIST)
    assert button.callback_data is not None
    await chat.press(button.callback_data)
    assert "Кампания запущена" in chat.last.text
    await chat.press(button.callback_data)
    [campaign] = await _all_campaigns(harness)
    assert campaign.window == "deficits_autumn-2026"
    assert campaign.deadline == date(2026, 10, 23) and campaign.instrument_id == "deficits"
    # a school methodist cannot use the offer's button
    harness.bot.api.clear()
    other = harness.chat(SCHOOL_METHODIST)
    await other.press(button.callback_data)
    assert other.alerts() == [GONE]
    # the next year's window is offered again
    assert await calendar(harness, date(2027, 3, 1)) == 2
    assert await calendar(harness, date(2027, 10, 5)) == 4


async def test_window_over_and_not_offered_when_running(harness: Harness) -> None:
    await world(harness)
    harness.clock.now = local(2026, 10, 25, 9)
    chat = harness.chat(MUNICIPAL_METHODIST)
    harness.bot.api.clear()
    await chat.press(WindowLaunch(window="deficits_autumn", year=2026, municipality=1).pack())
    assert chat.alerts() == [
        "Окно мониторинга уже закрыто. Запустите кампанию из раздела «📣 Кампании»."
    ]
    # launched from the young window on 05.10: the offer of 06.10 is not made
    harness.clock.now = local(2026, 10, 5, 9)
    await chat.press(WindowLaunch(window="young", year=2026, municipality=1).pack())
    assert "Кампания запущена" in chat.last.text
    # the self-assessments and the kindergartens' young-teacher survey, a campaign of its own
    assert await calendar(harness, date(2026, 10, 6)) == 3
    assert [r.key.split(":")[1] for r in await outbox(harness.sessionmaker, "calendar:")] == [
        "deficits_autumn",
        "preschool_autumn",
        "young_preschool",
    ]


# ---------------------------------------------------------------- pieces


def test_packed_buttons_match_the_handlers() -> None:
    assert svc.survey_open_data("young") == SurveyOpen(instrument="young").pack()
    assert svc.campaign_open_data(12) == CampaignOpen(campaign=12).pack()
    assert (
        svc.window_launch_data("activity_final", 2026, 3)
        == WindowLaunch(window="activity_final", year=2026, municipality=3).pack()
    )
    assert MenuCB(to="main").pack() == svc.MENU_DATA
    for w in svc.windows():
        assert len(svc.window_launch_data(w.id, 2026, 2**31 - 1).encode()) <= 64


def test_plan_and_steps() -> None:
    campaign = Campaign(
        instrument_id="deficits",
        starts_at=NOW,
        deadline=date(2026, 10, 16),
        remind_after_days=[3],
        remind_before_days=[1],
        created_by=1,
    )
    # 15.10 is both 3 days after the start and a day before the deadline: once
    assert svc.plan(campaign, MSK) == [(1, date(2026, 10, 15))]
    campaign.deadline = date(2026, 10, 13)
    assert svc.plan(campaign, MSK) == []  # nothing after the start day fits
    d = svc.Draft()
    assert svc.next_step(d) == "instrument"
    d = svc.choose(d, "instrument", "deficits", NOW.date())
    d = svc.choose(d, "scope", 0, NOW.date())
    d = svc.choose(d, "audience", "position", NOW.date())
    assert svc.next_step(d) == "position"
    d = svc.choose(d, "position", "teacher", NOW.date())
    assert svc.next_step(d) == "deadline"
    assert svc.previous(d, single_scope=True) == replace(d, position=None)
    assert svc.Draft.from_data(d.to_data()) == d
    assert svc.previous(svc.Draft("deficits", 0), single_scope=True) == svc.Draft()


async def test_several_scopes_ask_which(harness: Harness) -> None:
    ids = await world(harness)
    async with harness.sessionmaker.begin() as s:
        await grant(s, SCHOOL_METHODIST, RoleName.METHODIST, school_code="sch2")
    chat = harness.chat(SCHOOL_METHODIST)
    await chat.press(MenuCB(to="methodist").pack())
    await chat.tap("Кампании")
    await chat.tap("Новая кампания")
    await chat.tap("Школы · Профессиональное выгорание")
    assert "Для кого запускаем?" in chat.last.text
    assert chat.buttons()[:2] == ["Школа № 1", "Школа № 2"]
    await chat.tap("Школа № 2")
    assert "Кому: Школа № 2" in chat.last.text
    await chat.tap("Назад")
    assert "Для кого запускаем?" in chat.last.text
    await chat.tap("Школа № 2")
    await chat.tap("Всех педагогов")
    await chat.tap("+7 дней")
    await chat.tap("Да, как обычно")
    assert "Получат приглашение: <b>2</b>" in chat.last.text
    await chat.tap("Запустить")
    [campaign] = await _all_campaigns(harness)
    assert campaign.school_id == 2 and campaign.instrument_id == "burnout"
    rows = await members(harness.sessionmaker, campaign.id)
    assert [m.user_id for m in rows] == sorted([ids["i"], ids["j"]])
    # the other methodist of school 2 sees it too
    other = harness.chat(OTHER_METHODIST)
    await other.press(CampaignOpen(campaign=campaign.id).pack())
    assert "Профессиональное выгорание" in other.last.text
