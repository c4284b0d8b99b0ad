"""The buttons of «Мои курсы» (one class per action) and the steps of the course dialog."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup

from handlers.common import Id, Num


class CourseForm(StatesGroup):
    """The step being asked: adding a course, changing one field of it, or «att»."""

    title = State()
    provider = State()
    kind = State()
    hours = State()
    hours_warn = State()  # retraining under 250 h: «Да, верно» or typing new hours
    starts_on = State()
    ends_on = State()
    format = State()
    blocks = State()
    certificate_number = State()
    certificate = State()
    confirm = State()
    att = State()  # the date the category was given


# ---------- the list and a course ----------


class CourseList(CallbackData, prefix="col"):
    page: Num = 0


class CourseOpen(CallbackData, prefix="coo"):
    course: Id


class CourseEdit(CallbackData, prefix="coe"):
    """Choose which field of the course to change."""

    course: Id


class CourseEditField(CallbackData, prefix="cof"):
    course: Id
    field: Num  # index in services.courses.EDIT_FIELDS


class CourseDelete(CallbackData, prefix="cod"):
    """Ask to confirm deleting the course."""

    course: Id


class CourseDeleteConfirmed(CallbackData, prefix="cox"):
    course: Id


class CourseCertificate(CallbackData, prefix="coc"):
    """Send the stored certificate file back."""

    course: Id


class AttestationDate(CallbackData, prefix="coa"):
    """Ask the date the qualification category was given."""


# ---------- the dialog ----------


class CourseNew(CallbackData, prefix="con"):
    pass


class CourseResume(CallbackData, prefix="cor"):
    pass


class CourseCancel(CallbackData, prefix="coq"):
    pass


class CourseStepBack(CallbackData, prefix="cob"):
    pass


class ProviderPick(CallbackData, prefix="cop"):
    provider: Id


class ProviderPage(CallbackData, prefix="cog"):
    page: Num


class KindPick(CallbackData, prefix="cok"):
    index: Num  # in services.courses.KINDS


class FormatPick(CallbackData, prefix="cofm"):
    index: Num  # in services.courses.FORMATS


class HoursConfirm(CallbackData, prefix="coy"):
    """«Да, верно»: keep the hours of a retraining under 250."""


class HoursFix(CallbackData, prefix="coh"):
    """«Исправить»: type the hours again."""


class BlockToggle(CallbackData, prefix="cot"):
    index: Num  # in services.reference.BLOCKS


class BlocksDone(CallbackData, prefix="cobd"):
    pass


class StepSkip(CallbackData, prefix="cos"):
    """Skip an optional step (or remove the value while editing)."""


class CourseSave(CallbackData, prefix="cosv"):
    pass
