"""Nothing personal reaches the log, even at DEBUG: a registration, a typed answer and a
request for a mentor are driven through the bot with every logger at DEBUG, and the captured
log is searched for what the teacher typed."""

from __future__ import annotations

import logging

import pytest

from bot.cli import quiet_loggers
from tests.conftest import Harness
from tests.helpers import add_schools, register

NAME = "Секретова Лилия Тайновна"
TYPED = "Мой личный телефон 8-900-555-12-34"


async def test_a_journey_at_debug_logs_nothing_typed(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    quiet_loggers()
    caplog.set_level(logging.DEBUG)
    for name in ("aiogram", "pedbot", "apscheduler"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    await add_schools(harness.sessionmaker)
    chat = harness.chat(6100)
    await register(chat, name=NAME, birth=2001, since=2025, category="Без категории")
    await chat.send("/menu")
    await chat.tap("Хочу наставника")
    await chat.tap("Математика")
    await chat.tap("Дисциплина и внимание детей")
    await chat.tap("Готово")
    await chat.send(TYPED)
    await chat.tap("Из моей школы")
    await chat.tap("Передать заявку методисту")
    assert "Передана методисту" in chat.last.text or "передана методисту" in chat.last.text
    text = caplog.text
    assert caplog.records, "the journey logged nothing at all: the capture is not working"
    for secret in (NAME, "Секретова", TYPED, "555-12-34"):
        assert secret not in text, secret
