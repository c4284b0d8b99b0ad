"""Buttons of the consent screens (the «Согласен / Не согласен» answer itself is
:class:`handlers.home.callbacks.ConsentCB`)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from handlers.common import Id
from handlers.home.callbacks import ConsentCB
from handlers.surveys.callbacks import InstrumentId


class ConsentRead(CallbackData, prefix="kcr"):
    """The full text: before agreeing (with the school of a deep link), or from the profile."""

    school: Id = 0
    profile: bool = False


class ConsentStatus(CallbackData, prefix="kcs"):
    """«📜 Согласие на обработку данных» in the profile."""


class WithdrawAsk(CallbackData, prefix="kcw"):
    pass


class WithdrawConfirmed(CallbackData, prefix="kcx"):
    pass


class HealthWithdrawAsk(CallbackData, prefix="kch"):
    pass


class HealthWithdrawConfirmed(CallbackData, prefix="kcy"):
    pass


class HealthAgree(CallbackData, prefix="kca"):
    """«Согласен(на), начать» under the consent to a questionnaire about health."""

    instrument: InstrumentId


PASS_OUTDATED = frozenset(
    cb.__prefix__ for cb in (ConsentCB, ConsentRead, WithdrawAsk, WithdrawConfirmed)
)
"""Buttons a person who agreed to an older edition may still press: the answer to the
consent, its full text, and withdrawing it."""
