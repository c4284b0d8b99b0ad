"""Spreadsheets that would stall the bot are refused before they are read: a sheet that
declares 16,384 columns, one that declares too many rows, a zip bomb; the reading itself runs
off the event loop, with rows and columns capped."""

from __future__ import annotations

import asyncio
import io
import threading
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.catalog.callbacks import CatalogUpload
from models import CatalogItem
from services import catalog as catalog_service
from services.catalog import import_catalog
from services.schools import MAX_COLUMNS, MAX_ROWS, _FileError, read_table
from tests.conftest import ADMIN_ID, Harness
from tests.helpers import add_schools, count, register


def _xlsx(path: Path, cells: dict[str, str]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for ref, value in cells.items():
        ws[ref] = value
    wb.save(path)
    return path


def test_a_sheet_declaring_16384_columns_is_refused_unread(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "wide.xlsx", {"A1": "Название", "XFD5001": "x"})
    assert path.stat().st_size < 20_000
    with pytest.raises(_FileError, match="16384 столбцов"):
        read_table(path)


def test_a_sheet_declaring_too_many_rows_is_refused_unread(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "long.xlsx", {"A1": "Название", f"B{MAX_ROWS + 50}": "x"})
    with pytest.raises(_FileError, match=f"больше {MAX_ROWS} строк"):
        read_table(path)


def test_a_zip_bomb_is_refused_before_openpyxl(tmp_path: Path) -> None:
    source = tmp_path / "normal.xlsx"
    _xlsx(source, {"A1": "Название"})
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(source) as good, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as bad:
        for item in good.infolist():
            data = good.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data + b" " * (64 * 1024 * 1024)  # 64 MB of padding, a few KB packed
            bad.writestr(item.filename, data)
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(_FileError, match="после распаковки"):
        read_table(bomb)


def test_a_sheet_that_lies_about_its_size_is_read_within_the_caps(tmp_path: Path) -> None:
    """A dimension tag that says A1:B2 while cells go further: reading stops at the caps."""
    path = _xlsx(tmp_path / "liar.xlsx", {"A1": "a", "B2": "b", "BZ3": "far"})
    raw = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'ref="A1:BZ3"', b'ref="A1:B2"')
            dst.writestr(item.filename, data)
    liar = tmp_path / "liar2.xlsx"
    liar.write_bytes(raw.getvalue())
    rows = read_table(liar)
    assert all(len(r) <= MAX_COLUMNS for r in rows)
    assert rows[0][0] == "a"


async def test_the_catalog_import_reports_the_refusal_and_writes_nothing(
    session: AsyncSession, tmp_path: Path
) -> None:
    path = _xlsx(tmp_path / "wide.xlsx", {"A1": "Название", "XFD5001": "x"})
    report = await import_catalog(session, path)
    assert report.rejected
    assert "столбцов" in report.errors[0].message
    assert report.created == 0


def test_a_csv_is_read_within_the_same_caps(tmp_path: Path) -> None:
    """A CSV has no declared size: the caps are applied while it is read."""
    long = tmp_path / "long.csv"
    long.write_text("Название;Часы\n" + "Курс;36\n" * (MAX_ROWS + 10), encoding="utf-8")
    with pytest.raises(_FileError, match=f"больше {MAX_ROWS} строк"):
        read_table(long)
    wide = tmp_path / "wide.csv"
    wide.write_text(";".join(["x"] * (MAX_COLUMNS + 5)) + "\n", encoding="utf-8")
    with pytest.raises(_FileError, match=f"больше {MAX_COLUMNS} столбцов"):
        read_table(wide)
    huge_cell = tmp_path / "cell.csv"
    huge_cell.write_text("Название\n" + "я" * 300_000 + "\n", encoding="utf-8")
    with pytest.raises(_FileError, match="CSV"):
        read_table(huge_cell)
    # blank lines after the last row, however many, are no rows
    blank = tmp_path / "blank.csv"
    blank.write_text("Название;Часы\nКурс;36\n" + ";\n" * (MAX_ROWS + 10), encoding="utf-8")
    rows = read_table(blank)
    assert rows[:2] == [["Название", "Часы"], ["Курс", "36"]]
    assert len(rows) <= MAX_ROWS + 2


async def test_other_teachers_are_answered_while_an_upload_is_read(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalog file is read off the event loop, with no database connection held: the
    reading is stopped at a barrier until another teacher's /menu has been answered. Were
    the reading on the loop (or holding SQLite's one connection), the menu could not be
    answered and the barrier would time out."""
    await add_schools(harness.sessionmaker)
    teacher = harness.chat(6401)
    await register(teacher)
    admin = harness.chat(ADMIN_ID, "Админ")
    await admin.press(CatalogUpload().pack())
    assert "Пришлите файл" in admin.last.text

    loop_thread = threading.get_ident()
    started, released = threading.Event(), threading.Event()
    seen: dict[str, object] = {}
    real = read_table

    def held_read(path: Path) -> list[list[str]]:
        seen["thread"] = threading.get_ident()
        started.set()
        seen["released"] = released.wait(timeout=20)
        return real(path)

    monkeypatch.setattr(catalog_service, "read_table", held_read)
    data = (
        "Название;Организатор;Часы;Формат;Блоки\n"
        "Формирующее оценивание;ГАУ ДПО «ИРО»;36;дистанционно;методическая\n"
    ).encode()
    upload = asyncio.create_task(admin.send_document("catalog.csv", data, "text/csv"))
    assert await asyncio.to_thread(started.wait, 20), "the file was never read"
    before = len(teacher.texts())
    await teacher.send("/menu")
    assert "Главное меню" in teacher.texts()[before:][-1]
    answered_while_reading = not upload.done()
    released.set()
    await upload
    assert seen["released"] is True, "the reading blocked the other teacher's reply"
    assert seen["thread"] != loop_thread
    assert answered_while_reading
    assert "Добавлено программ: 1" in admin.last.text
    assert await count(harness.sessionmaker, CatalogItem) == 1
