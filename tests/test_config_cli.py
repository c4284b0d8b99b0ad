"""Configuration errors, the CLI commands and their exit codes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import DEFAULT_API_URL, DEFAULT_DATABASE_URL, ConfigError, Settings, load_settings
from bot.i18n import Translator, catalogs
from surveys.loader import INSTRUMENTS_DIR

ROOT = Path(__file__).resolve().parents[1]


def pedbot(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONPATH": str(ROOT)}
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=base,
        cwd=cwd or ROOT,
        timeout=120,
        check=False,
    )


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "DATABASE_URL",
        "TELEGRAM_API_URL",
        "ADMIN_IDS",
        "TIMEZONE",
        "REDIS_URL",
        "BOT_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.database_url == DEFAULT_DATABASE_URL
    assert s.telegram_api_url == DEFAULT_API_URL
    assert s.timezone == "Europe/Moscow" and s.admin_ids == frozenset()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://x"),
        ("DATABASE_URL", "not a url"),
        ("ADMIN_IDS", "12,abc"),
        ("TIMEZONE", "Mars/Olympus"),
        ("TELEGRAM_API_URL", "localhost:8081"),
        ("REDIS_URL", "127.0.0.1:6379"),
        ("BOT_TOKEN", "nonsense"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        load_settings(_env_file=None)
    assert name in str(err.value)
    assert "\n" not in str(err.value)


def test_admin_ids_and_api_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", " 5, 7;9 ")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    s = load_settings(_env_file=None)
    assert s.admin_ids == frozenset({5, 7, 9})
    assert s.telegram_api_url == "http://127.0.0.1:8081"


def test_bot_uses_the_configured_api_server() -> None:
    from bot.app import create_bot

    s = Settings(
        _env_file=None, telegram_api_url="http://127.0.0.1:8081", bot_token="1:" + "a" * 30
    )  # type: ignore[call-arg]
    bot = create_bot(s)
    assert (
        bot.session.api.api_url(bot.token, "getMe") == f"http://127.0.0.1:8081/bot{bot.token}/getMe"
    )


def test_run_without_token_exits_2_without_traceback(tmp_path: Path) -> None:
    result = pedbot("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_malformed_value_exits_2(tmp_path: Path) -> None:
    result = pedbot("migrate", env={"DATABASE_URL": "oracle://x"}, cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.startswith("Ошибка настройки DATABASE_URL")
        and "Traceback" not in result.stderr
    )


def test_check_passes_on_shipped_instruments(tmp_path: Path) -> None:
    result = pedbot("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for instrument in ("deficits", "burnout", "young"):
        assert f"Анкета {instrument}" in result.stdout


def test_check_names_file_question_and_problem(tmp_path: Path) -> None:
    broken = (INSTRUMENTS_DIR / "young.yaml").read_text(encoding="utf-8")
    broken = broken.replace("question: need_mentor", "question: no_such_question", 1)
    (tmp_path / "young.yaml").write_text(broken, encoding="utf-8")
    result = pedbot("check", "--instruments", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 1
    assert "young.yaml" in result.stderr and "mentor_areas" in result.stderr
    assert "no_such_question" in result.stderr


def test_locales_have_the_same_keys() -> None:
    cats = catalogs()
    assert "ru" in cats
    for lang, texts in cats.items():
        assert set(texts) == set(cats["ru"]), f"{lang} differs from ru"


def test_every_text_renders_as_valid_html() -> None:
    from tests.telegram import html_errors

    t = Translator("ru")
    for key, template in catalogs()["ru"].items():
        assert not html_errors(template), key
    assert t("survey.progress", n=1, total=2) == "Вопрос 1 из 2"


def test_demo_schools_and_roles_commands(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/demo.db", "PYTHONPATH": str(ROOT)}
    first = pedbot("demo", "--teachers", "40", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Демо-данные созданы" in first.stdout
    again = pedbot("demo", env=env, cwd=tmp_path)
    assert again.returncode == 1 and "не пуста" in again.stderr

    grant = pedbot("roles", "grant", "777", "methodist", "--school", "sosh1", env=env, cwd=tmp_path)
    assert grant.returncode == 0, grant.stderr
    no_scope = pedbot("roles", "grant", "778", "methodist", env=env, cwd=tmp_path)
    assert no_scope.returncode == 2 and "--school" in no_scope.stderr
    wrong = pedbot("roles", "grant", "779", "methodist", "--school", "nope", env=env, cwd=tmp_path)
    assert wrong.returncode == 2 and "nope" in wrong.stderr
    listed = pedbot("roles", "list", env={**env, "ADMIN_IDS": "555"}, cwd=tmp_path)
    assert "777\tmethodist\tschool sosh1" in listed.stdout and "555\tadmin" in listed.stdout
    revoke = pedbot("roles", "revoke", "777", "methodist", env=env, cwd=tmp_path)
    assert revoke.returncode == 0 and "1" in revoke.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "название;тип;муниципалитет\n;школа;Энский\nШкола № 99;завод;Энский\n", encoding="utf-8"
    )
    imported = pedbot("schools", "import", str(bad), env=env, cwd=tmp_path)
    assert imported.returncode == 1
    assert "Строка 2" in imported.stderr and "Строка 3" in imported.stderr


def test_facts_check_and_rebuild_after_demo(tmp_path: Path) -> None:
    """``pedbot demo`` writes questionnaires, courses, routes and pairs through the session:
    the stored facts agree with a recount; a counter changed by hand is reported (exit 1)
    and ``rebuild`` repairs it."""
    db = tmp_path / "demo.db"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{db}", "PYTHONPATH": str(ROOT)}
    assert pedbot("demo", "--teachers", "60", env=env, cwd=tmp_path).returncode == 0
    check = pedbot("facts", "check", env=env, cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "совпадают" in check.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM result_counts WHERE n > 0").fetchone()[0] > 0
        conn.execute("UPDATE result_counts SET n = n + 1")
    drifted = pedbot("facts", "check", env=env, cwd=tmp_path)
    assert drifted.returncode == 1 and "pedbot facts rebuild" in drifted.stderr
    assert drifted.stdout.startswith("counter ")
    rebuilt = pedbot("facts", "rebuild", env=env, cwd=tmp_path)
    assert rebuilt.returncode == 0 and "пересчитаны" in rebuilt.stdout, rebuilt.stderr
    assert pedbot("facts", "check", env=env, cwd=tmp_path).returncode == 0
