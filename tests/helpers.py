"""Small builders shared by the journey tests."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import CatalogItem, Municipality, Provider, School, User
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
    today: date = date(2026, 10, 12),
) -> None:
    """The whole registration with buttons (and the name typed): the year of starting work
    (one tap for a recent year), the year of birth only for someone who may be young, the
    category (its date is given later, in «Мои курсы»)."""
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
    recent = today.year - since <= 3
    if recent:
        await chat.tap(str(since))
    years = [birth] if recent else [since]
    for year in years:
        decade = year // 10 * 10
        await chat.tap(f"{decade}–{decade + 9}")
        await chat.tap(str(year))
    if category:
        await chat.tap(category)


async def add_route_catalog(session: AsyncSession) -> dict[str, int]:
    """A small catalog for route tests (dates around the test clock, 12.10.2026):
    ``meth_math`` (methodical, for maths teachers), ``meth_all`` (methodical, anyone),
    ``psy`` (psychological), ``closed`` (enrolment over), ``inactive`` (withdrawn) and
    ``subject`` (the subject block only)."""
    provider = Provider(name="ГАУ ДПО «Институт развития образования»")
    session.add(provider)
    await session.flush()

    def item(title: str, hours: int, fmt: str, blocks: list[str], **more: object) -> CatalogItem:
        return CatalogItem(
            title=title, provider_id=provider.id, hours=hours, format=fmt, blocks=blocks, **more
        )

    rows = {
        "meth_math": item(
            "Методика обучения математике по обновлённым ФГОС",
            36,
            "distance",
            ["methodical"],
            subjects=["math"],
            starts_on=date(2026, 11, 2),
            ends_on=date(2026, 11, 27),
        ),
        "meth_all": item(
            "Формирующее оценивание на уроке",
            24,
            "in_person",
            ["methodical"],
            starts_on=date(2027, 2, 1),
            ends_on=date(2027, 2, 12),
        ),
        "psy": item(
            "Инклюзивное образование: обучение детей с ОВЗ",
            72,
            "distance",
            ["psychological"],
            starts_on=date(2026, 12, 1),
            ends_on=date(2026, 12, 20),
        ),
        "closed": item(
            "Набор на эту программу закрыт",
            16,
            "distance",
            ["methodical"],
            enrol_until=date(2026, 10, 1),
        ),
        "inactive": item("Снят с каталога", 16, "distance", ["methodical"], active=False),
        "subject": item("Олимпиадная математика", 36, "distance", ["subject"]),
    }
    session.add_all(rows.values())
    await session.flush()
    return {k: v.id for k, v in rows.items()}
