"""Buttons of «Наставничество» (the mentee's request, the mentor's offer to help and answers,
the pair and its meetings), one class per action, and the dialog's typed steps."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup

from handlers.common import Button, Id, Num

DRAFT_KEY = "mentoring"
"""The dialog's draft in the conversation data: what is being typed and for which row."""


class MentoringForm(StatesGroup):
    """The typed input being asked."""

    details = State()  # the request: what help is needed, in the teacher's words
    mentor_note = State()  # the mentor's few words about themselves
    decline_reason = State()  # the mentor's reason for refusing an offer
    goals = State()  # the pair's goals (the mentor)
    meeting_topic = State()  # a meeting: its topic
    meeting_note = State()  # a meeting: a note
    close_reason = State()  # closing a pair: why
    rating_comment = State()  # the mentee's final comment
    intro = State()  # the one introductory message relayed to the other side


# ---------------------------------------------------------------- the entry


class MentoringHome(Button, prefix="mnh"):
    """«Наставничество»: the pair, the request, or the offer to ask for a mentor."""


# ---------------------------------------------------------------- the request (mentee)


class RequestNew(Button, prefix="mrn"):
    """«Хочу наставника»: start a request (or show the one that exists)."""


class RequestFromSurvey(Button, prefix="mrq"):
    """From the young-teacher questionnaire's results: a request pre-filled with the areas
    chosen in that attempt."""

    attempt: Id


class RequestEdit(Button, prefix="mre"):
    """«Изменить»: the draft's steps again, from the subject (what was chosen stays)."""

    request: Id


class RequestSubject(Button, prefix="mrs"):
    """The subject or area of a request: an index of the subject list (-1: general)."""

    request: Id
    subject: Num


class RequestTopic(Button, prefix="mrt"):
    """Tick or untick a help topic (an index of the topic list)."""

    request: Id
    topic: Num


class RequestTopicsDone(Button, prefix="mrd"):
    request: Id


class RequestDetailsSkip(Button, prefix="mrk"):
    request: Id


class RequestPlace(Button, prefix="mrp"):
    """Preference: a mentor from the teacher's own school, or anyone."""

    request: Id
    same_school: bool


class RequestShare(Button, prefix="mrh"):
    """«Передать заявку методисту»."""

    request: Id


class RequestWithdraw(Button, prefix="mrw"):
    request: Id


class RequestWithdrawSure(Button, prefix="mrx"):
    request: Id


# ---------------------------------------------------------------- the mentor's side


class MentorSetup(Button, prefix="mms"):
    """«Готов(а) быть наставником» in the profile: the mentor card."""


class MentorSubject(Button, prefix="mmj"):
    """Tick or untick a subject of the mentor card (an index of the subject list)."""

    subject: Num


class MentorCapacity(Button, prefix="mmc"):
    """The maximum number of mentees, 1–5."""

    count: Num


class MentorNote(Button, prefix="mmn"):
    """Type the few words about themselves."""


class MentorSave(Button, prefix="mmv"):
    """Save the card: the teacher is ready to be a mentor."""


class MentorWithdraw(Button, prefix="mmw"):
    """No longer ready to take new mentees (active pairs go on)."""


class OfferAccept(Button, prefix="moa"):
    """The mentor accepts the request a methodist proposed to them."""

    offer: Id


class OfferDecline(Button, prefix="mod"):
    """The mentor refuses it (a reason may follow)."""

    offer: Id


class OfferDeclineNoReason(Button, prefix="mon"):
    offer: Id


# ---------------------------------------------------------------- the pair


class PairOpen(Button, prefix="mpo"):
    pair: Id


class PairGoals(Button, prefix="mpg"):
    """The mentor edits the goals."""

    pair: Id


class PairIntro(Button, prefix="mpi"):
    """Write the one introductory message the bot relays (no username on either side)."""

    pair: Id


class MeetingNew(Button, prefix="mpm"):
    """Log a meeting: first its date (days before today, 0–13)."""

    pair: Id


class MeetingDate(Button, prefix="mpd"):
    pair: Id
    days_ago: Num


class MeetingFormatPick(Button, prefix="mpf"):
    """The format (an index of the format list); the topic was typed before."""

    pair: Id
    format: Num


class MeetingMinutes(Button, prefix="mpl"):
    pair: Id
    minutes: Num


class MeetingNoteSkip(Button, prefix="mpk"):
    pair: Id


class MeetingLog(Button, prefix="mpj"):
    """The whole meeting log of a pair."""

    pair: Id


class PairClose(Button, prefix="mpc"):
    """Close the pair: completed (``done``) or cancelled."""

    pair: Id
    done: bool


class PairCloseSkip(Button, prefix="mpx"):
    """Close without typing a reason."""

    pair: Id
    done: bool


class PairRating(Button, prefix="mpr"):
    """The mentee's final rating, 1–5."""

    pair: Id
    rating: Num


class PairRatingPrivacy(Button, prefix="mpa"):
    """Whether the comment is shown to methodists only in aggregate (anonymous)."""

    pair: Id
    anonymous: bool


class PairCommentSkip(Button, prefix="mpy"):
    pair: Id


class Checkin(Button, prefix="mpq"):
    """The mentee's «Как проходит наставничество?» answer, 1–5."""

    pair: Id
    score: Num
