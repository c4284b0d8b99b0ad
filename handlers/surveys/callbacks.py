"""Buttons of the questionnaires: one class per action, ids only, bounded."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from handlers.common import Id, Num


class SurveyCB(CallbackData, prefix="q"):
    action: str
    attempt: Id = 0
    question: Num = -1
    option: Num = -1
    instrument: str = ""


class ResultCB(CallbackData, prefix="r"):
    attempt: Id
