"""Importing the school list (CSV with `;` and BOM, XLSX), row errors, re-import, search."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Base, Municipality, School
from models.db import make_engine, make_sessionmaker
from services.schools import (
    SAMPLE_SCHOOLS_CSV,
    import_schools,
    municipality_slug,
    school_by_code,
    school_slug,
    search_schools,
)


@pytest.fixture
async def _session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with make_sessionmaker(engine)() as session:
        yield session
    await engine.dispose()


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def write_csv(path: Path, text: str, *, bom: bool = False, encoding: str = "utf-8") -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


CSV_SEMICOLON = (
    "Название;Краткое название;Тип;Муниципалитет;Код\n"
    '"МБОУ ""Средняя общеобразовательная школа № 3""";СОШ № 3;школа;Энский район;s3\n'
    '"МБДОУ ""Детский сад № 5 «Солнышко»""";ДС № 5;Детский сад;Энский район;\n'
    'МБУ ДО "Дом детского творчества";ДДТ;доп. образование;Энский район;ddt\n'
    '"МБОУ ""Лицей № 2""";Лицей № 2;СОШ;Энский район;\n'
)


async def test_csv_with_semicolon_and_bom(_session: AsyncSession, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "schools.csv", CSV_SEMICOLON, bom=True)
    report = await import_schools(_session, path)
    assert report.errors == []
    assert (report.created, report.updated, report.municipalities_created) == (4, 0, 1)

    school = await school_by_code(_session, "S3")  # codes are case-insensitive
    assert school is not None
    assert school.name == 'МБОУ "Средняя общеобразовательная школа № 3"'
    assert school.short_name == "СОШ № 3"
    assert school.kind == "school"
    assert school.municipality.name == "Энский район"

    ds = await _session.scalar(select(School).where(School.short_name == "ДС № 5"))
    assert ds is not None and ds.kind == "kindergarten"
    assert ds.code == "ds5"  # generated from the short name
    ddt = await school_by_code(_session, "ddt")
    assert ddt is not None and ddt.kind == "extra"
    mun = await _session.scalar(select(Municipality))
    assert mun is not None and mun.code == "enskiyr"


async def test_csv_with_comma_without_bom_and_english_headers(
    _session: AsyncSession, tmp_path: Path
) -> None:
    text = (
        "name,short_name,kind,municipality,municipality_code,code\n"
        "School No 1,Sch 1,school,Ensk,ensk,sch1\n"
        '"Kindergarten ""Sun""",KG Sun,kindergarten,Ensk,ensk,\n'
    )
    report = await import_schools(_session, write_csv(tmp_path / "s.csv", text))
    assert report.errors == []
    assert report.created == 2
    mun = await _session.scalar(select(Municipality))
    assert mun is not None and mun.code == "ensk"
    codes = sorted((await _session.execute(select(School.code))).scalars())
    assert codes == ["kgs", "sch1"]


async def test_xlsx(_session: AsyncSession, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["НАЗВАНИЕ", "Краткое название", "Тип", "Муниципалитет", "Код"])
    ws.append(['МБОУ "Гимназия № 1"', "Гимназия № 1", "Школа", "Энский район", "gimn1"])
    ws.append(['МБДОУ "Детский сад № 7"', "Детский сад № 7", "ДОУ", "Энский район", None])
    ws.append([None, None, None, None, None])  # an empty row is skipped
    ws.append(['МБОУ "СОШ № 12"', "СОШ № 12", "school", "Энский район", 12])  # numeric code
    path = tmp_path / "schools.xlsx"
    wb.save(path)

    report = await import_schools(_session, path)
    assert report.errors == []
    assert report.created == 3
    assert await school_by_code(_session, "gimn1") is not None
    assert await school_by_code(_session, "12") is not None
    kg = await _session.scalar(select(School).where(School.short_name == "Детский сад № 7"))
    assert kg is not None and kg.kind == "kindergarten"


async def test_broken_rows_are_reported_and_valid_rows_imported(
    _session: AsyncSession, tmp_path: Path
) -> None:
    text = (
        "Название;Краткое название;Тип;Муниципалитет;Код\n"
        'МБОУ "СОШ № 1";СОШ № 1;школа;Энский район;sosh1\n'  # row 2: fine
        ";Без названия;школа;Энский район;\n"  # row 3: empty name
        'МБОУ "СОШ № 4";СОШ № 4;интернат;Энский район;\n'  # row 4: unknown kind
        'МБОУ "СОШ № 5";СОШ № 5;школа;Энский район;школа5\n'  # row 5: Cyrillic code
        'МБОУ "СОШ № 6";СОШ № 6;школа;;\n'  # row 6: no municipality
        'МБОУ "СОШ № 7";СОШ № 7;школа;Энский район;sosh1\n'  # row 7: code of row 2
        'МБОУ "СОШ № 8";СОШ № 8;школа;Энский район;\n'  # row 8: fine
    )
    report = await import_schools(_session, write_csv(tmp_path / "s.csv", text))
    assert report.created == 2
    where = {(e.row, e.column) for e in report.errors}
    assert where == {
        (3, "Название"),
        (4, "Тип"),
        (5, "Код"),
        (6, "Муниципалитет"),
        (7, "Код"),
    }
    by_row = {e.row: e.message for e in report.errors}
    assert "пустое название" in by_row[3]
    assert "интернат" in by_row[4]
    assert "строке 2" in by_row[7]
    assert all(str(e).startswith(f"строка {e.row}, столбец") for e in report.errors)
    assert sorted((await _session.execute(select(School.short_name))).scalars()) == [
        "СОШ № 1",
        "СОШ № 8",
    ]


async def test_missing_required_column(_session: AsyncSession, tmp_path: Path) -> None:
    text = "Название;Муниципалитет\nСОШ № 1;Энский район\n"
    report = await import_schools(_session, write_csv(tmp_path / "s.csv", text))
    assert report.created == 0
    assert [(e.row, e.column) for e in report.errors] == [(1, "тип")]
    assert await count(_session, School) == 0


async def test_unreadable_file(_session: AsyncSession, tmp_path: Path) -> None:
    path = tmp_path / "s.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    report = await import_schools(_session, path)
    assert report.created == 0
    assert len(report.errors) == 1 and report.errors[0].row == 0


async def test_reimport_updates_without_duplicates(_session: AsyncSession, tmp_path: Path) -> None:
    first = await import_schools(_session, SAMPLE_SCHOOLS_CSV)
    assert first.errors == [] and first.created == 12
    again = await import_schools(_session, SAMPLE_SCHOOLS_CSV)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 12)

    # the same schools without codes and with one short name changed: matched by name
    text = (
        "Название;Краткое название;Тип;Муниципалитет\n"
        '"МБОУ ""Средняя общеобразовательная школа № 3""";Школа № 3;школа;'
        "Энский муниципальный округ\n"
        '"МБОУ ""Лицей № 4""";Лицей № 4;школа;энский  муниципальный округ\n'
        'МБОУ "Новая школа";Новая школа;школа;Энский муниципальный округ\n'
    )
    report = await import_schools(_session, write_csv(tmp_path / "s.csv", text))
    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    assert report.municipalities_created == 0
    assert await count(_session, School) == 13
    assert await count(_session, Municipality) == 1
    sosh3 = await school_by_code(_session, "sosh3")
    assert sosh3 is not None and sosh3.short_name == "Школа № 3"

    # matched by code: the name changes, the school stays one
    text = (
        "Название;Краткое название;Тип;Муниципалитет;Код муниципалитета;Код\n"
        'МБОУ "Гимназия № 5 имени Н. В. Гоголя";Гимназия № 5;школа;'
        "Энский муниципальный округ;ensk;GIMN5\n"
    )
    report = await import_schools(_session, write_csv(tmp_path / "s2.csv", text))
    assert (report.created, report.updated) == (0, 1)
    gimn = await school_by_code(_session, "gimn5")
    assert gimn is not None and gimn.name.endswith('Гоголя"')
    assert await count(_session, School) == 13


async def test_duplicate_name_in_one_file(_session: AsyncSession, tmp_path: Path) -> None:
    text = (
        "Название;Тип;Муниципалитет\n"
        "СОШ № 1;школа;Энский район\n"
        "сош №1;школа;Энский район\n"  # the same name, spelt differently
        "СОШ № 1;школа;Другой район\n"  # another municipality: a different school
    )
    report = await import_schools(_session, write_csv(tmp_path / "s.csv", text))
    assert [(e.row, e.column) for e in report.errors] == [(3, "Название")]
    assert report.created == 2
    assert report.municipalities_created == 2
    codes = sorted((await _session.execute(select(School.code))).scalars())
    assert codes == ["sosh1", "sosh1x2"]  # a number is added to a taken code


async def test_two_rows_for_one_existing_school(_session: AsyncSession, tmp_path: Path) -> None:
    await import_schools(_session, SAMPLE_SCHOOLS_CSV)
    text = (
        "Название;Краткое название;Тип;Муниципалитет;Код\n"
        'МБОУ "СОШ № 3 (новое название)";СОШ № 3;школа;Энский муниципальный округ;sosh3\n'
        '"МБОУ ""Средняя общеобразовательная школа № 3""";СОШ 3;школа;'
        "Энский муниципальный округ;\n"
    )
    report = await import_schools(_session, write_csv(tmp_path / "s.csv", text))
    assert [(e.row, e.column) for e in report.errors] == [(3, "Название")]
    assert "строке 2" in report.errors[0].message
    assert (report.created, report.updated) == (0, 1)
    assert await count(_session, School) == 12


def test_slugs() -> None:
    from models import SchoolKind

    assert school_slug("СОШ № 3", SchoolKind.SCHOOL) == "sosh3"
    assert school_slug("Детский сад № 5 «Солнышко»", SchoolKind.KINDERGARTEN) == "ds5s"
    assert school_slug("Дом детского творчества", SchoolKind.EXTRA) == "ddt"
    assert school_slug("№ 17", SchoolKind.SCHOOL) == "sch17"
    assert municipality_slug("Энский муниципальный округ") == "enskiymo"


async def test_search_schools_cyrillic_case_insensitive_and_paging(
    _session: AsyncSession,
) -> None:
    report = await import_schools(_session, SAMPLE_SCHOOLS_CSV)
    assert report.created == 12

    everything, total = await search_schools(_session, None, 0, per_page=5)
    assert total == 12 and len(everything) == 5
    pages = [everything]
    for page in (1, 2):
        found, total = await search_schools(_session, "", page, per_page=5)
        assert total == 12
        pages.append(found)
    assert [len(p) for p in pages] == [5, 5, 2]
    names = [s.short_name for p in pages for s in p]
    assert len(set(names)) == 12
    assert names == sorted(names, key=lambda n: n.casefold())
    assert (await search_schools(_session, None, 3, per_page=5)) == ([], 12)

    # upper-case Cyrillic in the data, lower case in the query (SQLite's lower() can't)
    found, total = await search_schools(_session, "сош", 0)
    assert total == 6
    assert all("СОШ" in s.short_name for s in found)
    found, total = await search_schools(_session, "СОЛНЫШКО", 0)
    assert [s.code for s in found] == ["ds5"] and total == 1
    # the full name is searched too, and «ё» matches «е»
    found, total = await search_schools(_session, "углублЕнным", 0)
    assert [s.code for s in found] == ["sosh7"]
    # every word must match, «№» and spacing do not matter
    found, total = await search_schools(_session, "сош №3", 0)
    assert [s.code for s in found] == ["sosh3"]
    found, total = await search_schools(_session, "сад", 0, per_page=1)
    assert total == 2 and len(found) == 1
    found2, _ = await search_schools(_session, "сад", 1, per_page=1)
    assert found2[0].id != found[0].id
    assert (await search_schools(_session, "интернат", 0)) == ([], 0)

    mun = await _session.scalar(select(Municipality))
    assert mun is not None
    assert (await search_schools(_session, None, 0, municipality_id=mun.id))[1] == 12
    assert (await search_schools(_session, None, 0, municipality_id=mun.id + 1))[1] == 0


async def test_school_by_code(_session: AsyncSession) -> None:
    await import_schools(_session, SAMPLE_SCHOOLS_CSV)
    school = await school_by_code(_session, "ds12")
    assert school is not None and "Рябинка" in school.name
    assert school.municipality.code == "ensk"
    assert await school_by_code(_session, "nope") is None
    assert await school_by_code(_session, "шк1") is None
    assert await school_by_code(_session, "") is None
