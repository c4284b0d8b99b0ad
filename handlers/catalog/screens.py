"""Screens of the programme catalog. Pure: view model + translator -> Screen."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from bot.i18n import Translator
from handlers.catalog.callbacks import (
    CatalogExport,
    CatalogOpen,
    CatalogReplace,
    CatalogSample,
    CatalogUpload,
    ProviderApprove,
    ProviderList,
)
from handlers.common import MESSAGE_LIMIT, Screen, button, esc, markup
from handlers.home.screens import menu_button
from services.catalog import CatalogImportReport, CatalogSummary
from services.courses import PendingProviders
from services.schools import RowError

ERRORS_SHOWN = 20
ERROR_MESSAGE_MAX = 300  # one error line at most (its message quotes the cell, cut at 60)
TEXT_BUDGET = MESSAGE_LIMIT - 200


def catalog_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return markup(
        [
            [button(t("catalog.upload"), CatalogUpload())],
            [button(t("catalog.replace"), CatalogReplace())],
            [button(t("catalog.export"), CatalogExport())],
            [button(t("catalog.sample"), CatalogSample())],
            [button(t("catalog.providers"), ProviderList())],
            [menu_button(t)],
        ]
    )


PROVIDER_BUTTON_MAX = 48


def providers(view: PendingProviders, t: Translator) -> Screen:
    """Typed organisers of courses waiting for approval; a button approves each."""
    done = (
        () if view.approved is None else (t("catalog.provider_approved", name=esc(view.approved)),)
    )
    lines = [*done, t("catalog.providers_title")]
    if not view.items:
        lines.append(t("catalog.providers_none"))
    for item in view.items:
        key = "catalog.provider_shared" if item.shared else "catalog.provider_private"
        lines.append(t(key, name=esc(item.name), courses=item.courses))
    if view.total > len(view.items):
        lines.append(t("catalog.providers_more", shown=len(view.items), total=view.total))
    rows = [
        [
            button(
                t("catalog.provider_approve", name=_cut(item.name, PROVIDER_BUTTON_MAX)),
                ProviderApprove(provider=item.id),
            )
        ]
        for item in view.items
    ]
    rows.append([button(t("catalog.back"), CatalogOpen())])
    rows.append([menu_button(t)])
    return Screen("\n\n".join(lines), markup(rows))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def waiting_keyboard(t: Translator) -> InlineKeyboardMarkup:
    return markup(
        [
            [button(t("catalog.sample"), CatalogSample())],
            [button(t("catalog.back"), CatalogOpen())],
            [menu_button(t)],
        ]
    )


def catalog(summary: CatalogSummary, t: Translator) -> Screen:
    """The catalog screen: counts by block and what can be done."""
    lines = [t("catalog.title")]
    if summary.active:
        lines.append(t("catalog.counts", active=summary.active, **summary.by_block))
    else:
        lines.append(t("catalog.empty"))
    if summary.inactive:
        lines.append(t("catalog.inactive", count=summary.inactive))
    lines.append(t("catalog.how"))
    return Screen("\n\n".join(lines), catalog_keyboard(t))


def waiting(t: Translator, key: str) -> Screen:
    """Still waiting for the file: ``key`` is the locale key of what to say (the request, or
    why the last message was not taken)."""
    return Screen(t(key), waiting_keyboard(t))


def ask_file(t: Translator, replace: bool) -> Screen:
    return waiting(t, "catalog.wait_replace" if replace else "catalog.wait_file")


def export_sent(t: Translator, count: int) -> Screen:
    """The caption and buttons of the downloaded catalog."""
    return Screen(
        t("catalog.export_caption", count=count),
        markup([[button(t("catalog.back"), CatalogOpen())], [menu_button(t)]]),
    )


def sample_caption(t: Translator) -> str:
    return t("catalog.sample_caption")


def _error_line(t: Translator, error: RowError) -> str:
    message = error.message
    if len(message) > ERROR_MESSAGE_MAX:
        message = message[: ERROR_MESSAGE_MAX - 1] + "…"
    if not error.row:
        return t("catalog.file_error_line", message=esc(message))
    return t("catalog.error_line", row=error.row, column=esc(error.column), message=esc(message))


def _report_text(t: Translator, report: CatalogImportReport) -> tuple[str, bool]:
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


def import_report(report: CatalogImportReport, t: Translator) -> Screen:
    """What an import did: a rejected file keeps the upload waiting, else the catalog's
    buttons follow."""
    text, _ = _report_text(t, report)
    return Screen(text, waiting_keyboard(t) if report.rejected else catalog_keyboard(t))


def errors_file(report: CatalogImportReport, t: Translator) -> bytes | None:
    """All errors of an import as a text file, when they do not all fit in the summary."""
    _, complete = _report_text(t, report)
    if complete:
        return None
    lines = [t("catalog.errors_file_head"), ""]
    lines += [str(e) for e in report.errors]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def errors_caption(t: Translator) -> str:
    return t("catalog.errors_file_caption")
