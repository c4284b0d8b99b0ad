"""«Мой профиль»: view and edit fields, «Мои данные» (a file), «Удалить мои данные»."""

from __future__ import annotations

import json
from datetime import datetime

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    Message,
    ReplyKeyboardRemove,
)
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import Registered
from bot.i18n import Translator, languages
from handlers.common import button, esc, markup, refuse, show
from handlers.home.callbacks import MenuCB
from handlers.home.screens import menu_button
from handlers.registration.callbacks import ProfileCB
from handlers.registration.steps import STEP_ORDER, ask_step
from models import User
from services.people import delete_user, export_data, is_young
from services.roles import Access

router = Router(name="profile")
router.callback_query.filter(Registered())

EDITABLE = STEP_ORDER[:-1]  # the category year is asked together with the category


def profile_text(user: User, t: Translator, access: Access, now: datetime) -> str:
    dash = t("profile.empty")
    subjects = ", ".join(t(f"subject.{s}") for s in user.subject_codes) or dash
    category = t(f"category.{user.category}") if user.category else dash
    if user.category and user.category != "none" and user.category_year:
        category += t("profile.since_year", year=user.category_year)
    lines = [
        t("profile.title"),
        t("profile.name", value=esc(user.full_name or dash)),
        t("profile.school", value=esc(user.school.name if user.school else dash)),
        t("profile.position", value=t(f"position.{user.position}") if user.position else dash),
        t("profile.subjects", value=subjects),
        t("profile.birth", value=user.birth_year or dash),
        t("profile.teaching", value=user.teaching_since or dash),
        t("profile.category", value=category),
    ]
    if is_young(user, now.date()):
        lines.append(t("profile.young"))
    if access.is_admin:
        lines.append(t("profile.role_admin"))
    if access.is_methodist:
        lines.append(t("profile.role_methodist"))
    return "\n".join(lines)


async def render_profile(
    event: Message | CallbackQuery,
    *,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    access: Access | None = None,
    notice: str = "",
) -> None:
    text = profile_text(user, t, access or Access(telegram_id=user.telegram_id), now)
    if notice:
        text = f"{notice}\n\n{text}"
    kb = markup(
        [
            [button(t("profile.edit"), ProfileCB(action="edit"))],
            [button(t("profile.export"), ProfileCB(action="export"))],
            [button(t("profile.delete"), ProfileCB(action="delete"))],
            *language_row(t),
            [menu_button(t)],
        ]
    )
    await show(event, text, kb)


def language_row(t: Translator) -> list[list[InlineKeyboardButton]]:
    """A language switch, shown only when more than one locale file is installed."""
    if len(languages()) < 2:
        return []
    return [[button(t("profile.language", name=t("language.name")), ProfileCB(action="lang"))]]


@router.callback_query(ProfileCB.filter(F.action == "lang"))
async def switch_language(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    access: Access,
) -> None:
    codes = languages()
    current = codes.index(user.language) if user.language in codes else 0
    user.language = codes[(current + 1) % len(codes)]
    await session.flush()
    t = Translator(user.language, t.tz)
    await render_profile(query, user=user, t=t, session=session, now=now, access=access)


@router.callback_query(ProfileCB.filter(F.action == "view"))
@router.callback_query(MenuCB.filter(F.to == "profile"))
async def view(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    access: Access,
    state: FSMContext,
) -> None:
    await state.clear()
    await render_profile(query, user=user, t=t, session=session, now=now, access=access)


@router.callback_query(ProfileCB.filter(F.action == "edit"))
async def choose_field(query: CallbackQuery, user: User, t: Translator, state: FSMContext) -> None:
    await state.clear()
    rows = [[button(t(f"profile.field.{f}"), ProfileCB(action="field", field=f))] for f in EDITABLE]
    rows.append([button(t("profile.back"), ProfileCB(action="view")), menu_button(t)])
    await show(query, t("profile.choose_field"), markup(rows))


@router.callback_query(ProfileCB.filter(F.action == "field"))
async def edit_field(
    query: CallbackQuery,
    callback_data: ProfileCB,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    if callback_data.field not in EDITABLE:
        refuse(callback_answer, t("common.stale"))
        return
    await state.clear()
    if callback_data.field == "subjects" and user.position != "teacher":
        refuse(callback_answer, t("profile.subjects_only_teachers"))
        return
    await ask_step(
        query,
        callback_data.field,
        user=user,
        t=t,
        state=state,
        session=session,
        today=now.date(),
        editing=True,
    )


@router.callback_query(ProfileCB.filter(F.action == "export"))
async def export(
    query: CallbackQuery, user: User, t: Translator, session: AsyncSession, now: datetime
) -> None:
    data = await export_data(session, user)
    payload = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    name = f"pedbot-my-data-{now.strftime('%Y%m%d')}.json"
    assert query.bot is not None
    await query.bot.send_document(
        query.from_user.id,
        BufferedInputFile(payload, filename=name),
        caption=t("profile.export_caption"),
        reply_markup=markup([[menu_button(t)]]),
    )


@router.callback_query(ProfileCB.filter(F.action == "delete"))
async def ask_delete(query: CallbackQuery, t: Translator) -> None:
    kb = markup(
        [
            [button(t("profile.delete_yes"), ProfileCB(action="delete_yes"))],
            [button(t("profile.delete_no"), ProfileCB(action="view"))],
        ]
    )
    await show(query, t("profile.delete_confirm"), kb)


@router.callback_query(ProfileCB.filter(F.action == "delete_yes"))
async def do_delete(
    query: CallbackQuery, user: User, t: Translator, session: AsyncSession, state: FSMContext
) -> None:
    await state.clear()
    await delete_user(session, user)
    await show(query, t("profile.deleted"))
    assert query.bot is not None
    await query.bot.send_message(
        query.from_user.id,
        t("profile.deleted_hint"),
        reply_markup=ReplyKeyboardRemove(),
    )
