"""Taking questionnaires: list, intro, one question per message, results and history."""

from __future__ import annotations

from datetime import date, datetime

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.filters import Registered
from bot.i18n import Translator
from handlers.common import button, esc, markup, refuse, show, split_text
from handlers.home.callbacks import MenuCB
from handlers.home.screens import menu_button
from handlers.route.router import RouteCB
from handlers.surveys.callbacks import ResultCB, SurveyCB
from models import Attempt, AttemptStatus, ScaleResult, User
from services import surveys as svc
from services.instruments import InstrumentRegistry
from services.roles import Access
from surveys import engine
from surveys.schema import AnswerValue, Instrument, Question, QuestionType

router = Router(name="surveys")
router.message.filter(Registered())
router.callback_query.filter(Registered())

SHORT_SCALE_LABEL = 6


class SurveyForm(StatesGroup):
    answering = State()


def fmt_score(value: float) -> str:
    text = f"{value:.1f}".replace(".", ",")
    return text.removesuffix(",0")


# ---------- list ----------


@router.callback_query(SurveyCB.filter(F.action == "list"))
@router.callback_query(MenuCB.filter(F.to == "surveys"))
async def survey_list(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    state: FSMContext,
) -> None:
    await state.clear()
    items = await svc.availability(session, registry, user, now)
    lines = [t("survey.list_title")]
    rows: list[list[InlineKeyboardButton]] = []
    for item in items:
        inst = item.registered.instrument
        if item.blocked == svc.Blocked.AUDIENCE:
            continue
        if item.in_progress is not None:
            lines.append(t("survey.line_in_progress", title=esc(inst.title)))
            rows.append(
                [
                    button(
                        t("survey.continue", button=esc(inst.button)),
                        SurveyCB(action="open", instrument=inst.id),
                    )
                ]
            )
        elif item.blocked == svc.Blocked.INTERVAL and item.next_date is not None:
            lines.append(
                t(
                    "survey.line_wait",
                    title=esc(inst.title),
                    date=t.date(item.next_date),
                )
            )
        else:
            if item.last_completed is not None and item.last_completed.completed_at:
                lines.append(
                    t(
                        "survey.line_done_before",
                        title=esc(inst.title),
                        date=t.date(item.last_completed.completed_at),
                    )
                )
            else:
                lines.append(t("survey.line_new", title=esc(inst.title)))
            rows.append([button(inst.button, SurveyCB(action="open", instrument=inst.id))])
    rows.append([menu_button(t)])
    await show(query, "\n\n".join(lines), markup(rows))


@router.callback_query(SurveyCB.filter(F.action == "open"))
async def survey_open(
    query: CallbackQuery,
    callback_data: SurveyCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    """Intro of a new questionnaire, or straight back to the first unanswered question."""
    reg = registry.get(callback_data.instrument)
    if reg is None:
        refuse(callback_answer, t("common.stale"))
        return
    items = {
        i.registered.instrument.id: i for i in await svc.availability(session, registry, user, now)
    }
    item = items[reg.instrument.id]
    if item.in_progress is not None:
        await resume(
            query, item.in_progress, user=user, t=t, session=session, registry=registry, state=state
        )
        return
    if item.blocked is not None:
        refuse(callback_answer, _blocked_text(t, item.blocked, item.next_date))
        return
    inst = reg.instrument
    text = f"<b>{esc(inst.title)}</b>\n\n{esc(inst.intro)}"
    if inst.private:
        text += "\n\n" + t("survey.private_note")
    count = len(inst.questions)
    text += "\n\n" + t("survey.intro_count", count=count)
    kb = markup(
        [
            [button(t("survey.begin"), SurveyCB(action="begin", instrument=inst.id))],
            [button(t("survey.back_to_list"), SurveyCB(action="list")), menu_button(t)],
        ]
    )
    await show(query, text, kb)


def _blocked_text(t: Translator, reason: svc.Blocked, next_date: date | None) -> str:
    if reason == svc.Blocked.INTERVAL and next_date is not None:
        return t("survey.wait_until", date=t.date(next_date))
    return t("survey.not_for_you")


@router.callback_query(SurveyCB.filter(F.action == "begin"))
async def survey_begin(
    query: CallbackQuery,
    callback_data: SurveyCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    if registry.get(callback_data.instrument) is None:
        refuse(callback_answer, t("common.stale"))
        return
    try:
        attempt = await svc.start_or_resume(session, registry, user, callback_data.instrument, now)
    except svc.SurveyUnavailable as exc:
        refuse(callback_answer, _blocked_text(t, exc.reason, exc.next_date))
        return
    await resume(query, attempt, user=user, t=t, session=session, registry=registry, state=state)


async def resume(
    event: Message | CallbackQuery,
    attempt: Attempt,
    *,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    state: FSMContext,
) -> None:
    """Show the first unanswered question (this is also how an interrupted attempt resumes)."""
    inst = await registry.by_version_id(session, attempt.instrument_version_id)
    step = await svc.advance(session, attempt, inst, attempt.updated_at, after=None)
    if step.question is None:
        await show_results(
            event, attempt, inst, step.results or [], t=t, session=session, state=state
        )
        return
    await ask(event, attempt, inst, step.question, t=t, session=session, state=state)


# ---------- one question ----------


def _option_rows(
    inst: Instrument, q: Question, attempt: Attempt, selected: AnswerValue, t: Translator
) -> list[list[InlineKeyboardButton]]:
    index = inst.index_of(q.id)
    options = inst.options(q)
    chosen = (
        set(selected)
        if isinstance(selected, list)
        else ({selected} if selected is not None else set())
    )
    buttons: list[InlineKeyboardButton] = []
    for i, opt in enumerate(options):
        if q.type == QuestionType.MULTI:
            mark = "☑️ " if opt.value in chosen else "⬜ "
            action = "t"
        else:
            mark = "• " if opt.value in chosen else ""
            action = "a"
        buttons.append(
            button(
                mark + opt.label,
                SurveyCB(action=action, attempt=attempt.id, question=index, option=i),
            )
        )
    one_row = q.type in (QuestionType.SCALE, QuestionType.YESNO) and all(
        len(o.label) <= SHORT_SCALE_LABEL for o in options
    )
    rows = [buttons] if one_row else [[b] for b in buttons]
    if q.type == QuestionType.MULTI:
        rows.append(
            [button(t("survey.done"), SurveyCB(action="d", attempt=attempt.id, question=index))]
        )
    return rows


async def ask(
    event: Message | CallbackQuery,
    attempt: Attempt,
    inst: Instrument,
    q: Question,
    *,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    answers, drafts = await svc.answers_of(session, attempt.id)
    pos = engine.progress(inst, answers, q.id)
    section = inst.section_of(q.id)
    parts = [
        f"<b>{esc(inst.title)}</b> · {esc(section.title)}",
        t("survey.progress", n=pos.number, total=pos.total),
        "",
        esc(q.text),
    ]
    if q.hint:
        parts.append(f"<i>{esc(q.hint)}</i>")
    current = drafts.get(q.id, answers.get(q.id))
    index = inst.index_of(q.id)
    rows: list[list[InlineKeyboardButton]] = []
    if q.type == QuestionType.MULTI:
        limits = (
            t("survey.multi_hint_max", max=q.max_choices)
            if q.max_choices
            else t("survey.multi_hint")
        )
        parts.append(f"<i>{limits}</i>")
    if q.type in (QuestionType.NUMBER, QuestionType.TEXT):
        hint_key = "survey.type_number" if q.type == QuestionType.NUMBER else "survey.type_text"
        parts.append(
            "<i>" + t(hint_key, min=_num(q.min), max=_num(q.max), length=q.max_length) + "</i>"
        )
        if q.id in answers and answers[q.id] is not None:
            parts.append(t("survey.current_answer", value=esc(str(answers[q.id]))))
        await state.set_state(SurveyForm.answering)
        await state.update_data(attempt=attempt.id)
    else:
        rows.extend(_option_rows(inst, q, attempt, current, t))
        await state.clear()
    nav: list[InlineKeyboardButton] = []
    if engine.previous_question(inst, answers, q.id) is not None:
        nav.append(
            button(t("survey.back"), SurveyCB(action="b", attempt=attempt.id, question=index))
        )
    if not q.required:
        nav.append(
            button(t("survey.skip"), SurveyCB(action="s", attempt=attempt.id, question=index))
        )
    rows.append(nav)
    rows.append(
        [button(t("survey.pause"), SurveyCB(action="p", attempt=attempt.id, question=index))]
    )
    await show(event, "\n".join(parts), markup(rows))


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


async def _load(
    query: CallbackQuery,
    data: SurveyCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    callback_answer: CallbackAnswer,
) -> tuple[Attempt, Instrument, Question] | None:
    """The attempt and question behind a button, only if it is this teacher's current one."""
    attempt = await session.get(Attempt, data.attempt) if data.attempt > 0 else None
    if (
        attempt is None
        or attempt.user_id != user.id
        or attempt.status != AttemptStatus.IN_PROGRESS.value
        or attempt.current_question is None
    ):
        refuse(callback_answer, t("survey.error.stale"))
        return None
    inst = await registry.by_version_id(session, attempt.instrument_version_id)
    questions = inst.questions
    if (
        not 0 <= data.question < len(questions)
        or questions[data.question].id != attempt.current_question
    ):
        refuse(callback_answer, t("survey.error.stale"))
        return None
    return attempt, inst, questions[data.question]


@router.callback_query(SurveyCB.filter(F.action.in_({"a", "t", "d", "s", "b", "p"})))
async def survey_tap(
    query: CallbackQuery,
    callback_data: SurveyCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    access: Access,
) -> None:
    loaded = await _load(query, callback_data, user, t, session, registry, callback_answer)
    if loaded is None:
        return
    attempt, inst, q = loaded
    action = callback_data.action
    try:
        if action == "a":
            if q.type not in (QuestionType.SINGLE, QuestionType.SCALE, QuestionType.YESNO):
                raise engine.AnswerError("survey.error.stale")
            value = engine.option_value(inst, q, callback_data.option)
            await svc.save_answer(session, attempt, q.id, value, now)
        elif action == "t":
            if q.type != QuestionType.MULTI:
                raise engine.AnswerError("survey.error.stale")
            answers, drafts = await svc.answers_of(session, attempt.id)
            current = drafts.get(q.id, answers.get(q.id)) or []
            chosen = engine.toggle(
                inst, q, list(current) if isinstance(current, list) else [], callback_data.option
            )
            await svc.save_answer(session, attempt, q.id, chosen, now, final=False)
            await ask(query, attempt, inst, q, t=t, session=session, state=state)
            return
        elif action == "d":
            if q.type != QuestionType.MULTI:
                raise engine.AnswerError("survey.error.stale")
            answers, drafts = await svc.answers_of(session, attempt.id)
            current = drafts.get(q.id, answers.get(q.id)) or []
            chosen = list(current) if isinstance(current, list) else []
            engine.check_multi(q, chosen)
            await svc.save_answer(session, attempt, q.id, chosen, now)
        elif action == "s":
            if q.required:
                raise engine.AnswerError("survey.error.required")
            await svc.save_answer(session, attempt, q.id, None, now)
        elif action == "b":
            prev = await svc.go_back(session, attempt, inst)
            if prev is None:
                raise engine.AnswerError("survey.error.first")
            await ask(query, attempt, inst, prev, t=t, session=session, state=state)
            return
        else:  # "p": pause, progress is already saved
            await state.clear()
            from handlers.registration.menu_legacy import main_menu

            text, kb = main_menu(user, t, access)
            await show(query, t("survey.paused", title=esc(inst.title)) + "\n\n" + text, kb)
            return
    except engine.AnswerError as exc:
        refuse(callback_answer, t(exc.code, **exc.params))
        return
    step = await svc.advance(session, attempt, inst, now, after=q.id)
    await session.commit()  # the answer is kept before the teacher sees it accepted
    if step.question is None:
        await show_results(
            query, attempt, inst, step.results or [], t=t, session=session, state=state
        )
        return
    await ask(query, attempt, inst, step.question, t=t, session=session, state=state)


@router.message(SurveyForm.answering, F.text)
async def typed_answer(
    message: Message,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    attempt = await session.get(Attempt, int(data.get("attempt") or 0))
    if (
        attempt is None
        or attempt.user_id != user.id
        or attempt.status != AttemptStatus.IN_PROGRESS.value
        or attempt.current_question is None
    ):
        await state.clear()
        await message.answer(t("survey.error.stale"), reply_markup=markup([[menu_button(t)]]))
        return
    inst = await registry.by_version_id(session, attempt.instrument_version_id)
    q = inst.question(attempt.current_question)
    try:
        value = engine.parse_typed(q, message.text or "")
    except engine.AnswerError as exc:
        await message.answer(t(exc.code, **exc.params))
        return
    await svc.save_answer(session, attempt, q.id, value, now)
    step = await svc.advance(session, attempt, inst, now, after=q.id)
    await session.commit()  # the answer is kept before the teacher sees it accepted
    if step.question is None:
        await show_results(
            message, attempt, inst, step.results or [], t=t, session=session, state=state
        )
        return
    await ask(message, attempt, inst, step.question, t=t, session=session, state=state)


@router.message(SurveyForm.answering)
async def typed_not_text(message: Message, t: Translator) -> None:
    await message.answer(t("survey.error.need_text"))


# ---------- results ----------


async def result_blocks(
    attempt: Attempt,
    inst: Instrument,
    results: list[ScaleResult],
    *,
    t: Translator,
    session: AsyncSession,
) -> list[str]:
    previous = await svc.previous_scores(session, attempt)
    by_scale = {r.scale_id: r for r in results}
    when = t.date(attempt.completed_at) if attempt.completed_at else ""
    blocks = [t("survey.results_title", title=esc(inst.title), date=when)]
    for scale in inst.scales:
        row = by_scale.get(scale.id)
        if row is None:
            continue
        if row.score is None:
            blocks.append(
                t(
                    "survey.scale_no_score",
                    scale=esc(scale.title),
                    answered=row.answered,
                    need=scale.min_answered,
                )
            )
            continue
        band = next((b for b in scale.bands if b.code == row.band), None)
        unit = " %" if scale.aggregation.value == "percent" else ""
        line = t(
            "survey.scale_line",
            scale=esc(scale.title),
            score=fmt_score(row.score) + unit,
            band=esc(band.label if band else ""),
        )
        if scale.id in previous:
            delta = row.score - previous[scale.id]
            sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
            line += "\n" + t(
                "survey.scale_change",
                before=fmt_score(previous[scale.id]) + unit,
                delta=f"{sign}{fmt_score(abs(delta))}",
            )
        if band is not None:
            line += "\n" + esc(band.interpretation)
            if band.recommendation:
                line += "\n" + t("survey.recommendation", text=esc(band.recommendation))
        blocks.append(line)
    if inst.result_note:
        blocks.append(f"<i>{esc(inst.result_note)}</i>")
    if inst.private:
        blocks.append(t("survey.private_note"))
    return blocks


async def show_results(
    event: Message | CallbackQuery,
    attempt: Attempt,
    inst: Instrument,
    results: list[ScaleResult],
    *,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    await state.clear()
    blocks = await result_blocks(attempt, inst, results, t=t, session=session)
    if not inst.scales:
        blocks.append(t("survey.thanks_no_scales"))
    rows = [
        [button(t("menu.results"), ResultCB(attempt=0))],
        [button(t("menu.surveys"), SurveyCB(action="list"))],
        [menu_button(t)],
    ]
    if inst.kind == "deficits":
        rows.insert(0, [button(t("route.build_from_results"), RouteCB(action="build"))])
    kb = markup(rows)
    await _send_blocks(event, blocks, kb, first_line=t("survey.completed"))


async def _send_blocks(
    event: Message | CallbackQuery,
    blocks: list[str],
    kb: InlineKeyboardMarkup,
    first_line: str | None = None,
) -> None:
    """Send result blocks as new messages (split below the limit); the last one gets ``kb``.

    After a button, the question message is first turned into ``first_line``; after a typed
    answer, ``first_line`` opens the first message.
    """
    target: Message | None
    if isinstance(event, CallbackQuery):
        if first_line is not None:
            await show(event, first_line)
        target = event.message if isinstance(event.message, Message) else None
    else:
        target = event
        if first_line is not None:
            blocks = [first_line, *blocks]
    if target is None:
        return
    messages = split_text(blocks)
    for i, text in enumerate(messages):
        await target.answer(text, reply_markup=kb if i == len(messages) - 1 else None)


@router.callback_query(ResultCB.filter(F.attempt == 0))
@router.callback_query(MenuCB.filter(F.to == "results"))
async def results_history(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    state: FSMContext,
) -> None:
    await state.clear()
    attempts = await svc.history(session, user.id)
    if not attempts:
        await show(
            query,
            t("results.empty"),
            markup([[button(t("menu.surveys"), SurveyCB(action="list"))], [menu_button(t)]]),
        )
        return
    rows: list[list[InlineKeyboardButton]] = []
    for a in attempts:
        inst = await registry.by_version_id(session, a.instrument_version_id)
        when = t.date(a.completed_at) if a.completed_at else ""
        rows.append([button(f"{when} · {inst.button}", ResultCB(attempt=a.id))])
    rows.append([menu_button(t)])
    await show(query, t("results.title"), markup(rows))


@router.callback_query(ResultCB.filter(F.attempt > 0))
async def result_view(
    query: CallbackQuery,
    callback_data: ResultCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    callback_answer: CallbackAnswer,
) -> None:
    attempt = await session.get(Attempt, callback_data.attempt)
    if (
        attempt is None
        or attempt.user_id != user.id
        or attempt.status != AttemptStatus.COMPLETED.value
    ):
        refuse(callback_answer, t("common.stale"))
        return
    inst = await registry.by_version_id(session, attempt.instrument_version_id)
    results = await svc.results_of(session, attempt.id)
    blocks = await result_blocks(attempt, inst, results, t=t, session=session)
    kb = markup([[button(t("results.back"), ResultCB(attempt=0))], [menu_button(t)]])
    messages = split_text(blocks)
    if len(messages) == 1:
        await show(query, messages[0], kb)
        return
    await _send_blocks(query, blocks, kb)
