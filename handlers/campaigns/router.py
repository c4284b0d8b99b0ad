"""«📣 Кампании»: the campaigns of the methodist's scope, a campaign's card (progress by
school, «Продлить на 7 дней», «Закрыть досрочно»), the «Новая кампания» dialog and the
monitoring calendar offer's «Запустить».

Only methodists and admins get here (checked once for the whole router); anybody else
pressing these buttons gets the standard stale-button alert from the menu router. Every
campaign id is checked again by the service against the person's scope.

The dialog follows the one pattern: the state of :class:`CampaignForm` names the step being
asked, the answers so far are a :class:`services.campaigns.Draft` kept as JSON in the
conversation data under ``cp_draft``, the next step is :func:`services.campaigns.next_step`,
and «🚀 Запустить» calls :func:`services.campaigns.launch_draft`, which writes the campaign
and its members; the invitations are enqueued by the scheduler's tick, never here.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.i18n import Translator
from handlers.calendar.callbacks import CalendarCB
from handlers.calendar.parse import read
from handlers.campaigns import screens
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
from handlers.common import Screen, is_menu_or_command, markup, refuse, render
from handlers.home.screens import menu_button
from services import campaigns as svc
from services.campaigns import CampaignRefusal, DialogView, Draft
from services.instruments import InstrumentRegistry
from services.reference import POSITIONS, SUBJECTS
from services.roles import Access

D_DRAFT = "cp_draft"  # the answers of «Новая кампания» so far (JSON of a Draft)


def setup() -> Router:
    router = Router(name="campaigns")
    router.callback_query.filter(is_methodist)
    on = router.callback_query.register
    on(open_list, CampaignList.filter())
    on(open_card, CampaignOpen.filter())
    on(ask_close, CloseAsk.filter())
    on(confirm_close, CloseConfirm.filter())
    on(extend, Extend.filter())
    on(window_launch, WindowLaunch.filter())
    on(new_campaign, CampaignNew.filter())
    on(pick_instrument, PickInstrument.filter())
    on(pick_scope, PickScope.filter())
    on(pick_audience, PickAudience.filter())
    on(pick_position, PickPosition.filter())
    on(pick_subject, PickSubject.filter())
    on(pick_days, PickDeadline.filter())
    on(deadline_calendar, CalendarCB.filter(F.f == DEADLINE_FIELD))
    on(pick_reminders, PickReminders.filter())
    on(back, DialogBack.filter())
    on(launch, LaunchDraft.filter())
    router.message.filter(is_methodist)
    router.message.register(
        typed_in_dialog,
        StateFilter(*CampaignForm.__states__),
        F.func(lambda m: not is_menu_or_command(m.text)),
    )
    return router


def is_methodist(event: TelegramObject, access: Access | None = None) -> bool:
    """The one access check of this router."""
    return access is not None and (access.is_methodist or access.is_admin)


def _refuse(callback_answer: CallbackAnswer, t: Translator, refusal: CampaignRefusal) -> None:
    refuse(callback_answer, t(refusal.code, **refusal.params))


# ---------------------------------------------------------------- list, card, actions


async def open_list(
    query: CallbackQuery,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    state: FSMContext,
) -> None:
    if await state.get_state() is not None or (await state.get_data()).get(D_DRAFT):
        await state.set_state(None)
        await state.update_data({D_DRAFT: None})
    view = await svc.campaigns_of(session, access, registry)
    await render(query, screens.campaign_list(view, t))


async def open_card(
    query: CallbackQuery,
    callback_data: CampaignOpen,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        card = await svc.campaign_card(
            session, access, registry, callback_data.campaign, now, settings.tz
        )
    except CampaignRefusal as refusal:
        _refuse(callback_answer, t, refusal)
        return
    await render(query, screens.card(card, t))


async def ask_close(
    query: CallbackQuery,
    callback_data: CloseAsk,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        card = await svc.campaign_card(
            session, access, registry, callback_data.campaign, now, settings.tz
        )
        if not card.active:
            raise CampaignRefusal("campaigns.refused.closed")
    except CampaignRefusal as refusal:
        _refuse(callback_answer, t, refusal)
        return
    await render(query, screens.close_confirm(card, t))


async def confirm_close(
    query: CallbackQuery,
    callback_data: CloseConfirm,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        card = await svc.close(session, access, registry, callback_data.campaign, now, settings.tz)
    except CampaignRefusal as refusal:
        _refuse(callback_answer, t, refusal)
        return
    await render(query, screens.card(card, t, t("campaigns.closed_now")))


async def extend(
    query: CallbackQuery,
    callback_data: Extend,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        card = await svc.extend(session, access, registry, callback_data.campaign, now, settings.tz)
    except CampaignRefusal as refusal:
        _refuse(callback_answer, t, refusal)
        return
    notice = t("campaigns.card.extended", deadline=t.date(card.deadline))
    await render(query, screens.card(card, t, notice))


async def window_launch(
    query: CallbackQuery,
    callback_data: WindowLaunch,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        card = await svc.launch_window(
            session,
            access,
            registry,
            callback_data.window,
            callback_data.year,
            callback_data.municipality,
            now,
            settings.tz,
        )
    except CampaignRefusal as refusal:
        _refuse(callback_answer, t, refusal)
        return
    await render(query, screens.card(card, t, t("campaigns.card.launched")))


# ---------------------------------------------------------------- the dialog


async def _draft(state: FSMContext) -> Draft:
    return Draft.from_data((await state.get_data()).get(D_DRAFT))


async def _show(
    query: CallbackQuery,
    t: Translator,
    state: FSMContext,
    view: DialogView,
    month: date | None = None,
) -> None:
    await state.set_state(getattr(CampaignForm, view.step))
    await state.update_data({D_DRAFT: view.draft.to_data()})
    await render(query, screens.dialog(view, t, month))


async def _step(
    query: CallbackQuery,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    field: str | None,
    value: object = None,
) -> None:
    """One answer of the dialog (``field`` None: show the current step), then the next step."""
    draft = await _draft(state) if field != "new" else Draft()
    try:
        if field not in (None, "new"):
            draft = svc.choose(draft, field, value, now.astimezone(settings.tz).date())
        view = await svc.dialog(session, access, registry, draft, now, settings.tz)
    except CampaignRefusal as refusal:
        _refuse(callback_answer, t, refusal)
        return
    await _show(query, t, state, view)


async def typed_in_dialog(
    message: Message,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    state: FSMContext,
) -> None:
    """Text (or anything) where a button is expected: the same step again, under a hint."""
    try:
        view = await svc.dialog(session, access, registry, await _draft(state), now, settings.tz)
    except CampaignRefusal as refusal:
        await state.clear()
        await render(message, Screen(t(refusal.code, **refusal.params), markup([[menu_button(t)]])))
        return
    screen = screens.dialog(view, t)
    await render(message, replace(screen, text=f"{t('common.use_buttons')}\n\n{screen.text}"))


async def new_campaign(
    query: CallbackQuery,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await _step(query, t, session, access, registry, settings, now, state, callback_answer, "new")


async def pick_instrument(
    query: CallbackQuery,
    callback_data: PickInstrument,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    if registry.get(callback_data.instrument) is None:
        refuse(callback_answer, t("campaigns.refused.unknown_instrument"))
        return
    await _step(
        query,
        t,
        session,
        access,
        registry,
        settings,
        now,
        state,
        callback_answer,
        "instrument",
        callback_data.instrument,
    )


async def pick_scope(
    query: CallbackQuery,
    callback_data: PickScope,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await _step(
        query,
        t,
        session,
        access,
        registry,
        settings,
        now,
        state,
        callback_answer,
        "scope",
        callback_data.index,
    )


async def pick_audience(
    query: CallbackQuery,
    callback_data: PickAudience,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await _step(
        query,
        t,
        session,
        access,
        registry,
        settings,
        now,
        state,
        callback_answer,
        "audience",
        callback_data.audience,
    )


async def pick_position(
    query: CallbackQuery,
    callback_data: PickPosition,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    index = callback_data.index
    value = POSITIONS[index] if 0 <= index < len(POSITIONS) else None
    await _step(
        query,
        t,
        session,
        access,
        registry,
        settings,
        now,
        state,
        callback_answer,
        "position",
        value,
    )


async def pick_subject(
    query: CallbackQuery,
    callback_data: PickSubject,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    index = callback_data.index
    value = SUBJECTS[index] if 0 <= index < len(SUBJECTS) else None
    await _step(
        query, t, session, access, registry, settings, now, state, callback_answer, "subject", value
    )


async def pick_days(
    query: CallbackQuery,
    callback_data: PickDeadline,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    if callback_data.days not in svc.DEADLINE_CHOICES:
        refuse(callback_answer, t("common.stale"))
        return
    deadline = now.astimezone(settings.tz).date() + timedelta(days=callback_data.days)
    await _step(
        query,
        t,
        session,
        access,
        registry,
        settings,
        now,
        state,
        callback_answer,
        "deadline",
        deadline,
    )


async def deadline_calendar(
    query: CallbackQuery,
    callback_data: CalendarCB,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    """A day picked in the calendar, or another month shown."""
    today = now.astimezone(settings.tz).date()
    action = read(
        callback_data, lo=today + timedelta(days=1), hi=today + timedelta(days=svc.MAX_DAYS)
    )
    if action is None:
        refuse(callback_answer, t("common.stale"))
        return
    if action.noop:
        return
    if action.picked is not None:
        await _step(
            query,
            t,
            session,
            access,
            registry,
            settings,
            now,
            state,
            callback_answer,
            "deadline",
            action.picked,
        )
        return
    try:
        view = await svc.dialog(session, access, registry, await _draft(state), now, settings.tz)
    except CampaignRefusal as refusal:
        _refuse(callback_answer, t, refusal)
        return
    await _show(query, t, state, view, action.month)


async def pick_reminders(
    query: CallbackQuery,
    callback_data: PickReminders,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await _step(
        query,
        t,
        session,
        access,
        registry,
        settings,
        now,
        state,
        callback_answer,
        "reminders",
        callback_data.on,
    )


async def back(
    query: CallbackQuery,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        view = await svc.dialog_back(
            session, access, registry, await _draft(state), now, settings.tz
        )
    except CampaignRefusal as refusal:
        _refuse(callback_answer, t, refusal)
        return
    await _show(query, t, state, view)


async def launch(
    query: CallbackQuery,
    t: Translator,
    session: AsyncSession,
    access: Access,
    registry: InstrumentRegistry,
    settings: Settings,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        card = await svc.launch_draft(
            session, access, registry, await _draft(state), now, settings.tz
        )
    except CampaignRefusal as refusal:
        _refuse(callback_answer, t, refusal)
        return
    await state.set_state(None)
    await state.update_data({D_DRAFT: None})
    await render(query, screens.card(card, t, t("campaigns.card.launched")))
