"""aiogram routers, one per capability. ``setup_routers`` includes them in order."""

from __future__ import annotations

from aiogram import Router


def setup_routers() -> Router:
    """A fresh root router holding the feature routers.

    Feature routers are module singletons; an aiogram router may have one parent, so they are
    detached from a previous root first. That lets one process build the app more than once
    (the restart tests build a second Dispatcher on the same database).
    """
    from handlers import catalog, courses, errors, menu, profile, route, start, surveys

    features = [
        errors.router,
        start.router,
        profile.router,
        surveys.router,
        courses.router,
        route.router,
        catalog.router,
        menu.router,  # last: main menu and the fallbacks for anything unrecognised
    ]
    root = Router(name="root")
    for feature in features:
        feature._parent_router = None
    root.include_routers(*features)
    return root
