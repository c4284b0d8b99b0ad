"""Buttons of the questionnaires: one class per action, ids only, bounded."""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from pydantic import Field

from handlers.common import Id, Num

InstrumentId = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]


class SurveyOpen(CallbackData, prefix="qo"):
    """A questionnaire in the list: its intro, or back to where the teacher stopped."""

    instrument: InstrumentId


class SurveyBegin(CallbackData, prefix="qb"):
    instrument: InstrumentId


class AnswerCB(CallbackData, prefix="qa"):
    """An option of a single choice, scale or yes/no question."""

    attempt: Id
    question: Num
    option: Num


class TickCB(CallbackData, prefix="qt"):
    """An option of a multiple choice: ticks or unticks it."""

    attempt: Id
    question: Num
    option: Num


class DoneCB(CallbackData, prefix="qd"):
    """«Готово» under a multiple choice."""

    attempt: Id
    question: Num


class SkipCB(CallbackData, prefix="qs"):
    attempt: Id
    question: Num


class BackCB(CallbackData, prefix="qk"):
    attempt: Id
    question: Num


class PauseCB(CallbackData, prefix="qp"):
    attempt: Id
    question: Num


class ResultCB(CallbackData, prefix="r"):
    """A completed attempt in «Мои результаты»."""

    attempt: Id


class SurveyForm(StatesGroup):
    answering = State()  # an attempt is being answered: typed text goes to its question
