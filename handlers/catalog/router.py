"""«📥 Каталог программ»: counts by block, upload a spreadsheet, download the catalog, the sample.

Only admins and methodists of a municipality or the region get here
(:attr:`services.roles.Access.manages_catalog`, checked once for the whole router); anybody
else pressing a catalog button gets the standard stale-button alert from the menu router.
"Waiting for a file" is an FSM state (stored in the database with the update's session), so
it survives a restart, and the import commits together with clearing it.
"""

from __future__ import annotations

import asyncio
import io
import logging
import tempfile
from datetime import datetime
from pathlib import Path

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import BaseFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
)
from aiogram.utils.callback_answer import CallbackAnswer
from aiohttp import ClientError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from handlers.common import MESSAGE_LIMIT, button, esc, is_menu_or_command, markup, refuse, show
from handlers.home.callbacks import MenuCB
from handlers.home.screens import menu_button
from services.catalog import (
    CatalogImportReport,
    catalog_summary,
    export_bytes,
    import_catalog,
    sample_catalog_xlsx,
)
from services.roles import Access
from services.schools import RowError

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download
ACCEPTED_SUFFIXES = (".xlsx", ".csv")
ERRORS_SHOWN = 20
ERROR_MESSAGE_MAX = 300  # one error line at most (its message quotes the cell, cut at 60)
TEXT_BUDGET = MESSAGE_LIMIT - 200


class ManagesCatalog(BaseFilter):
    """The one access check of this router."""

    async def __call__(self, event: TelegramObject, access: Access | None = None) -> bool:
        return access is not None and access.manages_catalog


router = Router(name="catalog")
router.message.filter(ManagesCatalog())
router.callback_query.filter(ManagesCatalog())


class CatalogCB(CallbackData, prefix="ct"):
    action: str  # view | upload | replace | export | sample


class CatalogForm(StatesGroup):
    waiting_file = State()


# ---------- screens ----------


def catalog_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return markup(
        [
            [button(t("catalog.upload"), CatalogCB(action="upload"))],
            [button(t("catalog.replace"), CatalogCB(action="replace"))],
            [button(t("catalog.export"), CatalogCB(action="export"))],
            [button(t("catalog.sample"), CatalogCB(action="sample"))],
            [menu_button(t)],
        ]
    )


def waiting_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return markup(
        [
            [button(t("catalog.sample"), CatalogCB(action="sample"))],
            [button(t("catalog.back"), CatalogCB(action="view"))],
            [menu_button(t)],
        ]
    )


async def catalog_text(session: AsyncSession, t: Translator) -> str:
    summary = await catalog_summary(session)
    lines = [t("catalog.title")]
    if summary.active:
        lines.append(t("catalog.counts", active=summary.active, **summary.by_block))
    else:
        lines.append(t("catalog.empty"))
    if summary.inactive:
        lines.append(t("catalog.inactive", count=summary.inactive))
    lines.append(t("catalog.how"))
    return "\n\n".join(lines)


@router.callback_query(MenuCB.filter(F.to == "catalog"))
@router.callback_query(CatalogCB.filter(F.action == "view"))
async def open_catalog(
    query: CallbackQuery, t: Translator, session: AsyncSession, state: FSMContext
) -> None:
    await state.clear()
    await show(query, await catalog_text(session, t), catalog_keyboard(t))


@router.callback_query(CatalogCB.filter(F.action.in_({"upload", "replace"})))
async def ask_file(
    query: CallbackQuery, callback_data: CatalogCB, t: Translator, state: FSMContext
) -> None:
    replace = callback_data.action == "replace"
    await state.set_state(CatalogForm.waiting_file)
    await state.set_data({"replace": replace})
    await show(
        query, t("catalog.wait_replace" if replace else "catalog.wait_file"), waiting_keyboard(t)
    )


@router.callback_query(CatalogCB.filter(F.action == "export"))
async def download_catalog(
    query: CallbackQuery,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    data, count = await export_bytes(session, ".xlsx")
    if not count:
        refuse(callback_answer, t("catalog.export_empty"))
        return
    await bot.send_document(
        query.from_user.id,
        BufferedInputFile(data, filename=f"catalog-{now:%Y%m%d}.xlsx"),
        caption=t("catalog.export_caption", count=count),
        reply_markup=markup(
            [[button(t("catalog.back"), CatalogCB(action="view"))], [menu_button(t)]]
        ),
    )


@router.callback_query(CatalogCB.filter(F.action == "sample"))
async def send_sample(query: CallbackQuery, t: Translator, bot: Bot) -> None:
    data = await asyncio.to_thread(sample_catalog_xlsx)
    await bot.send_document(
        query.from_user.id,
        BufferedInputFile(data, filename="catalog-sample.xlsx"),
        caption=t("catalog.sample_caption"),
    )


# ---------- the file ----------


def not_for_menu(message: Message) -> bool:
    """Commands and the «🏠 Главное меню» button pass through to their own handlers."""
    return not is_menu_or_command(message.text)


def _error_line(t: Translator, error: RowError) -> str:
    message = error.message
    if len(message) > ERROR_MESSAGE_MAX:
        message = message[: ERROR_MESSAGE_MAX - 1] + "…"
    if not error.row:
        return t("catalog.file_error_line", message=esc(message))
    return t("catalog.error_line", row=error.row, column=esc(error.column), message=esc(message))


def errors_file(t: Translator, report: CatalogImportReport) -> bytes:
    lines = [t("catalog.errors_file_head"), ""]
    lines += [str(e) for e in report.errors]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def report_text(t: Translator, report: CatalogImportReport) -> tuple[str, bool]:
    """The summary of an import, and whether all its errors fit in it."""
    if report.rejected:
        head = [t("catalog.rejected")]
    else:
        head = [
            t("catalog.done"),
            t(
                "catalog.summary",
                created=report.created,
                updated=report.updated,
                unchanged=report.unchanged,
            ),
        ]
        if report.deactivated:
            head.append(t("catalog.deactivated", count=report.deactivated))
        if report.replace_skipped:
            head.append(t("catalog.replace_skipped"))
        if report.errors:
            head.append(t("catalog.errors_title", rows=report.error_rows))
    text = "\n\n".join(head)
    shown = 0
    for error in report.errors[:ERRORS_SHOWN]:
        line = _error_line(t, error)
        if len(text) + len(line) + 1 > TEXT_BUDGET:
            break
        text += "\n" + line
        shown += 1
    complete = shown == len(report.errors)
    if not complete:
        text += "\n\n" + t("catalog.errors_more", shown=shown, total=len(report.errors))
    if report.rejected:
        text += "\n\n" + t("catalog.rejected_hint")
    return text, complete


async def _download(bot: Bot, message: Message) -> bytes | None:
    assert message.document is not None
    try:
        buffer = await bot.download(message.document, destination=io.BytesIO())
    except (TelegramAPIError, ClientError, OSError, TimeoutError) as exc:
        log.warning("catalog file download failed: %s", type(exc).__name__)
        return None
    return buffer.getvalue() if buffer is not None else None


def _import_path(folder: str, suffix: str, data: bytes) -> Path:
    path = Path(folder) / f"catalog{suffix}"
    path.write_bytes(data)
    return path


@router.message(CatalogForm.waiting_file, F.document)
async def got_file(
    message: Message, t: Translator, session: AsyncSession, state: FSMContext, bot: Bot
) -> None:
    document = message.document
    assert document is not None
    suffix = Path(document.file_name or "").suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        await message.answer(t("catalog.wrong_type"), reply_markup=waiting_keyboard(t))
        return
    if (document.file_size or 0) > MAX_FILE_BYTES:
        await message.answer(t("catalog.too_big"), reply_markup=waiting_keyboard(t))
        return
    data = await _download(bot, message)
    if data is None:
        await message.answer(t("catalog.download_failed"), reply_markup=waiting_keyboard(t))
        return
    if len(data) > MAX_FILE_BYTES:
        await message.answer(t("catalog.too_big"), reply_markup=waiting_keyboard(t))
        return
    replace = bool((await state.get_data()).get("replace"))
    with tempfile.TemporaryDirectory(prefix="pedbot-catalog-") as folder:
        path = await asyncio.to_thread(_import_path, folder, suffix, data)
        report = await import_catalog(session, path, replace=replace)
    log.info(
        "catalog import: created=%d updated=%d unchanged=%d deactivated=%d error_rows=%d",
        report.created,
        report.updated,
        report.unchanged,
        report.deactivated,
        report.error_rows,
    )
    text, complete = report_text(t, report)
    if report.rejected:  # nothing was read: still waiting for a good file
        await message.answer(text, reply_markup=waiting_keyboard(t))
    else:
        await state.clear()
        await message.answer(text, reply_markup=catalog_keyboard(t))
    if not complete:
        await message.answer_document(
            BufferedInputFile(errors_file(t, report), filename="catalog-errors.txt"),
            caption=t("catalog.errors_file_caption"),
        )


@router.message(CatalogForm.waiting_file, F.photo)
async def got_photo(message: Message, t: Translator) -> None:
    await message.answer(t("catalog.photo"), reply_markup=waiting_keyboard(t))


@router.message(CatalogForm.waiting_file, not_for_menu)
async def got_other(message: Message, t: Translator) -> None:
    await message.answer(t("catalog.not_file"), reply_markup=waiting_keyboard(t))
