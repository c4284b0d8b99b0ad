"""Spreadsheets that would stall the bot are refused before they are read: a sheet that
declares 16,384 columns, one that declares too many rows, a zip bomb; the reading itself runs
off the event loop, with rows and columns capped."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import import_catalog
from services.schools import MAX_COLUMNS, MAX_ROWS, _FileError, read_table


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
