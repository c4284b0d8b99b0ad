"""The catalog of programmes: import (CSV, XLSX), row errors, re-import, --replace, export,
the CLI, and the «📥 Каталог программ» screen through the real Dispatcher."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from collections.abc import AsyncGenerator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram.methods import AnswerCallbackQuery, SendDocument
from aiogram.types import BufferedInputFile, PhotoSize
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.scope import current_scope
from handlers.catalog.callbacks import (
    CatalogExport,
    CatalogOpen,
    CatalogReplace,
    CatalogSample,
    CatalogUpload,
)
from handlers.home.callbacks import MenuCB
from models import CatalogItem, FsmRecord, Provider, RoleName
from services.catalog import (
    MAX_FILE_BYTES,
    SAMPLE_CATALOG_CSV,
    CatalogRefusal,
    accept_upload,
    active_catalog,
    catalog_summary,
    enrolment_open,
    export_catalog,
    import_catalog,
    import_upload,
    parse_date,
    sample_catalog_xlsx,
)
from services.roles import grant
from tests.conftest import ADMIN_ID, NOW, Harness
from tests.helpers import add_schools, count, register
from tests.telegram import MockedSession, TgChat

ROOT = Path(__file__).resolve().parents[1]
STALE = "Эта кнопка уже не действует. Откройте нужный раздел заново из главного меню."

HEADER = (
    "Название;Организатор (провайдер);Часы;Формат;Вид;Блоки;Должности;Предметы;Ссылка;"
    "Начало;Окончание;Запись с;Запись до;В ФР ДПП\n"
)
GOOD = (
    "Функциональная грамотность на уроках математики;ИРО;36;смешанно;повышение квалификации;"
    "предметная, методическая;Учитель;Математика;https://iro.example/fg;09.11.2026;27.11.2026;"
    "01.10.2026;31.10.2026;да\n"
    "Развитие речи дошкольников;ММЦ;24;очно;;методическая, коммуникативная;Воспитатель;;;"
    "2027-01-18;2027-01-29;;;нет\n"
    "Педагог-психолог в образовательной организации;Университет;520;дистанционно;"
    "профессиональная переподготовка;психолого-педагогическая;;;;;;;;\n"
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


async def items_by_title(session: AsyncSession) -> dict[str, CatalogItem]:
    rows = (await session.execute(select(CatalogItem))).scalars()
    return {i.title: i for i in rows}


def fields(i: CatalogItem) -> tuple[object, ...]:
    return (
        *(i.provider.name, i.hours, i.format, i.kind, i.blocks, i.positions, i.subjects),
        *(i.link, i.starts_on, i.ends_on, i.enrol_from, i.enrol_until, i.federal_register),
    )


async def n_rows(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# ---------------------------------------------------------------- the service


async def test_csv_with_semicolon(session: AsyncSession, tmp_path: Path) -> None:
    report = await import_catalog(session, write(tmp_path / "c.csv", HEADER + GOOD))
    await session.commit()
    assert report.errors == []
    assert (report.created, report.updated, report.providers_created) == (3, 0, 3)
    items = await items_by_title(session)
    fg = items["Функциональная грамотность на уроках математики"]
    assert fg.provider.name == "ИРО"
    assert (fg.hours, fg.format, fg.kind) == (36, "blended", "qualification")
    assert fg.blocks == ["subject", "methodical"]
    assert (fg.positions, fg.subjects) == (["teacher"], ["math"])
    assert fg.link == "https://iro.example/fg"
    assert (fg.starts_on, fg.ends_on) == (date(2026, 11, 9), date(2026, 11, 27))
    assert (fg.enrol_from, fg.enrol_until) == (date(2026, 10, 1), date(2026, 10, 31))
    assert fg.federal_register is True and fg.active is True
    speech = items["Развитие речи дошкольников"]
    assert speech.kind == "qualification"  # an empty «вид» is повышение квалификации
    assert speech.blocks == ["methodical", "communicative"]
    assert speech.positions == ["preschool"] and speech.subjects == []
    assert speech.starts_on == date(2027, 1, 18) and speech.enrol_from is None
    assert speech.link is None and speech.federal_register is False
    psy = items["Педагог-психолог в образовательной организации"]
    assert (psy.kind, psy.hours, psy.format) == ("retraining", 520, "distance")
    assert enrolment_open(fg, NOW.date()) and not enrolment_open(fg, date(2026, 11, 1))
    assert enrolment_open(psy, NOW.date())  # no enrolment period: always open


async def test_xlsx_with_english_headers_and_excel_dates(
    session: AsyncSession, tmp_path: Path
) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    header = "title provider hours format kind blocks positions subjects link"
    ws.append(
        [*header.split(), "starts_on", "ends_on", "enrol_from", "enrol_until", "federal_register"]
    )
    ws.append(
        [
            *("Python в школе", "Онлайн-академия", 72.0, "distance", "qualification"),
            *("subject", "teacher", "informatics", None, datetime(2026, 11, 2), 46357),
            *(None, None, "yes"),
        ]
    )
    ws.append([None] * 14)  # an empty row is skipped
    ws.append(
        [
            *("Конференция «Педагогический поиск»", "ММЦ", 8, "очно", "конференция"),
            *("методическая,коммуникативная", "Учитель, Воспитатель", "", "", None, None),
            *(None, None, "нет"),
        ]
    )
    path = tmp_path / "c.xlsx"
    wb.save(path)
    report = await import_catalog(session, path)
    assert report.errors == []
    assert report.created == 2
    items = await items_by_title(session)
    py = items["Python в школе"]
    assert py.hours == 72 and py.subjects == ["informatics"] and py.federal_register
    assert py.starts_on == date(2026, 11, 2)
    assert py.ends_on == date(2026, 12, 1)  # Excel day 46357
    conf = items["Конференция «Педагогический поиск»"]
    assert conf.kind == "conference" and conf.positions == ["teacher", "preschool"]


async def test_broken_rows_are_reported_and_valid_rows_imported(
    session: AsyncSession, tmp_path: Path
) -> None:
    text = (
        HEADER
        + GOOD.splitlines(keepends=True)[0]  # row 2: fine
        + "Курс с часами словами;ИРО;сорок;очно;;методическая;;;;;;;;\n"  # 3: hours
        + "Курс с цифровым блоком;ИРО;36;очно;;цифровая, методическая;;;;;;;;\n"  # 4: block
        + "Курс наоборот;ИРО;36;очно;;методическая;;;;10.11.2026;01.11.2026;;;\n"  # 5: dates
        + "Курс без протокола;ИРО;36;очно;;методическая;;;iro.ru/kurs;;;;;\n"  # 6: link
        + ";;;;;;;;;;;;;\n"  # 7: empty, skipped
        + "Курс для всех;ММЦ;16;очно;семинар;коммуникативная;;;;;;;;\n"  # 8: fine
        + "Курс огромный;ИРО;3000;очень;лекция;;Директор;Астрология;;31.02.2026;;;;может быть\n"
    )
    report = await import_catalog(session, write(tmp_path / "c.csv", text))
    assert report.created == 2
    found = {(e.row, e.column) for e in report.errors}
    assert {(3, "Часы"), (4, "Блоки"), (5, "Окончание"), (6, "Ссылка")} <= found
    assert {(9, c) for c in ("Часы", "Формат", "Вид", "Блоки", "Должности", "Предметы")} <= found
    assert {(9, "Начало"), (9, "В ФР ДПП")} <= found
    assert report.error_rows == 5
    by_cell = {(e.row, e.column): e.message for e in report.errors}
    assert "«сорок»" in by_cell[(3, "Часы")] and "от 1 до 2000" in by_cell[(3, "Часы")]
    assert "неизвестный блок «цифровая»" in by_cell[(4, "Блоки")]
    assert "раньше даты начала 10.11.2026" in by_cell[(5, "Окончание")]
    assert "http://" in by_cell[(6, "Ссылка")]
    assert "такой даты нет" in by_cell[(9, "Начало")]
    assert "«Директор»" in by_cell[(9, "Должности")]
    assert str(report.errors[0]).startswith("строка 3, столбец «Часы»: ")
    titles = set(await items_by_title(session))
    assert titles == {"Функциональная грамотность на уроках математики", "Курс для всех"}


async def test_file_level_problems_import_nothing(session: AsyncSession, tmp_path: Path) -> None:
    no_blocks = "Название;Организатор;Часы;Формат\nКурс;ИРО;36;очно\n"
    for name, data in (
        ("a.csv", no_blocks.encode()),
        ("b.csv", HEADER.encode()),
        ("c.csv", b""),
        ("d.xls", b"\xd0\xcf\x11\xe0 old excel"),
        ("e.xlsx", b"PK\x03\x04 not really a workbook"),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        report = await import_catalog(session, path, replace=True)
        assert report.rejected and report.errors, name
        assert report.created == report.deactivated == 0
    report = await import_catalog(session, write(tmp_path / "a.csv", no_blocks))
    assert [(e.row, e.column) for e in report.errors] == [(1, "Блоки")]
    assert "нет столбца «блоки»" in report.errors[0].message
    assert await n_rows(session, CatalogItem) == 0


async def test_reimport_updates_without_duplicates(session: AsyncSession, tmp_path: Path) -> None:
    await import_catalog(session, write(tmp_path / "c.csv", HEADER + GOOD))
    await session.commit()
    changed = (
        HEADER
        # the same programme: case, «ё» and spacing do not matter; hours change
        + "ФУНКЦИОНАЛЬНАЯ  грамотность на уроках математики;«ИРО»;48;смешанно;ПК;"
        "предметная, методическая;Учитель;Математика;https://iro.example/fg;09.11.2026;"
        "27.11.2026;01.10.2026;31.10.2026;да\n"
        + GOOD.splitlines(keepends=True)[1]  # unchanged
        + "Новый курс;ИРО;24;дистанционно;;коммуникативная;;;;;;;;\n"
        + "Новый курс;ИРО;16;очно;;коммуникативная;;;;;;;;\n"  # a repeat: an error
    )
    report = await import_catalog(session, write(tmp_path / "c2.csv", changed))
    await session.commit()
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    assert [(e.row, e.column) for e in report.errors] == [(5, "Название")]
    assert "уже есть в строке 4" in report.errors[0].message
    assert await n_rows(session, CatalogItem) == 4
    assert await n_rows(session, Provider) == 3
    items = await items_by_title(session)
    fg = items["ФУНКЦИОНАЛЬНАЯ грамотность на уроках математики"]  # the file's spelling
    assert fg.hours == 48
    assert items["Новый курс"].hours == 24
    # without --replace nothing is deactivated
    assert items["Педагог-психолог в образовательной организации"].active


async def test_replace_deactivates_absent_programmes(session: AsyncSession, tmp_path: Path) -> None:
    await import_catalog(session, write(tmp_path / "c.csv", HEADER + GOOD))
    await session.commit()
    two = HEADER + "".join(GOOD.splitlines(keepends=True)[:2])
    broken = two + "Сломанный;ИРО;0;очно;;методическая;;;;;;;;\n"
    report = await import_catalog(session, write(tmp_path / "b.csv", broken), replace=True)
    assert report.replace_skipped and report.deactivated == 0  # errors: nothing withdrawn
    assert len(await active_catalog(session)) == 3

    report = await import_catalog(session, write(tmp_path / "two.csv", two), replace=True)
    await session.commit()
    assert (report.unchanged, report.deactivated, report.replace_skipped) == (2, 1, False)
    active = await active_catalog(session)
    assert [i.title for i in active] == [
        "Функциональная грамотность на уроках математики",
        "Развитие речи дошкольников",
    ]
    assert await n_rows(session, CatalogItem) == 3  # kept, only inactive
    summary = await catalog_summary(session)
    assert (summary.active, summary.inactive) == (2, 1)
    assert summary.by_block == {
        "subject": 1,
        "methodical": 2,
        "psychological": 0,
        "communicative": 1,
    }
    # listing it again brings it back
    report = await import_catalog(session, write(tmp_path / "all.csv", HEADER + GOOD))
    assert (report.updated, report.unchanged) == (1, 2)
    assert len(await active_catalog(session)) == 3


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
async def test_export_import_round_trip(session: AsyncSession, tmp_path: Path, suffix: str) -> None:
    report = await import_catalog(session, SAMPLE_CATALOG_CSV)
    assert report.errors == [] and report.created >= 30
    await session.commit()
    before = {i.title: fields(i) for i in await active_catalog(session)}
    path = tmp_path / f"export{suffix}"
    assert await export_catalog(session, path) == len(before)
    again = await import_catalog(session, path, replace=True)
    assert again.errors == []
    assert (again.created, again.updated, again.deactivated) == (0, 0, 0)
    assert again.unchanged == len(before)
    # into an empty catalog it gives the same programmes
    for item in (await session.execute(select(CatalogItem))).scalars():
        await session.delete(item)
    await session.flush()
    fresh = await import_catalog(session, path)
    assert fresh.created == len(before)
    after = {i.title: fields(i) for i in await active_catalog(session)}
    assert after == before
    with pytest.raises(ValueError, match=r"\.xlsx или \.csv"):
        await export_catalog(session, tmp_path / "export.pdf")


async def test_sample_catalog_is_realistic(session: AsyncSession, tmp_path: Path) -> None:
    path = tmp_path / "sample.xlsx"
    path.write_bytes(sample_catalog_xlsx())
    report = await import_catalog(session, path)
    assert report.errors == []
    items = await active_catalog(session)
    assert 28 <= len(items) <= 50
    summary = await catalog_summary(session)
    assert all(n >= 5 for n in summary.by_block.values()), summary.by_block
    kinds = {i.kind for i in items}
    assert {"qualification", "retraining"} <= kinds
    retraining = [i for i in items if i.kind == "retraining"]
    assert 2 <= len(retraining) <= 3 and all(250 <= i.hours <= 520 for i in retraining)
    assert all(16 <= i.hours <= 72 for i in items if i.kind == "qualification")
    assert {i.format for i in items} == {"in_person", "distance", "blended"}
    assert any("preschool" in i.positions for i in items)
    assert any(i.subjects for i in items)
    assert sum(i.federal_register for i in items) >= 3
    today = NOW.date()
    assert any(enrolment_open(i, today) for i in items)
    assert any(i.enrol_until is not None and i.enrol_until < today for i in items)
    assert len({i.provider.name for i in items}) >= 5


def test_accept_upload_checks_type_and_size_before_the_download() -> None:
    assert accept_upload("Каталог.XLSX", 1000) == ".xlsx"
    assert accept_upload("c.csv", None) == ".csv"
    for name, size, key in (
        ("catalog.pdf", 10, "catalog.wrong_type"),
        (None, 10, "catalog.wrong_type"),
        ("catalog.xls", 10, "catalog.wrong_type"),
        ("catalog.xlsx", MAX_FILE_BYTES + 1, "catalog.too_big"),
    ):
        with pytest.raises(CatalogRefusal) as refused:
            accept_upload(name, size)
        assert refused.value.key == key


async def test_import_upload_reads_the_bytes_in_one_call(session: AsyncSession) -> None:
    report = await import_upload(session, ".csv", (HEADER + GOOD).encode("cp1251"), replace=False)
    assert (report.created, report.errors) == (3, [])
    with pytest.raises(CatalogRefusal) as refused:
        await import_upload(session, ".csv", b"x" * (MAX_FILE_BYTES + 1), replace=True)
    assert refused.value.key == "catalog.too_big"
    assert await n_rows(session, CatalogItem) == 3
    assert len(await active_catalog(session)) == 3


def test_parse_date_forms() -> None:
    assert parse_date("05.03.2027") == date(2027, 3, 5)
    assert parse_date("5.3.27") == date(2027, 3, 5)
    assert parse_date("2027-03-05 00:00:00") == date(2027, 3, 5)
    assert parse_date("46451") == date(2027, 3, 5)
    for bad in ("31.02.2027", "завтра", "05.03.1927", "2027/03/05"):
        with pytest.raises(ValueError):
            parse_date(bad)


# ---------------------------------------------------------------- the command line


def pedbot(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


def test_cli_import_export_and_exit_codes(tmp_path: Path) -> None:
    ok = pedbot(tmp_path, "catalog", "import", str(SAMPLE_CATALOG_CSV))
    assert ok.returncode == 0, ok.stderr
    assert "Программ добавлено: 42" in ok.stdout and "строк с ошибками: 0" in ok.stdout

    broken = write(
        tmp_path / "broken.csv",
        HEADER + GOOD + "Курс;ИРО;сорок;очно;;методическая;;;;;;;;\n",
    )
    bad = pedbot(tmp_path, "catalog", "import", str(broken), "--replace")
    assert bad.returncode == 1
    assert "Строка 5, столбец «Часы»:" in bad.stderr
    assert "не сняты с публикации" in bad.stderr
    assert "Программ добавлено: 3" in bad.stdout and "строк с ошибками: 1" in bad.stdout

    out = tmp_path / "out.xlsx"
    exported = pedbot(tmp_path, "catalog", "export", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "Программ выгружено: 45" in exported.stdout
    ws = load_workbook(out).worksheets[0]
    assert ws.max_row == 46 and ws["A1"].value == "Название"

    good = write(tmp_path / "good.csv", HEADER + GOOD)
    replaced = pedbot(tmp_path, "catalog", "import", str(good), "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert "снято с публикации: 42" in replaced.stdout

    assert pedbot(tmp_path, "catalog", "import", str(tmp_path / "nope.csv")).returncode == 1
    wrong = pedbot(tmp_path, "catalog", "export", str(tmp_path / "out.pdf"))
    assert wrong.returncode == 1 and ".xlsx или .csv" in wrong.stderr


# ---------------------------------------------------------------- the bot


async def open_catalog(harness: Harness, user_id: int = ADMIN_ID) -> TgChat:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(user_id)
    await register(chat)
    await chat.send("/menu")
    await chat.tap("Каталог программ")
    return chat


async def fsm_state(harness: Harness, user_id: int) -> str | None:
    async with harness.sessionmaker() as s:
        return await s.scalar(select(FsmRecord.state).where(FsmRecord.user_id == user_id))


async def test_upload_csv_document(harness: Harness) -> None:
    chat = await open_catalog(harness)
    assert "Каталог пока пуст" in chat.last.text
    await chat.tap("Загрузить файл")
    assert "Пришлите файл" in chat.last.text
    assert await fsm_state(harness, ADMIN_ID) == "CatalogForm:waiting_file"
    await chat.send_document("Каталог.csv", SAMPLE_CATALOG_CSV.read_bytes(), "text/csv")

    assert await count(harness.sessionmaker, CatalogItem) == 42
    summary = chat.texts()[-1]
    assert "Файл загружен" in summary and "Добавлено программ: 42" in summary
    assert "ошибк" not in summary
    assert await fsm_state(harness, ADMIN_ID) is None
    assert "Загрузить файл" in chat.buttons()[0]

    await chat.press(MenuCB(to="catalog").pack())
    assert "Сейчас в каталоге программ: <b>42</b>" in chat.last.text

    harness.bot.api.clear()
    await chat.tap("Скачать каталог")
    [sent] = harness.bot.api.of(SendDocument)
    assert isinstance(sent.document, BufferedInputFile)
    assert sent.document.filename.endswith(".xlsx") and "42" in (sent.caption or "")
    ws = load_workbook(io.BytesIO(sent.document.data)).worksheets[0]
    assert ws.max_row == 43

    # the downloaded file goes back in unchanged
    await chat.press(MenuCB(to="catalog").pack())
    await chat.tap("Загрузить файл")
    await chat.send_document("catalog.xlsx", sent.document.data)
    assert "Без изменений: 42" in chat.texts()[-1]
    assert await count(harness.sessionmaker, CatalogItem) == 42


async def test_sample_file_button(harness: Harness) -> None:
    chat = await open_catalog(harness)
    await chat.tap("Образец файла")
    [sent] = harness.bot.api.of(SendDocument)
    assert isinstance(sent.document, BufferedInputFile)
    assert sent.document.filename == "catalog-sample.xlsx"
    assert "Обязательные столбцы" in (sent.caption or "")
    await chat.tap("Скачать каталог")
    assert "Каталог пока пуст" in chat.alerts()[-1]


async def test_upload_with_broken_rows(harness: Harness) -> None:
    chat = await open_catalog(harness)
    await chat.tap("Заменить весь каталог")
    text = (
        HEADER
        + GOOD
        + "Курс с часами словами;ИРО;<b>сорок</b>;очно;;методическая;;;;;;;;\n"
        + "Курс с цифровым блоком;ИРО;36;очно;;цифровая;;;;;;;;\n"
    )
    await chat.send_document("catalog.csv", text.encode("cp1251"), "text/csv")
    assert await count(harness.sessionmaker, CatalogItem) == 3
    summary = chat.texts()[-1]
    assert "Добавлено программ: 3" in summary
    assert "Строк с ошибками: 2" in summary
    assert "строка 5, столбец «Часы»: «&lt;b&gt;сорок&lt;/b&gt;»" in summary
    assert "строка 6, столбец «Блоки»: неизвестный блок «цифровая»" in summary
    assert "не</b> сняты с публикации" in summary
    assert not harness.bot.api.of(SendDocument)  # all errors fit: no file


async def test_many_errors_come_as_a_file(harness: Harness) -> None:
    chat = await open_catalog(harness)
    await chat.tap("Загрузить файл")
    bad = "".join(
        f"Курс номер {i} {'с очень длинным названием ' * 3};ИРО;{'x' * 80};очно;;блок {i};;;;;;;;\n"
        for i in range(60)
    )
    await chat.send_document("catalog.csv", (HEADER + GOOD + bad).encode())
    assert await count(harness.sessionmaker, CatalogItem) == 3
    summary = chat.texts()[-1]
    assert "Строк с ошибками: 60" in summary and "Полный список — в файле ниже" in summary
    assert summary.count("\n• строка") <= 20
    [sent] = harness.bot.api.of(SendDocument)
    assert isinstance(sent.document, BufferedInputFile)
    lines = sent.document.data.decode("utf-8-sig").splitlines()
    assert sum(line.startswith("строка ") for line in lines) == 120


async def test_wrong_file_type_photo_and_text_change_nothing(harness: Harness) -> None:
    chat = await open_catalog(harness)
    await chat.tap("Загрузить файл")
    await chat.send_document("catalog.pdf", b"%PDF-1.4 ...", "application/pdf")
    assert "нужна таблица с расширением .xlsx или .csv" in chat.texts()[-1]
    await chat.send_message(
        photo=[PhotoSize(file_id="ph1", file_unique_id="uph1", width=90, height=90)]
    )
    assert "Это фотография" in chat.texts()[-1]
    await chat.send("вот мой каталог")
    assert "Я жду файл таблицы" in chat.texts()[-1]
    await chat.send_document("broken.xlsx", b"PK\x03\x04 not a workbook")
    assert "Файл не загружен" in chat.texts()[-1] and "XLSX" in chat.texts()[-1]
    await chat.send_document("headers.csv", HEADER.encode())
    assert "нет ни одной программы" in chat.texts()[-1]
    assert await count(harness.sessionmaker, CatalogItem) == 0
    assert await count(harness.sessionmaker, Provider) == 0
    # still waiting: the right file is taken
    assert await fsm_state(harness, ADMIN_ID) == "CatalogForm:waiting_file"
    await chat.send_document("catalog.csv", (HEADER + GOOD).encode())
    assert await count(harness.sessionmaker, CatalogItem) == 3
    # the «Главное меню» button leaves the upload
    await chat.tap("Загрузить файл")
    await chat.send("🏠 Главное меню")
    assert "Главное меню" in chat.texts()[-1]
    assert await fsm_state(harness, ADMIN_ID) is None


async def test_too_big_file_is_refused_before_download(harness: Harness) -> None:
    from aiogram.methods import GetFile
    from aiogram.types import Document

    chat = await open_catalog(harness)
    await chat.tap("Загрузить файл")
    harness.bot.api.clear()
    document = Document(
        file_id="big1", file_unique_id="ubig1", file_name="catalog.xlsx", file_size=25 * 2**20
    )
    await chat.send_message(document=document)
    assert "больше 20 МБ" in chat.texts()[-1]
    assert not harness.bot.api.of(GetFile)
    assert await count(harness.sessionmaker, CatalogItem) == 0


async def test_teacher_without_role_gets_stale_alert(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    chat = harness.chat(5001)
    await register(chat)
    assert not any("Каталог" in b for b in chat.buttons())
    async with harness.sessionmaker.begin() as s:  # a school methodist is not enough
        await grant(s, 5001, RoleName.METHODIST, school_code="sch3")
    for data in (
        MenuCB(to="catalog").pack(),
        CatalogUpload().pack(),
        CatalogReplace().pack(),
        CatalogExport().pack(),
        CatalogSample().pack(),
        CatalogOpen().pack(),
    ):
        harness.bot.api.clear()
        await chat.press(data)
        assert chat.alerts() == [STALE]
        assert len(harness.bot.api.of(AnswerCallbackQuery)) == 1
        assert not harness.bot.api.of(SendDocument)
    assert await fsm_state(harness, 5001) is None
    await chat.send_document("catalog.csv", (HEADER + GOOD).encode())
    assert await count(harness.sessionmaker, CatalogItem) == 0


async def test_municipal_methodist_manages_the_catalog(harness: Harness) -> None:
    await add_schools(harness.sessionmaker)
    async with harness.sessionmaker.begin() as s:
        await grant(s, 5002, RoleName.METHODIST, municipality_code="ensk")
    chat = harness.chat(5002)
    await register(chat)
    await chat.send("/menu")
    await chat.tap("Каталог программ")
    await chat.tap("Загрузить файл")
    await chat.send_document("c.csv", (HEADER + GOOD).encode())
    assert await count(harness.sessionmaker, CatalogItem) == 3
    # a forged action gets the stale alert too
    await chat.press(CatalogUpload.__prefix__ + ":drop_everything")
    assert chat.alerts()[-1] == STALE
    assert await count(harness.sessionmaker, CatalogItem) == 3


async def test_forged_catalog_buttons_get_the_stale_answer(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    chat = await open_catalog(harness)
    await chat.tap("Загрузить файл")
    await chat.send_document("c.csv", (HEADER + GOOD).encode())
    assert await count(harness.sessionmaker, CatalogItem) == 3
    async with harness.sessionmaker() as s:
        before = [fields(i) for i in (await items_by_title(s)).values()]
    caplog.set_level(logging.INFO)
    huge = "99999999999999999999"
    for cls in (CatalogOpen, CatalogUpload, CatalogReplace, CatalogExport, CatalogSample):
        for data in (f"{cls.__prefix__}:{huge}", f"{cls.__prefix__}:-1:{huge}"):
            harness.bot.api.clear()
            await chat.press(data)
            assert chat.alerts() == [STALE]
            assert len(harness.bot.api.of(AnswerCallbackQuery)) == 1
            assert not harness.bot.api.of(SendDocument)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert await fsm_state(harness, ADMIN_ID) is None
    assert await count(harness.sessionmaker, CatalogItem) == 3
    async with harness.sessionmaker() as s:
        assert [fields(i) for i in (await items_by_title(s)).values()] == before


@pytest.mark.parametrize("leave", ["🏠 Главное меню", "/menu"])
async def test_main_menu_in_the_middle_of_the_upload(harness: Harness, leave: str) -> None:
    chat = await open_catalog(harness)
    for button_label in ("Загрузить файл", "Заменить весь каталог"):
        await chat.press(MenuCB(to="catalog").pack())
        await chat.tap(button_label)
        assert await fsm_state(harness, ADMIN_ID) == "CatalogForm:waiting_file"
        harness.bot.api.clear()
        await chat.send(leave)
        [shown] = chat.texts()
        assert "Главное меню" in shown and "Я жду файл" not in shown
        assert any("Каталог программ" in b for b in chat.buttons())
        assert await fsm_state(harness, ADMIN_ID) is None
        # the file sent afterwards is not taken as the answer either
        await chat.send_document("c.csv", (HEADER + GOOD).encode())
        assert await count(harness.sessionmaker, CatalogItem) == 0
        assert await count(harness.sessionmaker, Provider) == 0


async def test_no_transaction_is_open_while_the_file_downloads(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = await open_catalog(harness)
    await chat.tap("Заменить весь каталог")
    seen: list[bool] = []
    stream = MockedSession.stream_content

    async def watched(
        self: MockedSession, *args: Any, **kwargs: Any
    ) -> AsyncGenerator[bytes, None]:
        scope = current_scope.get()
        assert scope is not None
        seen.append(scope.session.in_transaction())
        async for chunk in stream(self, *args, **kwargs):
            yield chunk

    monkeypatch.setattr(MockedSession, "stream_content", watched)
    await chat.send_document("c.csv", (HEADER + GOOD).encode())
    assert seen == [False]
    assert await count(harness.sessionmaker, CatalogItem) == 3
    assert "Файл загружен" in chat.texts()[-1]
    assert await fsm_state(harness, ADMIN_ID) is None


async def test_download_failure_keeps_waiting(harness: Harness) -> None:
    from aiogram.methods import GetFile

    chat = await open_catalog(harness)
    await chat.tap("Загрузить файл")
    harness.bot.api.fail[GetFile] = "file is temporarily unavailable"
    await chat.send_document("c.csv", (HEADER + GOOD).encode())
    assert "Не удалось получить файл" in chat.texts()[-1]
    assert await count(harness.sessionmaker, CatalogItem) == 0
    assert await fsm_state(harness, ADMIN_ID) == "CatalogForm:waiting_file"
    del harness.bot.api.fail[GetFile]
    await chat.send_document("c.csv", (HEADER + GOOD).encode())
    assert await count(harness.sessionmaker, CatalogItem) == 3


async def test_a_crash_is_answered_once_and_changes_nothing(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import handlers.catalog.router as catalog_router

    chat = await open_catalog(harness)
    await chat.tap("Заменить весь каталог")

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(catalog_router, "import_upload", broken)
    monkeypatch.setattr(catalog_router, "catalog_summary", broken)
    caplog.set_level(logging.INFO)
    await chat.send_document("Секретный каталог.csv", (HEADER + GOOD).encode())
    assert "Что-то пошло не так" in chat.texts()[-1]
    assert await count(harness.sessionmaker, CatalogItem) == 0
    assert await fsm_state(harness, ADMIN_ID) == "CatalogForm:waiting_file"

    harness.bot.api.clear()
    await chat.press(CatalogOpen().pack())
    assert len(harness.bot.api.of(AnswerCallbackQuery)) == 1
    assert "Что-то пошло не так" in chat.texts()[-1]
    assert await fsm_state(harness, ADMIN_ID) == "CatalogForm:waiting_file"  # rolled back
    logged = "\n".join(r.getMessage() + str(r.exc_info) for r in caplog.records)
    assert logged.count("RuntimeError") >= 2 and "Секретный" not in logged
    assert "Функциональная" not in logged

    monkeypatch.undo()
    await chat.send_document("c.csv", (HEADER + GOOD).encode())
    assert await count(harness.sessionmaker, CatalogItem) == 3
