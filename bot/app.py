"""The app factory: Bot, Dispatcher, storage, middlewares, routers."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiogram import Bot, Dispatcher, methods
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.methods.base import Response
from aiogram.types import BotCommand
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.i18n import Translator
from bot.middlewares import (
    ButtonAnswerMiddleware,
    ContextMiddleware,
    DbSessionMiddleware,
    HandlerNeedsMiddleware,
)
from bot.outgoing import equip
from bot.storage import ChatLocks, SqlStorage
from handlers import reads_along, setup_routers
from handlers.consent.router import RenewalGate
from models import utcnow
from models.db import make_engine, make_sessionmaker
from services.instruments import InstrumentRegistry, sync_instruments
from surveys.loader import kind_groups, load_instruments

log = logging.getLogger("pedbot")


# aiogram validates every answer of the Bot API as ``Response[<method's result type>]``.
# pydantic keeps such parametrised models only while something references them, so without
# these references each request rebuilds the model (about 6 ms of CPU per request).
_RESPONSE_TYPES = [
    Response[m.__returning__]  # type: ignore[name-defined]
    for m in (
        methods.SendMessage,
        methods.EditMessageText,
        methods.EditMessageReplyMarkup,
        methods.AnswerCallbackQuery,
        methods.SendDocument,
        methods.DeleteMessage,
        methods.SetMyCommands,
        methods.GetMe,
        methods.GetUpdates,
        methods.DeleteWebhook,
    )
]


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    """A Bot talking to ``TELEGRAM_API_URL`` (the official server unless configured)."""
    if session is None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    token = settings.bot_token or "0:" + "x" * 35
    bot = Bot(
        token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
    equip(bot)
    return bot


def create_storage(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> tuple[BaseStorage, BaseEventIsolation]:
    """FSM state in Redis when ``REDIS_URL`` is set, otherwise in our database."""
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

        redis_storage = RedisStorage.from_url(settings.redis_url)
        return redis_storage, RedisEventIsolation(redis=redis_storage.redis)
    return SqlStorage(sessionmaker), ChatLocks()


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    registry: InstrumentRegistry
    dispatcher: Dispatcher
    db: DbSessionMiddleware

    async def close(self) -> None:
        await self.dispatcher.storage.close()
        await self.dispatcher.fsm.events_isolation.close()
        await self.engine.dispose()


async def create_app(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> App:
    """Everything but the Bot: the database must already be migrated."""
    engine = engine or make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        registry = await sync_instruments(session, load_instruments())
    kind_groups()  # read once now, not at the first questionnaire completed
    storage, isolation = create_storage(settings, sessionmaker)
    # aiogram's own FSM middleware would read the state in a session of its own before ours
    # opens; ContextMiddleware takes its place after the session middleware.
    dp = Dispatcher(storage=storage, events_isolation=isolation, disable_fsm=True)
    dp["registry"] = registry
    dp["settings"] = settings
    db = DbSessionMiddleware(sessionmaker)
    dp.update.outer_middleware(db)
    dp.update.outer_middleware(
        ContextMiddleware(storage, isolation, settings.admin_ids, clock, settings.tz, reads_along())
    )
    gate = RenewalGate()  # a new edition of the consent: asked before anything else
    dp.message.outer_middleware(gate)
    dp.callback_query.outer_middleware(gate)
    dp.callback_query.middleware(ButtonAnswerMiddleware())
    for name, observer in dp.observers.items():
        if name not in ("update", "error", "callback_query"):
            observer.middleware(HandlerNeedsMiddleware())
    dp.include_routers(*setup_routers())
    return App(settings, engine, sessionmaker, registry, dp, db)


# The young generation is collected after this many new container objects instead of 700:
# an update makes a few hundred (pydantic models of the update, the request, Telegram's
# answer), nearly all freed by reference counting at once, so the default collected several
# times per update for nothing.
GC_THRESHOLDS = (20_000, 20, 20)


def settle() -> None:
    """Once the app is built: hand everything made so far (instrument definitions, models,
    locale texts, routers, compiled statements) to the garbage collector's permanent
    generation. It lives as long as the process anyway, and a full collection no longer
    walks it (hundreds of milliseconds of pause each time, seen as the p99 of a tap)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def set_commands(bot: Bot) -> None:
    """Non-essential: a failure is logged and the bot goes on."""
    t = Translator()
    commands = [
        BotCommand(command=c, description=t(f"commands.{c}")) for c in ("start", "menu", "help")
    ]
    try:
        await bot.set_my_commands(commands)
    except (TelegramAPIError, OSError, TimeoutError) as exc:
        log.warning("setMyCommands failed, continuing: %s", type(exc).__name__)
