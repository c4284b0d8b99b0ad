"""«Мой маршрут (ИОМ)»: build from the self-assessment, edit the draft, confirm, follow it.

Screens by the state of the teacher's routes (``services.routes.overview``):

* none — explain; build from the last self-assessment, or take the self-assessment first;
* draft — the proposed steps with the deficit each answers; remove, add (catalog by block
  or an own step typed by the teacher), change a term (a month picker), confirm;
* active — steps with status and progress; done / close with a typed reason; DOCX; the
  update offer when a newer self-assessment exists (a new draft, never an overwrite);
* completed — the change per block (before → after) once the teacher re-assessed.

Every id in a button is checked by the service against the teacher's own routes; a forged
or stale one gets ``common.stale`` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from aiogram import BaseMiddleware, F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
)
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import Registered
from bot.i18n import Translator
from handlers.common import button, esc, grid, is_menu_or_command, markup, refuse, show, split_text
from handlers.home.callbacks import MenuCB
from handlers.home.screens import menu_button
from handlers.surveys.callbacks import SurveyOpen
from models import Course, Route, RouteStatus, RouteStep, StepStatus, User
from services import routes as svc
from services.instruments import InstrumentRegistry
from services.route_docx import TeacherLine, block_label, level_label, route_docx, step_form

router = Router(name="route")
router.message.filter(Registered())
router.callback_query.filter(Registered())

CATALOG_PAGE = 6
TITLE_SHOWN = 200  # characters of a catalog title in a list
BUTTON_TITLE = 40  # characters of a step title on a button


class RouteCB(CallbackData, prefix="rt"):
    """``action`` and up to three numbers: ``id`` (a step, route or catalog item),
    ``v`` (a block index, a month offset or a course id) and ``p`` (a page or a kind)."""

    action: str
    id: int = 0
    v: int = 0
    p: int = 0


class RouteForm(StatesGroup):
    custom_title = State()
    close_reason = State()


class LeaveTypedInput(BaseMiddleware):
    """Any button of this screen ends a pending typed input (a step title, a reason), so a
    later message is never taken as the answer to a question no longer on screen."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        state: FSMContext | None = data.get("state")
        if state is not None and await state.get_state() in RouteForm:
            await state.clear()
        return await handler(event, data)


router.callback_query.middleware(LeaveTypedInput())


# ---------------------------------------------------------------- rendering


def answers_text(step: RouteStep, t: Translator) -> str | None:
    if not step.block:
        return None
    block = block_label(t, step.block).lower()
    if step.level and t.has(f"route.level.{step.level}"):
        return t("route.answers", block=block, level=level_label(t, step.level))
    return t("route.answers_block", block=block)


def step_text(step: RouteStep, n: int, t: Translator, *, icons: bool) -> str:
    number = f"{t(f'route.status_{step.status}')} {n}" if icons else str(n)
    answers = answers_text(step, t)
    params = {
        "n": number,
        "title": esc(step.title),
        "form": esc(step_form(step, t)),
        "date": t.date(step.target_date),
    }
    text = (
        t("route.step_line", answers=answers, **params)
        if answers
        else t("route.step_line_free", **params)
    )
    if step.status == StepStatus.DONE.value and step.done_at is not None:
        text += "\n" + t("route.done_line", date=t.date(step.done_at))
    elif step.status == StepStatus.CLOSED.value:
        text += "\n" + t("route.closed_line", reason=esc(step.closed_reason or ""))
    return text


def short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def render(
    event: Message | CallbackQuery,
    blocks: Sequence[str],
    kb: InlineKeyboardMarkup,
) -> None:
    """One screen: edited in place when it fits one message, else new messages under the
    limit with the keyboard under the last one."""
    messages = split_text(blocks)
    if len(messages) == 1:
        await show(event, messages[0], kb)
        return
    if isinstance(event, CallbackQuery):
        if event.message is None or event.bot is None:
            return
        chat_id = event.message.chat.id
        for i, text in enumerate(messages):
            last = i == len(messages) - 1
            await event.bot.send_message(chat_id, text, reply_markup=kb if last else None)
        return
    for i, text in enumerate(messages):
        await event.answer(text, reply_markup=kb if i == len(messages) - 1 else None)


def _with_notice(notice: str, blocks: list[str]) -> list[str]:
    return [notice, *blocks] if notice else blocks


async def draft_screen(
    route: Route,
    *,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    notice: str = "",
) -> tuple[list[str], InlineKeyboardMarkup]:
    diagnosed = await svc.diagnosed_at(session, route)
    head = [t("route.draft_title"), t("route.draft_intro", date=t.date(diagnosed))]
    active = await svc.active_of(session, route.user_id)
    if active is not None:
        head.append(t("route.draft_replaces"))
    newer = await svc.newer_diagnosis(session, registry, route)
    if newer is not None:
        head.append(t("route.newer_draft", date=t.date(newer.completed_at)))
    blocks = ["\n\n".join(head)]
    if not route.steps:
        blocks.append(t("route.draft_empty"))
    blocks += [step_text(s, i + 1, t, icons=False) for i, s in enumerate(route.steps)]
    rows: list[list[InlineKeyboardButton]] = [
        [
            button(t("route.btn_remove", n=i + 1), RouteCB(action="rm", id=s.id)),
            button(t("route.btn_date", n=i + 1), RouteCB(action="date", id=s.id)),
        ]
        for i, s in enumerate(route.steps)
    ]
    rows.append([button(t("route.btn_add"), RouteCB(action="add"))])
    if newer is not None:
        rows.append([button(t("route.btn_update_draft"), RouteCB(action="build"))])
    if route.steps:
        rows.append([button(t("route.btn_confirm"), RouteCB(action="ok", id=route.id))])
    tail = [button(t("route.btn_discard"), RouteCB(action="drop", id=route.id))]
    if active is not None:
        tail.append(button(t("route.btn_active"), RouteCB(action="act")))
    rows.append(tail)
    rows.append([menu_button(t)])
    return _with_notice(notice, blocks), markup(rows)


def active_screen(
    route: Route,
    newer: svc.Diagnosis | None,
    *,
    t: Translator,
    notice: str = "",
) -> tuple[list[str], InlineKeyboardMarkup]:
    done = sum(1 for s in route.steps if s.status != StepStatus.PLANNED.value)
    head = [
        t("route.active_title", date=t.date(route.activated_at or route.created_at)),
        t("route.progress", percent=svc.progress(route), done=done, total=len(route.steps)),
    ]
    if newer is not None:
        head.append(t("route.newer", date=t.date(newer.completed_at)))
    blocks = ["\n".join(head[:2]) + ("\n\n" + head[2] if len(head) > 2 else "")]
    blocks += [step_text(s, i + 1, t, icons=True) for i, s in enumerate(route.steps)]
    rows: list[list[InlineKeyboardButton]] = [
        [
            button(t("route.btn_done", n=i + 1), RouteCB(action="done", id=s.id)),
            button(t("route.btn_close", n=i + 1), RouteCB(action="close", id=s.id)),
        ]
        if s.status == StepStatus.PLANNED.value
        else [button(t("route.btn_reopen", n=i + 1), RouteCB(action="undo", id=s.id))]
        for i, s in enumerate(route.steps)
    ]
    rows.append([button(t("route.btn_docx"), RouteCB(action="docx", id=route.id))])
    if newer is not None:
        rows.append([button(t("route.btn_update"), RouteCB(action="build"))])
    rows.append([menu_button(t)])
    return _with_notice(notice, blocks), markup(rows)


def _score(value: float | None, level: str | None, t: Translator) -> str:
    if value is None:
        return t("route.change_none")
    text = f"{value:.0f}"
    return t("route.change_value", score=text, level=level_label(t, level))


async def completed_screen(
    route: Route,
    *,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    notice: str = "",
) -> tuple[list[str], InlineKeyboardMarkup]:
    closed = sum(1 for s in route.steps if s.status == StepStatus.CLOSED.value)
    done = sum(1 for s in route.steps if s.status == StepStatus.DONE.value)
    blocks = [
        t("route.completed_title", date=t.date(route.completed_at or route.created_at))
        + "\n"
        + t("route.completed_steps", total=len(route.steps), done=done, closed=closed)
    ]
    rows: list[list[InlineKeyboardButton]] = []
    change = await svc.route_change(session, registry, route)
    if change is None:
        blocks.append(t("route.change_wait"))
        survey = svc.deficit_instrument_ids(registry)
        if survey:
            rows.append([button(t("route.take_survey"), SurveyOpen(instrument=survey[0]))])
    else:
        after, changes = change
        lines = [t("route.change_title", date=t.date(after.completed_at))]
        for c in changes:
            delta = c.delta
            sign = "" if delta is None else ("+" if delta > 0 else ("−" if delta < 0 else "±"))
            lines.append(
                t(
                    "route.change_line",
                    block=block_label(t, c.block),
                    before=_score(c.before, c.before_level, t),
                    after=_score(c.after, c.after_level, t),
                    delta=t("route.change_none") if delta is None else f"{sign}{abs(delta):.0f}",
                )
            )
        blocks.append("\n".join(lines))
        rows.append([button(t("route.btn_new_route"), RouteCB(action="build"))])
    blocks += [step_text(s, i + 1, t, icons=True) for i, s in enumerate(route.steps)]
    if await svc.can_reopen(session, route):
        rows += [
            [button(t("route.btn_reopen", n=i + 1), RouteCB(action="undo", id=s.id))]
            for i, s in enumerate(route.steps)
        ]
    rows.append([button(t("route.btn_docx"), RouteCB(action="docx", id=route.id))])
    rows.append([menu_button(t)])
    return _with_notice(notice, blocks), markup(rows)


def none_screen(
    latest: svc.Diagnosis | None, *, t: Translator, registry: InstrumentRegistry
) -> tuple[list[str], InlineKeyboardMarkup]:
    rows: list[list[InlineKeyboardButton]] = []
    if latest is not None:
        text = t("route.none_with_diagnosis", date=t.date(latest.completed_at))
        rows.append([button(t("route.build"), RouteCB(action="build"))])
    else:
        text = t("route.none_without_diagnosis")
        survey = svc.deficit_instrument_ids(registry)
        if survey:
            rows.append([button(t("route.take_survey"), SurveyOpen(instrument=survey[0]))])
    rows.append([menu_button(t)])
    return [t("route.none_title") + "\n\n" + text], markup(rows)


async def show_route(
    event: Message | CallbackQuery,
    route: Route,
    *,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    notice: str = "",
) -> None:
    if route.status == RouteStatus.DRAFT.value:
        blocks, kb = await draft_screen(
            route, t=t, session=session, registry=registry, notice=notice
        )
    elif route.status == RouteStatus.ACTIVE.value:
        newer = await svc.newer_diagnosis(session, registry, route)
        blocks, kb = active_screen(route, newer, t=t, notice=notice)
    else:
        blocks, kb = await completed_screen(
            route, t=t, session=session, registry=registry, notice=notice
        )
    await render(event, blocks, kb)


async def show_home(
    event: Message | CallbackQuery,
    *,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    notice: str = "",
) -> None:
    view = await svc.overview(session, registry, user.id)
    route = view.draft or view.active or view.completed
    if route is None:
        blocks, kb = none_screen(view.latest, t=t, registry=registry)
        await render(event, _with_notice(notice, blocks), kb)
        return
    await show_route(event, route, t=t, session=session, registry=registry, notice=notice)


def refuse_error(callback_answer: CallbackAnswer, t: Translator, exc: svc.RouteError) -> None:
    refuse(callback_answer, t(exc.code, **exc.params))


# ---------------------------------------------------------------- screens and actions


@router.callback_query(MenuCB.filter(F.to == "route"))
@router.callback_query(RouteCB.filter(F.action == "home"))
async def route_home(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    state: FSMContext,
) -> None:
    await state.clear()
    await show_home(query, user=user, t=t, session=session, registry=registry)


@router.callback_query(RouteCB.filter(F.action == "act"))
async def route_active(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    state: FSMContext,
) -> None:
    await state.clear()
    route = await svc.active_of(session, user.id)
    if route is None:
        await show_home(query, user=user, t=t, session=session, registry=registry)
        return
    await show_route(query, route, t=t, session=session, registry=registry)


@router.callback_query(RouteCB.filter(F.action == "build"))
async def route_build(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await state.clear()
    try:
        route = await svc.build_for_latest(session, registry, user, now)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    await show_route(query, route, t=t, session=session, registry=registry)


@router.callback_query(RouteCB.filter(F.action == "rm"))
async def route_remove(
    query: CallbackQuery,
    callback_data: RouteCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        route = await svc.remove_step(session, user.id, callback_data.id)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    callback_answer.text = t("route.removed")
    await show_route(query, route, t=t, session=session, registry=registry)


@router.callback_query(RouteCB.filter(F.action == "drop"))
async def route_discard(
    query: CallbackQuery,
    callback_data: RouteCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    callback_answer: CallbackAnswer,
) -> None:
    draft = await svc.draft_of(session, user.id)
    if draft is None or draft.id != callback_data.id:
        refuse_error(callback_answer, t, svc.Stale())
        return
    await svc.discard_draft(session, user.id)
    callback_answer.text = t("route.discarded")
    await show_home(query, user=user, t=t, session=session, registry=registry)


@router.callback_query(RouteCB.filter(F.action == "ok"))
async def route_confirm(
    query: CallbackQuery,
    callback_data: RouteCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    draft = await svc.draft_of(session, user.id)
    if draft is None or draft.id != callback_data.id:
        refuse_error(callback_answer, t, svc.Stale())
        return
    try:
        route = await svc.confirm(session, user.id, now)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    await show_route(
        query, route, t=t, session=session, registry=registry, notice=t("route.confirmed")
    )


# ---- term: a month picker


@router.callback_query(RouteCB.filter(F.action == "date"))
async def route_pick_month(
    query: CallbackQuery,
    callback_data: RouteCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        route, step = await svc.dated_step(session, user.id, callback_data.id)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    n = route.steps.index(step) + 1
    months = [
        button(
            t("route.month_button", month=t(f"route.month.{d.month}"), year=d.year),
            RouteCB(action="setd", id=step.id, v=i),
        )
        for i, d in enumerate(svc.month_choices(now.date()))
    ]
    rows = [*grid(months, 3), [button(t("route.btn_back"), RouteCB(action="home")), menu_button(t)]]
    text = t("route.month_title", n=n, title=esc(step.title))
    await show(query, text, markup(rows))


@router.callback_query(RouteCB.filter(F.action == "setd"))
async def route_set_month(
    query: CallbackQuery,
    callback_data: RouteCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        step = await svc.set_target_month(
            session, user.id, callback_data.id, callback_data.v, now.date()
        )
        route = await svc.route_by_id(session, user.id, step.route_id)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    callback_answer.text = t("route.date_set", date=t.date(step.target_date))
    await show_route(query, route, t=t, session=session, registry=registry)


# ---- adding a step


def _block_at(index: int) -> str | None:
    return svc.BLOCKS[index] if 0 <= index < len(svc.BLOCKS) else None


@router.callback_query(RouteCB.filter(F.action == "add"))
async def route_add(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await state.clear()
    draft = await svc.draft_of(session, user.id)
    if draft is None:
        refuse_error(callback_answer, t, svc.Stale())
        return
    levels = await svc.baseline_levels(session, registry, draft)
    rows: list[list[InlineKeyboardButton]] = []
    for i, block in enumerate(svc.BLOCKS):
        level = levels.get(block)
        label = (
            t("route.add_block_level", block=block_label(t, block), level=level_label(t, level))
            if level in svc.DEFICIT_LEVELS
            else t("route.add_block", block=block_label(t, block))
        )
        rows.append([button(label, RouteCB(action="addb", v=i))])
    rows.append([button(t("route.btn_back"), RouteCB(action="home")), menu_button(t)])
    await show(query, t("route.add_title"), markup(rows))


def _catalog_details(entry: svc.CatalogEntry, t: Translator) -> str:
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


@router.callback_query(RouteCB.filter(F.action == "addb"))
async def route_add_block(
    query: CallbackQuery,
    callback_data: RouteCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    block = _block_at(callback_data.v)
    draft = await svc.draft_of(session, user.id)
    if block is None or draft is None:
        refuse_error(callback_answer, t, svc.Stale())
        return
    in_route = {s.catalog_item_id for s in draft.steps if s.catalog_item_id}
    items = [
        e
        for e in await svc.catalog_for_block(session, user, block, now.date())
        if e.id not in in_route
    ]
    pages = max(1, -(-len(items) // CATALOG_PAGE))
    page = min(max(callback_data.p, 0), pages - 1)
    chunk = items[page * CATALOG_PAGE : (page + 1) * CATALOG_PAGE]
    label = block_label(t, block)
    if chunk:
        lines = [t("route.catalog_title", block=label, page=page + 1, pages=pages)]
        for n, entry in enumerate(chunk, start=1):
            lines.append(
                t(
                    "route.catalog_line",
                    n=n,
                    title=esc(short(entry.title, TITLE_SHOWN)),
                    details=_catalog_details(entry, t),
                )
            )
        text = "\n\n".join(lines)
    else:
        text = t("route.catalog_empty", block=label)
    picks = [
        button(
            t("route.btn_pick", n=n),
            RouteCB(action="addc", id=entry.id, v=callback_data.v, p=page),
        )
        for n, entry in enumerate(chunk, start=1)
    ]
    rows = grid(picks, 3)
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(button(t("common.prev"), RouteCB(action="addb", v=callback_data.v, p=page - 1)))
    if page < pages - 1:
        nav.append(button(t("common.next"), RouteCB(action="addb", v=callback_data.v, p=page + 1)))
    rows.append(nav)
    for i, kind in enumerate(svc.CUSTOM_KINDS):
        own = t("route.btn_own", kind=t(f"route.kind.{kind}").lower())
        rows.append([button(own, RouteCB(action="addo", v=callback_data.v, p=i))])
    rows.append(
        [
            button(t("route.btn_blocks"), RouteCB(action="add")),
            button(t("route.btn_back"), RouteCB(action="home")),
        ]
    )
    rows.append([menu_button(t)])
    await show(query, text, markup(rows))


@router.callback_query(RouteCB.filter(F.action == "addc"))
async def route_add_catalog(
    query: CallbackQuery,
    callback_data: RouteCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    block = _block_at(callback_data.v)
    try:
        if block is None:
            raise svc.Stale()
        step = await svc.add_catalog_step(
            session, registry, user, callback_data.id, block, now.date()
        )
        route = await svc.route_by_id(session, user.id, step.route_id)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    callback_answer.text = t("route.added")
    await show_route(query, route, t=t, session=session, registry=registry)


@router.callback_query(RouteCB.filter(F.action == "addo"))
async def route_add_own(
    query: CallbackQuery,
    callback_data: RouteCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    block = _block_at(callback_data.v)
    kinds = svc.CUSTOM_KINDS
    if block is None or not 0 <= callback_data.p < len(kinds):
        refuse_error(callback_answer, t, svc.Stale())
        return
    if await svc.draft_of(session, user.id) is None:
        refuse_error(callback_answer, t, svc.Stale())
        return
    kind = kinds[callback_data.p]
    await state.set_state(RouteForm.custom_title)
    await state.update_data(block=block, kind=str(kind))
    text = t("route.ask_title", kind=t(f"route.kind.{kind}"), block=block_label(t, block))
    await show(query, text, markup([[button(t("route.btn_cancel"), RouteCB(action="home"))]]))


def _typed(text: str) -> bool:
    """A typed answer, not a command or the «Главное меню» reply button."""
    return not is_menu_or_command(text)


@router.message(RouteForm.custom_title, F.text.func(_typed))
async def got_custom_title(
    message: Message,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    try:
        step = await svc.add_custom_step(
            session,
            registry,
            user.id,
            str(data.get("kind") or ""),
            str(data.get("block") or ""),
            message.text or "",
            now.date(),
        )
        route = await svc.route_by_id(session, user.id, step.route_id)
    except svc.Stale:
        await state.clear()
        await message.answer(t("common.stale"), reply_markup=markup([[menu_button(t)]]))
        return
    except svc.RouteError as exc:
        await message.answer(t(exc.code, **exc.params), reply_markup=_cancel(t))
        return
    await state.clear()
    await show_route(
        message, route, t=t, session=session, registry=registry, notice=t("route.added")
    )


def _cancel(t: Translator) -> InlineKeyboardMarkup:
    return markup([[button(t("route.btn_cancel"), RouteCB(action="home"))]])


# ---- following the active route


@router.callback_query(RouteCB.filter(F.action == "done"))
async def route_done(
    query: CallbackQuery,
    callback_data: RouteCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        route = await svc.mark_done(session, user.id, callback_data.id, now)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    n = next(i for i, s in enumerate(route.steps, start=1) if s.id == callback_data.id)
    callback_answer.text = t("route.marked_done", n=n)
    await show_route(query, route, t=t, session=session, registry=registry)


@router.callback_query(RouteCB.filter(F.action == "undo"))
async def route_reopen(
    query: CallbackQuery,
    callback_data: RouteCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        route = await svc.reopen_step(session, user.id, callback_data.id)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    n = next(i for i, s in enumerate(route.steps, start=1) if s.id == callback_data.id)
    callback_answer.text = t("route.reopened", n=n)
    await show_route(query, route, t=t, session=session, registry=registry)


@router.callback_query(RouteCB.filter(F.action == "close"))
async def route_close(
    query: CallbackQuery,
    callback_data: RouteCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        route, step = await svc.check_closable(session, user.id, callback_data.id)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    await state.set_state(RouteForm.close_reason)
    await state.update_data(step=step.id)
    n = route.steps.index(step) + 1
    await show(query, t("route.ask_reason", n=n, title=esc(step.title)), _cancel(t))


@router.message(RouteForm.close_reason, F.text.func(_typed))
async def got_close_reason(
    message: Message,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    state: FSMContext,
) -> None:
    step_id = int((await state.get_data()).get("step") or 0)
    try:
        route = await svc.close_step(session, user.id, step_id, message.text or "", now)
    except svc.Stale:
        await state.clear()
        await message.answer(t("common.stale"), reply_markup=markup([[menu_button(t)]]))
        return
    except svc.RouteError as exc:
        await message.answer(t(exc.code, **exc.params), reply_markup=_cancel(t))
        return
    await state.clear()
    n = next(i for i, s in enumerate(route.steps, start=1) if s.id == step_id)
    await show_route(
        message, route, t=t, session=session, registry=registry, notice=t("route.closed", n=n)
    )


@router.message(RouteForm.custom_title, F.func(lambda m: not m.text))
@router.message(RouteForm.close_reason, F.func(lambda m: not m.text))
async def typed_not_text(message: Message, t: Translator) -> None:
    await message.answer(t("route.error.need_text"), reply_markup=_cancel(t))


@router.callback_query(RouteCB.filter(F.action == "docx"))
async def route_download(
    query: CallbackQuery,
    callback_data: RouteCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        route = await svc.route_by_id(session, user.id, callback_data.id)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    teacher = TeacherLine(
        name=user.full_name or "",
        organisation=user.school.name if user.school else "",
        position=t(f"position.{user.position}") if user.position else "",
    )
    data = route_docx(route, teacher, t, diagnosed_on=await svc.diagnosed_at(session, route))
    name = f"{t('route.docx_name')}-{now.date().isoformat()}.docx"
    if query.message is None or query.bot is None:
        return
    await query.bot.send_document(
        query.message.chat.id,
        BufferedInputFile(data, filename=name),
        caption=t("route.docx_caption"),
    )


# ---- the extension point for «Мои курсы»


async def offer_to_close_steps(
    event: Message | CallbackQuery,
    steps: Sequence[RouteStep],
    course: Course,
    *,
    t: Translator,
) -> None:
    """After a course is saved: offer to close the steps it matches (one button per step).

    ``steps`` come from :func:`services.routes.steps_matching_course`; nothing is sent when
    there are none. The buttons are handled here (``rt:cw``), re-checked by the service.
    """
    if not steps:
        return
    rows = [
        [
            button(
                t("route.btn_close_with", title=short(s.title, BUTTON_TITLE)),
                RouteCB(action="cw", id=s.id, v=course.id),
            )
        ]
        for s in steps
    ]
    rows.append([button(t("route.btn_back"), RouteCB(action="home")), menu_button(t)])
    text = t("route.offer_close", course=esc(course.title))
    if isinstance(event, CallbackQuery):
        if event.message is None or event.bot is None:
            return
        await event.bot.send_message(event.message.chat.id, text, reply_markup=markup(rows))
        return
    await event.answer(text, reply_markup=markup(rows))


@router.callback_query(RouteCB.filter(F.action == "cw"))
async def route_close_with_course(
    query: CallbackQuery,
    callback_data: RouteCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        route = await svc.close_step_with_course(
            session, user.id, callback_data.id, callback_data.v, now
        )
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    step = next(s for s in route.steps if s.id == callback_data.id)
    course = await session.get(Course, callback_data.v)
    n = route.steps.index(step) + 1
    notice = t("route.closed_with_course", n=n, course=esc(course.title if course else ""))
    await show_route(query, route, t=t, session=session, registry=registry, notice=notice)
