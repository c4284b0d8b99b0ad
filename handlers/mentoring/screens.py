"""«Наставничество» screens. Pure: view model + translator -> Screen."""

from __future__ import annotations

from datetime import date, timedelta

from aiogram.types import InlineKeyboardButton

from bot.i18n import Translator
from handlers.common import Screen, button, esc, grid, markup, split_text
from handlers.home.callbacks import MenuCB
from handlers.home.screens import menu_button
from handlers.mentoring.callbacks import (
    Checkin,
    MeetingDate,
    MeetingFormatPick,
    MeetingLog,
    MeetingMinutes,
    MeetingNew,
    MeetingNoteSkip,
    MentorCapacity,
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
    RequestNew,
    RequestPlace,
    RequestShare,
    RequestSubject,
    RequestTopic,
    RequestTopicsDone,
    RequestWithdraw,
    RequestWithdrawSure,
)
from services.mentoring import (
    FORMATS,
    GENERAL,
    MAX_MENTEES,
    MEETING_DAYS_BACK,
    MINUTES,
    TOPICS,
    Accepted,
    Closed,
    Declined,
    Existing,
    HomeView,
    MeetingLine,
    MentorCardView,
    OfferView,
    PairView,
    Person,
    Relay,
    RequestView,
    SubjectChoice,
    TopicChoice,
)
from services.reference import SUBJECTS


def _noticed(notice: str | None, text: str) -> str:
    """A notice (saved, sent) above a screen's text, as the main menu shows one."""
    return f"{notice}\n\n{text}" if notice else text


def home_button(t: Translator) -> InlineKeyboardButton:
    return button(t("mentoring.to_home"), MentoringHome())


def _nav(t: Translator) -> list[InlineKeyboardButton]:
    return [home_button(t), menu_button(t)]


def subject_label(code: str | None, t: Translator) -> str:
    if code is None:
        return t("mentoring.not_chosen")
    return t("mentoring.general") if code == GENERAL else t(f"subject.{code}")


def topic_labels(t: Translator) -> dict[str, str]:
    return {code: t(f"mentoring.topic.{code}") for code in TOPICS}


def _topics(codes: tuple[str, ...], t: Translator) -> str:
    return ", ".join(t(f"mentoring.topic.{c}") for c in codes) or t("mentoring.not_chosen")


def contact(person: Person, t: Translator) -> str:
    """How to write to a person: a link by username, or a word on the relayed introduction."""
    if person.username:
        name = esc(person.username)
        return t("mentoring.contact_link", username=name)
    return t("mentoring.contact_none")


# ---------------------------------------------------------------- «Наставничество»


def home(view: HomeView, t: Translator) -> Screen:
    lines = [t("mentoring.title")]
    rows: list[list[InlineKeyboardButton]] = []
    for pair in view.pairs:
        key = "mentoring.pair_as_mentor" if pair.as_mentor else "mentoring.pair_as_mentee"
        lines.append(t(key, name=esc(pair.partner)))
        rows.append(
            [button(t("mentoring.open_pair", name=pair.partner), PairOpen(pair=pair.pair_id))]
        )
    for offer in view.offers:
        lines.append(t("mentoring.offer_waiting", name=esc(offer.mentee)))
        rows.append(
            [
                button(t("mentoring.accept"), OfferAccept(offer=offer.offer_id)),
                button(t("mentoring.decline"), OfferDecline(offer=offer.offer_id)),
            ]
        )
    if view.request is not None:
        lines.append(t(f"mentoring.request_status.{view.request.status}"))
        rows.append([button(t("mentoring.my_request"), RequestNew())])
    if view.can_request:
        lines.append(t("mentoring.young_hint" if view.young else "mentoring.request_hint"))
        rows.append([button(t("mentoring.want_mentor"), RequestNew())])
    card = view.card
    if card is not None and card.active:
        lines.append(t("mentoring.card_active", count=card.mentees, max=card.max_mentees))
        rows.append([button(t("mentoring.my_card"), MentorSetup())])
    else:
        lines.append(t("mentoring.be_mentor_hint"))
        rows.append([button(t("mentoring.be_mentor"), MentorSetup())])
    rows.append([menu_button(t)])
    return Screen("\n\n".join(lines), markup(rows))


def existing(view: Existing, t: Translator) -> Screen:
    """A second request refused, with the way to the first one."""
    rows: list[list[InlineKeyboardButton]] = []
    if view.pair_id is not None:
        text = t("mentoring.error.has_mentor")
        rows.append([button(t("mentoring.open_my_pair"), PairOpen(pair=view.pair_id))])
    else:
        text = t("mentoring.error.has_request")
    rows.append(_nav(t))
    return Screen(text, markup(rows))


# ---------------------------------------------------------------- the request


def subject_choice(view: SubjectChoice, t: Translator) -> Screen:
    own = [s for s in SUBJECTS if s in view.own]
    others = [s for s in SUBJECTS if s not in view.own]

    def label(code: str) -> str:
        mark = "• " if view.chosen == code else ""
        return mark + t(f"subject.{code}")

    buttons = [
        button(label(code), RequestSubject(request=view.request_id, subject=SUBJECTS.index(code)))
        for code in [*own, *others]
    ]
    general = ("• " if view.chosen == GENERAL else "") + t("mentoring.general")
    rows = [[button(general, RequestSubject(request=view.request_id, subject=-1))]]
    rows.extend(grid(buttons, 2))
    rows.append(_nav(t))
    return Screen(t("mentoring.ask_subject"), markup(rows))


def topic_choice(view: TopicChoice, t: Translator, notice: str | None = None) -> Screen:
    buttons = [
        button(
            ("☑️ " if code in view.chosen else "⬜ ") + t(f"mentoring.topic.{code}"),
            RequestTopic(request=view.request_id, topic=i),
        )
        for i, code in enumerate(TOPICS)
    ]
    rows = grid(buttons, 2)
    rows.append([button(t("mentoring.done"), RequestTopicsDone(request=view.request_id))])
    rows.append(_nav(t))
    return Screen(_noticed(notice, t("mentoring.ask_topics")), markup(rows))


def ask_details(request_id: int, t: Translator, current: str | None = None) -> Screen:
    text = t("mentoring.ask_details")
    if current:
        text += "\n\n" + t("mentoring.current", value=esc(current))
    return Screen(
        text,
        markup([[button(t("mentoring.skip"), RequestDetailsSkip(request=request_id))], _nav(t)]),
    )


def ask_place(request_id: int, t: Translator) -> Screen:
    return Screen(
        t("mentoring.ask_place"),
        markup(
            [
                [
                    button(
                        t("mentoring.place_school"),
                        RequestPlace(request=request_id, same_school=True),
                    )
                ],
                [
                    button(
                        t("mentoring.place_any"),
                        RequestPlace(request=request_id, same_school=False),
                    )
                ],
                _nav(t),
            ]
        ),
    )


def _request_lines(view: RequestView, name: str, t: Translator) -> list[str]:
    place = t("mentoring.place_school") if view.same_school else t("mentoring.place_any")
    lines = [
        t("mentoring.field.name", value=esc(name)),
        t("mentoring.field.school", value=esc(view.school or "—")),
        t("mentoring.field.subject", value=subject_label(view.subject, t)),
        t("mentoring.field.topics", value=_topics(view.topics, t)),
    ]
    if view.details:
        lines.append(t("mentoring.field.details", value=esc(view.details)))
    lines.append(t("mentoring.field.place", value=place))
    return lines


def request(view: RequestView, name: str, t: Translator, notice: str | None = None) -> Screen:
    """The request screen. A draft says exactly what the methodists will see, and is shared
    only by «Передать заявку методисту»."""
    rows: list[list[InlineKeyboardButton]] = []
    if view.status == "draft":
        head = t("mentoring.request_draft_title")
        tail = t("mentoring.share_explained")
        if view.complete:
            rows.append([button(t("mentoring.share"), RequestShare(request=view.id))])
        rows.append([button(t("mentoring.refill"), RequestEdit(request=view.id))])
    else:
        head = t(f"mentoring.request_status.{view.status}")
        tail = t("mentoring.shared_on", date=t.date(view.shared_at)) if view.shared_at else ""
    rows.append([button(t("mentoring.withdraw"), RequestWithdraw(request=view.id))])
    rows.append(_nav(t))
    parts = [head, "\n".join(_request_lines(view, name, t))]
    if tail:
        parts.append(tail)
    return Screen(_noticed(notice, "\n\n".join(parts)), markup(rows))


def withdraw_confirm(request_id: int, t: Translator) -> Screen:
    return Screen(
        t("mentoring.withdraw_sure"),
        markup(
            [
                [button(t("mentoring.withdraw_yes"), RequestWithdrawSure(request=request_id))],
                [button(t("mentoring.withdraw_no"), RequestNew())],
            ]
        ),
    )


# ---------------------------------------------------------------- the mentor's card


def card(view: MentorCardView, t: Translator, notice: str | None = None) -> Screen:
    subjects = ", ".join(t(f"subject.{s}") for s in view.subjects) or t("mentoring.any_subject")
    lines = [
        t("mentoring.card_title"),
        t("mentoring.card_explained"),
        t("mentoring.field.subjects", value=subjects),
        t("mentoring.field.capacity", value=view.max_mentees),
        t("mentoring.field.note", value=esc(view.note) if view.note else "—"),
    ]
    if view.saved:
        status = "mentoring.card_on" if view.active else "mentoring.card_off"
        lines.append(t(status, count=view.mentees))
    subject_buttons = [
        button(
            ("☑️ " if code in view.subjects else "⬜ ") + t(f"subject.{code}"),
            MentorSubject(subject=i),
        )
        for i, code in enumerate(SUBJECTS)
    ]
    rows = grid(subject_buttons, 2)
    rows.append(
        [
            button(("• " if n == view.max_mentees else "") + str(n), MentorCapacity(count=n))
            for n in range(1, MAX_MENTEES + 1)
        ]
    )
    rows.append([button(t("mentoring.write_note"), MentorNote())])
    rows.append([button(t("mentoring.card_save"), MentorSave())])
    if view.saved and view.active:
        rows.append([button(t("mentoring.card_withdraw"), MentorWithdraw())])
    rows.append(_nav(t))
    return Screen(_noticed(notice, "\n\n".join(lines)), markup(rows))


def ask_note(t: Translator) -> Screen:
    return Screen(t("mentoring.ask_note"), markup([[button(t("mentoring.back"), MentorSetup())]]))


# ---------------------------------------------------------------- offers


def offer(view: OfferView, t: Translator) -> Screen:
    """A request a methodist proposed to this mentor."""
    lines = [
        t("mentoring.offer_title"),
        t("mentoring.field.name", value=esc(view.mentee)),
        t("mentoring.field.school", value=esc(view.school or "—")),
        t("mentoring.field.subject", value=subject_label(view.subject, t)),
        t("mentoring.field.topics", value=_topics(view.topics, t)),
    ]
    if view.details:
        lines.append(t("mentoring.field.details", value=esc(view.details)))
    rows: list[list[InlineKeyboardButton]] = []
    if view.answered:
        lines.append(t("mentoring.error.offer_gone"))
    else:
        rows.append(
            [
                button(t("mentoring.accept"), OfferAccept(offer=view.offer_id)),
                button(t("mentoring.decline"), OfferDecline(offer=view.offer_id)),
            ]
        )
    rows.append(_nav(t))
    return Screen("\n".join(lines), markup(rows))


def ask_decline_reason(offer_id: int, t: Translator) -> Screen:
    return Screen(
        t("mentoring.ask_decline_reason"),
        markup([[button(t("mentoring.no_reason"), OfferDeclineNoReason(offer=offer_id))], _nav(t)]),
    )


def declined(t: Translator) -> Screen:
    return Screen(t("mentoring.declined_done"), markup([_nav(t)]))


def declined_for_methodist(view: Declined, t: Translator) -> Screen:
    text = t("mentoring.declined_notice", mentor=esc(view.mentor), mentee=esc(view.mentee))
    if view.reason:
        text += "\n" + t("mentoring.declined_reason", reason=esc(view.reason))
    return Screen(text, markup([[button(t("menu.methodist"), MenuCB(to="methodist"))]]))


def _partner_block(person: Person, t: Translator) -> str:
    return "\n".join(
        [
            t("mentoring.field.name", value=esc(person.name)),
            t("mentoring.field.school", value=esc(person.school or "—")),
            contact(person, t),
        ]
    )


def accepted(view: Accepted, *, for_mentor: bool, t: Translator) -> Screen:
    """Both sides are told, each with the other's name, school and a way to write."""
    other = view.mentee if for_mentor else view.mentor
    key = "mentoring.accepted_mentor" if for_mentor else "mentoring.accepted_mentee"
    text = f"{t(key)}\n\n{_partner_block(other, t)}"
    rows = [[button(t("mentoring.open_pair_short"), PairOpen(pair=view.pair_id))]]
    if not other.username:
        rows.append([button(t("mentoring.write_intro"), PairIntro(pair=view.pair_id))])
    rows.append([menu_button(t)])
    return Screen(text, markup(rows))


def accepted_for_methodist(view: Accepted, t: Translator) -> Screen:
    return Screen(
        t("mentoring.accepted_notice", mentor=esc(view.mentor.name), mentee=esc(view.mentee.name)),
        markup([[button(t("menu.methodist"), MenuCB(to="methodist"))]]),
    )


# ---------------------------------------------------------------- the pair


NOTE_PREVIEW = 150  # a meeting's note in the pair's screen; the whole log shows it all


def short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _meeting_line(m: MeetingLine, t: Translator, note_limit: int = NOTE_PREVIEW) -> str:
    text = t(
        "mentoring.meeting_line",
        date=t.date(m.held_on),
        format=t(f"mentoring.format.{m.format}"),
        minutes=m.minutes,
        topic=esc(m.topic),
    )
    if m.by_me:
        text += t("mentoring.meeting_by_me")
    if m.note:
        text += "\n" + esc(short(m.note, note_limit))
    return text


def pair(view: PairView, t: Translator, notice: str | None = None) -> Screen:
    role = "mentoring.you_mentor" if view.as_mentor else "mentoring.you_mentee"
    lines = [
        t("mentoring.pair_title"),
        t(role),
        _partner_block(view.partner, t),
        t("mentoring.started", date=t.date(view.started_on)),
        t("mentoring.goals", value=esc(view.goals) if view.goals else "—"),
    ]
    if not view.active:
        lines.append(t(f"mentoring.pair_status.{view.status}"))
    if view.meetings:
        lines.append(t("mentoring.meetings_head", count=view.meeting_count))
        lines.extend(_meeting_line(m, t) for m in view.meetings)
    else:
        lines.append(t("mentoring.no_meetings"))
    if view.checkins:
        scores = ", ".join(f"{d.strftime('%d.%m')}: {s}" for d, s in view.checkins)
        lines.append(t("mentoring.checkins", value=scores))
    rows: list[list[InlineKeyboardButton]] = []
    if view.active:
        rows.append([button(t("mentoring.log_meeting"), MeetingNew(pair=view.pair_id))])
        if view.meeting_count > len(view.meetings):
            rows.append([button(t("mentoring.all_meetings"), MeetingLog(pair=view.pair_id))])
        if view.as_mentor:
            rows.append([button(t("mentoring.edit_goals"), PairGoals(pair=view.pair_id))])
        else:
            rows.append([button(str(n), Checkin(pair=view.pair_id, score=n)) for n in range(1, 6)])
        if view.can_intro and not view.partner.username:
            rows.append([button(t("mentoring.write_intro"), PairIntro(pair=view.pair_id))])
        rows.append(
            [
                button(t("mentoring.complete"), PairClose(pair=view.pair_id, done=True)),
                button(t("mentoring.cancel_pair"), PairClose(pair=view.pair_id, done=False)),
            ]
        )
    elif view.meeting_count > len(view.meetings):
        rows.append([button(t("mentoring.all_meetings"), MeetingLog(pair=view.pair_id))])
    rows.append(_nav(t))
    if view.active and not view.as_mentor:
        lines.append(t("mentoring.checkin_hint"))
    return Screen(_noticed(notice, "\n\n".join(lines)), markup(rows))


def meeting_log(view: PairView, t: Translator) -> list[Screen]:
    blocks = [t("mentoring.meetings_head", count=view.meeting_count)]
    blocks.extend(_meeting_line(m, t, note_limit=10_000) for m in view.meetings)
    texts = split_text(blocks)
    keyboard = markup([[button(t("mentoring.back"), PairOpen(pair=view.pair_id))], _nav(t)])
    return [Screen(text, keyboard if i == len(texts) - 1 else None) for i, text in enumerate(texts)]


def ask_goals(pair_id: int, current: str | None, t: Translator) -> Screen:
    text = t("mentoring.ask_goals")
    if current:
        text += "\n\n" + t("mentoring.current", value=esc(current))
    return Screen(text, markup([[button(t("mentoring.back"), PairOpen(pair=pair_id))]]))


def ask_meeting_date(pair_id: int, today: date, t: Translator) -> Screen:
    buttons = [
        button(
            t("mentoring.today")
            if d == 0
            else (
                t("mentoring.yesterday")
                if d == 1
                else (today - timedelta(days=d)).strftime("%d.%m")
            ),
            MeetingDate(pair=pair_id, days_ago=d),
        )
        for d in range(MEETING_DAYS_BACK)
    ]
    rows = grid(buttons, 4)
    rows.append([button(t("mentoring.back"), PairOpen(pair=pair_id))])
    return Screen(t("mentoring.ask_meeting_date"), markup(rows))


def ask_meeting_topic(pair_id: int, t: Translator) -> Screen:
    return Screen(
        t("mentoring.ask_meeting_topic"),
        markup([[button(t("mentoring.back"), PairOpen(pair=pair_id))]]),
    )


def ask_meeting_format(pair_id: int, t: Translator) -> Screen:
    rows = [
        [button(t(f"mentoring.format.{code}"), MeetingFormatPick(pair=pair_id, format=i))]
        for i, code in enumerate(FORMATS)
    ]
    rows.append([button(t("mentoring.back"), PairOpen(pair=pair_id))])
    return Screen(t("mentoring.ask_meeting_format"), markup(rows))


def ask_meeting_minutes(pair_id: int, t: Translator) -> Screen:
    rows = [
        [
            button(t("mentoring.minutes", n=n), MeetingMinutes(pair=pair_id, minutes=n))
            for n in MINUTES
        ],
        [button(t("mentoring.back"), PairOpen(pair=pair_id))],
    ]
    return Screen(t("mentoring.ask_meeting_minutes"), markup(rows))


def ask_meeting_note(pair_id: int, t: Translator) -> Screen:
    return Screen(
        t("mentoring.ask_meeting_note"),
        markup([[button(t("mentoring.skip"), MeetingNoteSkip(pair=pair_id))]]),
    )


def ask_close_reason(pair_id: int, done: bool, t: Translator) -> Screen:
    key = "mentoring.ask_complete_reason" if done else "mentoring.ask_cancel_reason"
    return Screen(
        t(key),
        markup(
            [
                [button(t("mentoring.close_no_reason"), PairCloseSkip(pair=pair_id, done=done))],
                [button(t("mentoring.back"), PairOpen(pair=pair_id))],
            ]
        ),
    )


def ask_rating(pair_id: int, t: Translator, lead: str | None = None) -> Screen:
    text = t("mentoring.ask_rating")
    if lead:
        text = f"{lead}\n\n{text}"
    return Screen(
        text,
        markup([[button(str(n), PairRating(pair=pair_id, rating=n)) for n in range(1, 6)]]),
    )


def closed(view: Closed, t: Translator) -> Screen:
    key = "mentoring.closed_completed" if view.completed else "mentoring.closed_cancelled"
    return Screen(t(key), markup([_nav(t)]))


def closed_for_partner(view: Closed, t: Translator) -> str:
    key = "mentoring.partner_completed" if view.completed else "mentoring.partner_cancelled"
    return t(key, name=esc(view.closer))


def ask_comment(pair_id: int, t: Translator) -> Screen:
    return Screen(
        t("mentoring.ask_comment"),
        markup([[button(t("mentoring.skip"), PairCommentSkip(pair=pair_id))]]),
    )


def ask_privacy(pair_id: int, t: Translator) -> Screen:
    return Screen(
        t("mentoring.ask_privacy"),
        markup(
            [
                [
                    button(
                        t("mentoring.privacy_open"),
                        PairRatingPrivacy(pair=pair_id, anonymous=False),
                    )
                ],
                [
                    button(
                        t("mentoring.privacy_anonymous"),
                        PairRatingPrivacy(pair=pair_id, anonymous=True),
                    )
                ],
            ]
        ),
    )


def thanks(t: Translator) -> Screen:
    return Screen(t("mentoring.thanks"), markup([_nav(t)]))


def ask_intro(pair_id: int, t: Translator) -> Screen:
    return Screen(
        t("mentoring.ask_intro"),
        markup([[button(t("mentoring.back"), PairOpen(pair=pair_id))]]),
    )


def relayed(view: Relay, t: Translator) -> Screen:
    """The introduction as the other side receives it."""
    text = t(
        "mentoring.relayed",
        name=esc(view.sender.name),
        school=esc(view.sender.school or "—"),
        text=esc(view.text),
    )
    return Screen(
        text, markup([[button(t("mentoring.open_pair_short"), PairOpen(pair=view.pair_id))]])
    )


def not_typed(t: Translator) -> str:
    return t("mentoring.error.need_text")
