"""Buttons of the consent screens (the «Согласен / Не согласен» answer itself is
:class:`handlers.home.callbacks.ConsentCB`)."""

from __future__ import annotations

from handlers.common import Button, Id
from handlers.home.callbacks import ConsentCB
from handlers.surveys.callbacks import InstrumentId


class ConsentRead(Button, prefix="kcr"):
    """The full text: before agreeing (with the school of a deep link), or from the profile."""

    school: Id = 0
    profile: bool = False


class ConsentStatus(Button, prefix="kcs"):
    """«📜 Согласие на обработку данных» in the profile."""


class WithdrawAsk(Button, prefix="kcw"):
    pass


class WithdrawConfirmed(Button, prefix="kcx"):
    pass


class HealthWithdrawAsk(Button, prefix="kch"):
    pass


class HealthWithdrawConfirmed(Button, prefix="kcy"):
    pass


class HealthAgree(Button, prefix="kca"):
    """«Согласен(на), начать» under the consent to a questionnaire about health."""

    instrument: InstrumentId


PASS_OUTDATED = frozenset(
    cb.__prefix__ for cb in (ConsentCB, ConsentRead, WithdrawAsk, WithdrawConfirmed)
)
"""Buttons a person who agreed to an older edition may still press: the answer to the
consent, its full text, and withdrawing it."""
