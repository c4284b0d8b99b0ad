"""Other teachers' replies while an admin uploads a catalog spreadsheet.

An admin opens «📥 Каталог программ» → «Загрузить» and sends a file through the app's
Dispatcher (the download, the checks, the reading and the import, exactly as in the bot);
meanwhile registered teachers send "/menu", one every ``--every`` seconds, each as its own
task (as aiogram's polling does). Measured per file: each teacher's reply time (from feeding
the update to its reply leaving), max and p99, the upload's own time and the growth of the
process's peak memory. The files:

- ``wide``: 13 KB of XLSX declaring 16,384 columns × 5,001 rows (refused unread);
- ``bomb``: an XLSX whose sheet unpacks to ``--bomb-mb`` MB (refused before openpyxl);
- ``long-csv``: a CSV of ``--csv-rows`` short lines (refused at the row cap while read);
- ``legit``: an XLSX of ``--rows`` valid programmes (read and imported);
- ``legit-again``: the same file again (every programme found unchanged).

    python bench/uploads.py [--teachers 40] [--rows 5000] [--every 0.02] [--database-url URL]

Goal: every other teacher's reply within 0.5 s during any upload.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import resource
import sys
import time
import zipfile
from collections.abc import AsyncGenerator, Awaitable
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.methods import GetFile, SendMessage, TelegramMethod
from aiogram.types import Update
from openpyxl import Workbook

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    BenchSession,
    LoggedErrors,
    Screen,
    add_teachers,
    callback_update,
    database_version,
    goal,
    load_average,
    machine_line,
    make_bot,
    message_update,
    ms,
    percentile,
    use_database,
)
from bot.app import create_app, settle
from handlers.catalog.callbacks import CatalogUpload
from handlers.home.callbacks import MenuCB
from models.db import make_engine
from tests.conftest import ADMIN_ID, Clock, make_settings, reset_schema

GOAL_SECONDS = 0.5
_ids = itertools.count(1)


class UploadSession(BenchSession):
    """The bench's mocked Bot API, which also serves the files users send."""

    def __init__(self) -> None:
        super().__init__(delay=0.0)
        self.files: dict[str, bytes] = {}
        self.texts: dict[int, str] = {}  # the last text sent to each chat

    async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        url = str(kwargs.get("url") or (args[0] if args else ""))
        data = self.files.get(url.rsplit("/", 1)[-1], b"")
        chunk = int(kwargs.get("chunk_size") or 65536)
        for start in range(0, len(data), chunk):
            yield data[start : start + chunk]
            await asyncio.sleep(0)  # a real download gives the loop away between chunks

    def _result(self, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, GetFile):
            return {
                "file_id": method.file_id,
                "file_unique_id": f"u{method.file_id}",
                "file_size": len(self.files.get(method.file_id, b"")),
                "file_path": f"documents/{method.file_id}",
            }
        if isinstance(method, SendMessage):
            self.texts[int(method.chat_id)] = method.text
        return super()._result(method)


def document_update(
    bot: Bot, session: UploadSession, user_id: int, name: str, data: bytes
) -> Update:
    uid = next(_ids) + 10_000_000
    file_id = f"upload{uid}"
    session.files[file_id] = data
    raw = {
        "update_id": uid,
        "message": {
            "message_id": uid,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Админ", "language_code": "ru"},
            "document": {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_name": name,
                "file_size": len(data),
            },
        },
    }
    return Update.model_validate(raw, context={"bot": bot})


# ---------------------------------------------------------------- the files


def _xlsx(cells: dict[str, str]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for ref, value in cells.items():
        ws[ref] = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def wide_file() -> bytes:
    """The 13 KB XLSX that declares 16,384 columns × 5,001 rows."""
    return _xlsx({"A1": "Название", "XFD5001": "x"})


def bomb_file(megabytes: int) -> bytes:
    """An XLSX whose sheet unpacks to ``megabytes`` MB of padding (a few hundred KB packed)."""
    source = _xlsx({"A1": "Название"})
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(source)) as good,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bad,
    ):
        for item in good.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                with bad.open(item.filename, "w", force_zip64=True) as part:
                    part.write(good.read(item.filename))
                    pad = b" " * (1024 * 1024)
                    for _ in range(megabytes):
                        part.write(pad)
            else:
                bad.writestr(item.filename, good.read(item.filename))
    return out.getvalue()


def long_csv(rows: int) -> bytes:
    return ("Название;Часы\n" + "Курс;36\n" * rows).encode()


def legit_file(rows: int) -> bytes:
    """``rows`` valid programmes, as the sample's columns."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(["Название", "Организатор", "Часы", "Формат", "Блоки", "Вид", "Предметы"])
    blocks = ("предметная", "методическая", "психолого-педагогическая", "коммуникативная")
    for i in range(rows):
        ws.append(
            [
                f"Программа повышения квалификации № {i + 1}: современный урок",
                f"ГАУ ДПО «Институт развития образования» (филиал {i % 7 + 1})",
                36 + i % 5 * 36,
                ("очно", "дистанционно", "смешанно")[i % 3],
                blocks[i % 4],
                "повышение квалификации",
                ("Математика", "Русский язык", "")[i % 3],
            ]
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- the measurement


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def timed(work: Awaitable[Any]) -> float:
    start = time.perf_counter()
    await work
    return time.perf_counter() - start


async def probe(app: Any, bot: Bot, chat: int) -> float:
    start = time.perf_counter()
    await app.dispatcher.feed_update(bot, message_update(bot, chat, "/menu"))
    return time.perf_counter() - start


async def measure(
    app: Any, bot: Bot, chats: list[int], every: float, work: asyncio.Task[Any] | None, least: float
) -> list[float]:
    """Teachers' /menu, one every ``every`` seconds, until ``work`` is done (and ``least``
    seconds have passed); their reply times."""
    probes: list[asyncio.Task[float]] = []
    start = time.perf_counter()
    for n in itertools.count():
        probes.append(asyncio.create_task(probe(app, bot, chats[n % len(chats)])))
        await asyncio.sleep(every)
        if (work is None or work.done()) and time.perf_counter() - start >= least:
            break
    return list(await asyncio.gather(*probes))


async def main(
    *,
    teachers: int = 40,
    rows: int = 5000,
    every: float = 0.02,
    bomb_mb: int = 400,
    csv_rows: int = 1_000_000,
    database_url: str | None = None,
) -> dict[str, float]:
    """Run the benchmark, print its figures; returns the worst reply time per file."""
    print(machine_line(), flush=True)
    files = {
        "wide": ("wide.xlsx", wide_file()),
        "bomb": ("bomb.xlsx", bomb_file(bomb_mb)),
        "long-csv": ("long.csv", long_csv(csv_rows)),
        "legit": ("catalog.xlsx", legit_file(rows)),
    }
    files["legit-again"] = files["legit"]
    with use_database(database_url) as url, LoggedErrors() as logged:
        engine = make_engine(url)
        await reset_schema(engine)
        where = "a temporary file" if not database_url else "the given database, schema reset"
        print(f"database: {await database_version(engine)} ({where})")
        print(
            f"teachers: {teachers}, one sends '/menu' every {every * 1000:g} ms while the admin "
            f"uploads; Bot API answers at once",
            flush=True,
        )
        app = await create_app(make_settings(url), engine=engine, clock=Clock())
        settle()
        session = UploadSession()
        bot = make_bot(session)
        worst: dict[str, float] = {}
        try:
            chats = await add_teachers(app, teachers)
            await app.dispatcher.feed_update(bot, message_update(bot, ADMIN_ID, "/menu"))
            quiet = await measure(app, bot, chats, every, None, least=0.5)
            print(
                f"no upload: {len(quiet)} replies, max {ms(max(quiet))}, "
                f"p99 {ms(percentile(quiet, 99))}",
                flush=True,
            )
            for label, (name, data) in files.items():
                # «📥 Каталог программ» → «📤 Загрузить файл»
                for data_ in (MenuCB(to="catalog").pack(), CatalogUpload().pack()):
                    shown = Screen(1, "…", None)
                    await app.dispatcher.feed_update(
                        bot, callback_update(bot, ADMIN_ID, shown, data_)
                    )
                before_mb = peak_mb()
                update = document_update(bot, session, ADMIN_ID, name, data)
                work = asyncio.create_task(timed(app.dispatcher.feed_update(bot, update)))
                times = await measure(app, bot, chats, every, work, least=0.2)
                took = await work
                answer = session.texts.get(ADMIN_ID, "").replace("\n", " ")
                worst[label] = max(times)
                print(
                    f"{label}: {len(data) / 1024:,.0f} KB; upload handled in {took:.3f} s; "
                    f"{len(times)} other replies meanwhile: max {ms(max(times))}, p99 "
                    f"{ms(percentile(times, 99))}; peak memory +{peak_mb() - before_mb:.0f} MB; "
                    f"the admin was told: {answer[:90]}",
                    flush=True,
                )
                summary = logged.take()
                if summary:
                    print(f"{label}: {summary}", flush=True)
            overall = max(worst.values())
            print(
                f"worst reply during any upload: {ms(overall)} (goal: under {GOAL_SECONDS:g} s: "
                f"{goal(overall < GOAL_SECONDS)}); {load_average()} at the end"
            )
            return worst
        finally:
            await app.close()
            await session.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teachers", type=int, default=40)
    parser.add_argument("--rows", type=int, default=5000, help="programmes in the legit file")
    parser.add_argument("--every", type=float, default=0.02, help="seconds between two /menu")
    parser.add_argument("--bomb-mb", type=int, default=400, help="the bomb's unpacked size")
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url", default="", help="default: a fresh SQLite file in a temporary dir"
    )
    args = parser.parse_args()
    asyncio.run(
        main(
            teachers=args.teachers,
            rows=args.rows,
            every=args.every,
            bomb_mb=args.bomb_mb,
            csv_rows=args.csv_rows,
            database_url=args.database_url or None,
        )
    )
