"""Consent (152-ФЗ): what the text names, its editions asked again, the consent in the profile
(re-read, withdraw = delete), the separate consent to the burnout questionnaire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiogram.methods import SendMessage
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import create_app
from bot.config import OPERATOR_MAX, ConfigError, load_settings
from bot.i18n import Translator, catalogs, languages
from handlers.common import MESSAGE_LIMIT
from handlers.consent import screens
from handlers.consent.callbacks import ConsentStatus, HealthAgree, HealthWithdrawConfirmed
from handlers.home.callbacks import MenuCB
from handlers.home.screens import consent as short_consent
from models import Answer, Attempt, Base, Course, ScaleResult, User
from services.consent import (
    CONSENT_EDITIONS,
    CONSENT_KEYS,
    CONSENT_VERSION,
    HEALTH_CONSENT_VERSION,
    HEALTH_EDITIONS,
    HEALTH_KEYS,
    Operator,
    edition,
    health_edition,
    text_digest,
)
from surveys.loader import INSTRUMENTS_DIR, parse_file
from tests.conftest import Clock, Harness, make_settings
from tests.helpers import add_schools, count, register, user_row
from tests.telegram import MockedBot, html_errors, html_length
from tests.test_config_cli import pedbot
from tests.test_courses_journeys import finish_course, start_course
from tests.test_survey_journeys import answer_all, open_survey

OPERATOR = Operator(
    name="МКУ «Методический центр» Энского округа",
    address="123456, г. Энск, ул. Школьная, д. 1",
    contact="+7 (000) 000-00-00, mmc@example.ru",
)


@pytest.fixture
async def op_harness(engine: AsyncEngine, db_url: str) -> AsyncIterator[Harness]:
    """The bot with the operator configured."""
    clock = Clock()
    settings = make_settings(
        db_url,
        operator_name=OPERATOR.name,
        operator_address=OPERATOR.address,
        operator_contact=OPERATOR.contact,
    )
    app = await create_app(settings, engine=engine, clock=clock)
    bot = MockedBot()
    yield Harness(app, bot, clock, app.sessionmaker)
    violations = list(bot.api.violations)
    await app.dispatcher.storage.close()
    assert not violations, f"requests Telegram would refuse: {violations}"


# ---------------------------------------------------------------- the texts


def test_a_changed_text_needs_a_new_edition() -> None:
    """Editing the consent text without adding an edition fails here: record the digest
    under a new number (people who agreed to the old one are then asked again)."""
    ru = catalogs()["ru"]
    assert text_digest(ru, CONSENT_KEYS) == CONSENT_EDITIONS[CONSENT_VERSION][1]
    assert text_digest(ru, HEALTH_KEYS) == HEALTH_EDITIONS[HEALTH_CONSENT_VERSION][1]
    assert max(CONSENT_EDITIONS) == CONSENT_VERSION
    assert max(HEALTH_EDITIONS) == HEALTH_CONSENT_VERSION


@pytest.mark.parametrize("language", languages())
def test_every_consent_text_fits_one_message_with_the_longest_operator(language: str) -> None:
    t = Translator(language)
    longest = Operator("Ж" * OPERATOR_MAX, "&" * OPERATOR_MAX, "<" * OPERATOR_MAX)
    for screen in (
        short_consent(t, longest),
        screens.full(longest, edition(), t, profile=False),
        screens.full(longest, edition(), t, profile=True),
        screens.renew(longest, t),
        screens.health(longest, health_edition(), "burnout", t),
    ):
        # as Telegram counts it: after the entities are parsed (&amp; is one character)
        assert html_length(screen.text) <= MESSAGE_LIMIT, (language, screen.text[:80])
        assert html_errors(screen.text) == []
        assert "&amp;" * 10 in screen.text or "Ж" * 10 in screen.text


def test_the_full_text_names_what_152_fz_asks() -> None:
    t = Translator("ru")
    text = screens.full_text(OPERATOR, edition(), t)
    for part in (
        OPERATOR.name,
        OPERATOR.address,
        OPERATOR.contact,
        f"Редакция {CONSENT_VERSION}",
        "Цели",  # purposes
        "id, имя пользователя (username) и язык в Telegram",  # the Telegram id
        "файлы, которые я пришлю",  # the files sent
        "ответы на анкеты",
        "сбор, запись, систематизация",  # the actions
        "автоматизированная обработка",  # the method
        "до его отзыва",  # the term
        "Отозвать согласие",  # withdrawal in the bot
        "письменным заявлением оператору",  # and in writing
        "серверы мессенджера Telegram",  # Telegram carries messages and files
        "технические администраторы",  # who can see what, honestly
    ):
        assert part in text, part
    assert "видите только вы" not in text


def test_an_unset_operator_is_said_to_be_unset() -> None:
    t = Translator("ru")
    text = screens.full_text(Operator("", "", ""), edition(), t)
    assert "ещё не указаны в настройках бота" in text
    assert "Адрес: не указано в настройках бота" in text


ONLY_YOU = ("видите только вы", "видна только вам", "видны только вам", "only you")


def test_no_text_claims_only_the_teacher_sees_anything() -> None:
    """«видите только вы» is not true of the database's administrators."""
    for language, texts in catalogs().items():
        for key, value in texts.items():
            lowered = value.lower()
            for claim in ONLY_YOU:
                assert claim not in lowered, (language, key)


@pytest.mark.parametrize("path", sorted(INSTRUMENTS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_no_instrument_claims_only_the_teacher_sees_anything(path: Path) -> None:
    """The questionnaire files (texts and comments) say what the consent says: methodists
    and the administration do not see the answers; the staff who maintain the bot can."""
    lowered = path.read_text(encoding="utf-8").lower()
    for claim in (*ONLY_YOU, "видит только сам", "анонимн"):
        assert claim not in lowered, (path.name, claim)
    instrument = parse_file(path)
    if instrument.private:  # a questionnaire that promises privacy says who can still see
        told = instrument.intro.lower()
        assert "не видят ни методисты, ни администрация" in told, path.name
        assert "обслуживают бота" in told and "в тайне" in told, path.name


@pytest.mark.parametrize("name", ["OPERATOR_NAME", "OPERATOR_ADDRESS", "OPERATOR_CONTACT"])
def test_an_operator_field_too_long_is_refused(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(name, "д" * (OPERATOR_MAX + 1))
    with pytest.raises(ConfigError, match=name):
        load_settings(_env_file=None)


def test_operator_fields_are_trimmed_and_reported_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPERATOR_NAME", "  МКУ   «ИМЦ»  ")
    monkeypatch.delenv("OPERATOR_ADDRESS", raising=False)
    monkeypatch.delenv("OPERATOR_CONTACT", raising=False)
    settings = load_settings(_env_file=None)
    assert settings.operator_name == "МКУ «ИМЦ»"
    assert settings.operator_missing() == ["OPERATOR_ADDRESS", "OPERATOR_CONTACT"]


# ---------------------------------------------------------------- agreeing


async def test_the_full_text_is_reachable_before_agreeing(op_harness: Harness) -> None:
    await add_schools(op_harness.sessionmaker)
    chat = op_harness.chat(5001)
    await chat.send("/start")
    short = chat.last.text
    assert "МКУ «Методический центр» Энского округа" in short
    assert "Прочитать полностью" in " ".join(chat.buttons())
    await chat.tap("Прочитать полностью")
    full = chat.last.text
    assert OPERATOR.address in full and OPERATOR.contact in full
    assert await count(op_harness.sessionmaker, User) == 0  # reading stores nothing
    await chat.tap("Согласен")
    user = await user_row(op_harness.sessionmaker, 5001)
    assert user is not None
    assert user.consent_version == CONSENT_VERSION
    assert user.consent_at == op_harness.clock.now
    assert user.health_consent_version is None
    assert "Как вас зовут?" in chat.last.text


async def test_refusing_from_the_full_text_stores_nothing(op_harness: Harness) -> None:
    chat = op_harness.chat(5002)
    await chat.send("/start")
    await chat.tap("Прочитать полностью")
    await chat.tap("Не согласен")
    assert "ничего о вас не сохранили" in chat.last.text
    assert await count(op_harness.sessionmaker, User) == 0


async def _make_outdated(harness: Harness, telegram_id: int) -> None:
    async with harness.sessionmaker.begin() as s:
        await s.execute(
            update(User)
            .where(User.telegram_id == telegram_id)
            .values(consent_version=CONSENT_VERSION - 1)
        )


async def test_an_older_edition_is_asked_again_at_the_next_visit(op_harness: Harness) -> None:
    await add_schools(op_harness.sessionmaker)
    chat = op_harness.chat(5003)
    await register(chat)
    await _make_outdated(op_harness, 5003)
    agreed_before = (await user_row(op_harness.sessionmaker, 5003)).consent_at  # type: ignore[union-attr]

    await chat.send("🏠 Главное меню")
    assert "Мы обновили текст согласия" in chat.last.text
    assert "Главное меню" not in chat.last.text
    # any other button or text leads back to the new edition; nothing else happens
    await chat.press(MenuCB(to="courses").pack())
    assert "Мы обновили текст согласия" in chat.last.text
    await chat.send("Иванова")
    assert "Мы обновили текст согласия" in chat.last.text
    await chat.tap("Прочитать полностью")
    assert f"Редакция {CONSENT_VERSION}" in chat.last.text

    op_harness.clock.now += timedelta(days=1)
    await chat.tap("Согласен")
    assert "Согласие с новой редакцией сохранено" in chat.texts()[-2]
    assert "Главное меню" in chat.last.text
    user = await user_row(op_harness.sessionmaker, 5003)
    assert user is not None and user.consent_version == CONSENT_VERSION
    assert user.consent_at == op_harness.clock.now != agreed_before
    assert user.full_name == "Иванова Мария Петровна"  # the data were kept
    await chat.press(MenuCB(to="courses").pack())
    assert "Мы обновили текст согласия" not in chat.last.text


async def test_refusing_a_new_edition_offers_to_withdraw(op_harness: Harness) -> None:
    await add_schools(op_harness.sessionmaker)
    keep = op_harness.chat(5004)
    await register(keep, name="Петров Пётр Петрович")
    chat = op_harness.chat(5005)
    await register(chat)
    await _make_outdated(op_harness, 5005)
    await chat.send("/start")
    await chat.tap("Не согласен")
    assert "Без согласия с новой редакцией" in chat.last.text
    assert await user_row(op_harness.sessionmaker, 5005) is not None
    await chat.tap("Отозвать согласие")
    assert "Отозвать согласие на обработку персональных данных?" in chat.last.text
    await chat.tap("Да, отозвать и удалить всё")
    assert await user_row(op_harness.sessionmaker, 5005) is None
    assert await user_row(op_harness.sessionmaker, 5004) is not None
    assert any("Согласие отозвано" in text for text in chat.texts()[-2:])


# ---------------------------------------------------------------- the profile


async def test_the_profile_shows_rereads_and_withdraws_the_consent(op_harness: Harness) -> None:
    await add_schools(op_harness.sessionmaker)
    keep = op_harness.chat(5006)
    await register(keep, name="Петров Пётр Петрович")
    chat = op_harness.chat(5007)
    await register(chat)
    await open_survey(chat, "Профессиональные затруднения")
    await chat.tap("Начать")
    await answer_all(chat, lambda text, labels: labels[0])
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой профиль")
    await chat.tap("Согласие на обработку данных")
    text = chat.last.text
    assert "Вы дали согласие 12.10.2026" in text and f"(редакция {CONSENT_VERSION})" in text
    assert "не давали" in text  # the burnout consent
    await chat.tap("Прочитать полностью")
    assert OPERATOR.address in chat.last.text
    assert "Согласен" not in " ".join(chat.buttons())  # already agreed: only the way back
    await chat.tap("К профилю")
    await chat.tap("Отозвать согласие")
    assert "Восстановить их будет нельзя" in chat.last.text
    await chat.tap("Нет, оставить")
    assert "Вы дали согласие" in chat.last.text
    assert await user_row(op_harness.sessionmaker, 5007) is not None

    await chat.tap("Отозвать согласие")
    await chat.tap("Да, отозвать и удалить всё")
    assert await user_row(op_harness.sessionmaker, 5007) is None
    async with op_harness.sessionmaker() as s:
        owners = set((await s.scalars(select(Attempt.user_id))).all())
    kept = await user_row(op_harness.sessionmaker, 5006)
    assert kept is not None and owners <= {kept.id}
    assert any("отправьте /start" in text for text in chat.texts()[-2:])


async def test_strangers_cannot_reach_the_consent_of_the_profile(op_harness: Harness) -> None:
    chat = op_harness.chat(5008)
    await chat.press(ConsentStatus().pack())
    assert chat.alerts()[-1].startswith("Эта кнопка уже не действует")
    await chat.press(HealthWithdrawConfirmed().pack())
    assert chat.alerts()[-1].startswith("Эта кнопка уже не действует")
    assert await count(op_harness.sessionmaker, User) == 0


# ---------------------------------------------------------------- the burnout questionnaire


async def _attempts(harness: Harness, instrument: str) -> list[Attempt]:
    async with harness.sessionmaker() as s:
        rows = await s.scalars(select(Attempt).where(Attempt.instrument_id == instrument))
        return list(rows)


async def test_burnout_asks_its_own_consent_before_the_first_question(op_harness: Harness) -> None:
    await add_schools(op_harness.sessionmaker)
    chat = op_harness.chat(5009)
    await register(chat)
    await open_survey(chat, "выгоран")
    await chat.tap("Начать")
    text = chat.last.text
    assert "Согласие на обработку сведений о здоровье" in text
    assert OPERATOR.name in text and "Методисты и администрация школы их не видят" in text
    assert await _attempts(op_harness, "burnout") == []  # nothing asked, nothing stored
    await chat.tap("Не сейчас")
    assert "Анкеты" in chat.last.text
    assert await _attempts(op_harness, "burnout") == []

    await open_survey(chat, "выгоран")
    await chat.tap("Начать")
    op_harness.clock.now += timedelta(minutes=5)
    await chat.tap("Согласен(на), начать")
    assert "Вопрос 1 из" in chat.last.text
    user = await user_row(op_harness.sessionmaker, 5009)
    assert user is not None and user.health_consent_version == HEALTH_CONSENT_VERSION
    assert user.health_consent_at == op_harness.clock.now
    # paused and continued: asked once per person
    await chat.tap("Часто")
    await chat.tap("Прервать")
    await open_survey(chat, "выгоран")
    assert "Вопрос 2 из" in chat.last.text

    # a new edition of that consent: asked again before going on
    async with op_harness.sessionmaker.begin() as s:
        await s.execute(
            update(User)
            .where(User.telegram_id == 5009)
            .values(health_consent_version=HEALTH_CONSENT_VERSION - 1)
        )
    await chat.send("🏠 Главное меню")
    await open_survey(chat, "выгоран")
    assert "Согласие на обработку сведений о здоровье" in chat.last.text
    await chat.tap("Согласен(на), начать")
    assert "Вопрос 2 из" in chat.last.text


async def test_other_questionnaires_ask_no_extra_consent(op_harness: Harness) -> None:
    await add_schools(op_harness.sessionmaker)
    chat = op_harness.chat(5010)
    await register(chat)
    await open_survey(chat, "Профессиональные затруднения")
    await chat.tap("Начать")
    assert "Вопрос 1 из" in chat.last.text
    assert (await user_row(op_harness.sessionmaker, 5010)).health_consent_version is None  # type: ignore[union-attr]


async def test_a_forged_health_consent_button_starts_nothing_unknown(op_harness: Harness) -> None:
    await add_schools(op_harness.sessionmaker)
    chat = op_harness.chat(5011)
    await register(chat)
    await chat.press(HealthAgree(instrument="nosuch").pack())
    assert chat.alerts()[-1].startswith("Эта кнопка уже не действует")
    assert (await user_row(op_harness.sessionmaker, 5011)).health_consent_version is None  # type: ignore[union-attr]
    stranger = op_harness.chat(5012)
    await stranger.press(HealthAgree(instrument="burnout").pack())
    assert await count(op_harness.sessionmaker, Attempt) == 0


async def test_withdrawing_the_burnout_consent_deletes_only_those_answers(
    op_harness: Harness,
) -> None:
    await add_schools(op_harness.sessionmaker)
    chat = op_harness.chat(5013)
    await register(chat)
    await open_survey(chat, "Профессиональные затруднения")
    await chat.tap("Начать")
    await answer_all(chat, lambda text, labels: labels[0])
    await open_survey(chat, "выгоран")
    await chat.tap("Начать")
    await chat.tap("Согласен(на), начать")
    await answer_all(chat, lambda text, labels: labels[1])
    assert len(await _attempts(op_harness, "burnout")) == 1

    await chat.send("🏠 Главное меню")
    await chat.tap("Мой профиль")
    await chat.tap("Согласие на обработку данных")
    assert "Согласие на анкету о выгорании: дано 12.10.2026" in chat.last.text
    await chat.tap("Отозвать согласие на анкету о выгорании")
    assert "Остальные данные останутся" in chat.last.text
    await chat.tap("Да, отозвать и удалить ответы")
    assert "отозвано" in chat.last.text
    assert await _attempts(op_harness, "burnout") == []
    assert len(await _attempts(op_harness, "deficits")) == 1
    async with op_harness.sessionmaker() as s:
        instruments = set((await s.scalars(select(ScaleResult.instrument_id))).all())
        answers = await s.scalar(select(Answer.id).limit(1))
    assert instruments == {"deficits"} and answers is not None
    user = await user_row(op_harness.sessionmaker, 5013)
    assert user is not None and user.health_consent_version is None
    assert user.full_name == "Иванова Мария Петровна"
    assert await count(op_harness.sessionmaker, Course) == 0


async def test_every_consent_screen_is_valid_for_telegram(op_harness: Harness) -> None:
    """The mocked Bot API refuses invalid HTML and over-long texts (checked at teardown);
    this drives each consent screen once through it."""
    await add_schools(op_harness.sessionmaker)
    chat = op_harness.chat(5014)
    await chat.send("/start")
    await chat.tap("Прочитать полностью")
    await chat.tap("Согласен")
    sent = [m.text for m in op_harness.bot.api.of(SendMessage)]
    assert sent and all(html_length(text) <= MESSAGE_LIMIT for text in sent)


def test_pedbot_check_warns_while_the_operator_is_unset(tmp_path: Path) -> None:
    result = pedbot("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("OPERATOR_NAME", "OPERATOR_ADDRESS", "OPERATOR_CONTACT"):
        assert f"не задан {name}" in result.stderr
    named = pedbot(
        "check",
        cwd=tmp_path,
        env={
            "OPERATOR_NAME": OPERATOR.name,
            "OPERATOR_ADDRESS": OPERATOR.address,
            "OPERATOR_CONTACT": OPERATOR.contact,
        },
    )
    assert named.returncode == 0 and "OPERATOR" not in named.stderr


async def test_after_withdrawal_the_database_file_holds_no_trace(
    op_harness: Harness, db_url: str, engine: AsyncEngine
) -> None:
    """What the teacher typed is in no row of any table once the consent is withdrawn, and
    on SQLite not readable in the file either (``secure_delete``; conversation rows are not
    kept empty)."""
    await add_schools(op_harness.sessionmaker)
    keep = op_harness.chat(5020)
    await register(keep, name="Петров Пётр Петрович")
    chat = op_harness.chat(5021)
    await register(chat, name="Щукина Ярослава Эдуардовна")
    await start_course(chat, title="Курс Ярославы про сторителлинг", provider="Центр «Зюйд-Вест»")
    await finish_course(chat)
    await chat.send("🏠 Главное меню")
    await chat.tap("Мой профиль")
    await chat.tap("Согласие на обработку данных")
    await chat.tap("Отозвать согласие")
    await chat.tap("Да, отозвать и удалить всё")
    typed_texts = ("Щукина Ярослава", "сторителлинг", "Зюйд-Вест")
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(table.select())).all()
            for typed in typed_texts:
                assert not any(typed in repr(tuple(r)) for r in rows), (table.name, typed)
        if not db_url.startswith("sqlite"):
            return  # PostgreSQL keeps dead rows in its pages until a vacuum (README)
        await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    path = Path(db_url.split("///", 1)[1])
    content = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    for typed in typed_texts:
        assert typed.encode() not in content, typed
    assert "Петров Пётр".encode() in content  # the search does find what is kept
