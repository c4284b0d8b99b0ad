"""aiogram routers, one package per capability. ``setup_routers`` includes them in order."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters.callback_data import CallbackData

from services.people import ReadAlong


def setup_routers() -> list[Router]:
    """A fresh router of every feature, in the order the Dispatcher tries them (included in
    the Dispatcher directly: each level of routers costs every update a pass)."""
    # Imported here, not at the top: every feature imports handlers.common, which would
    # otherwise import every feature back through this package.
    from handlers import errors
    from handlers.campaigns import router as campaigns
    from handlers.catalog import router as catalog
    from handlers.consent import router as consent
    from handlers.courses import router as courses
    from handlers.home import router as home
    from handlers.indicators import router as indicators
    from handlers.mentoring import router as mentoring
    from handlers.methodist import router as methodist
    from handlers.registration import router as registration
    from handlers.report import router as report
    from handlers.route import router as route
    from handlers.settings import router as settings
    from handlers.surveys import router as surveys

    return [
        # the hot path first (answer taps); its typed answers never take a command (a person
        # who agreed to an older edition of the consent is stopped before any router, by
        # handlers.consent.router.RenewalGate)
        surveys.setup(),
        consent.setup(),
        registration.setup(),
        courses.setup(),
        route.setup(),
        mentoring.setup(),
        methodist.setup(),
        campaigns.setup(),
        indicators.setup(),
        settings.setup(),
        report.setup(),
        catalog.setup(),
        home.setup(),  # the main menu and the fallbacks for anything unrecognised
        errors.setup(),  # error events only: last, so no update passes it on its way
    ]


def reads_along() -> dict[type[CallbackData], ReadAlong]:
    """The buttons whose handler's first read comes with the person behind the update
    (:class:`services.people.ReadAlong`; the handler names it among its parameters)."""
    from handlers.surveys import router as surveys

    return {**surveys.READS_ALONG}
