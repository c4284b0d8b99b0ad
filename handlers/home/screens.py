"""Shared screens: the main menu, help, consent. Pure: view model + translator -> Screen."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton

from bot.i18n import Translator
from handlers.common import Screen, button, esc, markup
from handlers.consent.callbacks import ConsentRead
from handlers.home.callbacks import ConsentCB, MenuCB
from handlers.mentoring.callbacks import RequestNew
from services.consent import Operator
from services.people import MenuView


def menu_button(t: Translator) -> InlineKeyboardButton:
    return button(t("menu.to_main"), MenuCB(to="main"))


def main_menu(view: MenuView, t: Translator, notice: str | None = None) -> Screen:
    """The main menu shows only what works for this person."""
    if not view.exists:
        text = t("menu.not_registered")
        rows = [[button(t("menu.register"), MenuCB(to="consent"))]]
    elif not view.registered:
        text = t("menu.finish_registration")
        rows = [[button(t("menu.continue_reg"), MenuCB(to="register"))]]
    else:
        text = t("menu.title", name=esc(view.name))
        rows = [
            [button(t(f"menu.{to}"), MenuCB(to=to))]
            for to in ("surveys", "results", "courses", "route")
        ]
        if view.ask_mentor:  # a young teacher with no request and no mentor: straight to it
            rows.append([button(t("menu.ask_mentor"), RequestNew())])
        else:
            rows.append([button(t("menu.mentoring"), MenuCB(to="mentoring"))])
        rows.append([button(t("menu.profile"), MenuCB(to="profile"))])
        if view.methodist:
            rows.append([button(t("menu.methodist"), MenuCB(to="methodist"))])
        if view.manages_catalog:
            rows.append([button(t("menu.catalog"), MenuCB(to="catalog"))])
        rows.append([button(t("menu.settings"), MenuCB(to="settings"))])
        rows.append([button(t("menu.help"), MenuCB(to="help"))])
    if notice:
        text = f"{notice}\n\n{text}"
    return Screen(text, markup(rows))


def help_screen(t: Translator) -> Screen:
    return Screen(t("help.text"), markup([[menu_button(t)]]))


def operator_params(operator: Operator, t: Translator) -> dict[str, str]:
    """The operator of personal data as the consent texts name it (escaped); what is not
    configured yet is said to be so."""
    unset = t("consent.unset")
    return {
        "operator": esc(operator.name) if operator.name else t("consent.operator_unset"),
        "address": esc(operator.address) if operator.address else unset,
        "contact": esc(operator.contact) if operator.contact else unset,
    }


def consent_buttons(
    t: Translator, school_id: int, *, read: bool
) -> list[list[InlineKeyboardButton]]:
    rows = [[button(t("consent.yes"), ConsentCB(ok=True, school=school_id))]]
    if read:
        rows.append([button(t("consent.read_full"), ConsentRead(school=school_id))])
    rows.append([button(t("consent.no"), ConsentCB(ok=False, school=school_id))])
    return rows


def consent(
    t: Translator, operator: Operator, school_id: int = 0, notice: str | None = None
) -> Screen:
    """The request for consent to data processing (152-ФЗ): the short text, and the full one
    a tap away («Прочитать полностью»); nothing is stored before the answer."""
    text = t("consent.text", operator=operator_params(operator, t)["operator"])
    if notice:
        text = f"{notice}\n\n{text}"
    return Screen(text, markup(consent_buttons(t, school_id, read=True)))
