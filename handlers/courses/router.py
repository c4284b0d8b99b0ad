"""«Мои курсы»: the list, a course card, adding a course (a dialog), editing one field.

Adding follows the one dialog pattern: the state of :class:`CourseForm` names the step being
asked, the answers so far are a draft (:class:`services.courses.Draft`) kept as JSON in the
FSM data under ``co_draft``, the step to ask is :func:`services.courses.next_step` of that
draft, each answer is checked by a service function (a :class:`CourseError` carries the
locale key), and the summary's «Сохранить» calls :func:`services.courses.save_draft`, then
clears the state. Editing one field of a recorded course reuses the same steps with
``co_edit`` set to the course id. The FSM storage is in the database, so a dialog survives a
restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import Registered
from bot.i18n import Translator
from handlers.calendar.callbacks import CalendarCB
from handlers.calendar.parse import read
from handlers.common import TYPED, refuse, render, send_new
from handlers.courses import screens
from handlers.courses.callbacks import (
    AttestationDate,
    BlocksDone,
    BlockToggle,
    CourseCancel,
    CourseCertificate,
    CourseDelete,
    CourseDeleteConfirmed,
    CourseEdit,
    CourseEditField,
    CourseForm,
    CourseList,
    CourseNew,
    CourseOpen,
    CourseResume,
    CourseSave,
    CourseStepBack,
    FormatPick,
    HoursConfirm,
    HoursFix,
    KindPick,
    ProviderPage,
    ProviderPick,
    StepSkip,
)
from handlers.home.callbacks import MenuCB
from handlers.route import screens as route_screens
from models import User
from services import courses as svc
from services.courses import CourseError, Draft, DraftIncomplete

# keys of the FSM data this feature owns
D_DRAFT = "co_draft"  # the answers of the course being added (JSON of a Draft)
D_EDIT = "co_edit"  # id of the course whose field is being changed
D_HOURS = "co_hours"  # hours waiting for «Да, верно» (retraining under 250 h)
D_BLOCKS = "co_blocks"  # blocks being ticked while editing

NOT_MENU = ~F.text | TYPED  # anything but a command or the «🏠 Главное меню» button


def setup() -> Router:
    router = Router(name="courses")
    router.message.filter(Registered())
    router.callback_query.filter(Registered())
    on_button = router.callback_query.register
    on_button(open_courses, MenuCB.filter(F.to == "courses"))
    on_button(list_page, CourseList.filter())
    on_button(open_course, CourseOpen.filter())
    on_button(choose_field, CourseEdit.filter())
    on_button(ask_delete, CourseDelete.filter())
    on_button(delete_course, CourseDeleteConfirmed.filter())
    on_button(send_certificate, CourseCertificate.filter())
    on_button(edit_field, CourseEditField.filter())
    on_button(attestation_date, AttestationDate.filter())
    on_button(new_course, CourseNew.filter())
    on_button(resume, CourseResume.filter())
    on_button(cancel, CourseCancel.filter())
    on_button(step_back, CourseStepBack.filter())
    on_button(provider_page, ProviderPage.filter())
    on_button(provider_pick, ProviderPick.filter())
    on_button(kind_pick, KindPick.filter())
    on_button(format_pick, FormatPick.filter())
    on_button(hours_confirm, HoursConfirm.filter())
    on_button(hours_fix, HoursFix.filter())
    on_button(block_toggle, BlockToggle.filter())
    on_button(blocks_done, BlocksDone.filter())
    on_button(skip, StepSkip.filter())
    on_button(save, CourseSave.filter())
    on_button(calendar_button, CalendarCB.filter(F.f.in_(set(screens.CAL_FIELDS))))
    typed_states = [getattr(CourseForm, s) for s in sorted(svc.TYPED_STEPS)]
    all_states = [getattr(CourseForm, s) for s in sorted(svc.TYPED_STEPS | svc.BUTTON_STEPS)]
    router.message.register(typed_answer, TYPED, StateFilter(*typed_states))
    router.message.register(certificate_file, CourseForm.certificate, NOT_MENU)
    router.message.register(unexpected_message, StateFilter(*all_states), NOT_MENU)
    return router


@dataclass
class Ctx:
    """What every step needs: the teacher, their texts, the conversation, the session."""

    user: User
    t: Translator
    state: FSMContext
    session: AsyncSession
    today: date


def _ctx(user: User, t: Translator, state: FSMContext, session: AsyncSession, now: datetime) -> Ctx:
    return Ctx(user, t, state, session, now.date())


# "CourseForm:title" -> "title": the step of the course dialog a conversation state names
_STEP_OF_STATE = {
    state.state: name for name, state in vars(CourseForm).items() if isinstance(state, State)
}


async def _step_of(state: FSMContext) -> str | None:
    return _STEP_OF_STATE.get(await state.get_state() or "")


async def _expect(state: FSMContext, *steps: str) -> str | None:
    step = await _step_of(state)
    return step if step in steps else None


def _edit_id(data: dict[str, Any]) -> int | None:
    edit_id = data.get(D_EDIT)
    return edit_id if isinstance(edit_id, int) else None


async def _pause(c: Ctx) -> None:
    """Leave the dialog without losing a draft: it can be continued from «Мои курсы»."""
    if await _step_of(c.state) is not None:
        await c.state.set_state(None)
    data = await c.state.get_data()
    if any(data.get(k) is not None for k in (D_EDIT, D_HOURS, D_BLOCKS)):
        await c.state.update_data({D_EDIT: None, D_HOURS: None, D_BLOCKS: None})


async def show_list(
    event: Message | CallbackQuery, c: Ctx, page: int = 0, notice: str = ""
) -> None:
    waiting = (await c.state.get_data()).get(D_DRAFT) is not None
    view = await svc.overview(c.session, c.user, c.today, page=page, resumable=waiting)
    await render(event, screens.overview(view, c.t, notice))


async def ask(
    event: Message | CallbackQuery,
    c: Ctx,
    step: str,
    *,
    notice: str = "",
    page: int = 0,
    month: date | None = None,
) -> None:
    """Show the question of one step (adding, editing or the attestation date)."""
    data = await c.state.get_data()
    try:
        q = await svc.question(
            c.session,
            c.user,
            step,
            c.today,
            draft=Draft.from_data(data.get(D_DRAFT)),
            edit_id=_edit_id(data),
            pending_hours=data.get(D_HOURS),
            ticked=data.get(D_BLOCKS) or [],
            page=page,
            month=month,
        )
    except CourseError as exc:  # the course being edited is gone
        await _pause(c)
        await show_list(event, c, notice=c.t(exc.code))
        return
    await c.state.set_state(getattr(CourseForm, step))
    await render(event, screens.question(q, c.t, notice))


async def accept(event: Message | CallbackQuery, c: Ctx, step: str, value: Any) -> None:
    """Keep one checked answer: into the draft (then the next step) or the edited course."""
    t = c.t
    data = await c.state.get_data()
    edit_id = _edit_id(data)
    if edit_id is not None:
        try:
            edited = await svc.edit_step(c.session, c.user.id, edit_id, step, value, c.today)
        except CourseError as exc:
            if exc.code == "courses.error.not_found":
                await _pause(c)
                await show_list(event, c, notice=t(exc.code))
                return
            await ask(event, c, step, notice=t(exc.code, **exc.params))
            return
        await _pause(c)
        notice = t("courses.changed")
        if edited.hours_warning:
            notice += "\n" + t("courses.hours_warning_note")
        await render(event, screens.card(edited.card, t, notice))
        return
    try:
        draft = await svc.answer_step(c.session, Draft.from_data(data.get(D_DRAFT)), step, value)
    except CourseError as exc:
        await ask(event, c, step, notice=t(exc.code, **exc.params))
        return
    await c.state.update_data({D_DRAFT: draft.to_data(), D_HOURS: None})
    await ask(event, c, svc.step_to_ask(draft))


# ---------- «Мои курсы» and a course ----------


async def open_courses(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
) -> None:
    c = _ctx(user, t, state, session, now)
    await _pause(c)
    await show_list(query, c)


async def list_page(
    query: CallbackQuery,
    callback_data: CourseList,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
) -> None:
    c = _ctx(user, t, state, session, now)
    await _pause(c)
    await show_list(query, c, page=callback_data.page)


async def open_course(
    query: CallbackQuery,
    callback_data: CourseOpen,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    card = await svc.course_card(session, user.id, callback_data.course)
    if card is None:
        refuse(callback_answer, t("common.stale"))
        return
    await _pause(_ctx(user, t, state, session, now))
    await render(query, screens.card(card, t))


async def choose_field(
    query: CallbackQuery,
    callback_data: CourseEdit,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    card = await svc.course_card(session, user.id, callback_data.course)
    if card is None:
        refuse(callback_answer, t("common.stale"))
        return
    await _pause(_ctx(user, t, state, session, now))
    await render(query, screens.choose_field(card, t))


async def ask_delete(
    query: CallbackQuery,
    callback_data: CourseDelete,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    card = await svc.course_card(session, user.id, callback_data.course)
    if card is None:
        refuse(callback_answer, t("common.stale"))
        return
    await _pause(_ctx(user, t, state, session, now))
    await render(query, screens.confirm_delete(card, t))


async def delete_course(
    query: CallbackQuery,
    callback_data: CourseDeleteConfirmed,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    if not await svc.remove_course(session, user.id, callback_data.course):
        refuse(callback_answer, t("common.stale"))
        return
    c = _ctx(user, t, state, session, now)
    await _pause(c)
    await show_list(query, c, notice=t("courses.deleted"))


async def send_certificate(
    query: CallbackQuery,
    callback_data: CourseCertificate,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    """Send the stored file back by its Telegram file id (a photo as a photo)."""
    card = await svc.course_card(session, user.id, callback_data.course)
    bot = query.bot
    if card is None or card.certificate is None or bot is None:
        refuse(callback_answer, t("common.stale"))
        return
    await _pause(_ctx(user, t, state, session, now))
    cert = card.certificate
    message = screens.certificate_message(card, t)
    senders = [bot.send_document, bot.send_photo]
    if cert.is_photo:
        senders.reverse()
    for send in senders:
        try:
            await send(
                query.from_user.id,
                cert.file_id,
                caption=message.text,
                reply_markup=message.keyboard,
            )
            return
        except TelegramBadRequest:
            continue  # a file id of the other kind: try the other method
    refuse(callback_answer, t("courses.error.file_gone"))


async def edit_field(
    query: CallbackQuery,
    callback_data: CourseEditField,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    card = await svc.course_card(session, user.id, callback_data.course)
    try:
        if card is None:
            raise CourseError("common.stale")
        field = svc.edit_field_of(callback_data.field)
    except CourseError as exc:
        refuse(callback_answer, t(exc.code))
        return
    c = _ctx(user, t, state, session, now)
    await _pause(c)
    await state.update_data({D_EDIT: card.id, D_BLOCKS: list(card.blocks)})
    await ask(query, c, field)


async def attestation_date(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    if not user.category:  # the profile has no category answer yet
        refuse(callback_answer, t("common.stale"))
        return
    c = _ctx(user, t, state, session, now)
    await _pause(c)
    await ask(query, c, "att")


async def save_attestation(event: Message | CallbackQuery, c: Ctx, value: date) -> None:
    try:
        await svc.save_category_date(c.session, c.user, value, c.today)
    except CourseError as exc:
        await ask(event, c, "att", notice=c.t(exc.code, **exc.params))
        return
    await _pause(c)
    held = svc.has_category(c.user.category)
    saved = "courses.att_saved" if held else "courses.att_saved_conformity"
    await show_list(event, c, notice=c.t(saved))


# ---------- starting, continuing, leaving the dialog ----------


async def new_course(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
) -> None:
    c = _ctx(user, t, state, session, now)
    await state.update_data({D_DRAFT: Draft().to_data(), D_EDIT: None, D_HOURS: None})
    await ask(query, c, "title")


async def resume(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    data = await state.get_data()
    if data.get(D_DRAFT) is None:
        refuse(callback_answer, t("common.stale"))
        return
    c = _ctx(user, t, state, session, now)
    await state.update_data({D_EDIT: None})
    await ask(query, c, svc.step_to_ask(Draft.from_data(data.get(D_DRAFT))))


async def _adding_step(state: FSMContext) -> str | None:
    """The step of adding being asked (not editing, not the attestation date)."""
    step = await _step_of(state)
    data = await state.get_data()
    if step is None or step == "att" or _edit_id(data) is not None or data.get(D_DRAFT) is None:
        return None
    return step


async def cancel(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    if await _adding_step(state) is None:
        refuse(callback_answer, t("common.stale"))
        return
    await state.clear()
    await show_list(query, _ctx(user, t, state, session, now), notice=t("courses.cancelled"))


async def step_back(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    step = await _adding_step(state)
    draft = Draft.from_data((await state.get_data()).get(D_DRAFT))
    previous = svc.step_back(draft, step) if step is not None else None
    if previous is None:
        refuse(callback_answer, t("common.stale"))
        return
    await state.update_data({D_DRAFT: draft.to_data(), D_HOURS: None})
    await ask(query, _ctx(user, t, state, session, now), previous)


# ---------- answers given with buttons ----------


async def provider_page(
    query: CallbackQuery,
    callback_data: ProviderPage,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    if await _expect(state, "provider") is None:
        refuse(callback_answer, t("common.stale"))
        return
    await ask(query, _ctx(user, t, state, session, now), "provider", page=callback_data.page)


async def provider_pick(
    query: CallbackQuery,
    callback_data: ProviderPick,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        if await _expect(state, "provider") is None:
            raise CourseError("common.stale")
        provider = await svc.pick_provider(session, user.id, callback_data.provider)
    except CourseError as exc:
        refuse(callback_answer, t(exc.code))
        return
    await accept(query, _ctx(user, t, state, session, now), "provider", provider)


async def _choice(
    query: CallbackQuery,
    step: str,
    index: int,
    c: Ctx,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        if await _expect(c.state, step) is None:
            raise CourseError("common.stale")
        code = svc.check_choice(step, index)
    except CourseError as exc:
        refuse(callback_answer, c.t(exc.code))
        return
    await accept(query, c, step, code)


async def kind_pick(
    query: CallbackQuery,
    callback_data: KindPick,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    c = _ctx(user, t, state, session, now)
    await _choice(query, "kind", callback_data.index, c, callback_answer)


async def format_pick(
    query: CallbackQuery,
    callback_data: FormatPick,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    c = _ctx(user, t, state, session, now)
    await _choice(query, "format", callback_data.index, c, callback_answer)


async def hours_confirm(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    hours = (await state.get_data()).get(D_HOURS)
    if await _expect(state, "hours_warn") is None or not isinstance(hours, int):
        refuse(callback_answer, t("common.stale"))
        return
    await accept(query, _ctx(user, t, state, session, now), "hours", hours)


async def hours_fix(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    if await _expect(state, "hours_warn") is None:
        refuse(callback_answer, t("common.stale"))
        return
    await state.update_data({D_HOURS: None})
    await ask(query, _ctx(user, t, state, session, now), "hours")


async def block_toggle(
    query: CallbackQuery,
    callback_data: BlockToggle,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    data = await state.get_data()
    editing = _edit_id(data) is not None
    draft = Draft.from_data(data.get(D_DRAFT))
    try:
        if await _expect(state, "blocks") is None:
            raise CourseError("common.stale")
        ticked = data.get(D_BLOCKS) or [] if editing else draft.blocks
        chosen = svc.toggle_block(ticked, callback_data.index)
    except CourseError as exc:
        refuse(callback_answer, t(exc.code))
        return
    if editing:
        await state.update_data({D_BLOCKS: chosen})
    else:
        draft.blocks = chosen
        await state.update_data({D_DRAFT: draft.to_data()})
    await ask(query, _ctx(user, t, state, session, now), "blocks")


async def blocks_done(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    data = await state.get_data()
    editing = _edit_id(data) is not None
    ticked = data.get(D_BLOCKS) or [] if editing else Draft.from_data(data.get(D_DRAFT)).blocks
    try:
        if await _expect(state, "blocks") is None:
            raise CourseError("common.stale")
        chosen = svc.check_blocks(ticked)
    except CourseError as exc:
        refuse(callback_answer, t(exc.code))
        return
    await accept(query, _ctx(user, t, state, session, now), "blocks", chosen)


async def skip(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    step = await _expect(state, "certificate_number", "certificate")
    if step is None:
        refuse(callback_answer, t("common.stale"))
        return
    await accept(query, _ctx(user, t, state, session, now), step, None)


async def calendar_button(
    query: CallbackQuery,
    callback_data: CalendarCB,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    c = _ctx(user, t, state, session, now)
    step = screens.CAL_FIELDS[callback_data.f]
    data = await state.get_data()
    action = None
    if await _expect(state, step) is not None:
        try:
            q = await svc.question(
                session,
                user,
                step,
                c.today,
                draft=Draft.from_data(data.get(D_DRAFT)),
                edit_id=_edit_id(data),
            )
        except CourseError:
            q = None
        if q is not None and q.dates is not None:
            action = read(callback_data, lo=q.dates.lo, hi=q.dates.hi)
    if action is None:
        refuse(callback_answer, t("common.stale"))
        return
    if action.month is not None:
        await ask(query, c, step, month=action.month)
    elif action.picked is not None:
        if step == "att":
            await save_attestation(query, c, action.picked)
        else:
            await accept(query, c, step, action.picked)


# ---------- typed answers ----------


async def typed_answer(
    message: Message,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
) -> None:
    c = _ctx(user, t, state, session, now)
    step = await _step_of(state)
    assert step is not None
    if step == "hours_warn":
        step = "hours"  # typing new hours corrects them
    try:
        value = svc.check_typed(step, message.text or "", c.today)
    except CourseError as exc:
        await ask(message, c, step, notice=t(exc.code, **exc.params))
        return
    if step == "att":
        await save_attestation(message, c, value)
        return
    if step == "hours":
        data = await state.get_data()
        draft = Draft.from_data(data.get(D_DRAFT))
        if await svc.hours_need_confirming(session, user.id, value, draft, _edit_id(data)):
            await state.update_data({D_HOURS: value})
            await ask(message, c, "hours_warn")
            return
    await accept(message, c, step, value)


async def certificate_file(
    message: Message,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
) -> None:
    c = _ctx(user, t, state, session, now)
    try:
        if message.document is not None:
            doc = message.document
            cert = svc.certificate_from_document(
                doc.file_id, doc.file_name, doc.mime_type, doc.file_size
            )
        elif message.photo:
            largest = message.photo[-1]  # Telegram lists the sizes from small to large
            cert = svc.certificate_from_photo(largest.file_id, largest.file_size)
        elif message.sticker is not None:
            raise CourseError("courses.error.file_sticker")
        elif message.text is not None:
            raise CourseError("courses.error.file_text")
        else:
            raise CourseError("courses.error.file_type")
    except CourseError as exc:
        await ask(message, c, "certificate", notice=t(exc.code, **exc.params))
        return
    await accept(message, c, "certificate", cert)


async def unexpected_message(
    message: Message,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
) -> None:
    """A sticker where text is asked, or text where a button is: explain and ask again."""
    c = _ctx(user, t, state, session, now)
    step = await _step_of(state)
    assert step is not None
    key = "courses.error.need_text" if step in svc.TYPED_STEPS else "courses.error.use_buttons"
    await ask(message, c, step, notice=t(key))


# ---------- saving ----------


async def save(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    c = _ctx(user, t, state, session, now)
    if await _expect(state, "confirm") is None or await _adding_step(state) is None:
        refuse(callback_answer, t("common.stale"))
        return
    draft = Draft.from_data((await state.get_data()).get(D_DRAFT))
    try:
        saved = await svc.save_draft(session, user.id, draft, c.today)
    except DraftIncomplete as exc:
        await ask(query, c, exc.step, notice=t(exc.code))
        return
    except CourseError as exc:
        await ask(query, c, "confirm", notice=t(exc.code, **exc.params))
        return
    await state.clear()
    await render(query, screens.card(saved.card, t, t("courses.saved")))
    if saved.close_offer is not None:
        await send_new(query, route_screens.close_offer(saved.close_offer, t))
