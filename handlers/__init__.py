"""aiogram routers, one package per capability. ``setup_routers`` includes them in order."""

from __future__ import annotations

from aiogram import Router


def setup_routers() -> Router:
    """A fresh root router holding a fresh router of every feature."""
    from handlers import errors
    from handlers.catalog import router as catalog
    from handlers.courses import router as courses
    from handlers.home import router as home
    from handlers.registration import router as registration
    from handlers.route import router as route
    from handlers.surveys import router as surveys

    features = [
        errors.router,
        surveys.router,
        courses.router,
        route.router,
        catalog.router,
    ]
    root = Router(name="root")
    for feature in features:
        feature._parent_router = None
    root.include_router(registration.setup())  # first: /start answers in any state
    root.include_routers(*features)
    root.include_router(home.setup())  # last: main menu and the fallbacks
    return root
