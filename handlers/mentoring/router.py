"""«Наставничество»: the request for a mentor, the mentor's card and answers to offers, the
pair with its meetings, closing and rating.

Dialogs follow the project's one pattern: the state of :class:`MentoringForm` names the typed
input being asked, the draft (which row, and a meeting's answers so far) is JSON in the
conversation data under :data:`DRAFT_KEY`; the request itself is its own draft row (status
``draft``), written step by step, so nothing is lost on a restart. Messages to the other
side of a pair and to the methodist are sent after the commit with
:func:`handlers.common.notify`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import Registered
from bot.i18n import Translator
from handlers.common import TYPED, Screen, markup, notify, refuse, render, render_all, send_new
from handlers.home.callbacks import MenuCB
from handlers.home.screens import menu_button
from handlers.mentoring import screens
from handlers.mentoring.callbacks import (
    DRAFT_KEY,
    Checkin,
    MeetingDate,
    MeetingFormatPick,
    MeetingLog,
    MeetingMinutes,
    MeetingNew,
    MeetingNoteSkip,
    MentorCapacity,
    MentoringForm,
    MentoringHome,
    MentorNote,
    MentorSave,
    MentorSetup,
    MentorSubject,
    MentorWithdraw,
    OfferAccept,
    OfferDecline,
    OfferDeclineNoReason,
    PairClose,
    PairCloseSkip,
    PairCommentSkip,
    PairGoals,
    PairIntro,
    PairOpen,
    PairRating,
    PairRatingPrivacy,
    RequestDetailsSkip,
    RequestEdit,
    RequestFromSurvey,
    RequestNew,
    RequestPlace,
    RequestShare,
    RequestSubject,
    RequestTopic,
    RequestTopicsDone,
    RequestWithdraw,
    RequestWithdrawSure,
)
from models import User
from services import mentoring as svc
from services.mentoring import MentoringError

TYPED_STATES = StateFilter(
    MentoringForm.details,
    MentoringForm.mentor_note,
    MentoringForm.decline_reason,
    MentoringForm.goals,
    MentoringForm.meeting_topic,
    MentoringForm.meeting_note,
    MentoringForm.close_reason,
    MentoringForm.rating_comment,
    MentoringForm.intro,
)


def setup() -> Router:
    router = Router(name="mentoring")
    router.message.filter(Registered())
    router.callback_query.filter(Registered())
    on = router.callback_query.register
    on(open_home, MenuCB.filter(F.to == "mentoring"))
    on(open_home, MentoringHome.filter())
    # the request
    on(request_new, RequestNew.filter())
    on(request_from_survey, RequestFromSurvey.filter())
    on(request_edit, RequestEdit.filter())
    on(request_subject, RequestSubject.filter())
    on(request_topic, RequestTopic.filter())
    on(request_topics_done, RequestTopicsDone.filter())
    on(request_details_skip, RequestDetailsSkip.filter())
    on(request_place, RequestPlace.filter())
    on(request_share, RequestShare.filter())
    on(request_withdraw, RequestWithdraw.filter())
    on(request_withdraw_sure, RequestWithdrawSure.filter())
    # the mentor
    on(card_open, MentorSetup.filter())
    on(card_subject, MentorSubject.filter())
    on(card_capacity, MentorCapacity.filter())
    on(card_note, MentorNote.filter())
    on(card_save, MentorSave.filter())
    on(card_withdraw, MentorWithdraw.filter())
    on(offer_accept, OfferAccept.filter())
    on(offer_decline, OfferDecline.filter())
    on(offer_decline_no_reason, OfferDeclineNoReason.filter())
    # the pair
    on(pair_open, PairOpen.filter())
    on(pair_goals, PairGoals.filter())
    on(pair_intro, PairIntro.filter())
    on(meeting_new, MeetingNew.filter())
    on(meeting_date, MeetingDate.filter())
    on(meeting_format, MeetingFormatPick.filter())
    on(meeting_minutes, MeetingMinutes.filter())
    on(meeting_note_skip, MeetingNoteSkip.filter())
    on(meeting_log, MeetingLog.filter())
    on(pair_close, PairClose.filter())
    on(pair_close_skip, PairCloseSkip.filter())
    on(pair_rating, PairRating.filter())
    on(pair_comment_skip, PairCommentSkip.filter())
    on(pair_privacy, PairRatingPrivacy.filter())
    on(checkin, Checkin.filter())
    router.message.register(typed, TYPED_STATES, TYPED)
    router.message.register(not_text, TYPED_STATES, ~F.text)
    return router


async def _draft(state: FSMContext) -> dict[str, Any]:
    data = await state.get_data()
    value = data.get(DRAFT_KEY)
    return dict(value) if isinstance(value, dict) else {}


async def _ask(state: FSMContext, step: Any, draft: dict[str, Any]) -> None:
    await state.set_state(step)
    await state.update_data({DRAFT_KEY: draft})


async def _refused(
    event: CallbackQuery | Message,
    exc: MentoringError,
    t: Translator,
    answer: CallbackAnswer | None,
) -> None:
    text = t(exc.code, **exc.params)
    if isinstance(event, CallbackQuery) and answer is not None:
        refuse(answer, text)
    else:
        await render(event, Screen(text, markup([[screens.home_button(t), menu_button(t)]])))


# ---------------------------------------------------------------- «Наставничество»


async def open_home(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    state: FSMContext,
) -> None:
    await state.clear()
    await render(query, screens.home(await svc.home(session, user, now.date()), t))


# ---------------------------------------------------------------- the request


async def request_new(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    state: FSMContext,
) -> None:
    """«Хочу наставника»: a new draft, or the live request, or the refusal with the pair."""
    await state.clear()
    found = await svc.existing(session, user)
    if found.request is not None:
        view = found.request
        if view.status == "draft" and not view.complete:
            await render(
                query, screens.subject_choice(await svc.subject_choice(session, user, view.id), t)
            )
            return
        await render(query, screens.request(view, user.full_name or "", t))
        return
    if found.pair_id is not None:
        await render(query, screens.existing(found, t))
        return
    choice = await svc.start_request(session, user, now.date())
    await render(query, screens.subject_choice(choice, t))


async def request_from_survey(
    query: CallbackQuery,
    callback_data: RequestFromSurvey,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await state.clear()
    try:
        choice = await svc.request_from_survey(session, user, callback_data.attempt, now.date())
    except MentoringError as exc:
        if exc.code in ("mentoring.error.has_request", "mentoring.error.has_mentor"):
            await render(query, screens.existing(await svc.existing(session, user), t))
            return
        await _refused(query, exc, t, callback_answer)
        return
    await render(query, screens.subject_choice(choice, t))


async def request_edit(
    query: CallbackQuery,
    callback_data: RequestEdit,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await state.clear()
    try:
        choice = await svc.subject_choice(session, user, callback_data.request)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await render(query, screens.subject_choice(choice, t))


async def request_subject(
    query: CallbackQuery,
    callback_data: RequestSubject,
    user: User,
    t: Translator,
    session: AsyncSession,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        view = await svc.set_subject(session, user, callback_data.request, callback_data.subject)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await render(query, screens.topic_choice(view, t))


async def request_topic(
    query: CallbackQuery,
    callback_data: RequestTopic,
    user: User,
    t: Translator,
    session: AsyncSession,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        view = await svc.toggle_topic(session, user, callback_data.request, callback_data.topic)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await render(query, screens.topic_choice(view, t))


async def request_topics_done(
    query: CallbackQuery,
    callback_data: RequestTopicsDone,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        view = await svc.topics_done(session, user, callback_data.request)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await _ask(state, MentoringForm.details, {"request": view.id})
    await render(query, screens.ask_details(view.id, t, view.details))


async def request_details_skip(
    query: CallbackQuery,
    callback_data: RequestDetailsSkip,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await state.clear()
    try:
        view = await svc.request_view(session, user, callback_data.request)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await render(query, screens.ask_place(view.id, t))


async def request_place(
    query: CallbackQuery,
    callback_data: RequestPlace,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await state.clear()
    try:
        view = await svc.set_place(session, user, callback_data.request, callback_data.same_school)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await render(query, screens.request(view, user.full_name or "", t))


async def request_share(
    query: CallbackQuery,
    callback_data: RequestShare,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    username = query.from_user.username if query.from_user else None
    try:
        view = await svc.share(session, user, callback_data.request, username, now)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    notice = t("mentoring.shared")
    await render(query, screens.request(view, user.full_name or "", t, notice=notice))


async def request_withdraw(
    query: CallbackQuery,
    callback_data: RequestWithdraw,
    user: User,
    t: Translator,
    session: AsyncSession,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        view = await svc.request_view(session, user, callback_data.request)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await render(query, screens.withdraw_confirm(view.id, t))


async def request_withdraw_sure(
    query: CallbackQuery,
    callback_data: RequestWithdrawSure,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        await svc.withdraw(session, user, callback_data.request, now)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    view = await svc.home(session, user, now.date())
    await render(query, screens.home(view, t))
    callback_answer.text = t("mentoring.withdrawn")


# ---------------------------------------------------------------- the mentor's card


async def _card_screen(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    draft: dict[str, Any] | None,
    notice: str | None = None,
) -> None:
    view, card = await svc.mentor_card(session, user, draft)
    await state.set_state(None)
    await state.update_data({DRAFT_KEY: {"card": card}})
    await render(query, screens.card(view, t, notice))


async def card_open(
    query: CallbackQuery, user: User, t: Translator, session: AsyncSession, state: FSMContext
) -> None:
    await state.clear()
    await _card_screen(query, user, t, session, state, None)


async def _card_draft(state: FSMContext) -> dict[str, Any] | None:
    card = (await _draft(state)).get("card")
    return dict(card) if isinstance(card, dict) else None


async def card_subject(
    query: CallbackQuery,
    callback_data: MentorSubject,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    draft = await _card_draft(state)
    if draft is None:
        refuse(callback_answer, t("common.stale"))
        return
    try:
        draft = svc.toggle_card_subject(draft, callback_data.subject)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await _card_screen(query, user, t, session, state, draft)


async def card_capacity(
    query: CallbackQuery,
    callback_data: MentorCapacity,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    draft = await _card_draft(state)
    if draft is None:
        refuse(callback_answer, t("common.stale"))
        return
    try:
        draft = svc.set_card_capacity(draft, callback_data.count)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await _card_screen(query, user, t, session, state, draft)


async def card_note(
    query: CallbackQuery, t: Translator, state: FSMContext, callback_answer: CallbackAnswer
) -> None:
    draft = await _card_draft(state)
    if draft is None:
        refuse(callback_answer, t("common.stale"))
        return
    await _ask(state, MentoringForm.mentor_note, {"card": draft})
    await render(query, screens.ask_note(t))


async def card_save(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    draft = await _card_draft(state)
    if draft is None:
        refuse(callback_answer, t("common.stale"))
        return
    try:
        await svc.save_card(session, user, draft, now)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await state.clear()
    await _card_screen(query, user, t, session, state, None, t("mentoring.card_saved"))


async def card_withdraw(
    query: CallbackQuery,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        await svc.withdraw_card(session, user, now)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await state.clear()
    await _card_screen(query, user, t, session, state, None, t("mentoring.card_withdrawn"))


# ---------------------------------------------------------------- offers


async def offer_accept(
    query: CallbackQuery,
    callback_data: OfferAccept,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    bot: Bot,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    username = query.from_user.username if query.from_user else None
    try:
        view = await svc.accept_offer(
            session, user, callback_data.offer, username, screens.topic_labels(t), now
        )
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await render(query, screens.accepted(view, for_mentor=True, t=t))
    await notify(
        bot,
        view.mentee.telegram_id,
        screens.accepted(view, for_mentor=False, t=t),
        session=session,
        settings=settings,
        now=now,
        kind="accepted",
    )
    await notify(
        bot,
        view.methodist_telegram_id,
        screens.accepted_for_methodist(view, t),
        session=session,
        settings=settings,
        now=now,
        kind="accepted",
    )


async def offer_decline(
    query: CallbackQuery,
    callback_data: OfferDecline,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        await svc.check_open_offer(session, user, callback_data.offer)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await _ask(state, MentoringForm.decline_reason, {"offer": callback_data.offer})
    await render(query, screens.ask_decline_reason(callback_data.offer, t))


async def _decline(
    event: CallbackQuery | Message,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    bot: Bot,
    settings: Settings,
    offer_id: int,
    reason: str | None,
    state: FSMContext,
    answer: CallbackAnswer | None,
) -> None:
    try:
        view = await svc.decline_offer(session, user, offer_id, reason, now)
    except MentoringError as exc:
        if isinstance(event, Message) and exc.code == "mentoring.error.too_long":
            await event.answer(t(exc.code, **exc.params))
            return
        await state.clear()
        await _refused(event, exc, t, answer)
        return
    await state.clear()
    await render(event, screens.declined(t))
    await notify(
        bot,
        view.methodist_telegram_id,
        screens.declined_for_methodist(view, t),
        session=session,
        settings=settings,
        now=now,
        kind="declined",
    )


async def offer_decline_no_reason(
    query: CallbackQuery,
    callback_data: OfferDeclineNoReason,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    bot: Bot,
    settings: Settings,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await _decline(
        query,
        user,
        t,
        session,
        now,
        bot,
        settings,
        callback_data.offer,
        None,
        state,
        callback_answer,
    )


# ---------------------------------------------------------------- the pair


async def pair_open(
    query: CallbackQuery,
    callback_data: PairOpen,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await state.clear()
    try:
        view = await svc.pair_view(session, user, callback_data.pair)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await render(query, screens.pair(view, t))


async def pair_goals(
    query: CallbackQuery,
    callback_data: PairGoals,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        view = await svc.pair_view(session, user, callback_data.pair)
        if not view.as_mentor or not view.active:
            raise MentoringError(svc.STALE)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await _ask(state, MentoringForm.goals, {"pair": view.pair_id})
    await render(query, screens.ask_goals(view.pair_id, view.goals, t))


async def pair_intro(
    query: CallbackQuery,
    callback_data: PairIntro,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        view = await svc.pair_view(session, user, callback_data.pair)
        if not view.can_intro:
            raise MentoringError("mentoring.error.intro_used")
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await _ask(state, MentoringForm.intro, {"pair": view.pair_id})
    await render(query, screens.ask_intro(view.pair_id, t))


async def meeting_new(
    query: CallbackQuery,
    callback_data: MeetingNew,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await state.clear()
    try:
        await svc.check_pair(session, user, callback_data.pair)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await state.update_data({DRAFT_KEY: {"pair": callback_data.pair, "meeting": {}}})
    await render(query, screens.ask_meeting_date(callback_data.pair, now.date(), t))


async def _meeting(state: FSMContext, pair_id: int) -> dict[str, Any] | None:
    draft = await _draft(state)
    meeting = draft.get("meeting")
    if draft.get("pair") != pair_id or not isinstance(meeting, dict):
        return None
    return dict(meeting)


async def meeting_date(
    query: CallbackQuery,
    callback_data: MeetingDate,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    meeting = await _meeting(state, callback_data.pair)
    try:
        if meeting is None:
            raise MentoringError(svc.STALE)
        await svc.check_pair(session, user, callback_data.pair)
        held = svc.meeting_date(now.date(), callback_data.days_ago)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    meeting["date"] = held.isoformat()
    await _ask(state, MentoringForm.meeting_topic, {"pair": callback_data.pair, "meeting": meeting})
    await render(query, screens.ask_meeting_topic(callback_data.pair, t))


async def meeting_format(
    query: CallbackQuery,
    callback_data: MeetingFormatPick,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    meeting = await _meeting(state, callback_data.pair)
    try:
        if meeting is None or "topic" not in meeting:
            raise MentoringError(svc.STALE)
        await svc.check_pair(session, user, callback_data.pair)
        meeting["format"] = svc.meeting_format(callback_data.format)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await state.update_data({DRAFT_KEY: {"pair": callback_data.pair, "meeting": meeting}})
    await render(query, screens.ask_meeting_minutes(callback_data.pair, t))


async def meeting_minutes(
    query: CallbackQuery,
    callback_data: MeetingMinutes,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    meeting = await _meeting(state, callback_data.pair)
    try:
        if meeting is None or "format" not in meeting:
            raise MentoringError(svc.STALE)
        await svc.check_pair(session, user, callback_data.pair)
        meeting["minutes"] = svc.meeting_minutes(callback_data.minutes)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await _ask(state, MentoringForm.meeting_note, {"pair": callback_data.pair, "meeting": meeting})
    await render(query, screens.ask_meeting_note(callback_data.pair, t))


async def _save_meeting(
    event: CallbackQuery | Message,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    state: FSMContext,
    pair_id: int,
    note: str | None,
    answer: CallbackAnswer | None,
) -> None:
    meeting = await _meeting(state, pair_id)
    try:
        if meeting is None:
            raise MentoringError(svc.STALE)
        meeting["note"] = note
        view = await svc.log_meeting(session, user, pair_id, meeting, now)
    except MentoringError as exc:
        if isinstance(event, Message) and exc.code == "mentoring.error.too_long":
            await event.answer(t(exc.code, **exc.params))
            return
        await state.clear()
        await _refused(event, exc, t, answer)
        return
    await state.clear()
    await render(event, screens.pair(view, t, notice=t("mentoring.meeting_saved")))


async def meeting_note_skip(
    query: CallbackQuery,
    callback_data: MeetingNoteSkip,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await _save_meeting(
        query, user, t, session, now, state, callback_data.pair, None, callback_answer
    )


async def meeting_log(
    query: CallbackQuery,
    callback_data: MeetingLog,
    user: User,
    t: Translator,
    session: AsyncSession,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        view = await svc.meeting_log(session, user, callback_data.pair)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await render_all(query, screens.meeting_log(view, t))


async def pair_close(
    query: CallbackQuery,
    callback_data: PairClose,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        await svc.check_pair(session, user, callback_data.pair)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await _ask(
        state,
        MentoringForm.close_reason,
        {"pair": callback_data.pair, "done": callback_data.done},
    )
    await render(query, screens.ask_close_reason(callback_data.pair, callback_data.done, t))


async def _close(
    event: CallbackQuery | Message,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    bot: Bot,
    settings: Settings,
    state: FSMContext,
    pair_id: int,
    done: bool,
    reason: str | None,
    answer: CallbackAnswer | None,
) -> None:
    try:
        view = await svc.close_pair(session, user, pair_id, done, reason, now)
    except MentoringError as exc:
        if isinstance(event, Message) and exc.code == "mentoring.error.too_long":
            await event.answer(t(exc.code, **exc.params))
            return
        await state.clear()
        await _refused(event, exc, t, answer)
        return
    await state.clear()
    lead = t("mentoring.closed_completed" if view.completed else "mentoring.closed_cancelled")
    if view.mentee_closed:
        await render(event, screens.ask_rating(view.pair_id, t, lead))
        await notify(
            bot,
            view.partner.telegram_id,
            Screen(screens.closed_for_partner(view, t), markup([[menu_button(t)]])),
            session=session,
            settings=settings,
            now=now,
            kind="closed",
        )
        return
    await render(event, screens.closed(view, t))
    await notify(
        bot,
        view.partner.telegram_id,
        screens.ask_rating(view.pair_id, t, screens.closed_for_partner(view, t)),
        session=session,
        settings=settings,
        now=now,
        kind="closed",
    )


async def pair_close_skip(
    query: CallbackQuery,
    callback_data: PairCloseSkip,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    bot: Bot,
    settings: Settings,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await _close(
        query,
        user,
        t,
        session,
        now,
        bot,
        settings,
        state,
        callback_data.pair,
        callback_data.done,
        None,
        callback_answer,
    )


async def pair_rating(
    query: CallbackQuery,
    callback_data: PairRating,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        await svc.rate_pair(session, user, callback_data.pair, callback_data.rating)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await _ask(state, MentoringForm.rating_comment, {"pair": callback_data.pair})
    await render(query, screens.ask_comment(callback_data.pair, t))


async def pair_comment_skip(
    query: CallbackQuery,
    callback_data: PairCommentSkip,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await state.clear()
    try:
        await svc.check_rated(session, user, callback_data.pair)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await render(query, screens.thanks(t))


async def pair_privacy(
    query: CallbackQuery,
    callback_data: PairRatingPrivacy,
    user: User,
    t: Translator,
    session: AsyncSession,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    draft = await _draft(state)
    comment = draft.get("comment")
    try:
        if draft.get("pair") != callback_data.pair or not isinstance(comment, str):
            raise MentoringError(svc.STALE)
        await svc.comment_pair(session, user, callback_data.pair, comment, callback_data.anonymous)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await state.clear()
    await render(query, screens.thanks(t))


async def checkin(
    query: CallbackQuery,
    callback_data: Checkin,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        view = await svc.checkin(session, user, callback_data.pair, callback_data.score, now)
    except MentoringError as exc:
        await _refused(query, exc, t, callback_answer)
        return
    await render(query, screens.pair(view, t, notice=t("mentoring.checkin_saved")))


# ---------------------------------------------------------------- typed input


async def typed(
    message: Message,
    user: User,
    t: Translator,
    session: AsyncSession,
    now: datetime,
    bot: Bot,
    settings: Settings,
    state: FSMContext,
    raw_state: str | None,
) -> None:
    """Every typed step of the feature: the state says which; the draft says which row."""
    draft = await _draft(state)
    text = message.text or ""
    try:
        if raw_state == MentoringForm.details.state:
            view = await svc.set_details(session, user, int(draft.get("request", 0)), text)
            await state.clear()
            await render(message, screens.ask_place(view.id, t))
        elif raw_state == MentoringForm.mentor_note.state:
            card = draft.get("card")
            if not isinstance(card, dict):
                raise MentoringError(svc.STALE)
            card = {**card, "note": svc.check_note(text)}
            view_card, card = await svc.mentor_card(session, user, card)
            await state.set_state(None)
            await state.update_data({DRAFT_KEY: {"card": card}})
            await render(message, screens.card(view_card, t))
        elif raw_state == MentoringForm.decline_reason.state:
            await _decline(
                message,
                user,
                t,
                session,
                now,
                bot,
                settings,
                int(draft.get("offer", 0)),
                text,
                state,
                None,
            )
        elif raw_state == MentoringForm.goals.state:
            pair = await svc.set_goals(session, user, int(draft.get("pair", 0)), text)
            await state.clear()
            await render(message, screens.pair(pair, t, notice=t("mentoring.goals_saved")))
        elif raw_state == MentoringForm.meeting_topic.state:
            pair_id = int(draft.get("pair", 0))
            meeting = await _meeting(state, pair_id)
            if meeting is None or "date" not in meeting:
                raise MentoringError(svc.STALE)
            meeting["topic"] = svc.check_topic(text)
            await _ask(state, None, {"pair": pair_id, "meeting": meeting})
            await render(message, screens.ask_meeting_format(pair_id, t))
        elif raw_state == MentoringForm.meeting_note.state:
            await _save_meeting(
                message, user, t, session, now, state, int(draft.get("pair", 0)), text, None
            )
        elif raw_state == MentoringForm.close_reason.state:
            await _close(
                message,
                user,
                t,
                session,
                now,
                bot,
                settings,
                state,
                int(draft.get("pair", 0)),
                bool(draft.get("done")),
                text,
                None,
            )
        elif raw_state == MentoringForm.rating_comment.state:
            pair_id = int(draft.get("pair", 0))
            await svc.check_rated(session, user, pair_id)
            comment = svc.check_comment(text)
            await _ask(state, None, {"pair": pair_id, "comment": comment})
            await render(message, screens.ask_privacy(pair_id, t))
        elif raw_state == MentoringForm.intro.state:
            relay = await svc.relay_intro(session, user, int(draft.get("pair", 0)), text)
            await state.clear()
            delivered = await notify(
                bot,
                relay.recipient.telegram_id,
                screens.relayed(relay, t),
                session=session,
                settings=settings,
                now=now,
                kind="intro",
            )
            key = "mentoring.intro_sent" if delivered else "mentoring.intro_not_delivered"
            pair = await svc.pair_view(session, user, relay.pair_id)
            await send_new(message, screens.pair(pair, t, notice=t(key)))
    except MentoringError as exc:
        if exc.code in ("mentoring.error.too_long", "mentoring.error.empty"):
            await message.answer(t(exc.code, **exc.params))
            return
        await state.clear()
        await _refused(message, exc, t, None)


async def not_text(message: Message, t: Translator) -> None:
    await message.answer(screens.not_typed(t))
