"""A small fake Telegram Bot API server for end-to-end tests of the real ``pedbot run`` process.

It runs aiohttp on 127.0.0.1 (ephemeral port) in a background thread with its own event
loop, so a synchronous test can push updates and wait for the bot's answers while the bot
is a separate process pointed at it by ``TELEGRAM_API_URL``.

What it does, like the real server:

* ``/bot<token>/<method>`` with form-urlencoded, multipart or JSON bodies; JSON-encoded
  fields (``reply_markup``, ``commands``…) are decoded;
* ``getUpdates`` long-polls (the wait is capped at about a second so the bot stops quickly)
  and confirms updates by ``offset`` as Telegram does: updates below the offset are
  forgotten, the others are delivered again to the next poller (also after a restart);
* every call is recorded; each chat remembers the messages it shows (text and inline
  keyboard), so a test can tap a button by its label;
* ``editMessageText`` refuses an unknown message and an edit that changes nothing, with the
  descriptions Telegram uses;
* any method can be made to fail with :attr:`FakeBotAPI.fail` or to answer late with
  :attr:`FakeBotAPI.delay`.

Message texts sent with ``parse_mode=HTML`` are shown as the user sees them (tags removed,
entities decoded); :attr:`Call.params` keeps the raw request.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

BOT_FIRST_NAME = "pedbot"
BOT_USERNAME = "pedbot_test_bot"
LONG_POLL_CAP = 1.0  # seconds: the longest a getUpdates call is held open
POLL_STEP = 0.02

# Fields aiogram sends JSON-encoded inside form data.
JSON_FIELDS = {
    "reply_markup",
    "commands",
    "allowed_updates",
    "entities",
    "caption_entities",
    "scope",
    "link_preview_options",
    "reply_parameters",
    "media",
    "results",
    "menu_button",
}


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


@dataclass
class Shown:
    """What a chat shows for one message id."""

    message_id: int
    text: str
    keyboard: list[list[dict[str, Any]]] | None = None
    from_bot: bool = True
    document: dict[str, Any] | None = None

    def buttons(self) -> list[dict[str, Any]]:
        return [b for row in self.keyboard or [] for b in row]


class _PlainText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(text: str) -> str:
    """What Telegram shows for an HTML-formatted text: tags dropped, entities decoded."""
    parser = _PlainText()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


class FakeBotAPI:
    """The fake server and the helpers a test uses to play the user."""

    def __init__(self, user_first_name: str = "Мария") -> None:
        self.user_first_name = user_first_name
        self.calls: list[Call] = []
        self.chats: dict[int, dict[int, Shown]] = {}
        # method name (any case) -> the JSON body to answer with; the HTTP status is taken
        # from its ``error_code``.
        self.fail: dict[str, dict[str, Any]] = {}
        # method name (any case) -> seconds to hold the request before answering
        self.delay: dict[str, float] = {}
        # Called on every wait step; raise from it to stop waiting (e.g. the bot process died).
        self.health_check: Callable[[], None] | None = None
        self.bot_id = 0
        self._lock = threading.RLock()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._confirmed = 0  # every update_id <= this has been confirmed by an offset
        self._last_pushed = 0
        self._mark: dict[int, int] = {}  # chat -> len(calls) when the test last acted there
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeBotAPI:
        ready = threading.Event()
        errors: list[BaseException] = []
        loop = asyncio.new_event_loop()
        self._loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # reported to the starting thread
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                assert self._runner is not None
                loop.run_until_complete(self._runner.cleanup())
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-bot-api", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Bot API server did not start in 10 s")
        if errors:
            raise RuntimeError("the fake Bot API server failed to start") from errors[0]
        return self

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ HTTP side

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        params, files = await self._params(request)
        with self._lock:
            self.calls.append(Call(method, params, files))
            if not self.bot_id:
                left = token.partition(":")[0]
                self.bot_id = int(left) if left.isdigit() else 1
            failure = self.fail.get(method) or self.fail.get(method.lower())
            delay = self.delay.get(method) or self.delay.get(method.lower())
        if delay:
            await asyncio.sleep(delay)
        if failure is not None:
            status = int(failure.get("error_code", 400)) if not failure.get("ok") else 200
            return web.json_response(failure, status=status)
        name = method.lower()
        if name == "getupdates":
            return self._json(await self._get_updates(params))
        with self._lock:
            answer = self._answer(name, params)
        return self._json(answer)

    @staticmethod
    def _json(body: dict[str, Any]) -> web.Response:
        status = 200 if body.get("ok") else int(body.get("error_code", 400))
        return web.json_response(body, status=status)

    @staticmethod
    async def _params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            body = await request.json()
            return (dict(body) if isinstance(body, dict) else {}), files
        form = await request.post()
        parts: dict[str, dict[str, Any]] = {}  # multipart file parts: name -> what they are
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = value.file.read()
                parts[key] = {
                    "filename": value.filename,
                    "content_type": value.content_type,
                    "size": len(files[key]),
                }
            elif key in JSON_FIELDS:
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value
            else:
                params[key] = value
        # "attach://<part>" references point at the multipart file parts
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                part = value.removeprefix("attach://")
                if part in parts:
                    params[key] = {"attach": part, **parts[part]}
        return params, files

    async def _get_updates(self, params: dict[str, Any]) -> dict[str, Any]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = min(float(params.get("timeout") or 0), LONG_POLL_CAP)
        deadline = time.monotonic() + timeout
        with self._lock:
            if offset:
                self._confirmed = max(self._confirmed, offset - 1)
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        while True:
            with self._lock:
                pending = [u for u in self._updates if u["update_id"] >= offset][:limit]
            if pending or time.monotonic() >= deadline:
                return {"ok": True, "result": pending}
            await asyncio.sleep(POLL_STEP)

    # ---- answers (called with the lock held)

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id or 1,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }

    def _user(self, user_id: int) -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": self.user_first_name,
            "language_code": "ru",
        }

    def _chat(self, chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "type": "private", "first_name": self.user_first_name}

    def _next_message_id(self, chat_id: int) -> int:
        # one sequence per chat, shared by the user's and the bot's messages, as in Telegram
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _message_dict(self, chat_id: int, shown: Shown) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": shown.message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self._bot_user() if shown.from_bot else self._user(chat_id),
        }
        if shown.document is not None:
            data["document"] = shown.document
            if shown.text:
                data["caption"] = shown.text
        else:
            data["text"] = shown.text
        if shown.keyboard:
            data["reply_markup"] = {"inline_keyboard": shown.keyboard}
        return data

    @staticmethod
    def _ok(result: Any) -> dict[str, Any]:
        return {"ok": True, "result": result}

    @staticmethod
    def _error(code: int, description: str) -> dict[str, Any]:
        return {"ok": False, "error_code": code, "description": description}

    @staticmethod
    def _visible(params: dict[str, Any], key: str) -> str:
        text = str(params.get(key) or "")
        return html_to_text(text) if str(params.get("parse_mode", "")).upper() == "HTML" else text

    @staticmethod
    def _inline(params: dict[str, Any]) -> list[list[dict[str, Any]]] | None:
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            return markup["inline_keyboard"]
        return None

    def _answer(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        if name == "getme":
            return self._ok(self._bot_user())
        if name == "sendmessage":
            chat_id = int(params["chat_id"])
            text = self._visible(params, "text")
            if not text.strip():
                return self._error(400, "Bad Request: message text is empty")
            if len(text) > 4096:
                return self._error(400, "Bad Request: message is too long")
            shown = Shown(self._next_message_id(chat_id), text, self._inline(params))
            self.chats.setdefault(chat_id, {})[shown.message_id] = shown
            return self._ok(self._message_dict(chat_id, shown))
        if name in ("editmessagetext", "editmessagereplymarkup"):
            chat_id = int(params.get("chat_id") or 0)
            old = self.chats.get(chat_id, {}).get(int(params.get("message_id") or 0))
            if old is None or not old.from_bot:
                return self._error(400, "Bad Request: message to edit not found")
            text = self._visible(params, "text") if name == "editmessagetext" else old.text
            keyboard = self._inline(params)
            if text == old.text and keyboard == old.keyboard:
                return self._error(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )
            shown = Shown(old.message_id, text, keyboard, document=old.document)
            self.chats[chat_id][shown.message_id] = shown
            return self._ok(self._message_dict(chat_id, shown))
        if name == "senddocument":
            chat_id = int(params["chat_id"])
            mid = self._next_message_id(chat_id)
            doc = params.get("document")
            filename = doc.get("filename") if isinstance(doc, dict) else None
            document = {
                "file_id": f"doc{mid}",
                "file_unique_id": f"udoc{mid}",
                "file_name": filename or "file",
                "file_size": doc.get("size", 0) if isinstance(doc, dict) else 0,
            }
            shown = Shown(
                mid, self._visible(params, "caption"), self._inline(params), document=document
            )
            self.chats.setdefault(chat_id, {})[mid] = shown
            return self._ok(self._message_dict(chat_id, shown))
        if name == "deletemessage":
            chat_id = int(params.get("chat_id") or 0)
            removed = self.chats.get(chat_id, {}).pop(int(params.get("message_id") or 0), None)
            if removed is None:
                return self._error(400, "Bad Request: message to delete not found")
            return self._ok(True)
        # deleteWebhook, setMyCommands, answerCallbackQuery and anything else
        return self._ok(True)

    # ------------------------------------------------------------------ the user's side

    def _push(self, user_id: int, update: dict[str, Any]) -> int:
        with self._lock:
            update_id = next(self._update_ids)
            update = {"update_id": update_id, **update}
            self._updates.append(update)
            self._last_pushed = update_id
            self._mark[user_id] = len(self.calls)
        return update_id

    def push_message(self, user_id: int, text: str) -> int:
        """The user sends ``text``; returns the update id."""
        with self._lock:
            mid = self._next_message_id(user_id)
            self.chats.setdefault(user_id, {})[mid] = Shown(mid, text, from_bot=False)
        message: dict[str, Any] = {
            "message_id": mid,
            "date": int(time.time()),
            "chat": self._chat(user_id),
            "from": self._user(user_id),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._push(user_id, {"message": message})

    def push_callback(self, user_id: int, message_id: int, data: str) -> int:
        """The user taps a button with ``data`` under the bot's message ``message_id``."""
        with self._lock:
            shown = self.chats.get(user_id, {}).get(message_id)
            message = (
                self._message_dict(user_id, shown)
                if shown is not None
                else {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": self._chat(user_id),
                    "from": self._bot_user(),
                    "text": "…",
                }
            )
        query = {
            "id": f"cb{time.monotonic_ns()}",
            "from": self._user(user_id),
            "chat_instance": f"ci{user_id}",
            "message": message,
            "data": data,
        }
        return self._push(user_id, {"callback_query": query})

    def screens(self, user_id: int) -> list[Shown]:
        """The bot's messages in the chat, oldest first."""
        with self._lock:
            shown = self.chats.get(user_id, {})
            return [shown[k] for k in sorted(shown) if shown[k].from_bot]

    def buttons(self, user_id: int) -> list[str]:
        """Labels of the inline buttons under the newest message that has any."""
        for screen in reversed(self.screens(user_id)):
            if screen.buttons():
                return [b["text"] for b in screen.buttons()]
        return []

    def find_button(self, user_id: int, label: str) -> tuple[int, str]:
        """(message id, callback data) of the newest button whose text is or contains ``label``."""
        for screen in reversed(self.screens(user_id)):
            buttons = [b for b in screen.buttons() if "callback_data" in b]
            exact = [b for b in buttons if b["text"] == label]
            found = exact or [b for b in buttons if label in b["text"]]
            if found:
                return screen.message_id, found[0]["callback_data"]
        raise AssertionError(
            f"no button with {label!r} in chat {user_id}; newest buttons: {self.buttons(user_id)}"
        )

    def tap(self, user_id: int, label: str) -> int:
        """Tap the newest button whose text contains ``label``; returns the update id."""
        message_id, data = self.find_button(user_id, label)
        return self.push_callback(user_id, message_id, data)

    def calls_of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method.lower() == method.lower()]

    def texts(self, user_id: int, since: int = 0) -> list[str]:
        """Texts the bot sent or put by editing into the chat, from call number ``since``."""
        out: list[str] = []
        with self._lock:
            calls = self.calls[since:]
        for call in calls:
            name = call.method.lower()
            if name not in ("sendmessage", "editmessagetext"):
                continue
            if str(call.params.get("chat_id")) != str(user_id):
                continue
            out.append(self._visible(call.params, "text"))
        return out

    def last_text(self, user_id: int) -> str:
        texts = self.texts(user_id)
        return texts[-1] if texts else ""

    def wait_until(
        self, ready: Callable[[], Any], timeout: float, describe: Callable[[], str]
    ) -> Any:
        """Poll ``ready`` until it returns something truthy (returned); on timeout raise
        ``AssertionError(describe())``. :attr:`health_check` runs on every step."""
        deadline = time.monotonic() + timeout
        while True:
            result = ready()
            if result:
                return result
            if self.health_check is not None:
                self.health_check()
            if time.monotonic() >= deadline:
                raise AssertionError(describe())
            time.sleep(POLL_STEP)

    def wait_for(
        self,
        user_id: int,
        predicate: str | Callable[[str], bool],
        timeout: float = 10.0,
        since: int | None = None,
    ) -> str:
        """Wait until a sendMessage/editMessageText to the chat satisfies ``predicate`` (a
        callable, or a substring); returns that text.

        Only calls made after the test last acted in this chat count, unless ``since`` (an
        index into :attr:`calls`) says otherwise.
        """
        check = (lambda text: predicate in text) if isinstance(predicate, str) else predicate
        with self._lock:
            start = self._mark.get(user_id, 0) if since is None else since

        def ready() -> str | None:
            return next((t for t in self.texts(user_id, start) if check(t)), None)

        def describe() -> str:
            recent = self.texts(user_id)[-5:]
            return (
                f"no message to {user_id} matching {predicate!r} in {timeout} s; recent: {recent}"
            )

        return self.wait_until(ready, timeout, describe)  # type: ignore[no-any-return]

    def wait_button(self, user_id: int, label: str, timeout: float = 10.0) -> None:
        """Wait until the chat shows a button whose text is or contains ``label``."""

        def ready() -> bool:
            try:
                self.find_button(user_id, label)
            except AssertionError:
                return False
            return True

        self.wait_until(
            ready,
            timeout,
            lambda: f"no button {label!r} in chat {user_id}; buttons: {self.buttons(user_id)}",
        )

    def wait_call(self, method: str, count: int = 1, timeout: float = 10.0) -> Call:
        """Wait until ``method`` has been called ``count`` times; returns the last such call."""
        self.wait_until(
            lambda: len(self.calls_of(method)) >= count,
            timeout,
            lambda: f"{method} called {len(self.calls_of(method))} times, expected {count}",
        )
        return self.calls_of(method)[-1]

    def wait_confirmed(self, timeout: float = 10.0) -> None:
        """Wait until the bot has confirmed (by ``offset``) every update pushed so far."""

        def ready() -> bool:
            with self._lock:
                return self._confirmed >= self._last_pushed

        self.wait_until(
            ready,
            timeout,
            lambda: f"updates confirmed up to {self._confirmed}, pushed {self._last_pushed}",
        )
