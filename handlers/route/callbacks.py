"""Buttons of «Мой маршрут (ИОМ)», one class per action, and the route editor's dialog."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup

from handlers.common import Id, Num

DRAFT_KEY = "route"
"""The route editor's draft in the conversation data (see ``services.routes.next_step``)."""


class RouteForm(StatesGroup):
    """The typed input being asked (the route editor's dialog)."""

    title = State()  # the title of an own step
    reason = State()  # why a step is closed


class RouteHome(CallbackData, prefix="rth"):
    """«К маршруту», «Отмена»: the route's screen."""


class RouteActive(CallbackData, prefix="rta"):
    """«Действующий маршрут» from a draft."""


class RouteBuild(CallbackData, prefix="rtb"):
    """«Построить маршрут» / «Обновить маршрут» from the latest self-assessment."""


class DraftConfirm(CallbackData, prefix="rtk"):
    route: Id


class DraftDiscardAsk(CallbackData, prefix="rty"):
    """«Удалить черновик»: asks for a confirmation first."""

    route: Id


class DraftDiscard(CallbackData, prefix="rtx"):
    """«Да, удалить черновик»."""

    route: Id


class StepOpen(CallbackData, prefix="rtp"):
    """A step's button: its card with the actions its route allows."""

    step: Id


class StepRemove(CallbackData, prefix="rtr"):
    step: Id


class StepTerm(CallbackData, prefix="rtt"):
    """«Изменить срок»: the month picker of a step."""

    step: Id


class StepMonth(CallbackData, prefix="rtm"):
    """A month of the picker: ``month`` months from the current one."""

    step: Id
    month: Num


class AddStep(CallbackData, prefix="rtn"):
    """«Добавить шаг»: the list of blocks."""


class AddBlock(CallbackData, prefix="rtc"):
    """The catalog page of a block (an index in ``services.reference.BLOCKS``)."""

    block: Num
    page: Num = 0


class AddCatalogItem(CallbackData, prefix="rti"):
    item: Id
    block: Num


class AddOwnStep(CallbackData, prefix="rto"):
    """«Свой шаг: …»: ``kind`` is an index in ``services.routes.CUSTOM_KINDS``."""

    block: Num
    kind: Num


class StepDone(CallbackData, prefix="rtd"):
    step: Id


class StepReopen(CallbackData, prefix="rtu"):
    step: Id


class StepClose(CallbackData, prefix="rtz"):
    """«Отменить шаг» of the active route: asks for the reason."""

    step: Id


class StepCloseWithCourse(CallbackData, prefix="rtw"):
    """«Отметить выполненным: …» under a recorded course."""

    step: Id
    course: Id


class RouteDocx(CallbackData, prefix="rtf"):
    route: Id
