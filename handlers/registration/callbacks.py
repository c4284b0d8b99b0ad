"""Buttons of registration and the profile, and the states of the registration dialog."""

from __future__ import annotations

from typing import Literal

from aiogram.fsm.state import State, StatesGroup

from handlers.common import Button, Id, Num

YearStep = Literal["birth", "teaching"]
ProfileField = Literal["name", "school", "position", "subjects", "birth", "teaching", "category"]


class Reg(StatesGroup):
    """The registration dialog (also one field edited from the profile): the state names
    the step being asked. The answers are the teacher's row itself."""

    name = State()
    school = State()
    position = State()
    subjects = State()
    birth = State()
    teaching = State()
    category = State()


DRAFT_KEY = "reg_draft"
"""The FSM data key of the dialog's draft (:class:`services.people.Draft`)."""


def state_of(step: str) -> State:
    state = getattr(Reg, step)
    assert isinstance(state, State)
    return state


def step_of(raw_state: str | None) -> str:
    """The step named by a state of :class:`Reg` (``"Reg:birth"`` -> ``"birth"``)."""
    return (raw_state or "").rpartition(":")[2]


class SchoolPick(Button, prefix="rgs"):
    school: Id


class SchoolPage(Button, prefix="rgp"):
    """A page of the school list (-1: the whole list again, without the typed filter)."""

    page: Num


class PositionPick(Button, prefix="rgo"):
    index: Num  # in services.reference.POSITIONS


class SubjectToggle(Button, prefix="rgt"):
    index: Num  # in services.reference.SUBJECTS


class SubjectsDone(Button, prefix="rgd"):
    pass


class CategoryPick(Button, prefix="rgc"):
    index: Num  # in services.reference.CATEGORIES


class YearDecade(Button, prefix="rgy"):
    """Open a decade of the year picker (0: back to the list of decades)."""

    step: YearStep
    decade: Num


class YearPick(Button, prefix="rgz"):
    step: YearStep
    year: Num


class ProfileOpen(Button, prefix="pfv"):
    pass


class ProfileEdit(Button, prefix="pfe"):
    """The list of fields to edit."""


class ProfileFieldEdit(Button, prefix="pff"):
    field: ProfileField


class ProfileExport(Button, prefix="pfx"):
    pass


class ProfileDelete(Button, prefix="pfd"):
    """Ask to confirm the deletion."""


class ProfileDeleteConfirmed(Button, prefix="pfy"):
    pass


class ProfileLanguage(Button, prefix="pfl"):
    pass
