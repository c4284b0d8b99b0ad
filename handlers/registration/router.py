"""/start, consent to data processing, the registration dialog and «Мой профиль».

Each handler parses the update, calls one function of :mod:`services.people` and shows the
screen it leads to. The dialog's step is the FSM state (:class:`Reg`); its answers are
written to the teacher's row as they come, so the next step is derived from the row.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart, MagicData, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import Registered
from bot.i18n import Translator, languages
from handlers.common import TYPED, is_menu_or_command, refuse, render, reply_menu
from handlers.consent import screens as consent_screens
from handlers.home import screens as home
from handlers.home.callbacks import ConsentCB, MenuCB
from handlers.registration import screens
from handlers.registration.callbacks import (
    DRAFT_KEY,
    CategoryPick,
    PositionPick,
    ProfileDelete,
    ProfileDeleteConfirmed,
    ProfileEdit,
    ProfileExport,
    ProfileFieldEdit,
    ProfileLanguage,
    ProfileOpen,
    Reg,
    SchoolPage,
    SchoolPick,
    SubjectsDone,
    SubjectToggle,
    YearDecade,
    YearPick,
    state_of,
    step_of,
)
from models import User
from services import people
from services.consent import Operator, consent_outdated
from services.people import Draft, Person, ProfileError
from services.roles import Access

HAS_ROW = MagicData(F.person.is_not(None))
"""The person has agreed to data processing (their row exists)."""
YEAR_STATES = StateFilter(Reg.birth, Reg.teaching)
BUTTON_STATES = StateFilter(Reg.position, Reg.subjects, Reg.category)


def setup() -> Router:
    router = Router(name="registration")
    cb, msg = router.callback_query, router.message
    # /start and consent
    msg.register(start, CommandStart())
    cb.register(consent_yes, ConsentCB.filter(F.ok))
    cb.register(consent_no, ConsentCB.filter(~F.ok))
    cb.register(back_to_consent, MenuCB.filter(F.to == "consent"))
    cb.register(continue_registration, MenuCB.filter(F.to == "register"))
    # the steps
    msg.register(name_typed, Reg.name, TYPED, HAS_ROW)
    msg.register(school_typed, Reg.school, TYPED, HAS_ROW)
    cb.register(school_page, SchoolPage.filter(), Reg.school, HAS_ROW)
    cb.register(school_picked, SchoolPick.filter(), Reg.school, HAS_ROW)
    cb.register(position_picked, PositionPick.filter(), Reg.position, HAS_ROW)
    cb.register(subject_toggled, SubjectToggle.filter(), Reg.subjects, HAS_ROW)
    cb.register(subjects_done, SubjectsDone.filter(), Reg.subjects, HAS_ROW)
    cb.register(category_picked, CategoryPick.filter(), Reg.category, HAS_ROW)
    for step in ("birth", "teaching"):
        state = state_of(step)
        cb.register(decade_picked, YearDecade.filter(F.step == step), state, HAS_ROW)
        cb.register(year_picked, YearPick.filter(F.step == step), state, HAS_ROW)
    msg.register(year_typed, YEAR_STATES, TYPED, HAS_ROW)
    msg.register(
        use_buttons, BUTTON_STATES, HAS_ROW, F.func(lambda m: not is_menu_or_command(m.text))
    )
    # the profile
    registered = Registered()
    cb.register(profile_open, MenuCB.filter(F.to == "profile"), registered)
    cb.register(profile_open, ProfileOpen.filter(), registered)
    cb.register(switch_language, ProfileLanguage.filter(), registered)
    cb.register(choose_field, ProfileEdit.filter(), registered)
    cb.register(edit_field, ProfileFieldEdit.filter(), registered)
    cb.register(export, ProfileExport.filter(), registered)
    cb.register(ask_delete, ProfileDelete.filter(), registered)
    cb.register(delete_data, ProfileDeleteConfirmed.filter(), registered)
    return router


# ---------------------------------------------------------------- helpers


async def _draft(state: FSMContext) -> Draft:
    return Draft.from_data((await state.get_data()).get(DRAFT_KEY))


async def _go(
    event: Message | CallbackQuery, state: FSMContext, outcome: people.Next, t: Translator
) -> None:
    """Show where an answer leads: the next question, the profile, or the main menu."""
    if isinstance(outcome, people.Ask):
        await state.set_state(state_of(outcome.question.step))
        await state.update_data({DRAFT_KEY: outcome.draft.to_data()})
        await render(event, screens.question(outcome.question, t))
        return
    await state.clear()
    if isinstance(outcome, people.Saved):
        screen = screens.profile(
            outcome.profile, t, notice=t("profile.saved"), languages=len(languages())
        )
        await render(event, screen)
        return
    chat_id = event.chat.id if isinstance(event, Message) else event.from_user.id
    bot = event.bot
    assert bot is not None
    if outcome.first_time:
        done = f"{t('reg.done')}\n\n{t('reg.done_attestation')}"
        await bot.send_message(chat_id, done, reply_markup=reply_menu(t))
    menu = home.main_menu(outcome.menu, t)
    await bot.send_message(chat_id, menu.text, reply_markup=menu.keyboard)


# ---------------------------------------------------------------- /start and consent


async def start(
    message: Message,
    command: CommandObject,
    user: User | None,
    t: Translator,
    settings: Settings,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
) -> None:
    draft = await _draft(state)
    outcome = await people.start(session, user, command.args or "", draft, now, access)
    if isinstance(outcome, people.Welcome):
        await render(message, screens.welcome(t, outcome.school_name))
        await render(message, home.consent(t, Operator.of(settings), outcome.school_id))
    elif isinstance(outcome, people.Ask):
        await _go(message, state, outcome, t)
    else:
        await state.clear()
        await render(message, home.main_menu(outcome.menu, t))


async def consent_yes(
    query: CallbackQuery,
    callback_data: ConsentCB,
    user: User | None,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
) -> None:
    renewing = consent_outdated(user)
    outcome = await people.consent(
        session, user, query.from_user.id, t.language, callback_data.school, now, access
    )
    await render(query, screens.consent_thanks(t, renewed=renewing))
    await _go(query, state, outcome, t)


async def consent_no(query: CallbackQuery, person: Person | None, t: Translator) -> None:
    if consent_outdated(person):
        await render(query, consent_screens.update_refused(t))
        return
    await render(query, screens.consent_refused(t, agreed_before=person is not None))


async def back_to_consent(
    query: CallbackQuery, user: User | None, t: Translator, access: Access, settings: Settings
) -> None:
    if user is None:
        await render(query, home.consent(t, Operator.of(settings)))
    else:
        await render(query, home.main_menu(people.menu_view(user, access), t))


async def continue_registration(
    query: CallbackQuery,
    user: User | None,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
    settings: Settings,
) -> None:
    if user is None:
        await render(query, home.consent(t, Operator.of(settings)))
        return
    await _go(query, state, await people.advance(session, user, Draft(), now, access), t)


# ---------------------------------------------------------------- the steps


async def name_typed(
    message: Message,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
) -> None:
    draft = await _draft(state)
    try:
        outcome = await people.answer_name(session, user, message.text or "", draft, now, access)
    except ProfileError as exc:
        await message.answer(t(exc.code, **exc.params))
        return
    await _go(message, state, outcome, t)


async def school_typed(
    message: Message,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
) -> None:
    draft = await _draft(state)
    outcome = await people.filter_schools(session, user, message.text or "", draft, now.date())
    await _go(message, state, outcome, t)


async def school_page(
    query: CallbackQuery,
    callback_data: SchoolPage,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
) -> None:
    draft = await _draft(state)
    outcome = await people.school_page(session, user, callback_data.page, draft, now.date())
    await _go(query, state, outcome, t)


async def school_picked(
    query: CallbackQuery,
    callback_data: SchoolPick,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
    callback_answer: CallbackAnswer,
) -> None:
    draft = await _draft(state)
    try:
        outcome = await people.pick_school(session, user, callback_data.school, draft, now, access)
    except ProfileError as exc:
        refuse(callback_answer, t(exc.code, **exc.params))
        return
    await _go(query, state, outcome, t)


async def position_picked(
    query: CallbackQuery,
    callback_data: PositionPick,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
    callback_answer: CallbackAnswer,
) -> None:
    draft = await _draft(state)
    try:
        outcome = await people.pick_position(session, user, callback_data.index, draft, now, access)
    except ProfileError as exc:
        refuse(callback_answer, t(exc.code, **exc.params))
        return
    await _go(query, state, outcome, t)


async def subject_toggled(
    query: CallbackQuery,
    callback_data: SubjectToggle,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    draft = await _draft(state)
    try:
        outcome = await people.toggle_subject(session, user, callback_data.index, draft, now.date())
    except ProfileError as exc:
        refuse(callback_answer, t(exc.code, **exc.params))
        return
    await _go(query, state, outcome, t)


async def subjects_done(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
    callback_answer: CallbackAnswer,
) -> None:
    draft = await _draft(state)
    try:
        outcome = await people.save_subjects(session, user, draft, now, access)
    except ProfileError as exc:
        refuse(callback_answer, t(exc.code, **exc.params))
        return
    await _go(query, state, outcome, t)


async def category_picked(
    query: CallbackQuery,
    callback_data: CategoryPick,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
    callback_answer: CallbackAnswer,
) -> None:
    draft = await _draft(state)
    try:
        outcome = await people.pick_category(session, user, callback_data.index, draft, now, access)
    except ProfileError as exc:
        refuse(callback_answer, t(exc.code, **exc.params))
        return
    await _go(query, state, outcome, t)


async def decade_picked(
    query: CallbackQuery,
    callback_data: YearDecade,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
) -> None:
    draft = await _draft(state)
    outcome = await people.pick_decade(
        session, user, callback_data.step, callback_data.decade, draft, now.date()
    )
    await _go(query, state, outcome, t)


async def year_picked(
    query: CallbackQuery,
    callback_data: YearPick,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
    callback_answer: CallbackAnswer,
) -> None:
    draft = await _draft(state)
    try:
        outcome = await people.pick_year(
            session, user, callback_data.step, callback_data.year, draft, now, access
        )
    except ProfileError as exc:
        refuse(callback_answer, t(exc.code, **exc.params))
        return
    await _go(query, state, outcome, t)


async def year_typed(
    message: Message,
    user: User,
    t: Translator,
    state: FSMContext,
    raw_state: str | None,
    session: AsyncSession,
    now: datetime,
    access: Access,
) -> None:
    draft = await _draft(state)
    step = step_of(raw_state)
    try:
        outcome = await people.type_year(
            session, user, step, message.text or "", draft, now, access
        )
    except ProfileError as exc:
        await message.answer(t(exc.code, **exc.params))
        return
    await _go(message, state, outcome, t)


async def use_buttons(
    message: Message,
    user: User,
    t: Translator,
    state: FSMContext,
    raw_state: str | None,
    session: AsyncSession,
    now: datetime,
) -> None:
    """Text where a button is expected: the same question again, under a short hint."""
    outcome = await people.ask(session, user, step_of(raw_state), await _draft(state), now.date())
    screen = screens.question(outcome.question, t)
    await render(message, replace(screen, text=f"{t('common.use_buttons')}\n\n{screen.text}"))


# ---------------------------------------------------------------- the profile


async def profile_open(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    now: datetime,
    access: Access,
) -> None:
    await state.clear()
    view = people.profile_view(user, access, now.date())
    await render(query, screens.profile(view, t, languages=len(languages())))


async def switch_language(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    access: Access,
) -> None:
    codes = languages()
    view = await people.switch_language(session, user, codes, access, now.date())
    t = Translator(view.language, t.tz)
    await render(query, screens.profile(view, t, languages=len(codes)))


async def choose_field(query: CallbackQuery, t: Translator, state: FSMContext) -> None:
    await state.clear()
    await render(query, screens.choose_field(t))


async def edit_field(
    query: CallbackQuery,
    callback_data: ProfileFieldEdit,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    await state.clear()
    try:
        outcome = await people.edit_field(session, user, callback_data.field, now.date())
    except ProfileError as exc:
        refuse(callback_answer, t(exc.code, **exc.params))
        return
    await _go(query, state, outcome, t)


async def export(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    state: FSMContext,
) -> None:
    conversation = (await state.get_state(), await state.get_data())
    payload = await people.export_json(session, user, conversation)
    caption = screens.export_caption(t)
    assert query.bot is not None
    await query.bot.send_document(
        query.from_user.id,
        BufferedInputFile(payload, filename=screens.export_file_name(now)),
        caption=caption.text,
        reply_markup=caption.keyboard,
    )


async def ask_delete(query: CallbackQuery, t: Translator) -> None:
    await render(query, screens.delete_confirm(t))


async def delete_data(
    query: CallbackQuery, user: User, t: Translator, session: AsyncSession, state: FSMContext
) -> None:
    await state.clear()
    await people.delete_user(session, user)
    await render(query, screens.deleted(t))
    assert query.bot is not None
    await query.bot.send_message(
        query.from_user.id, t("profile.deleted_hint"), reply_markup=ReplyKeyboardRemove()
    )
