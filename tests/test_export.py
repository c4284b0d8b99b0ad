"""«Мои данные» holds everything stored about the person: every table that refers to a
person is exported (a new one fails here until the export covers it), and a teacher with a
row in each of them finds each row in the file, unfinished drafts and dates included."""

from __future__ import annotations

import json
from datetime import date, timedelta

from aiogram.methods import SendDocument
from aiogram.types import BufferedInputFile
from sqlalchemy import BigInteger, Column, ForeignKey, Integer, MetaData, String, Table

from handlers.registration.callbacks import ProfileExport
from models import (
    Base,
    Campaign,
    CampaignMember,
    Course,
    MentorCheckin,
    MentorMeeting,
    MentorOffer,
    MentorPair,
    MentorProfile,
    MentorRequest,
    NotificationSettings,
    Provider,
    RoleName,
    Route,
    RouteStep,
)
from services.outbox import OutFile, enqueue
from services.people import EXPORTED_TABLES
from services.roles import grant
from tests.conftest import Harness
from tests.helpers import add_schools, register, user_row
from tests.test_survey_journeys import answer_all, open_survey

PERSON_COLUMNS = frozenset({"user_id", "telegram_id", "created_by", "offered_by", "logged_by"})
"""Columns that hold a person (a users.id or a Telegram id) even without a foreign key."""


def tables_about_a_person(metadata: MetaData) -> set[str]:
    """Tables that refer to a person: a column pointing at ``users`` (a foreign key, or a
    Telegram id by its name), and, transitively, tables whose rows belong to such a row
    (a foreign key that deletes them with it)."""
    found = {"users"}
    for table in metadata.tables.values():
        for column in table.columns:
            points_at_users = any(fk.column.table.name == "users" for fk in column.foreign_keys)
            if points_at_users or column.name in PERSON_COLUMNS:
                found.add(table.name)
    grew = True
    while grew:
        grew = False
        for table in metadata.tables.values():
            if table.name in found:
                continue
            for fk in table.foreign_keys:
                if fk.column.table.name in found and fk.ondelete == "CASCADE":
                    found.add(table.name)
                    grew = True
                    break
    return found


def test_every_table_about_a_person_is_exported() -> None:
    """A model that gains a table referring to a person fails here until «Мои данные»
    exports it (and names it in ``services.people.EXPORTED_TABLES``)."""
    assert tables_about_a_person(Base.metadata) == set(EXPORTED_TABLES)


def test_the_check_notices_a_new_table() -> None:
    metadata = MetaData()
    Table("users", metadata, Column("id", Integer, primary_key=True))
    Table("notes", metadata, Column("id", Integer, primary_key=True), Column("text", String))
    Table(
        "diary",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("author", ForeignKey("users.id", ondelete="SET NULL")),
    )
    Table(
        "diary_pages",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("diary_id", ForeignKey("diary.id", ondelete="CASCADE")),
    )
    Table(
        "chats",
        metadata,
        Column("key", String, primary_key=True),
        Column("telegram_id", BigInteger),
    )
    assert tables_about_a_person(metadata) == {"users", "diary", "diary_pages", "chats"}


async def test_the_file_holds_a_row_of_every_table(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    other = harness.chat(9102)
    await register(other, name="Петров Пётр Петрович")
    chat = harness.chat(9101)
    await register(chat)
    await open_survey(chat, "Профессиональные затруднения")
    await chat.tap("Начать")
    await answer_all(chat, lambda text, labels: labels[1])
    await chat.send("🏠 Главное меню")
    await chat.tap("Настройки")
    await chat.tap(chat.buttons()[0])  # one reminder kind switched off
    me = await user_row(harness.sessionmaker, 9101)
    peer = await user_row(harness.sessionmaker, 9102)
    assert me is not None and peer is not None
    now = harness.clock.now
    async with harness.sessionmaker.begin() as s:
        await grant(s, 9101, RoleName.METHODIST, school_code="sch3")
        provider = Provider(name="Центр «Гамма»", status="private", created_by=me.id)
        s.add(provider)
        await s.flush()
        s.add(
            Course(
                user_id=me.id,
                title="Курс с удостоверением",
                provider_id=provider.id,
                kind="qualification",
                hours=36,
                starts_on=date(2026, 9, 1),
                ends_on=date(2026, 9, 20),
                format="distance",
                blocks=["methodical"],
                certificate_number="УД-77-123456",
                certificate_file_id="BQACAgIAAxkBAAIFILE",
                certificate_file_name="удостоверение.pdf",
                certificate_file_size=123456,
            )
        )
        route = Route(user_id=me.id, status="active", activated_at=now)
        s.add(route)
        await s.flush()
        s.add(
            RouteStep(
                route_id=route.id,
                kind="self_study",
                title="Изучить методичку по оцениванию",
                target_date=date(2027, 1, 15),
                status="done",
                done_at=now,
            )
        )
        s.add(MentorProfile(user_id=me.id, subjects=["math"], max_mentees=2, note="Пишите"))
        request = MentorRequest(mentee_id=peer.id, status="offered", details="чужая заявка")
        own = MentorRequest(mentee_id=me.id, status="draft", details="Нужна помощь с ОГЭ")
        s.add_all([request, own])
        await s.flush()
        s.add(MentorOffer(request_id=request.id, mentor_id=me.id, offered_by=9101))
        pair = MentorPair(mentor_id=peer.id, mentee_id=me.id, started_on=date(2026, 9, 1))
        s.add(pair)
        await s.flush()
        s.add(
            MentorMeeting(
                pair_id=pair.id,
                held_on=date(2026, 9, 10),
                topic="Разбор урока",
                format="in_person",
                minutes=45,
                logged_by=me.id,
            )
        )
        s.add(MentorCheckin(pair_id=pair.id, score=4))
        campaign = Campaign(instrument_id="activity", deadline=date(2026, 10, 30), created_by=9101)
        s.add(campaign)
        await s.flush()
        s.add(CampaignMember(campaign_id=campaign.id, user_id=me.id))
        await enqueue(
            s,
            key="test:9101",
            kind="reminder.survey",
            telegram_id=9101,
            text="Напоминание об анкете",
            files=[OutFile("document", "сводка.xlsx", b"x" * 321)],
            due_at=now + timedelta(hours=1),
            user_id=me.id,
        )
        notes = await s.get(NotificationSettings, me.id)
        assert notes is not None and notes.off

    # the profile's message stays in the chat; meanwhile a course is half added
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой профиль")
    profile_id = chat.last.message_id
    await chat.send("🏠 Главное меню")
    await chat.tap("Мои курсы")
    await chat.tap("Добавить курс")
    await chat.send("Недописанный курс про функциональную грамотность")
    await chat.press(ProfileExport().pack(), profile_id)

    [sent] = harness.bot.api.of(SendDocument)
    document = sent.document
    assert isinstance(document, BufferedInputFile)
    raw = document.data.decode("utf-8")
    data = json.loads(raw)
    assert data["language"] == "ru" and data["blocked_bot"] is False
    assert data["consent_version"] >= 1 and data["consent_at"]
    assert data["roles"][0]["role"] == "methodist" and data["roles"][0]["granted_at"]
    [attempt] = data["questionnaires"]
    assert attempt["completed_at"] and attempt["answer_log"][0]["answered_at"]
    assert attempt["results"] and all(r["completed_at"] for r in attempt["results"])
    [course] = data["courses"]
    assert course["certificate_file_id"] == "BQACAgIAAxkBAAIFILE"
    assert course["certificate_file_size"] == 123456 and course["created_at"]
    assert data["providers_typed"] == [{"name": "Центр «Гамма»", "status": "private"}]
    [step] = data["routes"][0]["steps"]
    assert step["done_at"] and step["title"] == "Изучить методичку по оцениванию"
    mentoring = data["mentoring"]
    assert mentoring["mentor_card"]["note"] == "Пишите"
    assert [r["details"] for r in mentoring["requests"]] == ["Нужна помощь с ОГЭ"]
    assert mentoring["offers_to_me"][0]["offered_at"]
    assert mentoring["offers_made"][0]["offered_at"]
    [pair_out] = mentoring["pairs"]
    assert pair_out["meetings"][0]["created_at"] and pair_out["checkins"][0]["score"] == 4
    assert data["reminders_off"] and data["reminders_updated_at"]
    [message] = data["messages"]
    assert message["text"] == "Напоминание об анкете"
    assert message["files"] == [{"name": "сводка.xlsx", "size": 321}]
    assert data["campaigns_invited"][0]["questionnaire"] == "activity"
    assert data["campaigns_launched"][0]["deadline"] == "2026-10-30"
    drafts = json.dumps(data["conversation"], ensure_ascii=False)
    assert "Недописанный курс про функциональную грамотность" in drafts
    # nothing of the other person
    assert "чужая заявка" not in raw
    assert "Петров Пётр" not in raw
