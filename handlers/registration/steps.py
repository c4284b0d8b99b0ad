"""Profile steps shared by first registration and by editing a field from the profile.

Which step comes next is derived from what is still missing in the teacher's row, so a
restart in the middle of registration continues at the right step.
"""

from __future__ import annotations

from datetime import date, datetime

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from handlers.common import button, esc, grid, markup, show
from handlers.home.screens import menu_button
from handlers.registration.callbacks import PickCB, SchoolPageCB, YearCB
from models import User
from services.people import asks_subjects, year_bounds
from services.reference import CATEGORIES, POSITIONS, SUBJECTS
from services.roles import Access
from services.schools import search_schools

SCHOOLS_PER_PAGE = 8
YEAR_FIELDS = {"birth": "birth_year", "teaching": "teaching_since", "catyear": "category_year"}


class Reg(StatesGroup):
    name = State()
    school = State()
    position = State()
    subjects = State()
    birth = State()
    teaching = State()
    category = State()
    catyear = State()


STEP_ORDER = ["name", "school", "position", "subjects", "birth", "teaching", "category", "catyear"]


def missing_step(user: User) -> str | None:
    """The first profile step this teacher has not completed, or ``None``."""
    if not user.full_name:
        return "name"
    if user.school_id is None:
        return "school"
    if not user.position:
        return "position"
    if asks_subjects(user.position) and not user.subjects:
        return "subjects"
    if user.birth_year is None:
        return "birth"
    if user.teaching_since is None:
        return "teaching"
    if not user.category:
        return "category"
    if user.category != "none" and user.category_year is None:
        return "catyear"
    return None


def _back_row(t: Translator, editing: bool) -> list[InlineKeyboardButton]:
    if editing:
        from handlers.registration.callbacks import ProfileCB

        return [button(t("profile.back"), ProfileCB(action="view")), menu_button(t)]
    return [menu_button(t)]


async def ask_step(
    event: Message | CallbackQuery,
    step: str,
    *,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    today: date,
    editing: bool = False,
    page: int = 0,
    decade: int = 0,
    notice: str = "",
) -> None:
    """Show the question of one profile step and put the conversation in its state."""
    await state.set_state(getattr(Reg, step))
    data = await state.get_data()
    if data.get("editing") != editing:
        await state.update_data(editing=editing)
    prefix = f"{notice}\n\n" if notice else ""
    back = _back_row(t, editing)
    if step == "name":
        await show(event, prefix + t("reg.ask_name"), markup([back]))
    elif step == "school":
        query = data.get("school_query") or None
        schools, total = await search_schools(session, query, page, SCHOOLS_PER_PAGE)
        rows = [[button(s.short_name, PickCB(field="school", value=s.id))] for s in schools]
        pages = max(1, -(-total // SCHOOLS_PER_PAGE))
        nav: list[InlineKeyboardButton] = []
        if page > 0:
            nav.append(button(t("common.prev"), SchoolPageCB(page=page - 1)))
        if page + 1 < pages:
            nav.append(button(t("common.next"), SchoolPageCB(page=page + 1)))
        if query:
            nav.append(button(t("reg.school_all"), SchoolPageCB(page=-1)))
        text = t("reg.ask_school", page=page + 1, pages=pages)
        if query:
            text += "\n" + t("reg.school_filter", query=esc(query), total=total)
            if not total:
                text += "\n" + t("reg.school_none")
        await show(event, prefix + text, markup([*rows, nav, back]))
    elif step == "position":
        buttons = [
            button(t(f"position.{p}"), PickCB(field="position", value=i))
            for i, p in enumerate(POSITIONS)
        ]
        await show(event, prefix + t("reg.ask_position"), markup([*grid(buttons, 1), back]))
    elif step == "subjects":
        chosen = set(data.get("subjects") or user.subject_codes)
        if "subjects" not in data:
            await state.update_data(subjects=sorted(chosen))
        buttons = [
            button(
                ("✅ " if s in chosen else "") + t(f"subject.{s}"), PickCB(field="subject", value=i)
            )
            for i, s in enumerate(SUBJECTS)
        ]
        done = [button(t("reg.subjects_done"), PickCB(field="subjects_done", value=0))]
        await show(event, prefix + t("reg.ask_subjects"), markup([*grid(buttons, 2), done, back]))
    elif step in YEAR_FIELDS:
        lo, hi = year_bounds(step, user, today)
        await show(
            event, prefix + t(f"reg.ask_{step}"), markup([*year_rows(step, lo, hi, decade), back])
        )
    elif step == "category":
        buttons = [
            button(t(f"category.{c}"), PickCB(field="category", value=i))
            for i, c in enumerate(CATEGORIES)
        ]
        await show(event, prefix + t("reg.ask_category"), markup([*grid(buttons, 1), back]))
    else:  # pragma: no cover - STEP_ORDER is closed
        raise ValueError(step)


def year_rows(field: str, lo: int, hi: int, decade: int) -> list[list[InlineKeyboardButton]]:
    """A year picker: decades first, then the years of the chosen decade."""
    if decade:
        years = [y for y in range(decade, decade + 10) if lo <= y <= hi]
        buttons = [button(str(y), YearCB(field=field, decade=decade, year=y)) for y in years]
        rows = grid(buttons, 5)
        rows.append(
            [
                button(
                    "⬅️ " + f"{lo // 10 * 10}–{hi // 10 * 10 + 9}",
                    YearCB(field=field, decade=0, year=0),
                )
            ]
        )
        return rows
    decades = list(range(lo // 10 * 10, hi // 10 * 10 + 1, 10))
    buttons = [button(f"{d}–{d + 9}", YearCB(field=field, decade=d, year=0)) for d in decades]
    return grid(buttons, 3)


async def after_step(
    event: Message | CallbackQuery,
    *,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    editing: bool,
    access: Access | None = None,
) -> None:
    """Go to the next missing step; when nothing is missing, finish or return to the profile."""
    await session.commit()  # the step is kept before the next question is shown
    step = missing_step(user)
    if step is not None and (not editing or step in ("catyear", "subjects")):
        await ask_step(
            event,
            step,
            user=user,
            t=t,
            state=state,
            session=session,
            today=now.date(),
            editing=editing,
        )
        return
    await state.clear()
    if editing:
        from handlers.registration.profile import render_profile

        await render_profile(
            event,
            user=user,
            t=t,
            session=session,
            now=now,
            notice=t("profile.saved"),
            access=access,
        )
        return
    from handlers.registration.menu_legacy import finish_registration

    await finish_registration(event, user=user, t=t, now=now, access=access)
