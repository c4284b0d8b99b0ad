"""The buttons of «Мои курсы» (one class per action) and the steps of the course dialog."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup

from handlers.common import Button, Id, Num


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


class CourseList(Button, prefix="col"):
    page: Num = 0


class CourseOpen(Button, prefix="coo"):
    course: Id


class CourseEdit(Button, prefix="coe"):
    """Choose which field of the course to change."""

    course: Id


class CourseEditField(Button, prefix="cof"):
    course: Id
    field: Num  # index in services.courses.EDIT_FIELDS


class CourseDelete(Button, prefix="cod"):
    """Ask to confirm deleting the course."""

    course: Id


class CourseDeleteConfirmed(Button, prefix="cox"):
    course: Id


class CourseCertificate(Button, prefix="coc"):
    """Send the stored certificate file back."""

    course: Id


class AttestationDate(Button, prefix="coa"):
    """Ask the date the qualification category was given."""


# ---------- the dialog ----------


class CourseNew(Button, prefix="con"):
    pass


class CourseResume(Button, prefix="cor"):
    pass


class CourseCancel(Button, prefix="coq"):
    pass


class CourseStepBack(Button, prefix="cob"):
    pass


class ProviderPick(Button, prefix="cop"):
    provider: Id


class ProviderPage(Button, prefix="cog"):
    page: Num


class KindPick(Button, prefix="cok"):
    index: Num  # in services.courses.KINDS


class FormatPick(Button, prefix="cofm"):
    index: Num  # in services.courses.FORMATS


class HoursConfirm(Button, prefix="coy"):
    """«Да, верно»: keep the hours of a retraining under 250."""


class HoursFix(Button, prefix="coh"):
    """«Исправить»: type the hours again."""


class BlockToggle(Button, prefix="cot"):
    index: Num  # in services.reference.BLOCKS


class BlocksDone(Button, prefix="cobd"):
    pass


class StepSkip(Button, prefix="cos"):
    """Skip an optional step (or remove the value while editing)."""


class CourseSave(Button, prefix="cosv"):
    pass
