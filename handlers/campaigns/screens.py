"""Screens of the campaigns section. Pure: view model + translator -> Screen."""

from __future__ import annotations

from datetime import date, timedelta

from aiogram.types import InlineKeyboardButton

from bot.i18n import Translator
from handlers.calendar.screens import calendar_rows
from handlers.campaigns.callbacks import (
    DEADLINE_FIELD,
    CampaignList,
    CampaignNew,
    CampaignOpen,
    CloseAsk,
    CloseConfirm,
    DialogBack,
    Extend,
    LaunchDraft,
    PickAudience,
    PickDeadline,
    PickInstrument,
    PickPosition,
    PickReminders,
    PickScope,
    PickSubject,
)
from handlers.common import Screen, button, esc, grid, markup
from handlers.home.screens import menu_button
from handlers.methodist.screens import hub_button
from services.campaigns import (
    DEADLINE_CHOICES,
    CampaignCard,
    CampaignsView,
    DialogView,
    Filters,
    ScopeOption,
    labelled,
    percent,
    progress_lines,
)
from services.reference import POSITIONS

TITLE_MAX = 40  # an instrument's title in a button


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _scope_name(t: Translator, name: str | None) -> str:
    return esc(name) if name else t("campaigns.scope_region")


def _audience(t: Translator, filters: Filters) -> str:
    if filters.young_only:
        return t("campaigns.audience.young")
    if filters.positions:
        labels = ", ".join(t(f"position.{p}") for p in filters.positions)
        return t("campaigns.audience.position", position=labels)
    if filters.subjects:
        labels = ", ".join(t(f"subject.{s}") for s in filters.subjects)
        return t("campaigns.audience.subject", subject=labels)
    return t("campaigns.audience.all")


def _back_rows(t: Translator) -> list[list[InlineKeyboardButton]]:
    return [[button(t("campaigns.back_list"), CampaignList())], [menu_button(t)]]


# ---------------------------------------------------------------- the list and a card


def campaign_list(view: CampaignsView, t: Translator) -> Screen:
    head = t("campaigns.title") + "\n\n" + t("campaigns.intro")
    rows: list[list[InlineKeyboardButton]] = []
    if not view.items:
        text = head + "\n\n" + t("campaigns.empty")
    else:
        lines = []
        for n, item in enumerate(view.items, 1):
            lines.append(
                t(
                    "campaigns.line",
                    n=n,
                    icon=t(
                        "campaigns.icon_active"
                        if item.status == "active"
                        else "campaigns.icon_closed"
                    ),
                    title=esc(labelled(t, item.title, item.setting)),
                    scope=_scope_name(t, item.scope_name),
                    deadline=t.date(item.deadline),
                    answered=item.answered,
                    invited=item.invited,
                    percent=percent(item.answered, item.invited),
                )
            )
            rows.append(
                [
                    button(
                        t(
                            "campaigns.line_button",
                            n=n,
                            title=_cut(labelled(t, item.title, item.setting), TITLE_MAX),
                        ),
                        CampaignOpen(campaign=item.id),
                    )
                ]
            )
        text = head + "\n\n" + "\n".join(lines)
    rows.append([button(t("campaigns.new"), CampaignNew())])
    rows.append([hub_button(t), menu_button(t)])
    return Screen(text, markup(rows))


def card(view: CampaignCard, t: Translator, notice: str = "") -> Screen:
    lines = [
        t("campaigns.card.title", title=esc(labelled(t, view.title, view.setting))),
        t(
            "campaigns.card.scope",
            scope=_scope_name(t, view.scope_name),
            audience=_audience(t, view.filters),
        ),
        t(
            "campaigns.card.dates",
            starts=t.date(view.starts_on),
            deadline=t.date(view.deadline),
        ),
        t("campaigns.card.active" if view.active else "campaigns.card.closed"),
        "",
        t(
            "campaigns.card.progress",
            answered=view.answered,
            invited=view.invited,
            percent=percent(view.answered, view.invited),
        ),
    ]
    if view.counted_before:
        lines.append(t("campaigns.card.counted", counted=view.counted_before))
    if view.scope_kind != "school" and view.schools:
        lines += ["", t("campaigns.card.by_school"), *progress_lines(view, t)]
    if view.active:
        lines.append("")
        if view.reminders:
            days = ", ".join(t.date(d) for d in view.reminders)
            lines.append(t("campaigns.card.reminders", days=days))
        else:
            lines.append(t("campaigns.card.no_reminders"))
    text = "\n".join(lines)
    if notice:
        text = notice + "\n\n" + text
    rows: list[list[InlineKeyboardButton]] = []
    if view.active:
        rows.append([button(t("campaigns.card.extend"), Extend(campaign=view.id))])
        rows.append([button(t("campaigns.card.close"), CloseAsk(campaign=view.id))])
    rows += _back_rows(t)
    return Screen(text, markup(rows))


def close_confirm(view: CampaignCard, t: Translator) -> Screen:
    return Screen(
        t("campaigns.close_confirm", title=esc(labelled(t, view.title, view.setting))),
        markup(
            [
                [button(t("campaigns.close_yes"), CloseConfirm(campaign=view.id))],
                [button(t("campaigns.close_no"), CampaignOpen(campaign=view.id))],
                [menu_button(t)],
            ]
        ),
    )


# ---------------------------------------------------------------- the dialog


def _scope_label(t: Translator, scope: ScopeOption | None) -> str:
    return _scope_name(t, scope.name if scope else None)


def _dialog_rows(t: Translator, back: bool = True) -> list[list[InlineKeyboardButton]]:
    row = [button(t("campaigns.dialog.back"), DialogBack())] if back else []
    row.append(button(t("campaigns.dialog.cancel"), CampaignList()))
    return [row, [menu_button(t)]]


def dialog(view: DialogView, t: Translator, month: date | None = None) -> Screen:
    """The step of «Новая кампания» the view names."""
    d = view.draft
    head = t("campaigns.dialog.title") + "\n\n"
    scope = _scope_label(t, view.scope)
    audience = _audience(t, d.filters)
    rows: list[list[InlineKeyboardButton]] = []
    if view.step == "instrument":
        text = head + t("campaigns.dialog.instrument")
        rows = [
            [button(_cut(labelled(t, title, setting), TITLE_MAX), PickInstrument(instrument=iid))]
            for iid, title, setting in view.instruments
        ]
        return Screen(text, markup(rows + _dialog_rows(t, back=False)))
    title = esc(labelled(t, view.title, view.setting))
    if view.step == "scope":
        text = head + t("campaigns.dialog.scope", title=title)
        rows = [
            [button(_cut(s.name or t("campaigns.scope_region"), TITLE_MAX), PickScope(index=i))]
            for i, s in enumerate(view.scopes)
        ]
    elif view.step == "audience":
        text = head + t("campaigns.dialog.audience", title=title, scope=scope)
        rows = [
            [button(t(f"campaigns.dialog.audience_{a}"), PickAudience(audience=a))]
            for a in view.audiences
        ]
    elif view.step == "position":
        text = head + t("campaigns.dialog.position")
        rows = grid(
            [
                button(t(f"position.{p}"), PickPosition(index=POSITIONS.index(p)))
                for p in view.positions
            ],
            2,
        )
    elif view.step == "subject":
        text = head + t("campaigns.dialog.subject")
        rows = grid(
            [button(t(f"subject.{s}"), PickSubject(index=i)) for i, s in enumerate(view.subjects)],
            2,
        )
    elif view.step == "deadline":
        text = head + t("campaigns.dialog.deadline", title=title, scope=scope, audience=audience)
        rows = [
            [
                button(
                    t("campaigns.dialog.deadline_days", days=t.plural("plural.days", n)),
                    PickDeadline(days=n),
                )
                for n in DEADLINE_CHOICES
            ]
        ]
        lo = view.today + timedelta(days=1)
        rows += calendar_rows(DEADLINE_FIELD, month or lo, t, lo=lo, hi=view.latest)
    elif view.step == "reminders":
        assert d.deadline is not None
        text = head + t(
            "campaigns.dialog.reminders",
            title=title,
            scope=scope,
            audience=audience,
            deadline=t.date(d.deadline),
        )
        rows = [
            [button(t("campaigns.dialog.reminders_default"), PickReminders(on=True))],
            [button(t("campaigns.dialog.reminders_none"), PickReminders(on=False))],
        ]
    else:
        assert d.deadline is not None
        size = view.size
        text = t(
            "campaigns.dialog.summary",
            title=title,
            scope=scope,
            audience=audience,
            deadline=t.date(d.deadline),
            reminders=t(
                "campaigns.dialog.reminders_on" if d.reminders else "campaigns.dialog.reminders_off"
            ),
            asked=size.asked if size else 0,
            counted=size.counted if size else 0,
        )
        if size is None or size.total == 0:
            text += t("campaigns.dialog.summary_empty")
        else:
            rows = [[button(t("campaigns.dialog.launch"), LaunchDraft())]]
    return Screen(text, markup(rows + _dialog_rows(t)))
