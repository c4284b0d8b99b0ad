"""Screens of «Мои курсы»: pure functions of the view models in :mod:`services.courses`."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton

from bot.i18n import Translator
from handlers.calendar.screens import calendar_rows
from handlers.common import Screen, button, esc, grid, markup
from handlers.courses.callbacks import (
    AttestationDate,
    BlocksDone,
    BlockToggle,
    CourseCancel,
    CourseCertificate,
    CourseDelete,
    CourseDeleteConfirmed,
    CourseEdit,
    CourseEditField,
    CourseList,
    CourseNew,
    CourseOpen,
    CourseResume,
    CourseSave,
    CourseStepBack,
    FormatPick,
    HoursConfirm,
    HoursFix,
    KindPick,
    ProviderPage,
    ProviderPick,
    StepSkip,
)
from handlers.home.screens import menu_button
from services import courses as svc
from services.attestation import AttStatus
from services.courses import (
    CertificateFile,
    CourseCard,
    Overview,
    Question,
)

BUTTON_TEXT_MAX = 60
# the calendar field code of each date step (CalendarCB.f)
CAL_FIELDS = {"cs": "starts_on", "ce": "ends_on", "ca": "att"}
CAL_OF_STEP = {step: code for code, step in CAL_FIELDS.items()}


def clip(text: str, limit: int = BUTTON_TEXT_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---------- «Мои курсы» ----------


def summary_lines(view: Overview, t: Translator) -> list[str]:
    tot, today = view.totals, view.today
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
    lines.extend(attestation_lines(view, t))
    return lines


def attestation_lines(view: Overview, t: Translator) -> list[str]:
    att = view.attestation
    if att.conformity and att.given is not None and att.expires is not None:
        lines = [t("courses.att_conformity", given=t.date(att.given), expires=t.date(att.expires))]
        if att.status == AttStatus.SOON:
            lines.append(t("courses.att_conformity_soon"))
        elif att.status == AttStatus.EXPIRED:
            lines.append(t("courses.att_conformity_expired", expires=t.date(att.expires)))
        return lines
    if att.status == AttStatus.NONE:
        return [t("courses.att_none") if att.category == "none" else t("courses.att_missing")]
    category = t(f"category.{att.category}") if t.has(f"category.{att.category}") else ""
    if att.status == AttStatus.UNKNOWN or att.given is None or att.expires is None:
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
    if att.status == AttStatus.SOON:
        lines.append(t("courses.att_soon"))
    elif att.status == AttStatus.EXPIRED:
        lines.append(t("courses.att_expired", expires=t.date(att.expires)))
    if att.year_only:
        lines.append(t("courses.att_year_hint"))
    return lines


def overview(view: Overview, t: Translator, notice: str = "") -> Screen:
    blocks = [notice] if notice else []
    blocks.append(t("courses.title") + "\n" + "\n".join(summary_lines(view, t)))
    if view.count:
        head = t("courses.list_head", count=view.count)
        if view.pages > 1:
            head += " " + t("courses.list_page", page=view.page + 1, pages=view.pages)
        blocks.append(head)
    else:
        blocks.append(t("courses.list_empty"))
    rows: list[list[InlineKeyboardButton]] = [
        [button(clip(f"{t.date(x.ends_on)} · {x.title}"), CourseOpen(course=x.id))]
        for x in view.courses
    ]
    nav: list[InlineKeyboardButton] = []
    if view.page > 0:
        nav.append(button(t("common.prev"), CourseList(page=view.page - 1)))
    if view.page + 1 < view.pages:
        nav.append(button(t("common.next"), CourseList(page=view.page + 1)))
    rows.append(nav)
    if view.resumable:
        rows.append([button(t("courses.resume"), CourseResume())])
    rows.append([button(t("courses.add"), CourseNew())])
    if view.has_category:
        rows.append([button(t("courses.att_button"), AttestationDate())])
    elif view.attestation.category == "none" or view.attestation.conformity:
        rows.append([button(t("courses.att_button_conformity"), AttestationDate())])
    rows.append([menu_button(t)])
    return Screen("\n\n".join(blocks), markup(rows))


# ---------- a course card ----------


def file_label(t: Translator, cert: CertificateFile | None) -> str:
    if cert is None:
        return t("courses.card_none")
    name = t("courses.photo") if cert.is_photo else esc(cert.file_name)
    if cert.file_size is None:
        return name
    n, unit = svc.size_parts(cert.file_size)
    return t("courses.file_label", name=name, size=t(f"courses.size_{unit}", n=n))


def details(card: CourseCard, t: Translator) -> str:
    none = t("courses.card_none")
    lines = [
        t("courses.card_title", title=esc(card.title or none)),
        t("courses.card_provider", value=esc(card.provider or none)),
        t("courses.card_kind", value=t(f"course_kind.{card.kind}") if card.kind else none),
        t("courses.card_hours", value=card.hours if card.hours else none),
        t(
            "courses.card_dates",
            start=t.date(card.starts_on) if card.starts_on else none,
            end=t.date(card.ends_on) if card.ends_on else none,
        ),
        t("courses.card_format", value=t(f"course_format.{card.format}") if card.format else none),
        t("courses.card_blocks", value=", ".join(t(f"block.{b}") for b in card.blocks) or none),
        t("courses.card_number", value=esc(card.certificate_number or none)),
        t("courses.card_file", value=file_label(t, card.certificate)),
    ]
    return "\n".join(lines)


def card(view: CourseCard, t: Translator, notice: str = "") -> Screen:
    text = details(view, t)
    if notice:
        text = f"{notice}\n\n{text}"
    rows = [
        [
            button(t("courses.edit"), CourseEdit(course=view.id)),
            button(t("courses.delete"), CourseDelete(course=view.id)),
        ],
    ]
    if view.certificate is not None:
        rows.append([button(t("courses.certificate"), CourseCertificate(course=view.id))])
    rows.append([button(t("courses.back_to_list"), CourseList())])
    rows.append([menu_button(t)])
    return Screen(text, markup(rows))


def choose_field(view: CourseCard, t: Translator) -> Screen:
    rows = grid(
        [
            button(t(f"courses.field.{f}"), CourseEditField(course=view.id, field=i))
            for i, f in enumerate(svc.EDIT_FIELDS)
        ],
        2,
    )
    rows.append([button(t("courses.back_to_course"), CourseOpen(course=view.id))])
    rows.append([menu_button(t)])
    return Screen(f"{esc(view.title or '')}\n\n{t('courses.choose_field')}", markup(rows))


def confirm_delete(view: CourseCard, t: Translator) -> Screen:
    rows = [
        [button(t("courses.delete_yes"), CourseDeleteConfirmed(course=view.id))],
        [button(t("courses.delete_no"), CourseOpen(course=view.id))],
        [menu_button(t)],
    ]
    return Screen(t("courses.delete_confirm", title=esc(clip(view.title or "", 200))), markup(rows))


def certificate_message(view: CourseCard, t: Translator) -> Screen:
    """The caption and buttons under a certificate sent back."""
    caption = t("courses.certificate_caption", title=esc(clip(view.title or "", 200)))
    kb = markup(
        [[button(t("courses.back_to_course"), CourseOpen(course=view.id))], [menu_button(t)]]
    )
    return Screen(caption, kb)


# ---------- a step of the dialog ----------


def _choices(
    t: Translator,
    prefix: str,
    codes: Sequence[str],
    make: type[KindPick] | type[FormatPick],
    chosen: str | None,
) -> list[list[InlineKeyboardButton]]:
    return [
        [button(("✅ " if code == chosen else "") + t(f"{prefix}.{code}"), make(index=i))]
        for i, code in enumerate(codes)
    ]


def question(q: Question, t: Translator, notice: str = "") -> Screen:
    """The question of one step (adding, editing or the attestation date)."""
    step, draft, course = q.step, q.draft, q.course
    field = "hours" if step == "hours_warn" else step
    head: list[str] = [notice] if notice else []
    if course is not None:
        head.append(t("courses.editing", field=t(f"courses.field.{field}")))
    elif q.adding and step != "confirm":
        head.append(t("courses.step", n=svc.step_number(step), total=len(svc.QUESTIONS)))
    rows: list[list[InlineKeyboardButton]] = []
    body = ""
    current: str | None = None
    example = t.date(q.today) if q.today else ""
    if step == "title":
        body = t("courses.ask_title")
        current = esc(course.title or "") if course else None
    elif step == "provider" and q.providers is not None:
        page = q.providers
        rows.extend(
            [
                button(
                    ("✅ " if p.id == q.chosen_provider else "") + clip(p.name),
                    ProviderPick(provider=p.id),
                )
            ]
            for p in page.items
        )
        nav: list[InlineKeyboardButton] = []
        if page.page > 0:
            nav.append(button(t("common.prev"), ProviderPage(page=page.page - 1)))
        if page.page + 1 < page.pages:
            nav.append(button(t("common.next"), ProviderPage(page=page.page + 1)))
        rows.append(nav)
        body = (
            t("courses.ask_provider", page=page.page + 1, pages=page.pages)
            if page.total
            else t("courses.ask_provider_empty")
        )
        if course is not None and course.provider is not None:
            current = esc(course.provider)
        elif course is None and draft.provider_name:
            current = esc(draft.provider_name)
    elif step == "kind":
        body = t("courses.ask_kind")
        chosen = course.kind if course else draft.kind
        rows.extend(_choices(t, "course_kind", svc.KINDS, KindPick, chosen))
    elif step == "hours":
        body = t("courses.ask_hours")
        current = str(course.hours) if course else None
    elif step == "hours_warn":
        body = t("courses.warn_hours", hours=q.pending_hours)
        rows.append(
            [
                button(t("courses.warn_yes"), HoursConfirm()),
                button(t("courses.warn_fix"), HoursFix()),
            ]
        )
    elif step in ("starts_on", "ends_on", "att") and q.dates is not None:
        if step == "att":
            if q.category:
                category = t(f"category.{q.category}")
                body = t("courses.ask_att", category=category, example=example)
            else:
                body = t("courses.ask_att_conformity", example=example)
        else:
            key = "courses.ask_start" if step == "starts_on" else "courses.ask_end"
            body = t(key, example=example)
            selected = q.dates.selected
            current = t.date(selected) if course is not None and selected else None
        rows.extend(
            calendar_rows(
                CAL_OF_STEP[step],
                q.dates.shown,
                t,
                lo=q.dates.lo,
                hi=q.dates.hi,
                selected=q.dates.selected,
            )
        )
    elif step == "format":
        body = t("courses.ask_format")
        chosen = course.format if course else draft.format
        rows.extend(_choices(t, "course_format", svc.FORMATS, FormatPick, chosen))
    elif step == "blocks":
        body = t("courses.ask_blocks")
        marks = [
            button(("✅ " if b in q.ticked else "") + t(f"block.{b}"), BlockToggle(index=i))
            for i, b in enumerate(svc.BLOCKS)
        ]
        rows.extend(grid(marks, 1))
        rows.append([button(t("courses.done"), BlocksDone())])
    elif step in ("certificate_number", "certificate"):
        body = t("courses.ask_number" if step == "certificate_number" else "courses.ask_file")
        if course is None:
            rows.append([button(t("courses.skip"), StepSkip())])
        elif step == "certificate_number" and course.certificate_number:
            current = esc(course.certificate_number)
            rows.append([button(t("courses.remove"), StepSkip())])
        elif step == "certificate" and course.certificate is not None:
            current = file_label(t, course.certificate)
            rows.append([button(t("courses.remove"), StepSkip())])
    elif step == "confirm":
        body = t("courses.summary") + "\n\n" + details(CourseCard.of_draft(draft), t)
        rows.append([button(t("courses.save"), CourseSave())])
    else:  # pragma: no cover - the states are a closed list
        raise ValueError(step)
    if current:
        body += "\n\n" + t("courses.current", value=current)
    if step == "att":
        rows.append([button(t("courses.back_to_list"), CourseList())])
    elif course is not None:
        rows.append([button(t("courses.back_to_course"), CourseOpen(course=course.id))])
    else:
        back = [button(t("courses.step_back"), CourseStepBack())] if step != "title" else []
        rows.append([*back, button(t("courses.cancel"), CourseCancel())])
    rows.append([menu_button(t)])
    return Screen("\n\n".join([*head, body]), markup(rows))
