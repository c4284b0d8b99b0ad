"""Buttons of «Мой маршрут (ИОМ)», one class per action, and the route editor's dialog."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup

from handlers.common import Button, Id, Num

DRAFT_KEY = "route"
"""The route editor's draft in the conversation data (see ``services.routes.next_step``)."""


class RouteForm(StatesGroup):
    """The typed input being asked (the route editor's dialog)."""

    title = State()  # the title of an own step
    reason = State()  # why a step is closed


class RouteHome(Button, prefix="rth"):
    """«К маршруту», «Отмена»: the route's screen."""


class RouteActive(Button, prefix="rta"):
    """«Действующий маршрут» from a draft."""


class RouteBuild(Button, prefix="rtb"):
    """«Построить маршрут» / «Обновить маршрут» from the latest self-assessment."""


class DraftConfirm(Button, prefix="rtk"):
    route: Id


class DraftDiscardAsk(Button, prefix="rty"):
    """«Удалить черновик»: asks for a confirmation first."""

    route: Id


class DraftDiscard(Button, prefix="rtx"):
    """«Да, удалить черновик»."""

    route: Id


class StepOpen(Button, prefix="rtp"):
    """A step's button: its card with the actions its route allows."""

    step: Id


class StepRemove(Button, prefix="rtr"):
    step: Id


class StepTerm(Button, prefix="rtt"):
    """«Изменить срок»: the month picker of a step."""

    step: Id


class StepMonth(Button, prefix="rtm"):
    """A month of the picker: ``month`` months from the current one."""

    step: Id
    month: Num


class AddStep(Button, prefix="rtn"):
    """«Добавить шаг»: the list of blocks."""


class AddBlock(Button, prefix="rtc"):
    """The catalog page of a block (an index in ``services.reference.BLOCKS``)."""

    block: Num
    page: Num = 0


class AddCatalogItem(Button, prefix="rti"):
    item: Id
    block: Num


class AddOwnStep(Button, prefix="rto"):
    """«Свой шаг: …»: ``kind`` is an index in ``services.routes.CUSTOM_KINDS``."""

    block: Num
    kind: Num


class StepDone(Button, prefix="rtd"):
    step: Id


class StepReopen(Button, prefix="rtu"):
    step: Id


class StepClose(Button, prefix="rtz"):
    """«Отменить шаг» of the active route: asks for the reason."""

    step: Id


class StepCloseWithCourse(Button, prefix="rtw"):
    """«Отметить выполненным: …» under a recorded course."""

    step: Id
    course: Id


class RouteDocx(Button, prefix="rtf"):
    route: Id
