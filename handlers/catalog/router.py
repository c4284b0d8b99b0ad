"""«📥 Каталог программ»: counts by block, upload a spreadsheet, download the catalog, the sample.

Only admins and methodists of a municipality or the region get here
(:attr:`services.roles.Access.manages_catalog`, checked once for the whole router); anybody
else pressing a catalog button gets the standard stale-button alert from the menu router.
"Waiting for a file" is an FSM state (stored in the database with the update's session), so
it survives a restart, and the import commits together with clearing it.

The file is downloaded before the import starts: ``bot.download`` asks for the file with
``getFile`` (which, like every Bot API request, commits the update's transaction first) and
then streams it outside the request middlewares, so no transaction is open while the bytes
arrive. The service is called only after the download.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Document, Message, TelegramObject
from aiogram.utils.callback_answer import CallbackAnswer
from aiohttp import ClientError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from handlers.catalog import screens
from handlers.catalog.callbacks import (
    CatalogExport,
    CatalogForm,
    CatalogOpen,
    CatalogReplace,
    CatalogSample,
    CatalogUpload,
    ProviderApprove,
    ProviderList,
)
from handlers.common import is_menu_or_command, refuse, render
from handlers.home.callbacks import MenuCB
from services.catalog import (
    CatalogRefusal,
    accept_upload,
    catalog_file,
    catalog_summary,
    import_upload,
    sample_file,
)
from services.courses import CourseError, approve_typed_provider, pending_providers
from services.roles import Access

log = logging.getLogger(__name__)

DRAFT = "catalog"
"""The key of the upload dialog's draft in the FSM data: ``{"replace": bool}``."""


def setup() -> Router:
    router = Router(name="catalog")
    router.message.filter(manages_catalog)
    router.callback_query.filter(manages_catalog)
    router.callback_query.register(open_catalog, MenuCB.filter(F.to == "catalog"))
    router.callback_query.register(open_catalog, CatalogOpen.filter())
    router.callback_query.register(ask_upload, CatalogUpload.filter())
    router.callback_query.register(ask_replace, CatalogReplace.filter())
    router.callback_query.register(download_catalog, CatalogExport.filter())
    router.callback_query.register(send_sample, CatalogSample.filter())
    router.callback_query.register(list_providers, ProviderList.filter())
    router.callback_query.register(approve_provider, ProviderApprove.filter())
    router.message.register(got_file, CatalogForm.waiting_file, F.document)
    router.message.register(got_photo, CatalogForm.waiting_file, F.photo)
    router.message.register(got_other, CatalogForm.waiting_file, not_for_menu)
    return router


def manages_catalog(event: TelegramObject, access: Access | None = None) -> bool:
    """The one access check of this router."""
    return access is not None and access.manages_catalog


def not_for_menu(message: Message) -> bool:
    """Commands and the «🏠 Главное меню» button pass through to their own handlers."""
    return not is_menu_or_command(message.text)


async def open_catalog(
    query: CallbackQuery, t: Translator, session: AsyncSession, state: FSMContext
) -> None:
    await state.clear()
    summary = await catalog_summary(session)
    await render(query, screens.catalog(summary, t))


async def list_providers(
    query: CallbackQuery,
    t: Translator,
    session: AsyncSession,
    access: Access,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await state.clear()
    try:
        view = await pending_providers(session, access)
    except CourseError as exc:
        refuse(callback_answer, t(exc.code))
        return
    await render(query, screens.providers(view, t))


async def approve_provider(
    query: CallbackQuery,
    callback_data: ProviderApprove,
    t: Translator,
    session: AsyncSession,
    access: Access,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        view = await approve_typed_provider(session, access, callback_data.provider)
    except CourseError as exc:
        refuse(callback_answer, t(exc.code))
        return
    await render(query, screens.providers(view, t))


async def _ask_file(query: CallbackQuery, t: Translator, state: FSMContext, replace: bool) -> None:
    await state.set_state(CatalogForm.waiting_file)
    await state.set_data({DRAFT: {"replace": replace}})
    await render(query, screens.ask_file(t, replace))


async def ask_upload(query: CallbackQuery, t: Translator, state: FSMContext) -> None:
    await _ask_file(query, t, state, replace=False)


async def ask_replace(query: CallbackQuery, t: Translator, state: FSMContext) -> None:
    await _ask_file(query, t, state, replace=True)


async def download_catalog(
    query: CallbackQuery,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    file = await catalog_file(session, now)
    if file is None:
        refuse(callback_answer, t("catalog.export_empty"))
        return
    screen = screens.export_sent(t, file.count)
    await bot.send_document(
        query.from_user.id,
        BufferedInputFile(file.data, filename=file.filename),
        caption=screen.text,
        reply_markup=screen.keyboard,
    )


async def send_sample(query: CallbackQuery, t: Translator, bot: Bot) -> None:
    file = await sample_file()
    await bot.send_document(
        query.from_user.id,
        BufferedInputFile(file.data, filename=file.filename),
        caption=screens.sample_caption(t),
    )


async def _download(bot: Bot, document: Document) -> bytes | None:
    """The document's bytes, or ``None`` when Telegram does not give them."""
    try:
        buffer = await bot.download(document, destination=io.BytesIO())
    except (TelegramAPIError, ClientError, OSError, TimeoutError) as exc:
        log.warning("catalog file download failed: %s", type(exc).__name__)
        return None
    return buffer.getvalue() if buffer is not None else None


async def got_file(
    message: Message, t: Translator, session: AsyncSession, state: FSMContext, bot: Bot
) -> None:
    document = message.document
    assert document is not None  # F.document
    try:
        suffix = accept_upload(document.file_name, document.file_size)
    except CatalogRefusal as refusal:
        await render(message, screens.waiting(t, refusal.key))
        return
    data = await _download(bot, document)
    if data is None:
        await render(message, screens.waiting(t, "catalog.download_failed"))
        return
    draft = (await state.get_data()).get(DRAFT) or {}
    try:
        report = await import_upload(session, suffix, data, replace=bool(draft.get("replace")))
    except CatalogRefusal as refusal:
        await render(message, screens.waiting(t, refusal.key))
        return
    if not report.rejected:  # a rejected file: nothing was read, still waiting for a good one
        await state.clear()
    await render(message, screens.import_report(report, t))
    errors = screens.errors_file(report, t)
    if errors is not None:
        await message.answer_document(
            BufferedInputFile(errors, filename="catalog-errors.txt"),
            caption=screens.errors_caption(t),
        )


async def got_photo(message: Message, t: Translator) -> None:
    await render(message, screens.waiting(t, "catalog.photo"))


async def got_other(message: Message, t: Translator) -> None:
    await render(message, screens.waiting(t, "catalog.not_file"))
