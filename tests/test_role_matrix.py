"""The role matrix: every handler of every privileged menu, used by each role.

Seven people press every button (and send every message) of the privileged menus through
the real Dispatcher, each in a fresh world (:class:`World`):

==============  =============================================================
``stranger``    never started the bot (no row)
``teacher``     a registered teacher of school 1, no role
``other_school``  the methodist of school 2 (same municipality)
``other_mun``   the methodist of another municipality
``school``      the methodist of school 1 (the school of the requests, a campaign)
``municipal``   the methodist of the municipality of school 1
``admin``       listed in ``ADMIN_IDS``
==============  =============================================================

For each handler :data:`MATRIX` names the roles it serves. The test asserts that exactly
those roles get the handler's screen; every other role gets a short Russian refusal (an
alert under the button, or for a message the «не понял» menu) and **no row of any table
changes** (the whole database is compared before and after). Whatever is sent to a role
that does not cover school 1 (texts, captions and the text inside XLSX/DOCX files) must not
name the people of school 1 or the school itself.

**Adding a privileged handler** (a new button or message handler in a router that is not in
:data:`PUBLIC_ROUTERS`, or one that consults ``access`` in a public router): the first test
fails and prints its key, ``"<router name>.<function>[<callback prefix>]"`` (the prefix of
the CallbackData its filter uses; no brackets for message handlers). Add one line to
:data:`MATRIX`::

    "approval.approve[pva]": press(lambda w: ProviderApprove(provider=w.provider), MUNICIPAL),

``press`` builds the button from the world's ids (add what it needs to :func:`build_world`),
``send`` sends a message; ``state=(State, data)`` puts every role's conversation at that
step first. The role sets at the top (:data:`METHODISTS`, :data:`COVERING`, ...) name the
usual answers.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import re
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    SendDocument,
    SendMessage,
    SendPhoto,
)
from aiogram.types import BufferedInputFile, PhotoSize
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import App, create_app
from bot.i18n import Translator
from bot.storage import storage_key
from handlers import setup_routers
from handlers.calendar.callbacks import PICK, CalendarCB
from handlers.campaigns.callbacks import (
    DEADLINE_FIELD,
    CampaignForm,
    CampaignList,
    CampaignNew,
    CampaignOpen,
    CloseAsk,
    CloseConfirm,
    DialogBack,
    Extend,
    LaunchDraft,
    PickAudience,
    PickDeadline,
    PickInstrument,
    PickPosition,
    PickReminders,
    PickScope,
    PickSubject,
    WindowLaunch,
)
from handlers.catalog.callbacks import (
    CatalogExport,
    CatalogForm,
    CatalogOpen,
    CatalogReplace,
    CatalogSample,
    CatalogUpload,
    ProviderApprove,
    ProviderList,
)
from handlers.home.callbacks import MenuCB
from handlers.indicators.callbacks import IndicatorsMenu, IndicatorsOpen
from handlers.methodist.callbacks import (
    AssignAsk,
    AssignConfirm,
    OfferWithdraw,
    QueueOpen,
    RequestOpen,
)
from handlers.report.callbacks import ReportMake, ReportOpen
from models import (
    Base,
    FsmRecord,
    MentorOffer,
    MentorProfile,
    MentorRequest,
    Municipality,
    Provider,
    Role,
    School,
    ScopeKind,
    User,
)
from models.db import make_engine
from services import campaigns as campaigns_svc
from services.roles import Scope, access_of
from tests.conftest import ADMIN_ID, NOW, Clock, make_settings, reset_schema, scratch_url
from tests.helpers import add_route_catalog, add_schools
from tests.telegram import MockedBot, TgChat

# ---------------------------------------------------------------- the people

ROLES: dict[str, int] = {
    "stranger": 8001,
    "teacher": 8002,
    "other_school": 8003,
    "other_mun": 8004,
    "school": 8005,
    "municipal": 8006,
    "admin": ADMIN_ID,
}
METHODISTS = frozenset({"other_school", "other_mun", "school", "municipal", "admin"})
"""Everyone with a desk: each sees their own scope."""
COVERING = frozenset({"school", "municipal", "admin"})
"""Those whose scope covers school 1 (its requests, its campaign, its figures)."""
MUNICIPAL = frozenset({"municipal", "admin"})
"""Those whose scope covers the whole municipality of school 1."""
OWN_SCHOOL = frozenset({"school"})
"""The digest and the report of school 1 as a scope of its own: its methodist (a municipal
methodist and an admin get their own scope's, which lists school 1 among the others)."""
CATALOG = frozenset({"other_mun", "municipal", "admin"})
"""Admins and municipal or regional methodists: the catalog is one for the region."""

VICTIM = "Тайнова Зоя Марковна"  # school 1, an open shared request
MENTEE = "Скрытова Ирина Львовна"  # school 1, a request offered to the mentor
MENTOR = "Наставникова Вера Олеговна"  # school 2, maths
SECRETS = (VICTIM, MENTEE, "Тайнова", "Скрытова", "Школа № 1")
"""What must never reach a role outside :data:`COVERING`."""


@dataclass
class World:
    """Ids of the rows the buttons name (all in school 1 or its municipality)."""

    school1: int = 0
    mun: int = 0
    request: int = 0  # the victim's open request
    offered: int = 0  # the mentee's request with an unanswered offer
    mentor: int = 0  # the mentor's user id
    school_campaign: int = 0  # launched by the school's methodist
    mun_campaign: int = 0  # launched by the municipal methodist
    provider: int = 0  # a course organiser typed by the victim, waiting for approval


# ---------------------------------------------------------------- the table

Act = Callable[[TgChat, World], Awaitable[None]]


@dataclass(frozen=True)
class Row:
    act: Act
    allowed: frozenset[str]
    state: tuple[State, dict[str, Any]] | None = None


def press(
    build: Callable[[World], CallbackData],
    allowed: frozenset[str],
    state: tuple[State, dict[str, Any]] | None = None,
) -> Row:
    async def act(chat: TgChat, world: World) -> None:
        await chat.press(build(world).pack())

    return Row(act, allowed, state)


def send(
    act: Callable[[TgChat], Awaitable[None]],
    allowed: frozenset[str],
    state: tuple[State, dict[str, Any]] | None = None,
) -> Row:
    async def run(chat: TgChat, world: World) -> None:
        await act(chat)

    return Row(run, allowed, state)


def draft(**values: Any) -> dict[str, Any]:
    """The «Новая кампания» draft in the conversation data."""
    return {"cp_draft": campaigns_svc.Draft(**values).to_data()}


DEADLINE = (NOW + timedelta(days=14)).date()
# the world runs a deficits campaign in school 1 and the municipality: launch another one
FULL = draft(instrument="burnout", scope=0, audience="all", deadline=DEADLINE, reminders=True)
WAITING_FILE = (CatalogForm.waiting_file, {"catalog": {"replace": False}})
SAMPLE = (
    "Название;Организатор;Часы;Формат;Блоки\n"
    "Проверка матрицы ролей;ГАУ ДПО «Институт развития образования»;36;дистанционно;"
    "методическая\n"
).encode()


async def _send_file(chat: TgChat) -> None:
    await chat.send_document("catalog.csv", SAMPLE, "text/csv")


async def _send_photo(chat: TgChat) -> None:
    photo = PhotoSize(file_id="ph1", file_unique_id="uph1", width=10, height=10)
    await chat.send_message(photo=[photo])


async def _send_text(chat: TgChat) -> None:
    await chat.send("вот мой каталог")


MATRIX: dict[str, Row] = {
    # «🗂 Кабинет методиста» and the mentoring queue
    "methodist.open_hub[m]": press(lambda w: MenuCB(to="methodist"), METHODISTS),
    "methodist.open_queue[mtq]": press(lambda w: QueueOpen(), METHODISTS),
    "methodist.open_request[mtr]": press(lambda w: RequestOpen(request=w.request), COVERING),
    "methodist.ask_assign[mta]": press(
        lambda w: AssignAsk(request=w.request, mentor=w.mentor), COVERING
    ),
    "methodist.confirm_assign[mty]": press(
        lambda w: AssignConfirm(request=w.request, mentor=w.mentor), COVERING
    ),
    "methodist.take_back[mtw]": press(lambda w: OfferWithdraw(request=w.offered), COVERING),
    # «📣 Кампании»
    "campaigns.open_list[cml]": press(lambda w: CampaignList(), METHODISTS),
    "campaigns.open_card[cmo]": press(lambda w: CampaignOpen(campaign=w.school_campaign), COVERING),
    "campaigns.ask_close[cmc]": press(lambda w: CloseAsk(campaign=w.school_campaign), COVERING),
    "campaigns.confirm_close[cmy]": press(
        lambda w: CloseConfirm(campaign=w.mun_campaign), MUNICIPAL
    ),
    "campaigns.extend[cmx]": press(lambda w: Extend(campaign=w.mun_campaign), MUNICIPAL),
    "campaigns.window_launch[cmw]": press(
        lambda w: WindowLaunch(window="young", year=NOW.year, municipality=w.mun), MUNICIPAL
    ),
    "campaigns.new_campaign[cmn]": press(lambda w: CampaignNew(), METHODISTS),
    "campaigns.pick_instrument[cmi]": press(
        lambda w: PickInstrument(instrument="deficits"),
        METHODISTS,
        (CampaignForm.instrument, draft()),
    ),
    "campaigns.pick_scope[cms]": press(
        lambda w: PickScope(index=0), METHODISTS, (CampaignForm.scope, draft(instrument="deficits"))
    ),
    "campaigns.pick_audience[cma]": press(
        lambda w: PickAudience(audience="all"),
        METHODISTS,
        (CampaignForm.audience, draft(instrument="deficits", scope=0)),
    ),
    "campaigns.pick_position[cmp]": press(
        lambda w: PickPosition(index=0),
        METHODISTS,
        (CampaignForm.position, draft(instrument="deficits", scope=0, audience="position")),
    ),
    "campaigns.pick_subject[cmj]": press(
        lambda w: PickSubject(index=0),
        METHODISTS,
        (CampaignForm.subject, draft(instrument="deficits", scope=0, audience="subject")),
    ),
    "campaigns.pick_days[cmd]": press(
        lambda w: PickDeadline(days=14),
        METHODISTS,
        (CampaignForm.deadline, draft(instrument="deficits", scope=0, audience="all")),
    ),
    "campaigns.deadline_calendar[cal]": press(
        lambda w: CalendarCB(f=DEADLINE_FIELD, a=PICK, y=DEADLINE.year, m=DEADLINE.month, d=20),
        METHODISTS,
        (CampaignForm.deadline, draft(instrument="deficits", scope=0, audience="all")),
    ),
    "campaigns.pick_reminders[cmr]": press(
        lambda w: PickReminders(on=True),
        METHODISTS,
        (
            CampaignForm.reminders,
            draft(instrument="deficits", scope=0, audience="all", deadline=DEADLINE),
        ),
    ),
    "campaigns.back[cmb]": press(lambda w: DialogBack(), METHODISTS, (CampaignForm.summary, FULL)),
    "campaigns.typed_in_dialog": send(_send_text, METHODISTS, (CampaignForm.instrument, draft())),
    "campaigns.launch[cmg]": press(
        lambda w: LaunchDraft(), METHODISTS, (CampaignForm.summary, FULL)
    ),
    # «📈 Показатели»
    "indicators.open_menu[dgm]": press(lambda w: IndicatorsMenu(), METHODISTS),
    "indicators.open_scope[dgo]": press(
        lambda w: IndicatorsOpen(scope=ScopeKind.SCHOOL, target=w.school1), OWN_SCHOOL
    ),
    # «📄 Аналитическая справка»
    "report.open_hub_report[rpo]": press(lambda w: ReportOpen(), METHODISTS),
    "report.make[rpm]": press(
        lambda w: ReportMake(kind=ScopeKind.SCHOOL, id=w.school1), OWN_SCHOOL
    ),
    # «📥 Каталог программ»
    "catalog.open_catalog[m]": press(lambda w: MenuCB(to="catalog"), CATALOG),
    "catalog.open_catalog[ctv]": press(lambda w: CatalogOpen(), CATALOG),
    "catalog.ask_upload[ctu]": press(lambda w: CatalogUpload(), CATALOG),
    "catalog.ask_replace[ctr]": press(lambda w: CatalogReplace(), CATALOG),
    "catalog.download_catalog[cte]": press(lambda w: CatalogExport(), CATALOG),
    "catalog.send_sample[cts]": press(lambda w: CatalogSample(), CATALOG),
    "catalog.got_file": send(_send_file, CATALOG, WAITING_FILE),
    "catalog.got_photo": send(_send_photo, CATALOG, WAITING_FILE),
    "catalog.got_other": send(_send_text, CATALOG, WAITING_FILE),
    # organisers typed by teachers, waiting for approval (the catalog is the region's)
    "catalog.list_providers[ctp]": press(lambda w: ProviderList(), CATALOG),
    "catalog.approve_provider[cta]": press(lambda w: ProviderApprove(provider=w.provider), CATALOG),
}

PUBLIC_ROUTERS = frozenset(
    {
        *("errors", "consent", "surveys", "registration", "courses"),
        *("route", "mentoring"),
        *("settings", "home"),
    }
)
"""Routers whose handlers serve every registered teacher (each checks ownership of the ids
it is given, which the fuzz tests and the journeys cover); a handler of any other router is
privileged and must be in :data:`MATRIX`."""

ACCESS_READERS = frozenset(
    {
        *("surveys.survey_tap", "registration.start", "registration.name_typed"),
        *("registration.year_typed", "registration.consent_yes"),
        *("registration.back_to_consent", "registration.continue_registration"),
        *("registration.school_picked", "registration.position_picked"),
        *("registration.subjects_done", "registration.category_picked"),
        *("registration.year_picked", "registration.profile_open"),
        *("registration.switch_language", "home.menu_msg", "home.anything_else", "home.menu_cb"),
    }
)
"""Handlers of public routers that take ``access`` only to draw the main menu (which shows
«Кабинет методиста» to methodists); any other handler there that asks for ``access`` or has
a filter that does is privileged and must be in :data:`MATRIX`."""


# ---------------------------------------------------------------- the routers' handlers


@dataclass(frozen=True)
class Registration:
    router: str
    function: str
    takes_access: bool
    key: str


def _walk(router: Router) -> list[Router]:
    out = [router]
    for sub in router.sub_routers:
        out.extend(_walk(sub))
    return out


def _asks_access(fn: Any) -> bool:
    target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else type(fn).__call__
    try:
        return "access" in inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False


def registrations() -> list[Registration]:
    """Every handler of the routers :func:`handlers.setup_routers` builds, keyed by router
    name, function name and the prefix of the CallbackData its filter uses."""
    out: list[Registration] = []
    for router in [r for top in setup_routers() for r in _walk(top)]:
        for observer in router.observers.values():
            for handler in observer.handlers:
                prefixes = [
                    f.callback.callback_data.__prefix__
                    for f in handler.filters or []
                    if isinstance(getattr(f.callback, "callback_data", None), type)
                ]
                name = handler.callback.__name__
                key = f"{router.name}.{name}" + "".join(f"[{p}]" for p in prefixes)
                takes = _asks_access(handler.callback) or any(
                    _asks_access(f.callback) for f in handler.filters or []
                )
                out.append(Registration(router.name or "", name, takes, key))
    return out


def test_every_privileged_handler_is_in_the_matrix() -> None:
    keys = [r.key for r in registrations() if r.router not in PUBLIC_ROUTERS]
    assert len(keys) == len(set(keys)), "two privileged registrations share a key"
    privileged = set(keys)
    missing = sorted(privileged - MATRIX.keys())
    assert not missing, f"add these privileged handlers to MATRIX: {missing}"
    stale = sorted(MATRIX.keys() - privileged)
    assert not stale, f"MATRIX names handlers no router has: {stale}"


def test_public_routers_check_no_role() -> None:
    """A handler of a teacher's router that asks for ``access`` (or whose filter does) is a
    privileged screen in disguise: move it to a privileged router or add it to the matrix."""
    readers = {
        f"{r.router}.{r.function}"
        for r in registrations()
        if r.router in PUBLIC_ROUTERS and r.takes_access
    }
    assert readers <= ACCESS_READERS, sorted(readers - ACCESS_READERS)


# ---------------------------------------------------------------- the world


async def _person(s: AsyncSession, telegram_id: int, name: str, school_id: int, **kw: Any) -> User:
    user = User(
        telegram_id=telegram_id,
        consent_at=NOW - timedelta(days=60),
        registered_at=NOW - timedelta(days=60),
        full_name=name,
        school_id=school_id,
        position="teacher",
        birth_year=kw.get("birth", 1980),
        teaching_since=kw.get("since", 2005),
        category=kw.get("category", "first"),
    )
    s.add(user)
    await s.flush()
    return user


async def build_world(
    sessionmaker: async_sessionmaker[AsyncSession], registry: Any, tz: Any
) -> World:
    world = World()
    schools = await add_schools(sessionmaker, count=3)
    async with sessionmaker.begin() as s:
        school1 = schools[0]
        world.school1, world.mun = school1.id, school1.municipality_id
        other = Municipality(code="other", name="Другой муниципальный округ")
        s.add(other)
        await s.flush()
        far = School(
            municipality_id=other.id, code="far1", name="МБОУ СОШ № 40", short_name="Школа № 40"
        )
        s.add(far)
        await s.flush()
        school2 = schools[1].id
        await _person(s, ROLES["teacher"], "Учителева Анна Павловна", school1.id)
        await _person(s, ROLES["other_school"], "Методистова Ольга Ивановна", school2)
        await _person(s, ROLES["other_mun"], "Далёкова Нина Петровна", far.id)
        await _person(s, ROLES["school"], "Школьная Елена Юрьевна", school1.id)
        await _person(s, ROLES["municipal"], "Округова Мария Олеговна", schools[2].id)
        await _person(s, ADMIN_ID, "Админова Светлана Игоревна", schools[2].id)
        s.add_all(
            [
                Role(
                    telegram_id=ROLES["other_school"],
                    role="methodist",
                    scope="school",
                    school_id=school2,
                ),
                Role(
                    telegram_id=ROLES["other_mun"],
                    role="methodist",
                    scope="municipality",
                    municipality_id=other.id,
                ),
                Role(
                    telegram_id=ROLES["school"],
                    role="methodist",
                    scope="school",
                    school_id=school1.id,
                ),
                Role(
                    telegram_id=ROLES["municipal"],
                    role="methodist",
                    scope="municipality",
                    municipality_id=world.mun,
                ),
            ]
        )
        victim = await _person(s, 8101, VICTIM, school1.id, birth=2001, since=2024, category="none")
        mentee = await _person(s, 8102, MENTEE, school1.id, birth=2000, since=2023, category="none")
        mentor = await _person(s, 8103, MENTOR, school2, birth=1970, since=1995, category="highest")
        world.mentor = mentor.id
        typed = Provider(name="Учебный центр «Вектор»", status="private", created_by=victim.id)
        s.add(typed)
        await s.flush()
        world.provider = typed.id
        s.add(MentorProfile(user_id=mentor.id, subjects=["math"], max_mentees=3))
        open_ = MentorRequest(
            mentee_id=victim.id,
            status="open",
            subject="math",
            topics=["discipline"],
            details="Тайнова просит помочь с дисциплиной",
            young=True,
            shared_at=NOW - timedelta(days=3),
        )
        offered = MentorRequest(
            mentee_id=mentee.id,
            status="offered",
            subject="math",
            topics=["docs"],
            young=True,
            shared_at=NOW - timedelta(days=5),
        )
        s.add_all([open_, offered])
        await s.flush()
        world.request, world.offered = open_.id, offered.id
        s.add(MentorOffer(request_id=offered.id, mentor_id=mentor.id, offered_by=ROLES["school"]))
        await add_route_catalog(s)
        deadline = (NOW + timedelta(days=10)).date()
        school_access = access_of(
            ROLES["school"], [Role(role="methodist", scope="school", school_id=school1.id)], ()
        )
        card = await campaigns_svc.launch(
            s,
            school_access,
            registry,
            instrument_id="deficits",
            scope=Scope(ScopeKind.SCHOOL, school1.id, None),
            filters=campaigns_svc.Filters(),
            deadline=deadline,
            reminders=True,
            now=NOW,
            tz=tz,
        )
        world.school_campaign = card.id
        mun_access = access_of(
            ROLES["municipal"],
            [Role(role="methodist", scope="municipality", municipality_id=world.mun)],
            (),
        )
        card = await campaigns_svc.launch(
            s,
            mun_access,
            registry,
            instrument_id="deficits",
            scope=Scope(ScopeKind.MUNICIPALITY, None, world.mun),
            filters=campaigns_svc.Filters(),
            deadline=deadline,
            reminders=True,
            now=NOW,
            tz=tz,
        )
        world.mun_campaign = card.id
    return world


async def clear(engine: AsyncEngine) -> None:
    """Empty every table but the instrument versions (the app's registry holds their ids);
    DELETE rather than TRUNCATE, which takes PostgreSQL far longer on small tables."""
    tables = [t for t in Base.metadata.sorted_tables if t.name != "instrument_versions"]
    async with engine.begin() as conn:
        for table in reversed(tables):
            await conn.execute(table.delete())


async def snapshot(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, list[str]]:
    """Every row of every table, as text."""
    out: dict[str, list[str]] = {}
    async with sessionmaker() as s:
        for table in Base.metadata.sorted_tables:
            rows = (await s.execute(select(table))).all()
            out[table.name] = sorted(repr(tuple(r)) for r in rows)
    return out


# ---------------------------------------------------------------- what the person got

BOT = MockedBot()  # its id names the conversation rows
RU = Translator("ru")
FALLBACKS = (RU("common.not_understood"), RU("start.need_consent"))
CYRILLIC = re.compile("[а-яА-ЯёЁ]")


def _file_text(document: Any) -> str:
    """The text inside an XLSX or DOCX file sent (its XML parts), else nothing."""
    if not isinstance(document, BufferedInputFile) or not document.data.startswith(b"PK"):
        return ""
    with zipfile.ZipFile(io.BytesIO(document.data)) as package:
        return " ".join(
            package.read(n).decode("utf-8", "replace")
            for n in package.namelist()
            if n.endswith(".xml")
        )


@dataclass
class Outcome:
    allowed: bool
    alerts: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)  # texts, captions, files' contents


def outcome(bot: MockedBot, chat_id: int) -> Outcome:
    alerts: list[str] = []
    seen: list[str] = []
    screens = 0
    for r in bot.api.requests:
        if isinstance(r, AnswerCallbackQuery):
            if r.show_alert and r.text:
                alerts.append(r.text)
            continue
        if int(getattr(r, "chat_id", 0) or 0) != chat_id:
            continue
        if isinstance(r, SendMessage | EditMessageText):
            seen.append(r.text)
            screens += 1
        elif isinstance(r, SendDocument | SendPhoto):
            seen.append(r.caption or "")
            if isinstance(r, SendDocument):
                seen.append(_file_text(r.document))
            screens += 1
    fallback = any(f in s for s in seen for f in FALLBACKS)
    return Outcome(allowed=screens > 0 and not alerts and not fallback, alerts=alerts, seen=seen)


# ---------------------------------------------------------------- the matrix, role by role


async def _set_state(
    sessionmaker: async_sessionmaker[AsyncSession],
    telegram_id: int,
    state: State,
    data: dict[str, Any],
) -> None:
    async with sessionmaker.begin() as s:
        s.add(
            FsmRecord(
                key=storage_key(
                    StorageKey(bot_id=BOT.id, chat_id=telegram_id, user_id=telegram_id)
                ),
                user_id=telegram_id,
                state=state.state,
                data=data,
            )
        )


async def _run_row(app: App, key: str, row: Row) -> list[str]:
    """Each role in turn; what went wrong, as lines naming the handler and the role."""
    got: dict[str, bool] = {}
    problems: list[str] = []
    world, dirty = World(), True
    for role, telegram_id in ROLES.items():
        if dirty:  # the world is built again only after a role changed it
            await clear(app.engine)
            world = await build_world(app.sessionmaker, app.registry, app.settings.tz)
        if row.state is not None:
            await _set_state(app.sessionmaker, telegram_id, *row.state)
        bot = MockedBot()
        chat = TgChat(app.dispatcher, bot, telegram_id)
        before = await snapshot(app.sessionmaker)
        await row.act(chat, world)
        after = await snapshot(app.sessionmaker)
        dirty = after != before
        result = outcome(bot, telegram_id)
        got[role] = result.allowed
        problems.extend(f"{key} {role}: {v}" for v in bot.api.violations)
        if not result.allowed:
            changed = [t for t in before if before[t] != after[t]]
            if changed:
                problems.append(f"{key} {role}: refused, yet changed {changed}")
            said = result.alerts + [s for s in result.seen if any(f in s for f in FALLBACKS)]
            if not said or not all(CYRILLIC.search(s) and len(s) <= 200 for s in result.alerts):
                problems.append(f"{key} {role}: refused without a clear message: {said}")
        if role not in COVERING:
            leaked = [x for x in SECRETS if any(x in s for s in result.seen)]
            if leaked:
                problems.append(f"{key} {role}: was shown {leaked}")
    allowed = {role for role, ok in got.items() if ok}
    if allowed != row.allowed:
        problems.append(f"{key}: allowed {sorted(allowed)}, the matrix says {sorted(row.allowed)}")
    return problems


async def _matrix(url: str) -> list[str]:
    engine = make_engine(url)
    await reset_schema(engine)
    app = await create_app(make_settings(url), engine=engine, clock=Clock())
    problems: list[str] = []
    try:
        for key, row in sorted(MATRIX.items()):
            problems.extend(await _run_row(app, key, row))
    finally:
        await app.close()
    return problems


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_role_matrix(backend: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """One app and one database for the whole table (each role still gets a fresh world
    whenever the previous one changed it)."""
    problems = asyncio.run(_matrix(scratch_url(backend, tmp_path_factory)))
    assert not problems, "\n".join(problems)
