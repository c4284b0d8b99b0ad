"""Consent screens. Pure: view model + translator -> Screen."""

from __future__ import annotations

from bot.i18n import Translator
from handlers.common import Screen, button, markup
from handlers.consent.callbacks import (
    ConsentRead,
    ConsentStatus,
    HealthAgree,
    HealthWithdrawAsk,
    HealthWithdrawConfirmed,
    WithdrawAsk,
    WithdrawConfirmed,
)
from handlers.home.callbacks import MenuCB
from handlers.home.screens import consent_buttons, menu_button, operator_params
from handlers.registration.callbacks import ProfileOpen
from services.consent import ConsentStatus as StatusView
from services.consent import Edition, Operator


def full_text(operator: Operator, edition: Edition, t: Translator) -> str:
    """The whole consent text of the edition in force (one message: see the tests)."""
    return t(
        "consent.full",
        version=edition.version,
        date=t.date(edition.dated),
        **operator_params(operator, t),
    )


def full(
    operator: Operator, edition: Edition, t: Translator, *, school_id: int = 0, profile: bool
) -> Screen:
    """The full text: with «Согласен / Не согласен» before agreeing, or from the profile with
    the way back."""
    text = full_text(operator, edition, t)
    if profile:
        rows = [[button(t("profile.back"), ConsentStatus())], [menu_button(t)]]
    else:
        rows = consent_buttons(t, school_id, read=False)
    return Screen(text, markup(rows))


def renew(operator: Operator, t: Translator) -> Screen:
    """Someone who agreed to an older edition: the new one, asked again."""
    text = (
        t("consent.updated")
        + "\n\n"
        + t("consent.text", operator=operator_params(operator, t)["operator"])
    )
    return Screen(text, markup(consent_buttons(t, 0, read=True)))


def update_refused(t: Translator) -> Screen:
    return Screen(
        t("consent.update_refused"),
        markup(
            [
                [button(t("consent.back"), ConsentRead())],
                [button(t("consent.withdraw"), WithdrawAsk())],
            ]
        ),
    )


def status(view: StatusView, t: Translator) -> Screen:
    """«📜 Согласие на обработку данных» in the profile: when and which edition was agreed,
    the consent to the burnout questionnaire, and the ways to withdraw each."""
    lines = [t("consent.status", date=t.date(view.agreed_at), version=view.version)]
    if view.version < view.current.version:
        lines.append(
            t(
                "consent.status_old",
                current=view.current.version,
                current_date=t.date(view.current.dated),
            )
        )
    if view.health_at is not None:
        lines.append(t("consent.health_given", date=t.date(view.health_at)))
    else:
        lines.append(t("consent.health_none"))
    rows = [
        [button(t("consent.read_full"), ConsentRead(profile=True))],
        [button(t("consent.withdraw"), WithdrawAsk())],
    ]
    if view.health_at is not None:
        rows.append([button(t("consent.withdraw_health"), HealthWithdrawAsk())])
    rows.append([button(t("profile.back"), ProfileOpen()), menu_button(t)])
    return Screen("\n\n".join(lines), markup(rows))


def withdraw_confirm(t: Translator) -> Screen:
    return Screen(
        t("consent.withdraw_confirm"),
        markup(
            [
                [button(t("consent.withdraw_yes"), WithdrawConfirmed())],
                [button(t("consent.withdraw_no"), ConsentStatus())],
            ]
        ),
    )


def withdrawn(t: Translator) -> Screen:
    return Screen(t("consent.withdrawn"))


def health_withdraw_confirm(t: Translator) -> Screen:
    return Screen(
        t("consent.withdraw_health_confirm"),
        markup(
            [
                [button(t("consent.withdraw_health_yes"), HealthWithdrawConfirmed())],
                [button(t("consent.withdraw_no"), ConsentStatus())],
            ]
        ),
    )


def health_withdrawn(t: Translator) -> Screen:
    return Screen(
        t("consent.health_withdrawn"),
        markup([[button(t("profile.back"), ProfileOpen()), menu_button(t)]]),
    )


def health(operator: Operator, edition: Edition, instrument_id: str, t: Translator) -> Screen:
    """The consent to a questionnaire about health, before its first question."""
    text = t(
        "consent.health",
        version=edition.version,
        date=t.date(edition.dated),
        operator=operator_params(operator, t)["operator"],
    )
    return Screen(
        text,
        markup(
            [
                [button(t("consent.health_yes"), HealthAgree(instrument=instrument_id))],
                [button(t("consent.health_no"), MenuCB(to="surveys"))],
            ]
        ),
    )
