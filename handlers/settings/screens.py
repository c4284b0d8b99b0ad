"""Screens of «⚙️ Настройки» and the personal reminder messages (pure: view model +
translator -> Screen)."""

from __future__ import annotations

from datetime import time

from aiogram.types import InlineKeyboardButton

from bot.i18n import Translator
from handlers.common import Screen, button, esc, markup
from handlers.home.callbacks import MenuCB
from handlers.home.screens import menu_button
from handlers.mentoring.callbacks import Checkin, MeetingNew, PairOpen
from handlers.route.callbacks import RouteHome
from handlers.settings.callbacks import SettingToggle
from handlers.surveys.callbacks import SurveyOpen
from services.notifications import KINDS, Due, SettingsView


def settings(view: SettingsView, quiet: tuple[time, time] | None, t: Translator) -> Screen:
    """Each reminder kind with ✅ (on) or ⬜ (off); a tap switches it."""
    lines = [t("settings.title")]
    if quiet is not None:
        start, end = quiet
        lines.append(t("settings.quiet", start=start.strftime("%H:%M"), end=end.strftime("%H:%M")))
    lines.append(t("settings.one_a_day"))
    rows = [
        [
            button(
                t("settings.on" if s.on else "settings.off", label=t(f"settings.kind.{s.kind}")),
                SettingToggle(kind=KINDS.index(s.kind)),
            )
        ]
        for s in view.switches
    ]
    rows.append([menu_button(t)])
    return Screen("\n\n".join(lines), markup(rows))


def settings_button(t: Translator) -> InlineKeyboardButton:
    return button(t("menu.settings"), MenuCB(to="settings"))


def reminder(due: Due, t: Translator) -> Screen:
    """A personal reminder: a short text, a button to the right screen, «⚙️ Настройки»."""
    key = f"reminders.{due.occasion}"
    date = t.date(due.when) if due.when is not None else ""
    name = esc(due.partner or "")
    rows: list[list[InlineKeyboardButton]] = []
    if due.occasion == "survey":
        text = t(key, title=esc(due.title or ""))
        rows.append([button(t("reminders.continue"), SurveyOpen(instrument=due.instrument or ""))])
    elif due.kind == "route":
        text = t(key, title=esc(due.title or ""), date=date)
        rows.append([button(t("reminders.to_route"), RouteHome())])
    elif due.kind == "attestation":
        text = t(key, date=date)
        rows.append([button(t("reminders.to_courses"), MenuCB(to="courses"))])
    elif due.kind == "qualification":
        text = t(f"{key}_last", date=date) if due.when else t(f"{key}_none")
        rows.append([button(t("reminders.to_courses"), MenuCB(to="courses"))])
    elif due.kind == "meeting":
        pair = due.pair_id or 0
        text = t(f"{key}_since", name=name, date=date) if due.when else t(f"{key}_none", name=name)
        rows.append([button(t("reminders.log_meeting"), MeetingNew(pair=pair))])
        rows.append([button(t("reminders.open_pair"), PairOpen(pair=pair))])
    else:  # checkin
        pair = due.pair_id or 0
        text = t(key, name=name)
        rows.append([button(str(n), Checkin(pair=pair, score=n)) for n in range(1, 6)])
        rows.append([button(t("reminders.open_pair"), PairOpen(pair=pair))])
    rows.append([settings_button(t), menu_button(t)])
    return Screen(text, markup(rows))
