"""Buttons of the campaigns section, one class per action, ids only, bounded.

Every campaign id is checked again on every press against the methodist's scope
(:mod:`services.campaigns`): a forged id changes nothing. The outbox messages of
:mod:`services.campaigns` carry :class:`CampaignOpen` and :class:`WindowLaunch` packed by
hand (the service never imports aiogram); ``tests/test_campaigns.py`` checks they agree.
"""

from __future__ import annotations

from typing import Annotated

from aiogram.fsm.state import State, StatesGroup
from pydantic import Field

from handlers.common import Button, Id, Num
from handlers.surveys.callbacks import InstrumentId

WindowId = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,20}$")]
AudienceCode = Annotated[str, Field(pattern=r"^(all|young|position|subject)$")]

DEADLINE_FIELD = "cmdl"  # the calendar's field code for the deadline


class CampaignList(Button, prefix="cml"):
    """The campaigns of the scope (the desk's «📣 Кампании»)."""


class CampaignOpen(Button, prefix="cmo"):
    """A campaign's card with its progress by school."""

    campaign: Id


class CampaignNew(Button, prefix="cmn"):
    """«➕ Новая кампания»: the dialog from its first step."""


class PickInstrument(Button, prefix="cmi"):
    instrument: InstrumentId


class PickScope(Button, prefix="cms"):
    index: Num


class PickAudience(Button, prefix="cma"):
    audience: AudienceCode


class PickPosition(Button, prefix="cmp"):
    index: Num


class PickSubject(Button, prefix="cmj"):
    index: Num


class PickDeadline(Button, prefix="cmd"):
    """«+N дней» (N: 7, 14, 21, 30)."""

    days: Num


class PickReminders(Button, prefix="cmr"):
    on: bool


class DialogBack(Button, prefix="cmb"):
    """«⬅️ Назад»: the previous step of the dialog."""


class LaunchDraft(Button, prefix="cmg"):
    """«🚀 Запустить» on the summary."""


class Extend(Button, prefix="cmx"):
    campaign: Id


class CloseAsk(Button, prefix="cmc"):
    campaign: Id


class CloseConfirm(Button, prefix="cmy"):
    campaign: Id


class WindowLaunch(Button, prefix="cmw"):
    """«🚀 Запустить» under an offer of the monitoring calendar."""

    window: WindowId
    year: Num
    municipality: Id


class CampaignForm(StatesGroup):
    """The step of «Новая кампания» being asked (the answers are a draft in the data)."""

    instrument = State()
    scope = State()
    audience = State()
    position = State()
    subject = State()
    deadline = State()
    reminders = State()
    summary = State()
