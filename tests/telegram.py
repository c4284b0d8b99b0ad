"""A mocked Bot API session and a chat driver for journeys through the real Dispatcher.

The session follows aiogram's own ``tests/mocked_bot.py``: every request is recorded and
answered by a plausible result, parsed by aiogram exactly like a server response. On top of
that it enforces Telegram's limits (text, caption, callback data, HTML) the way the real
server would, and remembers what each chat shows so a test can tap buttons by their text.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    CallbackQuery,
    Chat,
    Document,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)

BOT_ID = 4242
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
}


class _HtmlCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.errors.append(f"unsupported tag <{tag}>")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}>")
        else:
            self.stack.pop()

    def handle_entityref(self, name: str) -> None:
        if name not in {"lt", "gt", "amp", "quot"}:
            self.errors.append(f"unsupported entity &{name};")


def html_errors(text: str) -> list[str]:
    checker = _HtmlCheck()
    checker.feed(text)
    checker.close()
    if checker.stack:
        checker.errors.append(f"unclosed tags {checker.stack}")
    # a bare '<' that is not a tag is an error for Telegram too
    stripped = text
    for tag in ALLOWED_TAGS:
        stripped = stripped.replace(f"<{tag}>", "").replace(f"</{tag}>", "")
    if "<" in stripped.replace("<a href", "") and "<a " not in text:
        checker.errors.append("bare '<' in text")
    return checker.errors


def html_length(text: str) -> int:
    """Length of the text as Telegram counts it: after entities are parsed out."""

    class _Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    parser = _Text()
    parser.feed(text)
    parser.close()
    return len("".join(parser.parts))


@dataclass
class Shown:
    """What a chat shows for one message id."""

    message_id: int
    text: str
    markup: InlineKeyboardMarkup | None


@dataclass
class MockedSession(BaseSession):
    requests: list[TelegramMethod[Any]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    shown: dict[int, dict[int, Shown]] = field(default_factory=dict)
    fail: dict[type, str] = field(default_factory=dict)
    # one-shot «429 Too Many Requests»: the next request of that type is answered with
    # ``retry_after`` = the value (seconds), then the entry is gone
    retry_after: dict[type, int] = field(default_factory=dict)
    # chats that blocked the bot: every request to them is answered 403
    forbidden: set[int] = field(default_factory=set)
    # contents of the files users "sent", by file id: served by GetFile + stream_content
    files: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(1000)

    async def close(self) -> None:
        return None

    async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        """The bytes registered in :attr:`files` for the file id at the end of the URL
        (``GetFile`` answers with ``file_path`` = ``documents/<file id>``); else nothing."""
        url = str(kwargs.get("url") or (args[0] if args else ""))
        data = self.files.get(url.rsplit("/", 1)[-1], b"")
        chunk = int(kwargs.get("chunk_size") or 65536)
        for start in range(0, len(data), chunk):
            yield data[start : start + chunk]
        if not data:
            yield b""

    # ---- limits, as the server enforces them ----
    def _check(self, method: TelegramMethod[Any]) -> str | None:
        text = getattr(method, "text", None)
        caption = getattr(method, "caption", None)
        if isinstance(text, str):
            if not text.strip():
                return "message text is empty"
            errors = html_errors(text)
            if errors:
                return "can't parse entities: " + "; ".join(errors)
            if html_length(text) > 4096:
                return "message is too long"
        if isinstance(caption, str):
            if html_errors(caption):
                return "can't parse caption entities"
            if html_length(caption) > 1024:
                return "message caption is too long"
        markup = getattr(method, "reply_markup", None)
        if isinstance(markup, InlineKeyboardMarkup):
            for row in markup.inline_keyboard:
                for b in row:
                    if b.callback_data is not None and len(b.callback_data.encode()) > 64:
                        return "BUTTON_DATA_INVALID"
                    if not b.text.strip():
                        return "button text is empty"
        return None

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        self.requests.append(method)
        chat = getattr(method, "chat_id", None)
        if chat is not None and int(chat) in self.forbidden:
            content = json.dumps(
                {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user",
                }
            )
            self.check_response(bot=bot, method=method, status_code=403, content=content)
        if type(method) in self.retry_after:
            seconds = self.retry_after.pop(type(method))
            content = json.dumps(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {seconds}",
                    "parameters": {"retry_after": seconds},
                }
            )
            self.check_response(bot=bot, method=method, status_code=429, content=content)
        problem = self._check(method)
        if problem is None and type(method) in self.fail:
            problem = self.fail[type(method)]
        if problem is not None:
            if type(method) not in self.fail:
                self.violations.append(f"{type(method).__name__}: {problem}")
            content = json.dumps(
                {"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"}
            )
            response = self.check_response(bot=bot, method=method, status_code=400, content=content)
            return response.result  # pragma: no cover - check_response raises
        result = self._result(method)
        content = json.dumps({"ok": True, "result": result}, default=str)
        response = self.check_response(bot=bot, method=method, status_code=200, content=content)
        return response.result  # type: ignore[return-value]

    def _message(
        self, chat_id: int, message_id: int, text: str | None, markup: Any
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": message_id,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "pedbot"},
        }
        if text is not None:
            data["text"] = text
        if isinstance(markup, InlineKeyboardMarkup):
            data["reply_markup"] = markup.model_dump(mode="json", exclude_none=True)
        return data

    def _result(self, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, SendMessage):
            chat_id = int(method.chat_id)
            mid = next(self._ids)
            markup = (
                method.reply_markup
                if isinstance(method.reply_markup, InlineKeyboardMarkup)
                else None
            )
            self.shown.setdefault(chat_id, {})[mid] = Shown(mid, method.text, markup)
            return self._message(chat_id, mid, method.text, method.reply_markup)
        if isinstance(method, EditMessageText):
            chat_id = int(method.chat_id or 0)
            mid = int(method.message_id or 0)
            self.shown.setdefault(chat_id, {})[mid] = Shown(mid, method.text, method.reply_markup)
            return self._message(chat_id, mid, method.text, method.reply_markup)
        if isinstance(method, EditMessageReplyMarkup):
            chat_id = int(method.chat_id or 0)
            mid = int(method.message_id or 0)
            old = self.shown.get(chat_id, {}).get(mid)
            self.shown.setdefault(chat_id, {})[mid] = Shown(
                mid, old.text if old else "", method.reply_markup
            )
            return self._message(chat_id, mid, old.text if old else "", method.reply_markup)
        if isinstance(method, SendDocument):
            chat_id = int(method.chat_id)
            mid = next(self._ids)
            data = self._message(chat_id, mid, None, method.reply_markup)
            name = getattr(method.document, "filename", None) or "file"
            data["document"] = {
                "file_id": f"doc{mid}",
                "file_unique_id": f"u{mid}",
                "file_name": name,
            }
            if method.caption:
                data["caption"] = method.caption
            self.shown.setdefault(chat_id, {})[mid] = Shown(
                mid,
                method.caption or "",
                method.reply_markup
                if isinstance(method.reply_markup, InlineKeyboardMarkup)
                else None,
            )
            return data
        if isinstance(method, SendPhoto):
            chat_id = int(method.chat_id)
            mid = next(self._ids)
            data = self._message(chat_id, mid, None, method.reply_markup)
            file_id = method.photo if isinstance(method.photo, str) else f"photo{mid}"
            data["photo"] = [
                {"file_id": file_id, "file_unique_id": f"u{mid}", "width": 960, "height": 1280}
            ]
            if method.caption:
                data["caption"] = method.caption
            markup = (
                method.reply_markup
                if isinstance(method.reply_markup, InlineKeyboardMarkup)
                else None
            )
            self.shown.setdefault(chat_id, {})[mid] = Shown(mid, method.caption or "", markup)
            return data
        if isinstance(method, AnswerCallbackQuery):
            return True
        if isinstance(method, GetFile):
            return {
                "file_id": method.file_id,
                "file_unique_id": f"u{method.file_id}",
                "file_size": len(self.files.get(method.file_id, b"")),
                "file_path": f"documents/{method.file_id}",
            }
        name = type(method).__name__
        if name == "GetMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "pedbot",
                "username": "pedbot_test_bot",
            }
        return True

    # ---- helpers for assertions ----
    def of(self, kind: type) -> list[Any]:
        return [r for r in self.requests if isinstance(r, kind)]

    def clear(self) -> None:
        self.requests.clear()


class MockedBot(Bot):
    def __init__(self) -> None:
        super().__init__("42:TEST_TOKEN_abcdefghijklmnopqrstuvwxyz", session=MockedSession())

    @property
    def api(self) -> MockedSession:
        return self.session  # type: ignore[return-value]


_update_ids = itertools.count(1)


class TgChat:
    """One Telegram user talking to the bot in a private chat."""

    def __init__(
        self, dp: Dispatcher, bot: MockedBot, user_id: int, first_name: str = "Мария"
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.user = User(id=user_id, is_bot=False, first_name=first_name, language_code="ru")
        self.chat = Chat(id=user_id, type="private")
        self._msg_ids = itertools.count(1)

    @property
    def id(self) -> int:
        return self.user.id

    async def feed(self, update: Update) -> None:
        await self.dp.feed_update(self.bot, update)

    def _message(self, **kwargs: Any) -> Message:
        return Message(
            message_id=next(self._msg_ids),
            date=datetime.now(UTC),
            chat=self.chat,
            from_user=self.user,
            **kwargs,
        )

    async def send(self, text: str) -> None:
        await self.feed(Update(update_id=next(_update_ids), message=self._message(text=text)))

    async def send_message(self, **kwargs: Any) -> None:
        await self.feed(Update(update_id=next(_update_ids), message=self._message(**kwargs)))

    async def send_document(
        self, file_name: str, data: bytes, mime_type: str = "application/octet-stream"
    ) -> str:
        """Send a file as a document; its bytes are served to ``bot.download``. Returns the id."""
        file_id = f"file{next(_update_ids)}"
        self.bot.api.files[file_id] = data
        document = Document(
            file_id=file_id,
            file_unique_id=f"u{file_id}",
            file_name=file_name,
            mime_type=mime_type,
            file_size=len(data),
        )
        await self.send_message(document=document)
        return file_id

    async def press(self, data: str, message_id: int | None = None) -> None:
        """Send a callback with raw data (also for forged or stale payloads)."""
        shown = self.screens()
        mid = message_id if message_id is not None else (shown[-1].message_id if shown else 1)
        text = next((s.text for s in shown if s.message_id == mid), "…")
        message = Message(
            message_id=mid,
            date=datetime.now(UTC),
            chat=self.chat,
            from_user=User(id=BOT_ID, is_bot=True, first_name="pedbot"),
            text=text or "…",
        )
        query = CallbackQuery(
            id=str(next(_update_ids)),
            from_user=self.user,
            chat_instance="ci",
            message=message,
            data=data,
        )
        await self.feed(Update(update_id=next(_update_ids), callback_query=query))

    def screens(self) -> list[Shown]:
        return sorted(self.bot.api.shown.get(self.id, {}).values(), key=lambda s: s.message_id)

    @property
    def last(self) -> Shown:
        return self.screens()[-1]

    def last_with_buttons(self) -> Shown:
        for s in reversed(self.screens()):
            if s.markup is not None and s.markup.inline_keyboard:
                return s
        raise AssertionError("no message with buttons in this chat")

    def buttons(self) -> list[str]:
        return [b.text for row in self.last_with_buttons().markup.inline_keyboard for b in row]  # type: ignore[union-attr]

    def button_data(self, label: str) -> tuple[str, int]:
        screen = self.last_with_buttons()
        assert screen.markup is not None
        for row in screen.markup.inline_keyboard:
            for b in row:
                if label in b.text:
                    assert b.callback_data is not None
                    return b.callback_data, screen.message_id
        raise AssertionError(f"no button with {label!r}; buttons: {self.buttons()}")

    async def tap(self, label: str) -> None:
        data, mid = self.button_data(label)
        await self.press(data, mid)

    def alerts(self) -> list[str]:
        return [r.text for r in self.bot.api.of(AnswerCallbackQuery) if r.text]

    def texts(self) -> list[str]:
        """Texts of messages sent to or edited in this chat, in order."""
        out: list[str] = []
        for r in self.bot.api.requests:
            if isinstance(r, SendMessage | EditMessageText) and int(r.chat_id or 0) == self.id:
                out.append(r.text)
        return out
