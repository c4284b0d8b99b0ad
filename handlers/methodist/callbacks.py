"""Buttons of the methodist's mentoring queue, one class per action, ids only.

Every id is checked again on every press against the methodist's scope
(:mod:`services.mentoring_queue`): a forged id changes nothing.
"""

from __future__ import annotations

from handlers.common import Button, Id


class QueueOpen(Button, prefix="mtq"):
    """The queue of requests (the same as the main menu's «🗂 Заявки на наставника»)."""


class RequestOpen(Button, prefix="mtr"):
    """A request's card with the ranked mentors."""

    request: Id


class AssignAsk(Button, prefix="mta"):
    """«Назначить»: ask to confirm proposing this mentor (a user id) for the request."""

    request: Id
    mentor: Id


class AssignConfirm(Button, prefix="mty"):
    """The confirmation: write the offer and send it to the mentor."""

    request: Id
    mentor: Id


class OfferWithdraw(Button, prefix="mtw"):
    """Withdraw the proposal a mentor has not answered: the request is open again."""

    request: Id
