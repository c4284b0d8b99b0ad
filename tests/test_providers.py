"""Organisers of courses typed by teachers: nobody else sees one until a methodist approves
it or a second teacher types it; deleting the teacher deletes the names only they used."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from bot import migrate
from handlers.catalog.callbacks import ProviderApprove, ProviderList
from handlers.courses.callbacks import ProviderPick
from models import Course, Provider, ProviderStatus, RoleName
from models.db import make_engine
from services.catalog import import_catalog
from services.roles import grant
from tests.conftest import ADMIN_ID, Harness
from tests.helpers import add_schools, count, register, user_row
from tests.telegram import TgChat
from tests.test_courses_journeys import courses_of, finish_course, open_courses, start_course
from tests.test_migrations import _pg_scratch_url

ALPHA = "ЧОУ ДПО «Учебный центр Альфа»"
STALE = "Эта кнопка уже не действует"


async def provider_named(harness: Harness, name: str) -> Provider | None:
    async with harness.sessionmaker() as s:
        return await s.scalar(select(Provider).where(Provider.name == name))


async def provider_buttons(chat: TgChat) -> list[str]:
    """The picker of the provider step of a new course (left at that step)."""
    await open_courses(chat)
    await chat.tap("Добавить курс")
    await chat.send("Курс для проверки")
    assert "Кто проводил курс" in chat.last.text
    return chat.buttons()


async def test_a_typed_provider_is_seen_only_by_its_teacher(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    anna = harness.chat(8101)
    await register(anna)
    await start_course(anna, provider=ALPHA)
    await finish_course(anna)
    alpha = await provider_named(harness, ALPHA)
    owner = await user_row(harness.sessionmaker, 8101)
    assert alpha is not None and owner is not None
    assert alpha.status == ProviderStatus.PRIVATE and alpha.created_by == owner.id
    assert any(ALPHA in b for b in await provider_buttons(anna))  # her own typing

    boris = harness.chat(8102)
    await register(boris, name="Борисов Борис Борисович")
    assert not any(ALPHA in b for b in await provider_buttons(boris))
    # a forged pick of her provider is refused and changes nothing
    before = len(boris.texts())
    await boris.press(ProviderPick(provider=alpha.id).pack())
    assert boris.alerts()[-1].startswith(STALE)
    assert len(boris.texts()) == before
    assert "Кто проводил курс" in boris.last.text
    assert await courses_of(harness, 8102) == []


async def test_a_second_teacher_typing_the_name_makes_it_everyones(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    anna = harness.chat(8111)
    await register(anna)
    await start_course(anna, provider=ALPHA)
    await finish_course(anna)
    boris = harness.chat(8112)
    await register(boris, name="Борисов Борис Борисович")
    await start_course(boris, provider='чоу дпо "Учебный центр   Альфа"')
    await finish_course(boris)
    assert await count(harness.sessionmaker, Provider) == 1
    alpha = await provider_named(harness, ALPHA)
    assert alpha is not None
    assert alpha.status == ProviderStatus.SHARED and alpha.created_by is None
    [course] = await courses_of(harness, 8112)
    assert course.provider_id == alpha.id
    vera = harness.chat(8113)
    await register(vera, name="Веселова Вера Викторовна")
    assert any(ALPHA in b for b in await provider_buttons(vera))


async def test_a_methodist_approves_a_typed_provider(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    anna = harness.chat(8121)
    await register(anna)
    await start_course(anna, provider=ALPHA)
    await finish_course(anna)
    alpha = await provider_named(harness, ALPHA)
    assert alpha is not None

    # neither a teacher nor a school's methodist may approve
    async with harness.sessionmaker.begin() as s:
        await grant(s, 8122, RoleName.METHODIST, school_code="sch3")
        await grant(s, 8123, RoleName.METHODIST, municipality_code="ensk")
    for telegram_id, name in ((8124, "Сидоров Семён Семёнович"), (8122, "Школьная Ольга Ивановна")):
        other = harness.chat(telegram_id)
        await register(other, name=name)
        for data in (ProviderList().pack(), ProviderApprove(provider=alpha.id).pack()):
            await other.press(data)
            assert other.alerts()[-1].startswith(STALE)
    still = await provider_named(harness, ALPHA)
    assert still is not None and still.status == ProviderStatus.PRIVATE

    methodist = harness.chat(8123)
    await register(methodist, name="Методистова Нина Павловна")
    await methodist.send("/menu")
    await methodist.tap("Каталог программ")
    await methodist.tap("Организаторы курсов на проверке")
    text = methodist.last.text
    assert ALPHA in text and "курсов: 1" in text and "видит только автор" in text
    assert "Иванова" not in text  # who typed it is not shown
    await methodist.tap(f"✅ {ALPHA}")
    assert f"Одобрено: {ALPHA}" in methodist.last.text
    assert "Новых названий на проверке нет" in methodist.last.text
    approved = await provider_named(harness, ALPHA)
    assert approved is not None
    assert approved.status == ProviderStatus.APPROVED and approved.created_by is None
    # a second press of the same (now stale) button changes nothing
    await methodist.press(ProviderApprove(provider=alpha.id).pack())
    assert methodist.alerts()[-1].startswith(STALE)

    vera = harness.chat(8125)
    await register(vera, name="Веселова Вера Викторовна")
    assert any(ALPHA in b for b in await provider_buttons(vera))


async def test_the_admin_sees_how_many_wait(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    teacher = harness.chat(8131)
    await register(teacher)
    owner_row = await user_row(harness.sessionmaker, 8131)
    assert owner_row is not None
    async with harness.sessionmaker.begin() as s:
        s.add_all(
            Provider(name=f"Центр № {i}", status="private", created_by=owner_row.id)
            for i in range(12)
        )
    admin = harness.chat(ADMIN_ID)
    await register(admin, name="Админова Анна Андреевна")
    await admin.send("/menu")
    await admin.tap("Каталог программ")
    await admin.tap("Организаторы курсов на проверке")
    assert "Показаны первые 10 из 12" in admin.last.text
    await admin.tap("✅ Центр № 0")
    assert "Показаны первые 10 из 11" in admin.last.text


async def test_deleting_the_teacher_deletes_the_providers_only_they_used(
    harness: Harness, tmp_path: Path
) -> None:
    await add_schools(harness.sessionmaker)
    anna = harness.chat(8141)
    await register(anna)
    for provider in (ALPHA, "Центр «Бета»", "ИРО"):
        await start_course(anna, title=f"Курс у {provider}", provider=provider)
        await finish_course(anna)
    boris = harness.chat(8142)
    await register(boris, name="Борисов Борис Борисович")
    await start_course(boris, provider="Центр «Бета»")  # shared with Boris
    await finish_course(boris)
    # «ИРО» is also a catalog provider now: an import approves the typed name
    catalog = tmp_path / "c.csv"
    catalog.write_text(
        "Название;Организатор;Часы;Формат;Блоки\nОценивание;ИРО;36;очно;методическая\n",
        encoding="utf-8",
    )
    async with harness.sessionmaker.begin() as s:
        report = await import_catalog(s, catalog)
    assert report.created == 1 and not report.errors
    iro = await provider_named(harness, "ИРО")
    assert iro is not None and iro.status == ProviderStatus.APPROVED and iro.created_by is None

    await anna.send("🏠 Главное меню")
    await anna.tap("Мой профиль")
    await anna.tap("Удалить мои данные")
    await anna.tap("Да, удалить всё")
    assert await user_row(harness.sessionmaker, 8141) is None
    assert await provider_named(harness, ALPHA) is None  # hers alone: gone
    assert await provider_named(harness, "Центр «Бета»") is not None  # Boris uses it
    assert await provider_named(harness, "ИРО") is not None  # in the catalog
    async with harness.sessionmaker() as s:
        names = set((await s.scalars(select(Provider.name))).all())
        assert await s.scalar(select(Course.id).where(Course.provider_id.is_(None))) is None
    assert names == {"Центр «Бета»", "ИРО"}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/migrations.db"
    else:
        yield from _pg_scratch_url()


def test_migration_0008_keeps_the_courses_and_marks_typed_names(empty_url: str) -> None:
    """On a database with data: a name one teacher used becomes theirs alone, a name two
    used is shared, catalog providers stay approved; going down and up loses no course."""
    migrate.upgrade(empty_url, "0005")

    async def run(statements: list[str]) -> list[Any]:
        engine = make_engine(empty_url)
        try:
            async with engine.begin() as conn:
                found: list[Any] = []
                for sql in statements:
                    result = await conn.execute(text(sql))
                    if result.returns_rows:
                        found.append([tuple(r) for r in result])
                return found
        finally:
            await engine.dispose()

    course = (
        "INSERT INTO courses (user_id, title, provider_id, kind, hours, starts_on, ends_on,"
        " format, blocks, created_at) VALUES ({user}, 'x', {provider}, 'qualification', 1,"
        " '2026-01-01', '2026-01-02', 'distance', '[]', '2026-01-01 00:00:00+00')"
    )
    asyncio.run(
        run(
            [
                "INSERT INTO users (id, telegram_id, language, consent_at, blocked_bot) VALUES"
                " (1, 101, 'ru', '2026-01-01 00:00:00+00', false),"
                " (2, 102, 'ru', '2026-01-01 00:00:00+00', false)",
                "INSERT INTO providers (id, name) VALUES (1, 'А'), (2, 'Б'), (3, 'В')",
                "INSERT INTO catalog_items (id, title, provider_id, hours, format, kind, blocks,"
                " positions, subjects, federal_register, active, updated_at) VALUES (1, 't', 3,"
                " 1, 'distance', 'qualification', '[]', '[]', '[]', false, true,"
                " '2026-01-01 00:00:00+00')",
                course.format(user=1, provider=1),
                course.format(user=1, provider=2),
                course.format(user=2, provider=2),
                course.format(user=1, provider=3),
            ]
        )
    )
    migrate.upgrade(empty_url)
    [providers, users] = asyncio.run(
        run(
            [
                "SELECT id, status, created_by FROM providers ORDER BY id",
                "SELECT id, consent_version, health_consent_version FROM users ORDER BY id",
            ]
        )
    )
    assert providers == [(1, "private", 1), (2, "shared", None), (3, "approved", None)]
    assert users == [(1, 1, None), (2, 1, None)]  # agreed to the first edition
    migrate.downgrade(empty_url, "0005")
    migrate.upgrade(empty_url)
    [courses] = asyncio.run(run(["SELECT count(*), count(provider_id) FROM courses"]))
    assert courses == [(4, 4)]
