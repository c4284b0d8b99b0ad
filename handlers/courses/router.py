"""«Мои курсы»: totals and attestation, the list, a course card, adding and editing a course.

Adding is a dialog of steps whose answers are kept in the FSM data (``co_draft``), so it
survives a restart; the step being asked is the FSM state. Editing one field of a recorded
course reuses the same steps with ``co_edit`` set to the course id. Every check lives in
:mod:`services.courses`; here the update is parsed and the answer rendered.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import BaseFilter, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message, TelegramObject
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import Registered
from bot.i18n import Translator
from handlers.calendar.router import CalendarCB, calendar_rows, read
from handlers.common import button, esc, grid, is_menu_or_command, markup, refuse, show
from handlers.home.callbacks import MenuCB
from handlers.home.screens import menu_button
from handlers.route.router import offer_to_close_steps
from models import Course, Provider, User
from services import courses as svc
from services import routes
from services.courses import CertificateFile, CourseError, Draft

router = Router(name="courses")
log = logging.getLogger("pedbot.courses")

COURSES_PER_PAGE = 8
PROVIDERS_PER_PAGE = 6
BUTTON_TEXT_MAX = 60

# the steps of adding a course, in order; «confirm» shows the summary
ADD_STEPS: tuple[str, ...] = (
    "title",
    "provider",
    "kind",
    "hours",
    "starts_on",
    "ends_on",
    "format",
    "blocks",
    "certificate_number",
    "certificate",
    "confirm",
)
QUESTIONS = len(ADD_STEPS) - 1
# steps answered by typing (at «hours_warn» typing new hours corrects them)
TYPED_STEPS = frozenset(
    {"title", "provider", "hours", "hours_warn", "starts_on", "ends_on", "certificate_number"}
    | {"att"}
)
BUTTON_STEPS = frozenset({"kind", "format", "blocks", "confirm"})
CAL_FIELDS = {"cs": "starts_on", "ce": "ends_on", "ca": "att"}  # calendar field -> step
CAL_OF_STEP = {step: code for code, step in CAL_FIELDS.items()}

# keys of the FSM data this feature owns
D_DRAFT = "co_draft"  # the answers of the course being added
D_STEP = "co_step"  # the step of adding it was at (to continue after leaving)
D_EDIT = "co_edit"  # id of the course whose field is being changed
D_HOURS = "co_hours"  # hours waiting for «Да, верно» (retraining under 250 h)
D_BLOCKS = "co_blocks"  # blocks being ticked while editing


class CourseForm(StatesGroup):
    title = State()
    provider = State()
    kind = State()
    hours = State()
    hours_warn = State()
    starts_on = State()
    ends_on = State()
    format = State()
    blocks = State()
    certificate_number = State()
    certificate = State()
    confirm = State()
    att = State()  # the date the category was given


class CourseCB(CallbackData, prefix="co"):
    """``a``: the action; ``id``: a course or provider; ``v``: an index or a page."""

    a: str
    id: int = 0
    v: int = 0


class NotMenu(BaseFilter):
    """Leaves commands and the «🏠 Главное меню» button to the other routers."""

    async def __call__(self, event: TelegramObject) -> bool:
        text = getattr(event, "text", None)
        return text is None or not is_menu_or_command(text)


router.message.filter(Registered(), NotMenu())
router.callback_query.filter(Registered())


@dataclass
class Ctx:
    """What every step needs: the teacher, their texts, the conversation, the session."""

    user: User
    t: Translator
    state: FSMContext
    session: AsyncSession
    today: date


def _ctx(user: User, t: Translator, state: FSMContext, session: AsyncSession, now: datetime) -> Ctx:
    return Ctx(user, t, state, session, now.date())


def _clip(text: str, limit: int = BUTTON_TEXT_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _stale(callback_answer: CallbackAnswer, t: Translator, key: str = "common.stale") -> None:
    refuse(callback_answer, t(key))


async def _step_of(state: FSMContext) -> str | None:
    current = await state.get_state()
    prefix = f"{CourseForm.__full_group_name__}:"
    if current and current.startswith(prefix):
        return current.removeprefix(prefix)
    return None


async def _pause(c: Ctx) -> None:
    """Leave the dialog without losing a draft: it can be continued from «Мои курсы»."""
    if await _step_of(c.state) is not None:
        await c.state.set_state(None)
    data = await c.state.get_data()
    if any(data.get(k) is not None for k in (D_EDIT, D_HOURS, D_BLOCKS)):
        await c.state.update_data({D_EDIT: None, D_HOURS: None, D_BLOCKS: None})


async def _drop_draft(c: Ctx) -> None:
    await c.state.set_state(None)
    await c.state.update_data({D_DRAFT: None, D_STEP: None, D_HOURS: None, D_EDIT: None})


# ---------- «Мои курсы» ----------


def summary_lines(c: Ctx, courses: Sequence[Course]) -> list[str]:
    t, today = c.t, c.today
    tot = svc.totals(courses, today)
    lines = [
        t("courses.hours_year", year=today.year, hours=tot.hours_year),
        t("courses.hours_3y", since=t.date(tot.since_3y), hours=tot.hours_3y),
    ]
    if tot.ongoing_hours:
        lines.append(t("courses.ongoing", hours=tot.ongoing_hours))
    if tot.last_pk is not None:
        lines.append(t("courses.last_pk", date=t.date(tot.last_pk)))
    if tot.last_pk is None:
        lines.append(t("courses.pk_none"))
    elif tot.pk_due:
        lines.append(t("courses.pk_due", date=t.date(tot.last_pk)))
    elif tot.pk_deadline is not None:
        lines.append(t("courses.pk_ok", date=t.date(tot.pk_deadline)))
    lines.append("")
    lines.extend(attestation_lines(c))
    return lines


def attestation_lines(c: Ctx) -> list[str]:
    t, user = c.t, c.user
    att = svc.attestation(user.category, user.category_date, user.category_year, c.today)
    if att.status == svc.AttStatus.NONE:
        return [t("courses.att_none") if user.category == "none" else t("courses.att_missing")]
    category = t(f"category.{att.category}") if t.has(f"category.{att.category}") else ""
    if att.status == svc.AttStatus.UNKNOWN or att.given is None or att.expires is None:
        return [t("courses.att_unknown", category=category)]
    if att.year_only:
        lines = [
            t(
                "courses.att_valid_year",
                category=category,
                year=att.given.year,
                expires=t.date(att.expires),
            )
        ]
    else:
        lines = [
            t(
                "courses.att_valid",
                category=category,
                given=t.date(att.given),
                expires=t.date(att.expires),
            )
        ]
    if att.status == svc.AttStatus.SOON:
        lines.append(t("courses.att_soon"))
    elif att.status == svc.AttStatus.EXPIRED:
        lines.append(t("courses.att_expired", expires=t.date(att.expires)))
    if att.year_only:
        lines.append(t("courses.att_year_hint"))
    return lines


def _has_category(user: User) -> bool:
    return bool(user.category) and user.category != "none"


async def render_list(
    event: Message | CallbackQuery, c: Ctx, page: int = 0, notice: str = ""
) -> None:
    t = c.t
    courses = await svc.list_courses(c.session, c.user.id)
    pages = max(1, -(-len(courses) // COURSES_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    blocks = [notice] if notice else []
    blocks.append(t("courses.title") + "\n" + "\n".join(summary_lines(c, courses)))
    if courses:
        head = t("courses.list_head", count=len(courses))
        if pages > 1:
            head += " " + t("courses.list_page", page=page + 1, pages=pages)
        blocks.append(head)
    else:
        blocks.append(t("courses.list_empty"))
    shown = courses[page * COURSES_PER_PAGE : (page + 1) * COURSES_PER_PAGE]
    rows: list[list[InlineKeyboardButton]] = [
        [button(_clip(f"{t.date(x.ends_on)} · {x.title}"), CourseCB(a="view", id=x.id))]
        for x in shown
    ]
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(button(t("common.prev"), CourseCB(a="list", v=page - 1)))
    if page + 1 < pages:
        nav.append(button(t("common.next"), CourseCB(a="list", v=page + 1)))
    rows.append(nav)
    data = await c.state.get_data()
    if data.get(D_STEP) in ADD_STEPS:
        rows.append([button(t("courses.resume"), CourseCB(a="resume"))])
    rows.append([button(t("courses.add"), CourseCB(a="new"))])
    if _has_category(c.user):
        rows.append([button(t("courses.att_button"), CourseCB(a="att"))])
    rows.append([menu_button(t)])
    await show(event, "\n\n".join(blocks), markup(rows))


@router.callback_query(MenuCB.filter(F.to == "courses"))
async def open_courses(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
) -> None:
    c = _ctx(user, t, state, session, now)
    await _pause(c)
    await render_list(query, c)


@router.callback_query(CourseCB.filter(F.a == "list"))
async def list_page(
    query: CallbackQuery,
    callback_data: CourseCB,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
) -> None:
    c = _ctx(user, t, state, session, now)
    await _pause(c)
    await render_list(query, c, page=min(callback_data.v, 10_000))


# ---------- a course card ----------


def _file_label(t: Translator, cert: CertificateFile | None) -> str:
    if cert is None:
        return t("courses.card_none")
    name = t("courses.photo") if cert.is_photo else esc(cert.file_name)
    if cert.file_size is None:
        return name
    n, unit = svc.size_parts(cert.file_size)
    return t("courses.file_label", name=name, size=t(f"courses.size_{unit}", n=n))


def details(
    t: Translator,
    *,
    title: str | None,
    provider: str | None,
    kind: str | None,
    hours: int | None,
    starts_on: date | None,
    ends_on: date | None,
    fmt: str | None,
    blocks: Sequence[str],
    number: str | None,
    cert: CertificateFile | None,
) -> str:
    none = t("courses.card_none")
    lines = [
        t("courses.card_title", title=esc(title or none)),
        t("courses.card_provider", value=esc(provider or none)),
        t("courses.card_kind", value=t(f"course_kind.{kind}") if kind else none),
        t("courses.card_hours", value=hours if hours else none),
        t(
            "courses.card_dates",
            start=t.date(starts_on) if starts_on else none,
            end=t.date(ends_on) if ends_on else none,
        ),
        t("courses.card_format", value=t(f"course_format.{fmt}") if fmt else none),
        t(
            "courses.card_blocks",
            value=", ".join(t(f"block.{b}") for b in blocks if b in svc.BLOCKS) or none,
        ),
        t("courses.card_number", value=esc(number or none)),
        t("courses.card_file", value=_file_label(t, cert)),
    ]
    return "\n".join(lines)


def course_details(t: Translator, course: Course) -> str:
    return details(
        t,
        title=course.title,
        provider=course.provider.name if course.provider else None,
        kind=course.kind,
        hours=course.hours,
        starts_on=course.starts_on,
        ends_on=course.ends_on,
        fmt=course.format,
        blocks=list(course.blocks or []),
        number=course.certificate_number,
        cert=svc.certificate_of(course),
    )


def draft_details(t: Translator, draft: Draft) -> str:
    return details(
        t,
        title=draft.title,
        provider=draft.provider_name,
        kind=draft.kind,
        hours=draft.hours,
        starts_on=draft.starts_on,
        ends_on=draft.ends_on,
        fmt=draft.format,
        blocks=draft.blocks,
        number=draft.certificate_number,
        cert=draft.certificate,
    )


async def render_card(
    event: Message | CallbackQuery, c: Ctx, course: Course, notice: str = ""
) -> None:
    t = c.t
    text = course_details(t, course)
    if notice:
        text = f"{notice}\n\n{text}"
    rows = [
        [
            button(t("courses.edit"), CourseCB(a="edit", id=course.id)),
            button(t("courses.delete"), CourseCB(a="del", id=course.id)),
        ],
    ]
    if course.certificate_file_id:
        rows.append([button(t("courses.certificate"), CourseCB(a="cert", id=course.id))])
    rows.append([button(t("courses.back_to_list"), CourseCB(a="list"))])
    rows.append([menu_button(t)])
    await show(event, text, markup(rows))


@router.callback_query(CourseCB.filter(F.a.in_({"view", "edit", "del", "delok", "cert"})))
async def course_action(
    query: CallbackQuery,
    callback_data: CourseCB,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    c = _ctx(user, t, state, session, now)
    course = await svc.get_course(session, user.id, callback_data.id)
    if course is None:
        _stale(callback_answer, t)
        return
    await _pause(c)
    action = callback_data.a
    if action == "view":
        await render_card(query, c, course)
    elif action == "edit":
        rows = grid(
            [
                button(t(f"courses.field.{f}"), CourseCB(a="f", id=course.id, v=i))
                for i, f in enumerate(svc.EDIT_FIELDS)
            ],
            2,
        )
        rows.append([button(t("courses.back_to_course"), CourseCB(a="view", id=course.id))])
        rows.append([menu_button(t)])
        await show(query, f"{esc(course.title)}\n\n{t('courses.choose_field')}", markup(rows))
    elif action == "del":
        rows = [
            [button(t("courses.delete_yes"), CourseCB(a="delok", id=course.id))],
            [button(t("courses.delete_no"), CourseCB(a="view", id=course.id))],
            [menu_button(t)],
        ]
        await show(
            query, t("courses.delete_confirm", title=esc(_clip(course.title, 200))), markup(rows)
        )
    elif action == "delok":
        await svc.delete_course(session, user.id, course.id)
        await render_list(query, c, notice=t("courses.deleted"))
    else:
        await send_certificate(query, c, course, callback_answer)


async def send_certificate(
    query: CallbackQuery, c: Ctx, course: Course, callback_answer: CallbackAnswer
) -> None:
    """Send the stored file back by its Telegram file id (a photo as a photo)."""
    t = c.t
    cert = svc.certificate_of(course)
    bot = query.bot
    if cert is None or bot is None:
        _stale(callback_answer, t)
        return
    caption = t("courses.certificate_caption", title=esc(_clip(course.title, 200)))
    kb = markup(
        [[button(t("courses.back_to_course"), CourseCB(a="view", id=course.id))], [menu_button(t)]]
    )
    senders = [bot.send_document, bot.send_photo]
    if cert.is_photo:
        senders.reverse()
    for send in senders:
        try:
            await send(query.from_user.id, cert.file_id, caption=caption, reply_markup=kb)
            return
        except TelegramBadRequest:
            continue  # a file id of the other kind: try the other method
    _stale(callback_answer, t, "courses.error.file_gone")


# ---------- asking a step ----------


async def _editing_course(c: Ctx, data: dict[str, Any]) -> Course | None:
    edit_id = data.get(D_EDIT)
    if not isinstance(edit_id, int):
        return None
    return await svc.get_course(c.session, c.user.id, edit_id)


def _example_date(c: Ctx) -> str:
    return c.t.date(c.today)


def _date_bounds(c: Ctx, step: str, draft: Draft, course: Course | None) -> tuple[date, date]:
    lo, hi = svc.date_bounds(c.today)
    if step == "att":
        return lo, c.today
    if step == "ends_on":
        start = course.starts_on if course else draft.starts_on
        if start is not None and lo <= start <= hi:
            lo = start
    return lo, hi


async def ask(
    event: Message | CallbackQuery,
    c: Ctx,
    step: str,
    *,
    notice: str = "",
    page: int = 0,
    month: date | None = None,
) -> None:
    """Show the question of one step (adding, editing or the attestation date)."""
    t = c.t
    data = await c.state.get_data()
    course = await _editing_course(c, data)
    if data.get(D_EDIT) is not None and course is None:
        await _pause(c)
        await render_list(event, c, notice=t("courses.error.not_found"))
        return
    await c.state.set_state(getattr(CourseForm, step))
    adding = course is None and step != "att"
    resume_at = "hours" if step == "hours_warn" else step
    if adding and data.get(D_STEP) != resume_at:
        await c.state.update_data({D_STEP: resume_at})
    draft = Draft.from_data(data.get(D_DRAFT))
    head: list[str] = [notice] if notice else []
    if course is not None:
        field = "hours" if step == "hours_warn" else step
        head.append(t("courses.editing", field=t(f"courses.field.{field}")))
    elif adding and step != "confirm":
        number = ADD_STEPS.index("hours" if step == "hours_warn" else step) + 1
        head.append(t("courses.step", n=number, total=QUESTIONS))
    rows: list[list[InlineKeyboardButton]] = []
    body = ""
    current: str | None = None

    def choice_rows(prefix: str, codes: Sequence[str], action: str, chosen: str | None) -> None:
        rows.extend(
            [
                button(
                    ("✅ " if code == chosen else "") + t(f"{prefix}.{code}"),
                    CourseCB(a=action, v=i),
                )
            ]
            for i, code in enumerate(codes)
        )

    if step == "title":
        body = t("courses.ask_title")
        current = esc(course.title) if course else None
    elif step == "provider":
        total = await svc.count_providers(c.session)
        pages = max(1, -(-total // PROVIDERS_PER_PAGE))
        page = min(max(page, 0), pages - 1)
        providers = await svc.known_providers(
            c.session, PROVIDERS_PER_PAGE, offset=page * PROVIDERS_PER_PAGE
        )
        chosen_id = course.provider_id if course else draft.provider_id
        rows.extend(
            [
                button(
                    ("✅ " if p.id == chosen_id else "") + _clip(p.name),
                    CourseCB(a="prov", id=p.id),
                )
            ]
            for p in providers
        )
        nav: list[InlineKeyboardButton] = []
        if page > 0:
            nav.append(button(t("common.prev"), CourseCB(a="pp", v=page - 1)))
        if page + 1 < pages:
            nav.append(button(t("common.next"), CourseCB(a="pp", v=page + 1)))
        rows.append(nav)
        body = (
            t("courses.ask_provider", page=page + 1, pages=pages)
            if total
            else t("courses.ask_provider_empty")
        )
        if course is not None and course.provider is not None:
            current = esc(course.provider.name)
        elif course is None and draft.provider_name:
            current = esc(draft.provider_name)
    elif step == "kind":
        body = t("courses.ask_kind")
        choice_rows("course_kind", svc.KINDS, "kind", course.kind if course else draft.kind)
    elif step == "hours":
        body = t("courses.ask_hours")
        current = str(course.hours) if course else None
    elif step == "hours_warn":
        body = t("courses.warn_hours", hours=data.get(D_HOURS))
        rows.append(
            [
                button(t("courses.warn_yes"), CourseCB(a="hok")),
                button(t("courses.warn_fix"), CourseCB(a="hfix")),
            ]
        )
    elif step in ("starts_on", "ends_on", "att"):
        lo, hi = _date_bounds(c, step, draft, course)
        if step == "att":
            selected = c.user.category_date
            fallback = date(c.user.category_year, 1, 1) if c.user.category_year else c.today
            category = t(f"category.{c.user.category}") if _has_category(c.user) else ""
            body = t("courses.ask_att", category=category, example=_example_date(c))
        else:
            source: Course | Draft = course if course is not None else draft
            selected = getattr(source, step)
            fallback = draft.starts_on if step == "ends_on" and draft.starts_on else c.today
            if course is not None:
                fallback = course.starts_on
            key = "courses.ask_start" if step == "starts_on" else "courses.ask_end"
            body = t(key, example=_example_date(c))
            current = t.date(selected) if course is not None and selected else None
        rows.extend(
            calendar_rows(
                CAL_OF_STEP[step],
                month or selected or fallback,
                t,
                lo=lo,
                hi=hi,
                selected=selected,
            )
        )
    elif step == "format":
        body = t("courses.ask_format")
        choice_rows("course_format", svc.FORMATS, "fmt", course.format if course else draft.format)
    elif step == "blocks":
        body = t("courses.ask_blocks")
        ticked = set(data.get(D_BLOCKS) or []) if course else set(draft.blocks)
        marks = [
            button(("✅ " if b in ticked else "") + t(f"block.{b}"), CourseCB(a="blk", v=i))
            for i, b in enumerate(svc.BLOCKS)
        ]
        rows.extend(grid(marks, 1))
        rows.append([button(t("courses.done"), CourseCB(a="bok"))])
    elif step in ("certificate_number", "certificate"):
        body = t("courses.ask_number" if step == "certificate_number" else "courses.ask_file")
        if course is None:
            rows.append([button(t("courses.skip"), CourseCB(a="skip"))])
        elif step == "certificate_number" and course.certificate_number:
            current = esc(course.certificate_number)
            rows.append([button(t("courses.remove"), CourseCB(a="skip"))])
        elif step == "certificate" and course.certificate_file_id:
            current = _file_label(t, svc.certificate_of(course))
            rows.append([button(t("courses.remove"), CourseCB(a="skip"))])
    elif step == "confirm":
        body = t("courses.summary") + "\n\n" + draft_details(t, draft)
        rows.append([button(t("courses.save"), CourseCB(a="save"))])
    else:  # pragma: no cover - the states are a closed list
        raise ValueError(step)
    if current:
        body += "\n\n" + t("courses.current", value=current)
    if step == "att":
        rows.append([button(t("courses.back_to_list"), CourseCB(a="list"))])
    elif course is not None:
        rows.append([button(t("courses.back_to_course"), CourseCB(a="view", id=course.id))])
    else:
        nav_row = [button(t("courses.cancel"), CourseCB(a="cancel"))]
        if step != "title":
            nav_row.insert(0, button(t("courses.step_back"), CourseCB(a="prev")))
        rows.append(nav_row)
    rows.append([menu_button(t)])
    await show(event, "\n\n".join([*head, body]), markup(rows))


def _next_step(step: str) -> str:
    return ADD_STEPS[ADD_STEPS.index(step) + 1]


def _prev_step(step: str) -> str | None:
    if step == "hours_warn":
        return "hours"
    index = ADD_STEPS.index(step) if step in ADD_STEPS else 0
    return ADD_STEPS[index - 1] if index > 0 else None


async def accept(event: Message | CallbackQuery, c: Ctx, step: str, value: Any) -> None:
    """Keep one answer: into the draft (then the next step) or into the course being edited."""
    t = c.t
    data = await c.state.get_data()
    if data.get(D_EDIT) is not None:
        stored = value.id if isinstance(value, Provider) else value
        try:
            course = await svc.update_course(
                c.session, c.user.id, int(data[D_EDIT]), step, stored, c.today
            )
        except CourseError as exc:
            if exc.code == "courses.error.not_found":
                await _pause(c)
                await render_list(event, c, notice=t(exc.code))
                return
            await ask(event, c, step, notice=t(exc.code, **exc.params))
            return
        await _pause(c)
        notice = t("courses.changed")
        if step == "kind" and svc.hours_warning(course.kind, course.hours):
            notice += "\n" + t("courses.hours_warning_note")
        await render_card(event, c, course, notice)
        return
    draft = Draft.from_data(data.get(D_DRAFT))
    try:
        if step == "provider":
            if isinstance(value, str):
                value = await svc.find_provider(c.session, value) or value
            if isinstance(value, Provider):
                draft.provider_id, draft.provider_name = value.id, value.name
            else:
                draft.provider_id, draft.provider_name = None, str(value)
        elif step == "ends_on" and draft.starts_on is not None:
            svc.check_order(draft.starts_on, value)
            draft.ends_on = value
        elif step == "certificate":
            draft.certificate = value
        else:
            setattr(draft, step, value)
    except CourseError as exc:
        await ask(event, c, step, notice=t(exc.code, **exc.params))
        return
    await c.state.update_data({D_DRAFT: draft.to_data(), D_HOURS: None})
    await ask(event, c, _next_step(step))


# ---------- starting, continuing, leaving ----------


@router.callback_query(CourseCB.filter(F.a.in_({"new", "resume", "cancel", "prev"})))
async def flow_control(
    query: CallbackQuery,
    callback_data: CourseCB,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    c = _ctx(user, t, state, session, now)
    data = await state.get_data()
    action = callback_data.a
    if action == "new":
        await state.update_data(
            {D_DRAFT: Draft().to_data(), D_STEP: "title", D_EDIT: None, D_HOURS: None}
        )
        await ask(query, c, "title")
        return
    if action == "resume":
        step = data.get(D_STEP)
        if step not in ADD_STEPS:
            _stale(callback_answer, t)
            return
        await state.update_data({D_EDIT: None})
        await ask(query, c, step)
        return
    step = await _step_of(state)
    if step is None or step == "att" or data.get(D_EDIT) is not None:
        _stale(callback_answer, t)
        return
    if action == "cancel":
        await _drop_draft(c)
        await render_list(query, c, notice=t("courses.cancelled"))
        return
    previous = _prev_step(step)
    if previous is None:
        _stale(callback_answer, t)
        return
    await ask(query, c, previous)


# ---------- answers given with buttons ----------


async def _expect(state: FSMContext, *steps: str) -> str | None:
    step = await _step_of(state)
    return step if step in steps else None


@router.callback_query(CourseCB.filter(F.a.in_({"prov", "pp"})))
async def provider_button(
    query: CallbackQuery,
    callback_data: CourseCB,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    c = _ctx(user, t, state, session, now)
    if await _expect(state, "provider") is None:
        _stale(callback_answer, t)
        return
    if callback_data.a == "pp":
        await ask(query, c, "provider", page=min(max(callback_data.v, 0), 10_000))
        return
    provider = await svc.get_provider(session, callback_data.id)
    if provider is None:
        _stale(callback_answer, t)
        return
    await accept(query, c, "provider", provider)


@router.callback_query(CourseCB.filter(F.a.in_({"kind", "fmt"})))
async def choice_button(
    query: CallbackQuery,
    callback_data: CourseCB,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    c = _ctx(user, t, state, session, now)
    step, codes = ("kind", svc.KINDS) if callback_data.a == "kind" else ("format", svc.FORMATS)
    if await _expect(state, step) is None or not 0 <= callback_data.v < len(codes):
        _stale(callback_answer, t)
        return
    await accept(query, c, step, codes[callback_data.v])


@router.callback_query(CourseCB.filter(F.a.in_({"hok", "hfix"})))
async def hours_warning_button(
    query: CallbackQuery,
    callback_data: CourseCB,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    c = _ctx(user, t, state, session, now)
    hours = (await state.get_data()).get(D_HOURS)
    if await _expect(state, "hours_warn") is None or not isinstance(hours, int):
        _stale(callback_answer, t)
        return
    if callback_data.a == "hfix":
        await state.update_data({D_HOURS: None})
        await ask(query, c, "hours")
        return
    await accept(query, c, "hours", hours)


@router.callback_query(CourseCB.filter(F.a.in_({"blk", "bok"})))
async def blocks_button(
    query: CallbackQuery,
    callback_data: CourseCB,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    c = _ctx(user, t, state, session, now)
    if await _expect(state, "blocks") is None:
        _stale(callback_answer, t)
        return
    data = await state.get_data()
    editing = data.get(D_EDIT) is not None
    draft = Draft.from_data(data.get(D_DRAFT))
    ticked = set(data.get(D_BLOCKS) or []) if editing else set(draft.blocks)
    if callback_data.a == "blk":
        if not 0 <= callback_data.v < len(svc.BLOCKS):
            _stale(callback_answer, t)
            return
        ticked ^= {svc.BLOCKS[callback_data.v]}
        chosen = [b for b in svc.BLOCKS if b in ticked]
        if editing:
            await state.update_data({D_BLOCKS: chosen})
        else:
            draft.blocks = chosen
            await state.update_data({D_DRAFT: draft.to_data()})
        await ask(query, c, "blocks")
        return
    try:
        chosen = svc.check_blocks(sorted(ticked))
    except CourseError as exc:
        _stale(callback_answer, t, exc.code)
        return
    await accept(query, c, "blocks", chosen)


@router.callback_query(CourseCB.filter(F.a == "skip"))
async def skip_button(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    c = _ctx(user, t, state, session, now)
    step = await _expect(state, "certificate_number", "certificate")
    if step is None:
        _stale(callback_answer, t)
        return
    await accept(query, c, step, None)


@router.callback_query(CalendarCB.filter(F.f.in_(set(CAL_FIELDS))))
async def calendar_button(
    query: CallbackQuery,
    callback_data: CalendarCB,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    c = _ctx(user, t, state, session, now)
    step = CAL_FIELDS[callback_data.f]
    if await _expect(state, step) is None:
        _stale(callback_answer, t)
        return
    data = await state.get_data()
    course = await _editing_course(c, data)
    lo, hi = _date_bounds(c, step, Draft.from_data(data.get(D_DRAFT)), course)
    action = read(callback_data, lo=lo, hi=hi)
    if action is None:
        _stale(callback_answer, t)
        return
    if action.month is not None:
        await ask(query, c, step, month=action.month)
    elif action.picked is not None:
        if step == "att":
            await save_attestation(query, c, action.picked)
        else:
            await accept(query, c, step, action.picked)


# ---------- typed answers ----------


def _parse(step: str, text: str, c: Ctx) -> Any:
    if step == "title":
        return svc.parse_title(text)
    if step == "provider":
        return svc.parse_provider_name(text)
    if step == "hours":
        return svc.parse_hours(text)
    if step == "att":
        return svc.read_date(text)  # its own rules are checked when it is saved
    if step in ("starts_on", "ends_on"):
        return svc.parse_date(text, c.today)
    return svc.parse_certificate_number(text)


@router.message(F.text, StateFilter(*(getattr(CourseForm, s) for s in sorted(TYPED_STEPS))))
async def typed_answer(
    message: Message,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
) -> None:
    c = _ctx(user, t, state, session, now)
    step = await _step_of(state)
    assert step is not None
    if step == "hours_warn":
        step = "hours"
    try:
        value = _parse(step, message.text or "", c)
    except CourseError as exc:
        await ask(message, c, step, notice=t(exc.code, **exc.params))
        return
    if step == "att":
        await save_attestation(message, c, value)
        return
    if step == "hours":
        data = await state.get_data()
        course = await _editing_course(c, data)
        kind = course.kind if course else Draft.from_data(data.get(D_DRAFT)).kind
        if svc.hours_warning(kind, value):
            await state.update_data({D_HOURS: value})
            await ask(message, c, "hours_warn")
            return
    await accept(message, c, step, value)


@router.message(CourseForm.certificate)
async def certificate_file(
    message: Message,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
) -> None:
    c = _ctx(user, t, state, session, now)
    try:
        if message.document is not None:
            doc = message.document
            cert = svc.certificate_from_document(
                doc.file_id, doc.file_name, doc.mime_type, doc.file_size
            )
        elif message.photo:
            largest = message.photo[-1]  # Telegram lists the sizes from small to large
            cert = svc.certificate_from_photo(largest.file_id, largest.file_size)
        elif message.sticker is not None:
            raise CourseError("courses.error.file_sticker")
        elif message.text is not None:
            raise CourseError("courses.error.file_text")
        else:
            raise CourseError("courses.error.file_type")
    except CourseError as exc:
        await ask(message, c, "certificate", notice=t(exc.code, **exc.params))
        return
    await accept(message, c, "certificate", cert)


@router.message(StateFilter(*(getattr(CourseForm, s) for s in sorted(TYPED_STEPS | BUTTON_STEPS))))
async def unexpected_message(
    message: Message,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
) -> None:
    """A sticker where text is asked, or text where a button is: explain and ask again."""
    c = _ctx(user, t, state, session, now)
    step = await _step_of(state)
    assert step is not None
    key = "courses.error.need_text" if step in TYPED_STEPS else "courses.error.use_buttons"
    await ask(message, c, step, notice=t(key))


# ---------- saving ----------


@router.callback_query(CourseCB.filter(F.a == "save"))
async def save(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    c = _ctx(user, t, state, session, now)
    if await _expect(state, "confirm") is None or (await state.get_data()).get(D_EDIT):
        _stale(callback_answer, t)
        return
    draft = Draft.from_data((await state.get_data()).get(D_DRAFT))
    missing = svc.missing_fields(draft)
    if missing:
        await ask(query, c, missing[0], notice=t("courses.error.incomplete"))
        return
    try:
        course = await svc.create_course(session, user.id, draft, c.today)
    except CourseError as exc:
        await ask(query, c, "confirm", notice=t(exc.code, **exc.params))
        return
    await _drop_draft(c)
    await session.commit()  # the course is kept before the teacher sees it saved
    await render_card(query, c, course, t("courses.saved"))
    await after_course_saved(query, course, user=user, t=t, session=session)


async def after_course_saved(
    event: Message | CallbackQuery,
    course: Course,
    *,
    user: User,
    t: Translator,
    session: AsyncSession,
) -> None:
    """Offer to close the open ИОМ steps this course may close.

    The course is committed before this runs, and the lookup runs in a savepoint: a failure
    there is logged (its type only) and never undoes the course.
    """
    try:
        async with session.begin_nested():
            steps = list(await routes.steps_matching_course(session, user.id, course))
    except Exception as exc:  # the course is saved; the offer is a convenience on top
        log.warning("steps_matching_course failed: %s", type(exc).__name__)
        return
    if steps:
        await offer_to_close_steps(event, steps, course, t=t)


# ---------- editing a recorded course ----------


@router.callback_query(CourseCB.filter(F.a == "f"))
async def edit_field(
    query: CallbackQuery,
    callback_data: CourseCB,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    c = _ctx(user, t, state, session, now)
    course = await svc.get_course(session, user.id, callback_data.id)
    if course is None or not 0 <= callback_data.v < len(svc.EDIT_FIELDS):
        _stale(callback_answer, t)
        return
    await _pause(c)
    await state.update_data({D_EDIT: course.id, D_BLOCKS: list(course.blocks or [])})
    await ask(query, c, svc.EDIT_FIELDS[callback_data.v])


# ---------- attestation date ----------


@router.callback_query(CourseCB.filter(F.a == "att"))
async def attestation_date(
    query: CallbackQuery,
    user: User,
    t: Translator,
    state: FSMContext,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    c = _ctx(user, t, state, session, now)
    if not _has_category(user):
        _stale(callback_answer, t)
        return
    await _pause(c)
    await ask(query, c, "att")


async def save_attestation(event: Message | CallbackQuery, c: Ctx, value: date) -> None:
    try:
        svc.set_category_date(c.user, value, c.today)
    except CourseError as exc:
        if exc.code == "courses.error.no_category":
            await _pause(c)
            await render_list(event, c, notice=c.t(exc.code))
            return
        await ask(event, c, "att", notice=c.t(exc.code, **exc.params))
        return
    await c.session.flush()
    await _pause(c)
    await render_list(event, c, notice=c.t("courses.att_saved"))
