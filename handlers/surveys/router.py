"""Questionnaire handlers: parse the update, one call to :mod:`services.surveys`, draw, send."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import Registered
from bot.i18n import Translator
from handlers.common import TYPED, Screen, markup, refuse, render, render_all, send_new, show
from handlers.consent import screens as consent_screens
from handlers.consent.callbacks import HealthAgree
from handlers.home.callbacks import MenuCB
from handlers.home.screens import menu_button
from handlers.surveys import screens
from handlers.surveys.callbacks import (
    AnswerCB,
    BackCB,
    DoneCB,
    PauseCB,
    ResultCB,
    SkipCB,
    SurveyBegin,
    SurveyForm,
    SurveyOpen,
    TickCB,
)
from models import User
from models.work import Work
from services import surveys as svc
from services.consent import Operator, health_edition
from services.instruments import InstrumentRegistry
from services.people import Person, ReadAlong, menu_view
from services.roles import Access

ANSWERING = SurveyForm.answering.state
# the action of each button under a question, as services.surveys.tap knows it
TAPS: dict[type, str] = {AnswerCB: "a", TickCB: "t", DoneCB: "d", SkipCB: "s", BackCB: "b"}
Tap = AnswerCB | TickCB | DoneCB | SkipCB | BackCB | PauseCB
# the attempt a tap names comes with the person (one read less per tap): ``open_attempt``
READS_ALONG: dict[type[CallbackData], ReadAlong] = {cb: svc.OPEN_ATTEMPT for cb in (*TAPS, PauseCB)}


def setup() -> Router:
    router = Router(name="surveys")
    router.message.filter(Registered())
    router.callback_query.filter(Registered())
    # the taps under a question first: they are most of the updates the bot gets
    for cb in (*TAPS, PauseCB):
        router.callback_query.register(survey_tap, cb.filter())
    router.callback_query.register(survey_list, MenuCB.filter(F.to == "surveys"))
    router.callback_query.register(survey_open, SurveyOpen.filter())
    router.callback_query.register(survey_begin, SurveyBegin.filter())
    router.callback_query.register(health_agree, HealthAgree.filter())
    router.message.register(typed_answer, SurveyForm.answering, TYPED)
    router.message.register(typed_not_text, SurveyForm.answering, ~F.text)
    router.callback_query.register(results_history, MenuCB.filter(F.to == "results"))
    router.callback_query.register(result_view, ResultCB.filter())
    return router


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
    await render(query, screens.survey_list(await svc.survey_list(session, registry, user, now), t))


async def survey_open(
    query: CallbackQuery,
    callback_data: SurveyOpen,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    settings: Settings,
) -> None:
    """The intro of a new questionnaire, or straight back to the first unanswered question
    (a questionnaire about health asks its own consent first)."""
    try:
        view = await svc.open_survey(session, registry, user, callback_data.instrument, now)
    except svc.Refusal as exc:
        refuse(callback_answer, screens.refusal(exc, t))
        return
    if isinstance(view, svc.Intro):
        await render(query, screens.intro(view, t))
        return
    if isinstance(view, svc.HealthConsent):
        await render(query, _health(view, t, settings))
        return
    await _show(query, view, t, state)


async def survey_begin(
    query: CallbackQuery,
    callback_data: SurveyBegin,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    settings: Settings,
) -> None:
    try:
        view = await svc.begin(session, registry, user, callback_data.instrument, now)
    except svc.Refusal as exc:
        refuse(callback_answer, screens.refusal(exc, t))
        return
    if isinstance(view, svc.HealthConsent):
        await render(query, _health(view, t, settings))
        return
    await _show(query, view, t, state)


async def health_agree(
    query: CallbackQuery,
    callback_data: HealthAgree,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    settings: Settings,
) -> None:
    """«Согласен(на), начать» under the consent to a questionnaire about health: recorded
    with its edition, then the first question (or where the teacher stopped)."""
    try:
        view = await svc.begin(
            session, registry, user, callback_data.instrument, now, health_agreed=True
        )
    except svc.Refusal as exc:
        refuse(callback_answer, screens.refusal(exc, t))
        return
    if isinstance(view, svc.HealthConsent):  # agreed just now: only a forged button gets here
        refuse(callback_answer, t("common.stale"))
        return
    await _show(query, view, t, state)


def _health(view: svc.HealthConsent, t: Translator, settings: Settings) -> Screen:
    return consent_screens.health(Operator.of(settings), health_edition(), view.instrument_id, t)


async def survey_tap(
    query: CallbackQuery,
    callback_data: Tap,
    person: Person,
    t: Translator,
    work: Work,
    registry: InstrumentRegistry,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    access: Access,
    open_attempt: Sequence[Any] | None = None,
) -> None:
    action = TAPS.get(type(callback_data), "p")
    option = getattr(callback_data, "option", -1)
    try:
        view = await svc.tap(
            work,
            registry,
            person.id,
            action,
            callback_data.attempt,
            callback_data.question,
            option,
            now,
            open_attempt,
        )
    except svc.Refusal as exc:
        refuse(callback_answer, screens.refusal(exc, t))
        return
    if isinstance(view, svc.Paused):  # progress is already saved
        await state.clear()
        await render(query, screens.paused(view.title, menu_view(person, access), t))
        return
    await _show(query, view, t, state)


async def typed_answer(
    message: Message,
    person: Person,
    t: Translator,
    work: Work,
    registry: InstrumentRegistry,
    now: datetime,
    state: FSMContext,
) -> None:
    attempt = int((await state.get_data()).get("attempt") or 0)
    try:
        view = await svc.typed(work, registry, person.id, attempt, message.text or "", now)
    except svc.Refusal as exc:
        if exc.code == svc.STALE:
            await state.clear()
            await render(message, Screen(screens.refusal(exc, t), markup([[menu_button(t)]])))
        else:
            await message.answer(screens.refusal(exc, t))
        return
    await _show(message, view, t, state)


async def typed_not_text(message: Message, t: Translator) -> None:
    await message.answer(t("survey.error.need_text"))


async def results_history(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    state: FSMContext,
) -> None:
    await state.clear()
    await render(query, screens.history(await svc.history_of(session, registry, user.id), t))


async def result_view(
    query: CallbackQuery,
    callback_data: ResultCB,
    user: User,
    t: Translator,
    session: AsyncSession,
    registry: InstrumentRegistry,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        view = await svc.result_of(session, registry, user.id, callback_data.attempt)
    except svc.Refusal as exc:
        refuse(callback_answer, screens.refusal(exc, t))
        return
    await _send_results(query, view, t)


async def _show(
    event: Message | CallbackQuery, view: svc.Shown, t: Translator, state: FSMContext
) -> None:
    """A question (waiting for typed text if it asks for it), or the results."""
    if isinstance(view, svc.ResultsView):
        await state.clear()
        await _send_results(event, view, t)
        return
    # the conversation is «answering this attempt» at every question, so text typed where a
    # button is due is answered with the same question (not the main menu); it is set only
    # when it changes, so following taps neither write nor touch it
    if (
        await state.get_state() != ANSWERING
        or (await state.get_data()).get("attempt") != view.attempt_id
    ):
        await state.set_state(SurveyForm.answering)
        await state.update_data(attempt=view.attempt_id)
    await render(event, screens.question(view, t))


async def _send_results(
    event: Message | CallbackQuery, view: svc.ResultsView, t: Translator
) -> None:
    """Results that fit one message replace the pressed one; otherwise they come as new
    messages. A just completed questionnaire turns the last question into «Анкета
    заполнена» (after a button) or opens the results with it (after a typed answer)."""
    done = t("survey.completed") if view.just_completed else None
    if isinstance(event, Message):
        for screen in screens.results(view, t, lead=done):
            await send_new(event, screen)
        return
    messages = screens.results(view, t)
    if done is None:
        await render_all(event, messages)
        return
    await show(event, done)
    for screen in messages:
        await send_new(event, screen)
