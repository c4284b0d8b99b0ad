"""/start, consent to personal-data processing, and the registration steps."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from handlers.common import button, esc, markup, refuse, show
from handlers.home.callbacks import ConsentCB, MenuCB
from handlers.registration.callbacks import PickCB, SchoolPageCB, YearCB
from handlers.registration.steps import YEAR_FIELDS, Reg, after_step, ask_step, missing_step
from models import School, User
from services.people import (
    create_on_consent,
    normalize_full_name,
    parse_year,
    set_subjects,
    year_bounds,
)
from services.reference import CATEGORIES, POSITIONS, SUBJECTS
from services.roles import Access
from services.schools import school_by_code

router = Router(name="start")


def consent_keyboard(t: Translator, school_id: int) -> object:
    return markup(
        [
            [button(t("consent.yes"), ConsentCB(ok=True, school=school_id))],
            [button(t("consent.no"), ConsentCB(ok=False, school=school_id))],
        ]
    )


@router.message(CommandStart())
async def start(
    message: Message,
    command: CommandObject,
    user: User | None,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
) -> None:
    school: School | None = None
    arg = (command.args or "").strip()
    if arg.startswith("s") and 1 < len(arg) <= 33:
        school = await school_by_code(session, arg[1:])
    if user is None:
        text = t("start.welcome")
        if school is not None:
            text += "\n\n" + t("start.school_link", school=esc(school.name))
        await message.answer(text)
        await message.answer(
            t("consent.text"), reply_markup=consent_keyboard(t, school.id if school else 0)
        )
        return
    if user.registered_at is None:
        if school is not None and user.school_id is None:
            user.school_id = school.id
            await session.flush()
            await session.refresh(user, ["school"])
        step = missing_step(user)
        if step is not None:
            await ask_step(
                message,
                step,
                user=user,
                t=t,
                state=state,
                session=session,
                today=now.date(),
                notice=t("reg.continue"),
            )
            return
    from handlers.registration.menu_legacy import send_main_menu

    await state.clear()
    await send_main_menu(message, user=user, t=t, access=access)


@router.callback_query(ConsentCB.filter())
async def consent(
    query: CallbackQuery,
    callback_data: ConsentCB,
    user: User | None,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
) -> None:
    if not callback_data.ok:
        if user is None:
            await show(
                query,
                t("consent.refused"),
                markup([[button(t("consent.back"), MenuCB(to="consent"))]]),
            )
        else:
            await show(query, t("consent.already"))
        return
    if user is None:
        user = await create_on_consent(session, query.from_user.id, t.language)
        user.consent_at = now
        if callback_data.school:
            school = await session.get(School, callback_data.school)
            if school is not None:
                user.school_id = school.id
                await session.flush()
                await session.refresh(user, ["school"])
    await show(query, t("consent.thanks"))
    await after_step(
        query, access=access, user=user, t=t, state=state, session=session, now=now, editing=False
    )


async def _editing(state: FSMContext) -> bool:
    return bool((await state.get_data()).get("editing"))


@router.message(Reg.name, F.text)
async def got_name(
    message: Message,
    user: User | None,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
) -> None:
    if user is None:
        await state.clear()
        await message.answer(t("start.need_consent"))
        return
    name = normalize_full_name(message.text or "")
    if name is None:
        await message.answer(t("reg.bad_name"))
        return
    user.full_name = name
    await after_step(
        message,
        access=access,
        user=user,
        t=t,
        state=state,
        session=session,
        now=now,
        editing=await _editing(state),
    )


@router.message(Reg.school, F.text)
async def school_query(
    message: Message,
    user: User | None,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
) -> None:
    if user is None:
        await state.clear()
        return
    query = " ".join((message.text or "").split())[:60]
    await state.update_data(school_query=query or None)
    await ask_step(
        message,
        "school",
        user=user,
        t=t,
        state=state,
        session=session,
        today=now.date(),
        editing=await _editing(state),
    )


@router.callback_query(Reg.school, SchoolPageCB.filter())
async def school_page(
    query: CallbackQuery,
    callback_data: SchoolPageCB,
    user: User | None,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
) -> None:
    if user is None:
        return
    page = callback_data.page
    if page < 0:
        await state.update_data(school_query=None)
        page = 0
    await ask_step(
        query,
        "school",
        user=user,
        t=t,
        state=state,
        session=session,
        today=now.date(),
        editing=await _editing(state),
        page=min(page, 1000),
    )


@router.callback_query(
    PickCB.filter(F.field.in_({"school", "position", "subject", "subjects_done", "category"}))
)
async def picked(
    query: CallbackQuery,
    callback_data: PickCB,
    user: User | None,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
    callback_answer: CallbackAnswer,
) -> None:
    expected = {
        "school": Reg.school,
        "position": Reg.position,
        "subject": Reg.subjects,
        "subjects_done": Reg.subjects,
        "category": Reg.category,
    }[callback_data.field]
    if user is None or await state.get_state() != expected.state:
        refuse(callback_answer, t("common.stale"))
        return
    editing = await _editing(state)
    field, value = callback_data.field, callback_data.value
    if field == "school":
        school = await session.get(School, value)
        if school is None:
            refuse(callback_answer, t("common.stale"))
            return
        user.school_id = school.id
        await session.flush()
        await session.refresh(user, ["school"])
        await state.update_data(school_query=None)
    elif field == "position":
        if not 0 <= value < len(POSITIONS):
            refuse(callback_answer, t("common.stale"))
            return
        user.position = POSITIONS[value]
    elif field == "subject":
        if not 0 <= value < len(SUBJECTS):
            refuse(callback_answer, t("common.stale"))
            return
        chosen = set((await state.get_data()).get("subjects") or [])
        chosen ^= {SUBJECTS[value]}
        await state.update_data(subjects=sorted(chosen))
        await ask_step(
            query,
            "subjects",
            user=user,
            t=t,
            state=state,
            session=session,
            today=now.date(),
            editing=editing,
        )
        return
    elif field == "subjects_done":
        chosen = list((await state.get_data()).get("subjects") or [])
        if not chosen:
            refuse(callback_answer, t("reg.subjects_empty"))
            return
        await set_subjects(session, user, chosen)
        await state.update_data(subjects=None)
    elif field == "category":
        if not 0 <= value < len(CATEGORIES):
            refuse(callback_answer, t("common.stale"))
            return
        if user.category != CATEGORIES[value]:
            user.category_date = None  # the date belonged to the previous category
        user.category = CATEGORIES[value]
        if user.category == "none":
            user.category_year = None
        elif editing:
            user.category_year = None  # the year of the new category is asked next
    await after_step(
        query, access=access, user=user, t=t, state=state, session=session, now=now, editing=editing
    )


async def _save_year(user: User, step: str, year: int) -> None:
    setattr(user, YEAR_FIELDS[step], year)


@router.callback_query(YearCB.filter())
async def year_picked(
    query: CallbackQuery,
    callback_data: YearCB,
    user: User | None,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
    callback_answer: CallbackAnswer,
) -> None:
    step = callback_data.field
    current = await state.get_state()
    if user is None or step not in YEAR_FIELDS or current != getattr(Reg, step).state:
        refuse(callback_answer, t("common.stale"))
        return
    editing = await _editing(state)
    lo, hi = year_bounds(step, user, now.date())
    if callback_data.year == 0:
        decade = callback_data.decade if lo // 10 * 10 <= callback_data.decade <= hi else 0
        await ask_step(
            query,
            step,
            user=user,
            t=t,
            state=state,
            session=session,
            today=now.date(),
            editing=editing,
            decade=decade,
        )
        return
    if not lo <= callback_data.year <= hi:
        refuse(callback_answer, t("common.stale"))
        return
    await _save_year(user, step, callback_data.year)
    await after_step(
        query, access=access, user=user, t=t, state=state, session=session, now=now, editing=editing
    )


@router.message(F.text, Reg.birth)
@router.message(F.text, Reg.teaching)
@router.message(F.text, Reg.catyear)
async def year_typed(
    message: Message,
    user: User | None,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    access: Access,
) -> None:
    if user is None:
        await state.clear()
        return
    current = await state.get_state() or ""
    step = current.split(":")[-1]
    lo, hi = year_bounds(step, user, now.date())
    year = parse_year(message.text or "", lo, hi)
    if year is None:
        await message.answer(t("reg.bad_year", lo=lo, hi=hi))
        return
    await _save_year(user, step, year)
    await after_step(
        message,
        access=access,
        user=user,
        t=t,
        state=state,
        session=session,
        now=now,
        editing=await _editing(state),
    )


@router.message(Reg.position)
@router.message(Reg.subjects)
@router.message(Reg.category)
async def use_buttons(message: Message, t: Translator) -> None:
    await message.answer(t("common.use_buttons"))
