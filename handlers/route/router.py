"""«Мой маршрут (ИОМ)»: build from the self-assessment, edit the draft, confirm, follow it.

Screens by the state of the teacher's routes (``services.routes.home``):

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

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiogram import BaseMiddleware, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message, TelegramObject
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import Registered
from bot.i18n import Translator
from handlers.common import TYPED, esc, refuse, render, render_all
from handlers.home.callbacks import MenuCB
from handlers.route import screens
from handlers.route.callbacks import (
    DRAFT_KEY,
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
    RouteForm,
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
from models import User
from services import routes as svc
from services.instruments import InstrumentRegistry


def setup() -> Router:
    router = Router(name="route")
    router.message.filter(Registered())
    router.callback_query.filter(Registered())
    router.callback_query.middleware(LeaveTypedInput())
    cb = router.callback_query.register
    cb(route_home, MenuCB.filter(F.to == "route"))
    cb(route_home, RouteHome.filter())
    cb(route_active, RouteActive.filter())
    cb(route_build, RouteBuild.filter())
    cb(route_step, StepOpen.filter())
    cb(route_remove, StepRemove.filter())
    cb(route_discard_ask, DraftDiscardAsk.filter())
    cb(route_discard, DraftDiscard.filter())
    cb(route_confirm, DraftConfirm.filter())
    cb(route_pick_month, StepTerm.filter())
    cb(route_set_month, StepMonth.filter())
    cb(route_add, AddStep.filter())
    cb(route_add_block, AddBlock.filter())
    cb(route_add_catalog, AddCatalogItem.filter())
    cb(route_add_own, AddOwnStep.filter())
    cb(route_done, StepDone.filter())
    cb(route_reopen, StepReopen.filter())
    cb(route_close, StepClose.filter())
    cb(route_download, RouteDocx.filter())
    cb(route_close_with_course, StepCloseWithCourse.filter())
    router.message.register(typed_answer, RouteForm.title, TYPED)
    router.message.register(typed_answer, RouteForm.reason, TYPED)
    router.message.register(typed_not_text, RouteForm.title, ~F.text)
    router.message.register(typed_not_text, RouteForm.reason, ~F.text)
    return router


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


def refuse_error(callback_answer: CallbackAnswer, t: Translator, exc: svc.RouteError) -> None:
    refuse(callback_answer, t(exc.code, **exc.params))


# ---------------------------------------------------------------- the route's screens


async def route_home(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    state: FSMContext,
) -> None:
    await state.clear()
    await render_all(query, screens.home(await svc.home(session, registry, user.id), t))


async def route_active(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    state: FSMContext,
) -> None:
    await state.clear()
    await render_all(query, screens.home(await svc.active_home(session, registry, user.id), t))


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
        route = await svc.build(session, registry, user, now)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    await render_all(query, screens.route_screen(route, t))


# ---------------------------------------------------------------- editing the draft


async def route_step(
    query: CallbackQuery,
    callback_data: StepOpen,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        card = await svc.step_card(session, registry, user.id, callback_data.step)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    await render(query, screens.step_card(card, t))


async def route_discard_ask(
    query: CallbackQuery,
    callback_data: DraftDiscardAsk,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        draft = await svc.draft_to_discard(session, registry, user.id, callback_data.route)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    await render(query, screens.discard_confirm(draft, t))


async def route_remove(
    query: CallbackQuery,
    callback_data: StepRemove,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        route = await svc.remove(session, registry, user.id, callback_data.step)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    callback_answer.text = t("route.removed")
    await render_all(query, screens.route_screen(route, t))


async def route_discard(
    query: CallbackQuery,
    callback_data: DraftDiscard,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        view = await svc.discard(session, registry, user.id, callback_data.route)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    callback_answer.text = t("route.discarded")
    await render_all(query, screens.home(view, t))


async def route_confirm(
    query: CallbackQuery,
    callback_data: DraftConfirm,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        route = await svc.confirm_draft(session, registry, user.id, callback_data.route, now)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    await render_all(query, screens.route_screen(route, t, notice=t("route.confirmed")))


async def route_pick_month(
    query: CallbackQuery,
    callback_data: StepTerm,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        picker = await svc.month_picker(session, user.id, callback_data.step, now.date())
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    await render(query, screens.month_picker(picker, t))


async def route_set_month(
    query: CallbackQuery,
    callback_data: StepMonth,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        done = await svc.set_month(
            session, registry, user.id, callback_data.step, callback_data.month, now.date()
        )
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    callback_answer.text = t("route.date_set", date=t.date(done.step.target_date))
    await render_all(query, screens.route_screen(done.route, t))


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
    try:
        blocks = await svc.add_menu(session, registry, user.id)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    await render(query, screens.add_menu(blocks, t))


async def route_add_block(
    query: CallbackQuery,
    callback_data: AddBlock,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        page = await svc.catalog_page(
            session, user, callback_data.block, callback_data.page, now.date()
        )
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    await render(query, screens.catalog_page(page, t))


async def route_add_catalog(
    query: CallbackQuery,
    callback_data: AddCatalogItem,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        route = await svc.add_from_catalog(
            session, registry, user, callback_data.item, callback_data.block, now.date()
        )
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    callback_answer.text = t("route.added")
    await render_all(query, screens.route_screen(route, t))


# ---------------------------------------------------------------- the typed inputs (one dialog)


def state_of(step: str) -> str | None:
    """The state that asks ``step`` of the dialog (``None``: a step chosen by a button)."""
    return next((s.state for s in RouteForm.__states__ if s.state == f"RouteForm:{step}"), None)


async def ask_next(state: FSMContext, draft: dict[str, object]) -> None:
    """Keep the draft and ask the step it still misses (``services.routes.next_step``)."""
    step = svc.next_step(draft)
    await state.set_state(state_of(step) if step else None)
    await state.update_data({DRAFT_KEY: draft})


async def route_add_own(
    query: CallbackQuery,
    callback_data: AddOwnStep,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        draft = await svc.start_own_step(session, user.id, callback_data.block, callback_data.kind)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    await ask_next(state, draft)
    await render(query, screens.ask_title(str(draft["kind"]), str(draft["block"]), t))


async def route_close(
    query: CallbackQuery,
    callback_data: StepClose,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        draft, step = await svc.start_closing(session, user.id, callback_data.step)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    await ask_next(state, draft)
    await render(query, screens.ask_reason(step, t))


async def typed_answer(
    message: Message,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    state: FSMContext,
) -> None:
    """The answer to the step the state names: checked, kept in the draft; the last one
    writes the rows."""
    draft = dict((await state.get_data()).get(DRAFT_KEY) or {})
    step = svc.next_step(draft)
    try:
        if step is None or await state.get_state() != state_of(step):
            raise svc.Stale()
        draft[step] = svc.check_answer(step, message.text or "")
        # every typed step is the last one of its dialog: the draft is complete now
        done = await svc.finish(session, registry, user.id, draft, now)
    except svc.Stale:
        await state.clear()
        await render(message, screens.dialog_stale(t))
        return
    except svc.RouteError as exc:
        await render(message, screens.typed_refused(t(exc.code, **exc.params), t))
        return
    await state.clear()
    notice = t("route.added") if draft["aim"] == svc.AIM_ADD else t("route.closed", n=done.step.n)
    await render_all(message, screens.route_screen(done.route, t, notice=notice))


async def typed_not_text(message: Message, t: Translator) -> None:
    await render(message, screens.typed_refused(t("route.error.need_text"), t))


# ---------------------------------------------------------------- following the active route


async def route_done(
    query: CallbackQuery,
    callback_data: StepDone,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        done = await svc.mark_step_done(session, registry, user.id, callback_data.step, now)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    callback_answer.text = t("route.marked_done", n=done.step.n)
    await render_all(query, screens.route_screen(done.route, t))


async def route_reopen(
    query: CallbackQuery,
    callback_data: StepReopen,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        done = await svc.reopen(session, registry, user.id, callback_data.step)
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    callback_answer.text = t("route.reopened", n=done.step.n)
    await render_all(query, screens.route_screen(done.route, t))


async def route_download(
    query: CallbackQuery,
    callback_data: RouteDocx,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        data = await svc.route_document(session, registry, user, callback_data.route, t, now.date())
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    if query.message is None or query.bot is None:
        return
    await query.bot.send_document(
        query.message.chat.id,
        BufferedInputFile(data, filename=f"{t('route.docx_name')}-{now.date().isoformat()}.docx"),
        caption=t("route.docx_caption"),
    )


# ---------------------------------------------------------------- «Мои курсы»


async def route_close_with_course(
    query: CallbackQuery,
    callback_data: StepCloseWithCourse,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        done = await svc.close_with_course(
            session, registry, user.id, callback_data.step, callback_data.course, now
        )
    except svc.RouteError as exc:
        refuse_error(callback_answer, t, exc)
        return
    notice = t("route.closed_with_course", n=done.step.n, course=esc(done.course_title))
    await render_all(query, screens.route_screen(done.route, t, notice=notice))
