"""Screens of the methodist's mentoring queue and the offer a mentor receives.
Pure: view model + translator -> Screen."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton

from bot.i18n import Translator
from handlers.campaigns.callbacks import CampaignList
from handlers.common import MESSAGE_LIMIT, Screen, button, esc, markup
from handlers.home.callbacks import MenuCB
from handlers.home.screens import menu_button
from handlers.indicators.callbacks import IndicatorsMenu
from handlers.mentoring.callbacks import OfferAccept, OfferDecline
from handlers.methodist.callbacks import (
    AssignAsk,
    AssignConfirm,
    OfferWithdraw,
    QueueOpen,
    RequestOpen,
)
from handlers.report.callbacks import ReportOpen
from services.matching import GENERAL, Suggestion
from services.mentoring_queue import (
    AssignPreview,
    OfferNotice,
    QueueItem,
    QueueView,
    RequestCard,
)

TEXT_BUDGET = MESSAGE_LIMIT - 200  # room for the «… и ещё N» line
NAME_MAX = 60  # a name or school as shown (the columns allow more)
BUTTON_NAME_MAX = 30


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _name(t: Translator, name: str | None, limit: int = NAME_MAX) -> str:
    """A person's name for HTML text (escaped), or «без имени»."""
    return esc(_cut(name, limit)) if name else t("methodist.no_name")


def _school(t: Translator, school: str | None) -> str:
    return esc(_cut(school, NAME_MAX)) if school else t("methodist.no_school")


def subject_label(t: Translator, code: str | None) -> str:
    if code is None:
        return t("methodist.subject_none")
    if code == GENERAL:
        return t("methodist.subject_general")
    key = f"subject.{code}"
    return t(key) if t.has(key) else esc(code)


def topic_label(t: Translator, code: str) -> str:
    """A help topic's label from the mentoring texts (the code itself when it has none)."""
    key = f"mentoring.topic.{code}"
    return t(key) if t.has(key) else esc(code)


def days(t: Translator, n: int) -> str:
    """«1 день», «3 дня», «8 дней» (Russian plural forms; other languages use the same keys)."""
    return t.plural("methodist.days", n)


_TAG = re.compile(r"<[^>]*>")


def visible_length(text: str) -> int:
    """The length Telegram counts: without the markup, entities as one character each (all
    other text in these screens is escaped, so every ``<`` starts a tag of ours)."""
    return len(html.unescape(_TAG.sub("", text)))


def _fit(
    head: str, blocks: Sequence[str], t: Translator, hidden: int = 0, sep: str = "\n\n"
) -> tuple[str, int]:
    """``head`` and as many ``blocks`` as fit one message, then «… и ещё N» for the blocks
    left out and ``hidden`` more; with the number of blocks shown."""
    text = head
    shown = 0
    for block in blocks:
        if visible_length(text) + len(sep) + visible_length(block) > TEXT_BUDGET:
            break
        text += sep + block
        shown += 1
    rest = len(blocks) - shown + hidden
    if rest > 0:
        text += sep + t("methodist.more", count=rest)
    return text, shown


# ---------------------------------------------------------------- the queue


def _item(t: Translator, n: int, item: QueueItem) -> str:
    lines = [
        t(
            "methodist.item",
            n=n,
            name=_name(t, item.mentee_name),
            school=_school(t, item.school_name),
            subject=subject_label(t, item.subject),
        ),
        t(
            "methodist.overdue" if item.overdue else "methodist.waiting",
            days=days(t, item.days_waiting),
        ),
    ]
    if item.offered_to is not None:
        lines.append(t("methodist.offered", mentor=_name(t, item.offered_to)))
    return "\n".join(lines)


def hub(t: Translator) -> Screen:
    """«Кабинет методиста»: what a methodist does for their scope. Each capability adds its
    row here."""
    rows: list[list[InlineKeyboardButton]] = [
        [button(t("methodist.hub.queue"), QueueOpen())],
        [button(t("campaigns.hub_button"), CampaignList())],
        [button(t("report.hub"), ReportOpen())],
    ]
    rows.append([button(t("digest.menu.button"), IndicatorsMenu())])
    rows.append([menu_button(t)])
    return Screen(t("methodist.hub.title"), markup(rows))


def hub_button(t: Translator) -> InlineKeyboardButton:
    return button(t("methodist.hub.back"), MenuCB(to="methodist"))


def queue(view: QueueView, t: Translator) -> Screen:
    """The requests, the longest waiting first, each with a button to its card."""
    if not view.items:
        return Screen(
            t("methodist.title") + "\n\n" + t("methodist.empty"),
            markup([[hub_button(t), menu_button(t)]]),
        )
    head = t("methodist.title") + "\n\n" + t("methodist.count", total=view.total)
    blocks = [_item(t, n, item) for n, item in enumerate(view.items, 1)]
    text, shown = _fit(head, blocks, t, hidden=view.total - len(view.items))
    rows: list[list[InlineKeyboardButton]] = [
        [
            button(
                t(
                    "methodist.item_button",
                    n=n,
                    name=_cut(item.mentee_name or t("methodist.no_name"), BUTTON_NAME_MAX),
                ),
                RequestOpen(request=item.request_id),
            )
        ]
        for n, item in enumerate(view.items[:shown], 1)
    ]
    rows.append([hub_button(t), menu_button(t)])
    return Screen(text, markup(rows))


# ---------------------------------------------------------------- a request


def _reasons(t: Translator, s: Suggestion) -> str:
    words = [t(f"methodist.reason.{code}") for code in s.reasons]
    c = s.candidate
    words.append(t("methodist.card.free", free=c.capacity - c.mentees, capacity=c.capacity))
    return "; ".join(words)


def _card_head(card: RequestCard, t: Translator) -> str:
    lines = [
        t("methodist.card.title"),
        "",
        t("methodist.card.mentee", name=_name(t, card.mentee_name)),
        t("methodist.card.school", school=_school(t, card.school_name)),
    ]
    if card.young:
        lines.append(t("methodist.card.young"))
    lines.append(t("methodist.card.subject", subject=subject_label(t, card.subject)))
    if card.topics:
        topics = ", ".join(topic_label(t, code) for code in card.topics)
        lines.append(t("methodist.card.topics", topics=topics))
    if card.details:
        lines.append(t("methodist.card.details", details=esc(card.details)))
    lines.append(t("methodist.card.place_same" if card.same_school else "methodist.card.place_any"))
    key = "methodist.card.overdue" if card.overdue else "methodist.card.waiting"
    lines.append(t(key, days=days(t, card.days_waiting)))
    if card.offered_to is not None:
        lines.append(t("methodist.card.offered", mentor=_name(t, card.offered_to)))
    return "\n".join(lines)


def request_card(card: RequestCard, t: Translator) -> Screen:
    """The request, the mentors ranked for it with their reasons, the earlier refusals."""
    text = _card_head(card, t)
    rows: list[list[InlineKeyboardButton]] = []
    if card.status == "open":
        if card.suggestions:
            lines = [t("methodist.card.suggestions")]
            for n, s in enumerate(card.suggestions, 1):
                lines.append(
                    t(
                        "methodist.card.suggestion",
                        n=n,
                        name=_name(t, s.candidate.name),
                        school=_school(t, s.candidate.school_name),
                        reasons=_reasons(t, s),
                    )
                )
                label = _cut(s.candidate.name or t("methodist.no_name"), BUTTON_NAME_MAX)
                rows.append(
                    [
                        button(
                            t("methodist.assign", name=label),
                            AssignAsk(request=card.request_id, mentor=s.candidate.user_id),
                        )
                    ]
                )
            text += "\n\n" + "\n".join(lines)
        else:
            text += "\n\n" + t("methodist.card.no_suggestions")
    if card.refusals:
        refusals = [
            t("methodist.card.refusal", name=_name(t, r.mentor_name), reason=esc(r.reason))
            if r.reason
            else t("methodist.card.refusal_no_reason", name=_name(t, r.mentor_name))
            for r in card.refusals
        ]
        text, _ = _fit(text + "\n\n" + t("methodist.card.refusals"), refusals, t, sep="\n")
    if card.status == "offered":
        rows.append([button(t("methodist.withdraw_offer"), OfferWithdraw(request=card.request_id))])
    rows.append([button(t("methodist.back_queue"), QueueOpen())])
    rows.append([menu_button(t)])
    return Screen(text, markup(rows))


def withdrawn_for_mentor(mentee: str | None, t: Translator) -> Screen:
    return Screen(
        t("methodist.offer_withdrawn", mentee=_name(t, mentee)), markup([[menu_button(t)]])
    )


def confirm(preview: AssignPreview, t: Translator) -> Screen:
    text = t(
        "methodist.confirm",
        mentor=_name(t, preview.mentor_name),
        school=_school(t, preview.mentor_school),
        mentee=_name(t, preview.mentee_name),
    )
    return Screen(
        text,
        markup(
            [
                [
                    button(
                        t("methodist.confirm_yes"),
                        AssignConfirm(request=preview.request_id, mentor=preview.mentor_id),
                    )
                ],
                [button(t("methodist.back_card"), RequestOpen(request=preview.request_id))],
                [button(t("methodist.back_queue"), QueueOpen())],
                [menu_button(t)],
            ]
        ),
    )


def assigned(notice: OfferNotice, delivered: bool, t: Translator) -> Screen:
    """What the methodist is told after the offer: sent, or recorded but not delivered."""
    text = t(
        "methodist.sent" if delivered else "methodist.not_delivered",
        mentor=_name(t, notice.mentor_name),
        mentee=_name(t, notice.mentee_name),
    )
    return Screen(
        text,
        markup([[button(t("methodist.back_queue"), QueueOpen())], [menu_button(t)]]),
    )


def offer(notice: OfferNotice, t: Translator) -> Screen:
    """The message the mentor receives, in the mentor's language, with «Принять» and
    «Отказаться»."""
    lines = [
        t("methodist.offer.title"),
        "",
        t(
            "methodist.offer.text",
            mentee=_name(t, notice.mentee_name),
            school=_school(t, notice.school_name),
        ),
        t("methodist.card.subject", subject=subject_label(t, notice.subject)),
    ]
    if notice.topics:
        topics = ", ".join(topic_label(t, code) for code in notice.topics)
        lines.append(t("methodist.card.topics", topics=topics))
    if notice.details:
        lines.append(t("methodist.card.details", details=esc(notice.details)))
    lines.append(
        t("methodist.card.place_same" if notice.same_school else "methodist.card.place_any")
    )
    lines += ["", t("methodist.offer.ask")]
    return Screen(
        "\n".join(lines),
        markup(
            [
                [
                    button(t("methodist.offer.accept"), OfferAccept(offer=notice.offer_id)),
                    button(t("methodist.offer.decline"), OfferDecline(offer=notice.offer_id)),
                ],
                [menu_button(t)],
            ]
        ),
    )
