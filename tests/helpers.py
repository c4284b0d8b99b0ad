"""Small builders shared by the journey tests."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import Municipality, School, User
from tests.telegram import TgChat


async def add_schools(
    sessionmaker: async_sessionmaker[AsyncSession], count: int = 12
) -> list[School]:
    async with sessionmaker.begin() as s:
        mun = Municipality(code="ensk", name="Энский муниципальный округ")
        s.add(mun)
        await s.flush()
        schools = [
            School(
                municipality_id=mun.id,
                code=f"sch{i}",
                name=f'МБОУ "Средняя общеобразовательная школа № {i}"',
                short_name=f"Школа № {i}",
                kind="school",
            )
            for i in range(1, count + 1)
        ]
        s.add_all(schools)
    return schools


async def count(sessionmaker: async_sessionmaker[AsyncSession], model: type) -> int:
    async with sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def user_row(sessionmaker: async_sessionmaker[AsyncSession], telegram_id: int) -> User | None:
    from services.people import get_user

    async with sessionmaker() as s:
        return await get_user(s, telegram_id)


async def register(
    chat: TgChat,
    *,
    name: str = "Иванова Мария Петровна",
    school: str = "Школа № 3",
    position: str = "Учитель",
    subjects: tuple[str, ...] = ("Математика",),
    birth: int = 1985,
    since: int = 2008,
    category: str = "Первая",
    category_year: int | None = 2021,
) -> None:
    """The whole registration with buttons (and the name typed)."""
    await chat.send("/start")
    await chat.tap("Согласен")
    await chat.send(name)
    if school:
        await chat.send(school.split()[-1])
        await chat.tap(school)
    await chat.tap(position)
    if position == "Учитель":
        for subject in subjects:
            await chat.tap(subject)
        await chat.tap("Готово")
    for year in (birth, since):
        decade = year // 10 * 10
        await chat.tap(f"{decade}–{decade + 9}")
        await chat.tap(str(year))
    await chat.tap(category)
    if category_year is not None:
        await chat.send(str(category_year))
