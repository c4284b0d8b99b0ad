"""Screens of consent, registration and the profile. Pure: view model + translator -> Screen."""

from __future__ import annotations

from datetime import datetime

from aiogram.types import InlineKeyboardButton

from bot.i18n import Translator
from handlers.common import Screen, button, esc, grid, markup
from handlers.consent.callbacks import ConsentStatus
from handlers.home.callbacks import MenuCB
from handlers.home.screens import menu_button
from handlers.mentoring.callbacks import MentorSetup
from handlers.registration.callbacks import (
    CategoryPick,
    PositionPick,
    ProfileDelete,
    ProfileDeleteConfirmed,
    ProfileEdit,
    ProfileExport,
    ProfileFieldEdit,
    ProfileLanguage,
    ProfileOpen,
    SchoolPage,
    SchoolPick,
    SubjectsDone,
    SubjectToggle,
    YearDecade,
    YearPick,
)
from services.people import (
    EDITABLE,
    RECENT_YEARS,
    YEAR_STEPS,
    ProfileView,
    Question,
    SchoolList,
)
from services.reference import CATEGORIES, POSITIONS, SUBJECTS


def welcome(t: Translator, school_name: str | None) -> Screen:
    """The greeting of /start before consent (the consent request follows it)."""
    text = t("start.welcome")
    if school_name is not None:
        text += "\n\n" + t("start.school_link", school=esc(school_name))
    return Screen(text)


def consent_refused(t: Translator, agreed_before: bool) -> Screen:
    """«Не согласен»: nothing is stored; or, for someone who agreed earlier, how to revoke."""
    if agreed_before:
        return Screen(t("consent.already"))
    return Screen(t("consent.refused"), markup([[button(t("consent.back"), MenuCB(to="consent"))]]))


def consent_thanks(t: Translator, *, renewed: bool = False) -> Screen:
    """After «Согласен»: registration follows, or (a new edition agreed) the main menu."""
    return Screen(t("consent.renewed" if renewed else "consent.thanks"))


def _back_row(t: Translator, editing: bool) -> list[InlineKeyboardButton]:
    if editing:
        return [button(t("profile.back"), ProfileOpen()), menu_button(t)]
    return [menu_button(t)]


def question(q: Question, t: Translator) -> Screen:
    """The question of one step of registration (or of one field edited from the profile)."""
    back = _back_row(t, q.editing)
    if q.step == "name":
        text, rows = t("reg.ask_name"), [back]
    elif q.step == "school":
        assert q.schools is not None
        text, rows = _schools(q.schools, t)
        rows.append(back)
    elif q.step == "position":
        buttons = [
            button(t(f"position.{p}"), PositionPick(index=i)) for i, p in enumerate(POSITIONS)
        ]
        text, rows = t("reg.ask_position"), [*grid(buttons, 1), back]
    elif q.step == "subjects":
        buttons = [
            button(("✅ " if s in q.ticked else "") + t(f"subject.{s}"), SubjectToggle(index=i))
            for i, s in enumerate(SUBJECTS)
        ]
        done = [button(t("reg.subjects_done"), SubjectsDone())]
        text, rows = t("reg.ask_subjects"), [*grid(buttons, 2), done, back]
    elif q.step in YEAR_STEPS:
        lo, hi = q.years
        text, rows = t(f"reg.ask_{q.step}"), [*year_rows(q.step, lo, hi, q.decade), back]
    elif q.step == "category":
        buttons = [
            button(t(f"category.{c}"), CategoryPick(index=i)) for i, c in enumerate(CATEGORIES)
        ]
        text, rows = t("reg.ask_category"), [*grid(buttons, 1), back]
    else:  # pragma: no cover - services.people.STEPS is closed
        raise ValueError(q.step)
    if q.resumed:
        text = f"{t('reg.continue')}\n\n{text}"
    return Screen(text, markup(rows))


def _schools(page: SchoolList, t: Translator) -> tuple[str, list[list[InlineKeyboardButton]]]:
    rows = [[button(s.short_name, SchoolPick(school=s.id))] for s in page.schools]
    nav: list[InlineKeyboardButton] = []
    if page.page > 0:
        nav.append(button(t("common.prev"), SchoolPage(page=page.page - 1)))
    if page.page + 1 < page.pages:
        nav.append(button(t("common.next"), SchoolPage(page=page.page + 1)))
    if page.query:
        nav.append(button(t("reg.school_all"), SchoolPage(page=-1)))
    text = t("reg.ask_school", page=page.page + 1, pages=page.pages)
    if page.query:
        text += "\n" + t("reg.school_filter", query=esc(page.query), total=page.total)
        if not page.total:
            text += "\n" + t("reg.school_none")
    return text, [*rows, nav]


def year_rows(step: str, lo: int, hi: int, decade: int) -> list[list[InlineKeyboardButton]]:
    """A year picker: decades first, then the years of the chosen decade."""
    if decade:
        years = [y for y in range(decade, decade + 10) if lo <= y <= hi]
        rows = grid([button(str(y), YearPick(step=step, year=y)) for y in years], 5)
        back = f"⬅️ {lo // 10 * 10}–{hi // 10 * 10 + 9}"
        rows.append([button(back, YearDecade(step=step, decade=0))])
        return rows
    decades = range(lo // 10 * 10, hi // 10 * 10 + 1, 10)
    buttons = [button(f"{d}–{d + 9}", YearDecade(step=step, decade=d)) for d in decades]
    rows = grid(buttons, 3)
    if step == "teaching":  # a young teacher's year with one tap
        recent = [y for y in range(hi, hi - RECENT_YEARS, -1) if y >= lo]
        rows = [[button(str(y), YearPick(step=step, year=y)) for y in recent], *rows]
    return rows


def profile(view: ProfileView, t: Translator, *, notice: str = "", languages: int = 1) -> Screen:
    """«Мой профиль» (``languages``: how many are installed; the switch shows with two)."""
    dash = t("profile.empty")
    subjects = ", ".join(t(f"subject.{s}") for s in view.subjects) or dash
    category = t(f"category.{view.category}") if view.category else dash
    if view.category and view.category != "none" and view.category_year:
        category += t("profile.since_year", year=view.category_year)
    lines = [
        t("profile.title"),
        t("profile.name", value=esc(view.full_name or dash)),
        t("profile.school", value=esc(view.school or dash)),
        t("profile.position", value=t(f"position.{view.position}") if view.position else dash),
        t("profile.subjects", value=subjects),
        t("profile.birth", value=view.birth_year or dash),
        t("profile.teaching", value=view.teaching_since or dash),
        t("profile.category", value=category),
    ]
    if view.young:
        lines.append(t("profile.young"))
    if view.is_admin:
        lines.append(t("profile.role_admin"))
    if view.is_methodist:
        lines.append(t("profile.role_methodist"))
    text = "\n".join(lines)
    if notice:
        text = f"{notice}\n\n{text}"
    rows = [
        [button(t("profile.edit"), ProfileEdit())],
        [button(t("mentoring.be_mentor"), MentorSetup())],
        [button(t("profile.export"), ProfileExport())],
        [button(t("consent.profile_button"), ConsentStatus())],
        [button(t("profile.delete"), ProfileDelete())],
    ]
    if languages > 1:
        name = t("profile.language", name=t("language.name"))
        rows.append([button(name, ProfileLanguage())])
    rows.append([menu_button(t)])
    return Screen(text, markup(rows))


def choose_field(t: Translator) -> Screen:
    rows = [[button(t(f"profile.field.{f}"), ProfileFieldEdit(field=f))] for f in EDITABLE]
    rows.append([button(t("profile.back"), ProfileOpen()), menu_button(t)])
    return Screen(t("profile.choose_field"), markup(rows))


def export_caption(t: Translator) -> Screen:
    return Screen(t("profile.export_caption"), markup([[menu_button(t)]]))


def export_file_name(now: datetime) -> str:
    return f"pedbot-my-data-{now.strftime('%Y%m%d')}.json"


def delete_confirm(t: Translator) -> Screen:
    rows = [
        [button(t("profile.delete_yes"), ProfileDeleteConfirmed())],
        [button(t("profile.delete_no"), ProfileOpen())],
    ]
    return Screen(t("profile.delete_confirm"), markup(rows))


def deleted(t: Translator) -> Screen:
    return Screen(t("profile.deleted"))
