"""Screens of «Мой маршрут (ИОМ)». Pure: view models of ``services.routes`` + translator.

A route may be longer than one Telegram message: :func:`route_screen` and :func:`home`
return the screen as a list of messages (each under the limit), the keyboard under the last.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from handlers.common import Screen, button, esc, grid, markup, split_text
from handlers.home.screens import menu_button
from handlers.route.callbacks import (
    AddBlock,
    AddCatalogItem,
    AddOwnStep,
    AddStep,
    DraftConfirm,
    DraftDiscard,
    DraftDiscardAsk,
    RouteActive,
    RouteBuild,
    RouteDocx,
    RouteHome,
    StepClose,
    StepCloseWithCourse,
    StepDone,
    StepMonth,
    StepOpen,
    StepRemove,
    StepReopen,
    StepTerm,
)
from handlers.surveys.callbacks import SurveyOpen
from models import RouteStatus, StepStatus
from services.route_docx import block_name, is_mentoring, level_label, step_form
from services.routes import (
    BlockChoice,
    CatalogEntry,
    CatalogPage,
    CloseOffer,
    Home,
    MonthPicker,
    RouteView,
    StepCard,
    StepView,
)

TITLE_SHOWN = 200  # characters of a catalog title in a list
BUTTON_TITLE = 40  # characters of a step title on a button

Messages = list[Screen]
"""A screen sent as one or more messages; the keyboard is under the last one."""


def short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _messages(notice: str, blocks: Sequence[str], keyboard: InlineKeyboardMarkup) -> Messages:
    texts = split_text([notice, *blocks] if notice else list(blocks))
    return [Screen(text, keyboard if i == len(texts) - 1 else None) for i, text in enumerate(texts)]


def _back(t: Translator) -> InlineKeyboardButton:
    return button(t("route.btn_back"), RouteHome())


def _cancel(t: Translator) -> InlineKeyboardMarkup:
    return markup([[button(t("route.btn_cancel"), RouteHome())]])


def _survey_button(survey: str, t: Translator) -> InlineKeyboardButton:
    return button(t("route.take_survey"), SurveyOpen(instrument=survey))


# ---------------------------------------------------------------- steps


def answers_text(step: StepView, t: Translator) -> str | None:
    if not step.block:
        return None
    block = block_name(t, step.block).lower()
    if step.level and t.has(f"route.level.{step.level}"):
        return t("route.answers", block=block, level=level_label(t, step.level))
    return t("route.answers_block", block=block)


def step_text(step: StepView, t: Translator, *, icons: bool) -> str:
    """One step: a deficit step says which deficit it answers; a mentoring step (even an
    older one filed under a block) stands under its own heading «Наставничество»."""
    number = f"{t(f'route.status_{step.status}')} {step.n}" if icons else str(step.n)
    params = {
        "n": number,
        "title": esc(step.title),
        "form": esc(step_form(step, t)),
        "date": t.date(step.target_date),
    }
    if is_mentoring(step):
        text = t("route.step_line_mentoring", **params)
    elif answers := answers_text(step, t):
        text = t("route.step_line", answers=answers, **params)
    else:
        text = t("route.step_line_free", **params)
    if step.status == StepStatus.DONE.value and step.done_at is not None:
        text += "\n" + t("route.done_line", date=t.date(step.done_at))
    elif step.status == StepStatus.CLOSED.value:
        text += "\n" + t("route.closed_line", reason=esc(step.closed_reason or ""))
    return text


def step_buttons(route: RouteView, t: Translator) -> list[list[InlineKeyboardButton]]:
    """One button per step, with its number and title: it opens the step's card, where the
    actions are (instead of a pair of numbered buttons per step)."""
    icons = route.status != RouteStatus.DRAFT.value
    return [
        [
            button(
                t(
                    "route.step_button",
                    status=f"{t(f'route.status_{s.status}')} " if icons else "",
                    n=s.n,
                    title=short(s.title, BUTTON_TITLE),
                ),
                StepOpen(step=s.id),
            )
        ]
        for s in route.steps
    ]


# ---------------------------------------------------------------- the route by its status


def draft_screen(route: RouteView, t: Translator, notice: str = "") -> Messages:
    head = [t("route.draft_title"), t("route.draft_intro", date=t.date(route.diagnosed_at))]
    if route.replaces_active:
        head.append(t("route.draft_replaces"))
    if route.newer is not None:
        head.append(t("route.newer_draft", date=t.date(route.newer)))
    blocks = ["\n\n".join(head)]
    if not route.steps:
        blocks.append(t("route.draft_empty"))
    blocks += [step_text(s, t, icons=False) for s in route.steps]
    if route.steps:
        blocks.append(t("route.steps_hint"))
    rows = step_buttons(route, t)
    rows.append([button(t("route.btn_add"), AddStep())])
    if route.newer is not None:
        rows.append([button(t("route.btn_update_draft"), RouteBuild())])
    if route.steps:
        rows.append([button(t("route.btn_confirm"), DraftConfirm(route=route.id))])
    tail = [button(t("route.btn_discard"), DraftDiscardAsk(route=route.id))]
    if route.replaces_active:
        tail.append(button(t("route.btn_active"), RouteActive()))
    rows.append(tail)
    rows.append([menu_button(t)])
    return _messages(notice, blocks, markup(rows))


def active_screen(route: RouteView, t: Translator, notice: str = "") -> Messages:
    head = "\n".join(
        [
            t("route.active_title", date=t.date(route.since)),
            t(
                "route.progress",
                percent=route.progress,
                done=route.finished,
                total=len(route.steps),
            ),
        ]
    )
    if route.newer is not None:
        head += "\n\n" + t("route.newer", date=t.date(route.newer))
    blocks = [head, *(step_text(s, t, icons=True) for s in route.steps)]
    if route.steps:
        blocks.append(t("route.steps_hint"))
    rows = step_buttons(route, t)
    rows.append([button(t("route.btn_docx"), RouteDocx(route=route.id))])
    if route.newer is not None:
        rows.append([button(t("route.btn_update"), RouteBuild())])
    rows.append([menu_button(t)])
    return _messages(notice, blocks, markup(rows))


def _score(value: float | None, level: str | None, t: Translator) -> str:
    if value is None:
        return t("route.change_none")
    return t("route.change_value", score=f"{value:.0f}", level=level_label(t, level))


def completed_screen(route: RouteView, t: Translator, notice: str = "") -> Messages:
    blocks = [
        t("route.completed_title", date=t.date(route.completed_at or route.since))
        + "\n"
        + t(
            "route.completed_steps",
            total=len(route.steps),
            done=route.count(StepStatus.DONE),
            closed=route.count(StepStatus.CLOSED),
        )
    ]
    rows: list[list[InlineKeyboardButton]] = []
    if route.change is None:
        blocks.append(t("route.change_wait"))
        if route.survey:
            rows.append([_survey_button(route.survey, t)])
    else:
        lines = [t("route.change_title", date=t.date(route.change.diagnosed_at))]
        for c in route.change.blocks:
            delta = c.delta
            sign = "" if delta is None else ("+" if delta > 0 else ("−" if delta < 0 else "±"))
            lines.append(
                t(
                    "route.change_line",
                    block=block_name(t, c.block),
                    before=_score(c.before, c.before_level, t),
                    after=_score(c.after, c.after_level, t),
                    delta=t("route.change_none") if delta is None else f"{sign}{abs(delta):.0f}",
                )
            )
        blocks.append("\n".join(lines))
        rows.append([button(t("route.btn_new_route"), RouteBuild())])
    blocks += [step_text(s, t, icons=True) for s in route.steps]
    if route.can_reopen:
        rows += step_buttons(route, t)
    rows.append([button(t("route.btn_docx"), RouteDocx(route=route.id))])
    rows.append([menu_button(t)])
    return _messages(notice, blocks, markup(rows))


def route_screen(route: RouteView, t: Translator, notice: str = "") -> Messages:
    if route.status == RouteStatus.DRAFT.value:
        return draft_screen(route, t, notice)
    if route.status == RouteStatus.ACTIVE.value:
        return active_screen(route, t, notice)
    return completed_screen(route, t, notice)


def home(view: Home, t: Translator, notice: str = "") -> Messages:
    """«Мой маршрут»: the route, or how to get one."""
    if view.route is not None:
        return route_screen(view.route, t, notice)
    rows: list[list[InlineKeyboardButton]] = []
    if view.latest is not None:
        text = t("route.none_with_diagnosis", date=t.date(view.latest))
        rows.append([button(t("route.build"), RouteBuild())])
    else:
        text = t("route.none_without_diagnosis")
        if view.survey:
            rows.append([_survey_button(view.survey, t)])
    rows.append([menu_button(t)])
    return _messages(notice, [t("route.none_title") + "\n\n" + text], markup(rows))


# ---------------------------------------------------------------- editing


def step_card(card: StepCard, t: Translator) -> Screen:
    """One step with the actions its route allows: in a draft «Отменить шаг» (removed) and
    «Изменить срок»; in the active route «Отметить выполненным» and «Отменить шаг» (with a
    reason) while it is planned, «Вернуть в план» once done or cancelled."""
    route, step = card.route, card.step
    draft = route.status == RouteStatus.DRAFT.value
    text = step_text(step, t, icons=not draft)
    rows: list[list[InlineKeyboardButton]] = []
    if draft:
        rows.append([button(t("route.btn_remove"), StepRemove(step=step.id))])
        rows.append([button(t("route.btn_date"), StepTerm(step=step.id))])
    elif route.status == RouteStatus.ACTIVE.value and step.planned:
        rows.append([button(t("route.btn_done"), StepDone(step=step.id))])
        rows.append([button(t("route.btn_close"), StepClose(step=step.id))])
    elif route.can_reopen and not step.planned:
        rows.append([button(t("route.btn_reopen"), StepReopen(step=step.id))])
    rows.append([_back(t), menu_button(t)])
    return Screen(text, markup(rows))


def discard_confirm(route: RouteView, t: Translator) -> Screen:
    """«Удалить черновик?» with the number of its steps."""
    text = t("route.discard_confirm", steps=t.plural("plural.steps", len(route.steps)))
    rows = [
        [button(t("route.btn_discard_yes"), DraftDiscard(route=route.id))],
        [button(t("route.btn_discard_no"), RouteHome())],
    ]
    return Screen(text, markup(rows))


def month_picker(view: MonthPicker, t: Translator) -> Screen:
    months = [
        button(
            t("route.month_button", month=t(f"route.month.{d.month}"), year=d.year),
            StepMonth(step=view.step.id, month=i),
        )
        for i, d in enumerate(view.months)
    ]
    rows = [*grid(months, 3), [_back(t), menu_button(t)]]
    return Screen(t("route.month_title", n=view.step.n, title=esc(view.step.title)), markup(rows))


def add_menu(blocks: Sequence[BlockChoice], t: Translator) -> Screen:
    rows: list[list[InlineKeyboardButton]] = []
    for choice in blocks:
        label = (
            t(
                "route.add_block_level",
                block=block_name(t, choice.block),
                level=level_label(t, choice.level),
            )
            if choice.level
            else t("route.add_block", block=block_name(t, choice.block))
        )
        rows.append([button(label, AddBlock(block=choice.index))])
    rows.append([_back(t), menu_button(t)])
    return Screen(t("route.add_title"), markup(rows))


def _catalog_details(entry: CatalogEntry, t: Translator) -> str:
    parts: list[str] = []
    if entry.provider:
        parts.append(esc(short(entry.provider, 80)))
    if entry.hours:
        parts.append(t("route.catalog_hours", hours=entry.hours))
    form_key = f"route.form.{entry.format}"
    if t.has(form_key):
        parts.append(t(form_key))
    if entry.starts_on and entry.ends_on:
        parts.append(
            t("route.catalog_dates", start=t.date(entry.starts_on), end=t.date(entry.ends_on))
        )
    if entry.enrol_until:
        parts.append(t("route.catalog_enrol", date=t.date(entry.enrol_until)))
    return " · ".join(parts)


def catalog_page(view: CatalogPage, t: Translator) -> Screen:
    label = block_name(t, view.block)
    if view.entries:
        lines = [t("route.catalog_title", block=label, page=view.page + 1, pages=view.pages)]
        lines += [
            t(
                "route.catalog_line",
                n=n,
                title=esc(short(entry.title, TITLE_SHOWN)),
                details=_catalog_details(entry, t),
            )
            for n, entry in enumerate(view.entries, start=1)
        ]
        text = "\n\n".join(lines)
    else:
        text = t("route.catalog_empty", block=label)
    picks = [
        button(t("route.btn_pick", n=n), AddCatalogItem(item=entry.id, block=view.index))
        for n, entry in enumerate(view.entries, start=1)
    ]
    rows = grid(picks, 3)
    nav: list[InlineKeyboardButton] = []
    if view.page > 0:
        nav.append(button(t("common.prev"), AddBlock(block=view.index, page=view.page - 1)))
    if view.page < view.pages - 1:
        nav.append(button(t("common.next"), AddBlock(block=view.index, page=view.page + 1)))
    rows.append(nav)
    for i, kind in enumerate(view.kinds):
        own = t("route.btn_own", kind=t(f"route.kind.{kind}").lower())
        rows.append([button(own, AddOwnStep(block=view.index, kind=i))])
    rows.append([button(t("route.btn_blocks"), AddStep()), _back(t)])
    rows.append([menu_button(t)])
    return Screen(text, markup(rows))


# ---------------------------------------------------------------- the typed inputs


def ask_title(kind: str, block: str, t: Translator) -> Screen:
    text = t("route.ask_title", kind=t(f"route.kind.{kind}"), block=block_name(t, block).lower())
    return Screen(text, _cancel(t))


def ask_reason(step: StepView, t: Translator) -> Screen:
    return Screen(t("route.ask_reason", n=step.n, title=esc(step.title)), _cancel(t))


def typed_refused(text: str, t: Translator) -> Screen:
    """A typed answer that was not taken (too long, empty, not text): ask again or cancel."""
    return Screen(text, _cancel(t))


def dialog_stale(t: Translator) -> Screen:
    """The draft or step the typed answer was for is gone."""
    return Screen(t("common.stale"), markup([[menu_button(t)]]))


# ---------------------------------------------------------------- «Мои курсы»


def close_offer(offer: CloseOffer, t: Translator) -> Screen:
    """Under a just recorded course: the steps it may close, one button per step."""
    rows = [
        [
            button(
                t("route.btn_close_with", title=short(s.title, BUTTON_TITLE)),
                StepCloseWithCourse(step=s.id, course=offer.course_id),
            )
        ]
        for s in offer.steps
    ]
    rows.append([_back(t), menu_button(t)])
    return Screen(t("route.offer_close", course=esc(offer.course_title)), markup(rows))
