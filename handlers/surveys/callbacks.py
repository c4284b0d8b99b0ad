"""Buttons of the questionnaires: one class per action, ids only, bounded."""

from __future__ import annotations

from typing import Annotated

from aiogram.fsm.state import State, StatesGroup
from pydantic import Field

from handlers.common import Button, Id, Num

InstrumentId = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]


class SurveyOpen(Button, prefix="qo"):
    """A questionnaire in the list: its intro, or back to where the teacher stopped."""

    instrument: InstrumentId


class SurveyBegin(Button, prefix="qb"):
    instrument: InstrumentId


class AnswerCB(Button, prefix="qa"):
    """An option of a single choice, scale or yes/no question."""

    attempt: Id
    question: Num
    option: Num


class TickCB(Button, prefix="qt"):
    """An option of a multiple choice: ticks or unticks it."""

    attempt: Id
    question: Num
    option: Num


class DoneCB(Button, prefix="qd"):
    """«Готово» under a multiple choice."""

    attempt: Id
    question: Num


class SkipCB(Button, prefix="qs"):
    attempt: Id
    question: Num


class BackCB(Button, prefix="qk"):
    attempt: Id
    question: Num


class PauseCB(Button, prefix="qp"):
    attempt: Id
    question: Num


class ResultCB(Button, prefix="r"):
    """A completed attempt in «Мои результаты»."""

    attempt: Id


class SurveyForm(StatesGroup):
    answering = State()  # an attempt is being answered: typed text goes to its question
