"""Per-update context: one database session, the person, their roles, their texts, their
conversation state, and the answer to a pressed button."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.types import CallbackQuery, TelegramObject, Update
from aiogram.types import User as TgUser
from aiogram.utils.callback_answer import CallbackAnswerMiddleware
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import DEFAULT_LANGUAGE, Translator, languages
from bot.outgoing import equip
from bot.scope import Conversation, UpdateScope, current_scope
from bot.storage import SqlStorage, storage_key
from models.db import wipe_wal_if_asked
from models.work import Work
from services.people import ReadAlong, load_context, load_user
from services.roles import Access, access_of

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DbSessionMiddleware(BaseMiddleware):
    """The database work of one update (:class:`models.work.Work`): its session, made only
    when a handler asks for it, is committed when the handler returns (and before each Bot
    API request, see :mod:`bot.outgoing`), rolled back if it raises.

    It also knows which updates are being handled, so a stopping process can wait for them.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self.in_flight = 0  # updates being handled
        self._idle: asyncio.Event | None = None  # set when in_flight is back to 0, if awaited

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        equip(data["bot"])
        self.in_flight += 1
        work = data["work"] = Work(self.sessionmaker)
        scope = data["scope"] = UpdateScope(work)
        token = current_scope.set(scope)
        try:
            result = await handler(event, data)
            if scope.changed:
                await scope.flush()
            if not work.settled:
                await work.commit()
            if work.opened is not None:
                await wipe_wal_if_asked(work.opened)
            return result
        except BaseException:
            scope.failed = True
            await work.rollback()
            raise
        finally:
            current_scope.reset(token)
            if not work.untouched:
                await work.close()
            self.in_flight -= 1
            if self.in_flight == 0 and self._idle is not None:
                self._idle.set()

    async def wait(self, grace: float) -> int:
        """Wait up to ``grace`` seconds for the updates being handled; how many are left."""
        if self.in_flight == 0:
            return 0
        self._idle = idle = asyncio.Event()
        try:
            await asyncio.wait_for(idle.wait(), timeout=grace)
        except TimeoutError:
            pass
        finally:
            self._idle = None
        return self.in_flight


class ContextMiddleware(FSMContextMiddleware):
    """aiogram's FSM middleware, extended: under the same per-chat lock it reads the person,
    their roles and their conversation state in one statement, and picks their translator.

    Registered after :class:`DbSessionMiddleware` (the Dispatcher is built with
    ``disable_fsm=True`` and this takes the place of its FSM middleware), so the state is read
    with the update's own database work. One person's updates are handled one at a time, in
    order.

    It puts ``person`` (:class:`services.people.Person` or None), ``access``, ``t`` and
    ``now`` in the handler data; the whole ORM row ``user`` is loaded by
    :class:`HandlerNeedsMiddleware` only for handlers that ask for it. Unlike aiogram's it
    does not add ``fsm_storage``, which nothing here asks for: aiogram copies the handler
    data at every level of its routing, and beyond 21 keys each copy is a larger table.
    """

    def __init__(
        self,
        storage: BaseStorage,
        events_isolation: BaseEventIsolation,
        admin_ids: frozenset[int],
        clock: Callable[[], datetime],
        tz: tzinfo,
        reads_along: Mapping[type[CallbackData], ReadAlong] | None = None,
    ) -> None:
        """``reads_along``: the buttons whose handler's first read comes with the person
        (:class:`services.people.ReadAlong`), by the class of their data."""
        super().__init__(storage=storage, events_isolation=events_isolation)
        self.admin_ids = admin_ids
        self.clock = clock
        self.tz = tz
        self.translators = {lang: Translator(lang, tz) for lang in languages()}
        self.nobody = Access(telegram_id=0)
        self.reads_along = {
            cls.__prefix__: (cls, along) for cls, along in (reads_along or {}).items()
        }

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data["now"] = self.clock().astimezone(self.tz)  # local time of the municipality
        context = self.resolve_event_context(data["bot"], data)
        if context is None:
            await self._person(data, "", None)
            return await handler(event, data)
        async with self.events_isolation.lock(key=context.key):
            key = storage_key(context.key)
            conversation = await self._person(data, key, self._along(event))
            data["state"] = context
            if conversation is not None and isinstance(self.storage, SqlStorage):
                self.storage.prime(key, conversation)
                data["raw_state"] = conversation[0]
            else:
                data["raw_state"] = await context.get_state()
            return await handler(event, data)

    def _along(self, event: TelegramObject) -> tuple[ReadAlong, dict[str, Any]] | None:
        """The read that comes with the person for this button, and its parameters (the
        button's fields); None for other updates and for data that does not parse (the
        handler's filter refuses it)."""
        query = event.callback_query if isinstance(event, Update) else None
        if query is None or not query.data or not self.reads_along:
            return None
        found = self.reads_along.get(query.data.partition(":")[0])
        if found is None:
            return None
        cls, along = found
        try:
            # its fields, as model_dump's (read only: the read passes them on as keywords)
            values = cls.unpack(query.data).__dict__
        except (TypeError, ValueError):  # pydantic's ValidationError is a ValueError
            return None
        return along, values

    async def _person(
        self,
        data: dict[str, Any],
        key: str,
        along: tuple[ReadAlong, dict[str, Any]] | None,
    ) -> Conversation | None:
        """Fill the person, access and translator (and the row read along); the
        conversation row read with them."""
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None:
            data["person"] = None
            data["access"] = self.nobody
            data["t"] = self.translators[DEFAULT_LANGUAGE]
            return None
        if along is None:
            found = await load_context(data["work"], tg_user.id, key)
        else:
            found = await load_context(data["work"], tg_user.id, key, *along)
            data[along[0].name] = found.along
        person = data["person"] = found.person
        data["access"] = access_of(tg_user.id, found.roles, self.admin_ids)
        language = person.language if person is not None else DEFAULT_LANGUAGE
        data["t"] = self.translators.get(language) or self.translators[DEFAULT_LANGUAGE]
        return found.conversation


def _needs(data: dict[str, Any]) -> bool:
    """The chosen handler names the session or the user (most do not)."""
    chosen = data.get("handler")
    return chosen is not None and (chosen.varkw or not _NEEDED.isdisjoint(chosen.params))


_NEEDED = frozenset({"session", "user"})


async def give_needs(data: dict[str, Any]) -> None:
    """Give the chosen handler what it names among its parameters and only then: the ORM
    ``session`` (made now, see :class:`models.work.Work`) and ``user``, the person's whole
    row with school, subjects and profile. The answer path needs neither: it has
    :class:`services.people.Person` and runs its statements on the driver."""
    chosen = data.get("handler")
    if chosen is None:
        return
    params = chosen.params
    if "session" in params or "user" in params or chosen.varkw:
        data["session"] = data["work"].session
    if "user" in params or chosen.varkw:
        person = data.get("person")
        data["user"] = await load_user(data["session"], person.id) if person else None


class HandlerNeedsMiddleware(BaseMiddleware):
    """:func:`give_needs` for every kind of update but pressed buttons (which
    :class:`ButtonAnswerMiddleware` serves, one layer fewer on the hot path). An inner
    middleware, so aiogram has chosen the handler."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if _needs(data):
            await give_needs(data)
        return await handler(event, data)


class ButtonAnswerMiddleware(CallbackAnswerMiddleware):
    """Answers every pressed button once: after the handler (with the text it set), or, when
    the handler fails, not at all here — the error handler answers it after the rollback.
    It also gives the handler what it names (:func:`give_needs`)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if _needs(data):
            await give_needs(data)
        if not isinstance(event, CallbackQuery):
            return await handler(event, data)
        answer = data["callback_answer"] = self.construct_callback_answer(
            properties=get_flag(data, "callback_answer")
        )
        result = await handler(event, data)
        if not answer.disabled and not answer.answered:
            await self.answer(event, answer)
        return result
