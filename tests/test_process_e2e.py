"""End to end: the real ``pedbot run`` process against a fake Bot API server.

The bot runs as a subprocess (``python -m bot run``) with ``TELEGRAM_API_URL`` pointed at
:class:`tests.fake_bot_api.FakeBotAPI`; the test plays a teacher by pushing updates and
tapping buttons by their labels. It covers what the in-process journeys cannot: start-up
(configuration, migrations, getMe, setMyCommands, long polling), a SIGKILL in the middle of
a questionnaire, the start-up database check on PostgreSQL, and what ends up in the logs.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import PG_URL, pg_admin, pg_or_skip
from tests.fake_bot_api import FakeBotAPI

REPO = Path(__file__).resolve().parents[1]
SCHOOLS_CSV = REPO / "services" / "samples" / "schools.csv"
TOKEN = "123456:" + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi"  # 35 letters after the colon
TEACHER = 7001001
FULL_NAME = "Задорожная Евдокия Тимофеевна"
TOTAL = 43


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    server = FakeBotAPI().start()
    try:
        yield server
    finally:
        server.stop()


def bot_env(api: FakeBotAPI, database_url: str) -> dict[str, str]:
    env = {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api.url,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "INFO",
    }
    for name in ("PATH", "HOME"):
        if name in os.environ:
            env[name] = os.environ[name]
    # Run the code of this checkout, as pytest's ``pythonpath = ["."]`` does for the other
    # tests, not whatever an older editable install maps: an editable install made before a
    # package got its ``__init__.py`` keeps mapping it as a namespace package.
    env["PYTHONPATH"] = str(REPO)
    return env


def pedbot(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A one-shot ``pedbot`` command (not ``run``)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=60,
    )


class BotProcess:
    """``pedbot run`` in the background, its stdout and stderr in one log file."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def check(self) -> None:
        """For :attr:`FakeBotAPI.health_check`: fail at once if the bot died."""
        code = self.proc.poll()
        if code is not None:
            raise AssertionError(f"pedbot run exited with {code}:\n{self.output()[-4000:]}")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM (aiogram stops polling gracefully), SIGKILL if that takes too long."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


@contextmanager
def running(api: FakeBotAPI, env: dict[str, str], cwd: Path) -> Iterator[BotProcess]:
    bot = BotProcess(env, cwd, cwd / "pedbot.log")
    api.health_check = bot.check
    try:
        yield bot
    finally:
        api.health_check = None
        bot.stop()


def db_rows(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
        return conn.execute(sql, args).fetchall()


def wait_db(api: FakeBotAPI, db: Path, sql: str, *args: object, expect: object) -> None:
    """Wait until a query returns ``expect`` (the bot commits after it has answered)."""
    api.wait_until(
        lambda: db_rows(db, sql, *args) == expect,
        10.0,
        lambda: f"{sql} {args} -> {db_rows(db, sql, *args)}, expected {expect}",
    )


def tap_and_wait(api: FakeBotAPI, label: str, expect: str) -> str:
    api.tap(TEACHER, label)
    return api.wait_for(TEACHER, expect)


def answer_first_option(api: FakeBotAPI, number: int) -> str:
    """Tap the first option of question ``number`` and wait for the next screen."""
    screen = api.screens(TEACHER)[-1]  # the question is the newest message of the chat
    assert f"Вопрос {number} из {TOTAL}" in screen.text, screen.text
    first = api.buttons(TEACHER)[0]
    expect = f"Вопрос {number + 1} из {TOTAL}" if number < TOTAL else "Результаты"
    return tap_and_wait(api, first, expect)


def register(api: FakeBotAPI) -> None:
    api.push_message(TEACHER, "/start")
    api.wait_for(TEACHER, "Согласие на обработку персональных данных", timeout=30)
    tap_and_wait(api, "Согласен", "Как вас зовут")
    api.push_message(TEACHER, FULL_NAME)
    api.wait_for(TEACHER, "Где вы работаете")
    api.push_message(TEACHER, "пушкина")
    api.wait_for(TEACHER, "найдено: 1")
    tap_and_wait(api, "СОШ № 2", "Ваша должность")
    tap_and_wait(api, "Учитель", "Какие предметы")
    api.tap(TEACHER, "Математика")
    api.wait_button(TEACHER, "✅ Математика")
    tap_and_wait(api, "Готово", "С какого года вы работаете педагогом")
    api.tap(TEACHER, "2000–2009")
    api.wait_button(TEACHER, "2008")
    # started teaching 18 years ago: the year of birth is not asked
    tap_and_wait(api, "2008", "квалификационная категория")
    api.tap(TEACHER, "Без категории")
    api.wait_for(TEACHER, "Регистрация завершена")
    api.wait_for(TEACHER, "Главное меню\nЕвдокия Тимофеевна, выберите раздел")


def test_questionnaire_survives_sigkill(api: FakeBotAPI, tmp_path: Path) -> None:
    db = tmp_path / "pedbot.db"
    env = bot_env(api, f"sqlite+aiosqlite:///{db}")
    loaded = pedbot(env, tmp_path, "schools", "import", str(SCHOOLS_CSV))
    assert loaded.returncode == 0, loaded.stderr
    assert "Школ добавлено" in loaded.stdout

    with running(api, env, tmp_path) as bot:
        register(api)
        assert api.calls_of("getMe") and api.calls_of("setMyCommands")
        tap_and_wait(api, "Анкеты", "Анкеты")
        tap_and_wait(api, "Профессиональные затруднения", "Самооценка профессиональных затруд")
        tap_and_wait(api, "Начать", f"Вопрос 1 из {TOTAL}")
        for number in range(1, 6):
            answer_first_option(api, number)
        assert f"Вопрос 6 из {TOTAL}" in api.last_text(TEACHER)
        # the fifth answer is committed and its update confirmed, then the power goes out
        [(attempt,)] = db_rows(db, "SELECT id FROM attempts WHERE instrument_id = 'deficits'")
        wait_db(
            api, db, "SELECT count(*) FROM answers WHERE attempt_id = ?", attempt, expect=[(5,)]
        )
        api.wait_confirmed()
        bot.kill()
        assert bot.proc.returncode == -9

    with running(api, env, tmp_path) as bot:
        api.push_message(TEACHER, "🏠 Главное меню")
        api.wait_for(TEACHER, "выберите раздел", timeout=30)
        tap_and_wait(api, "Анкеты", "начата, можно продолжить")
        screen = tap_and_wait(api, "Продолжить", f"Вопрос 6 из {TOTAL}")
        assert f"Вопрос 6 из {TOTAL}" in screen
        for number in range(6, TOTAL):
            answer_first_option(api, number)
        # The last answer: its handler is still waiting for answerCallbackQuery (and has not
        # committed yet) when the bot is told to stop. A graceful stop must let it finish.
        api.delay["answerCallbackQuery"] = 1.0
        results = answer_first_option(api, TOTAL)
        assert "Результаты: Самооценка профессиональных затруднений" in results
        assert "Предметн" in results and "100 %" in results
        assert bot.stop() == 0, bot.output()[-4000:]

    assert db_rows(db, "SELECT status FROM attempts WHERE id = ?", attempt) == [("completed",)]
    assert db_rows(db, "SELECT count(*) FROM scale_results WHERE attempt_id = ?", attempt) == [(4,)]
    assert db_rows(db, "SELECT count(*) FROM answers WHERE attempt_id = ?", attempt) == [(TOTAL,)]
    assert db_rows(db, "SELECT count(*) FROM attempts") == [(1,)]

    log = (tmp_path / "pedbot.log").read_text(encoding="utf-8")
    assert "pedbot started" in log
    assert "Traceback" not in log, log[-4000:]
    for part in FULL_NAME.split():
        leaked = [line for line in log.splitlines() if part in line]
        assert not leaked, f"personal data in the log: {leaked}"


def test_set_my_commands_failure_does_not_stop_the_bot(api: FakeBotAPI, tmp_path: Path) -> None:
    api.fail["setMyCommands"] = {"ok": False, "error_code": 500, "description": "Internal"}
    env = bot_env(api, f"sqlite+aiosqlite:///{tmp_path / 'pedbot.db'}")
    with running(api, env, tmp_path) as bot:
        api.push_message(TEACHER, "/start")
        api.wait_for(TEACHER, "Здравствуйте! Это бот методической службы", timeout=30)
        assert len(api.calls_of("setMyCommands")) == 1
        assert bot.proc.poll() is None
    log = (tmp_path / "pedbot.log").read_text(encoding="utf-8")
    assert "setMyCommands failed, continuing: TelegramServerError" in log


@contextmanager
def scratch_pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server; dropped afterwards."""
    pg_or_skip()
    name = f"pedbot_e2e_{uuid.uuid4().hex[:8]}"

    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_postgres_run_refuses_unmigrated_database(api: FakeBotAPI, tmp_path: Path) -> None:
    with scratch_pg_database() as url:
        env = bot_env(api, url)
        refused = pedbot(env, tmp_path, "run")
        assert refused.returncode == 2, refused.stderr
        assert "pedbot migrate" in refused.stderr
        assert "Traceback" not in refused.stderr + refused.stdout
        assert not api.calls, "the bot talked to Telegram before checking the database"

        migrated = pedbot(env, tmp_path, "migrate")
        assert migrated.returncode == 0, migrated.stderr
        assert "Миграции применены" in migrated.stdout

        with running(api, env, tmp_path):
            api.push_message(TEACHER, "/start")
            api.wait_for(TEACHER, "Здравствуйте! Это бот методической службы", timeout=30)


def test_rejected_token_stops_with_a_clear_message(api: FakeBotAPI, tmp_path: Path) -> None:
    api.fail["getMe"] = {"ok": False, "error_code": 401, "description": "Unauthorized"}
    env = bot_env(api, f"sqlite+aiosqlite:///{tmp_path / 'pedbot.db'}")
    result = pedbot(env, tmp_path, "run")
    assert result.returncode == 2
    assert "отклонил BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr
    assert not api.calls_of("getUpdates")
