"""aiogram routers, one package per capability. ``setup_routers`` includes them in order."""

from __future__ import annotations

from aiogram import Router


def setup_routers() -> Router:
    """A fresh root router holding a fresh router of every feature."""
    from handlers import errors
    from handlers.catalog import router as catalog
    from handlers.courses import router as courses
    from handlers.home import router as home
    from handlers.registration import menu_legacy, profile
    from handlers.registration import router as start
    from handlers.route import router as route
    from handlers.surveys import router as surveys

    features = [
        start.router,
        menu_legacy.router,
        profile.router,
    ]
    root = Router(name="root")
    root.include_router(errors.setup())
    for feature in features:
        feature._parent_router = None
    root.include_routers(*features)
    root.include_router(surveys.setup())
    root.include_router(courses.setup())
    root.include_router(route.setup())
    root.include_router(catalog.setup())
    root.include_router(home.setup())  # last: main menu and the fallbacks
    return root
