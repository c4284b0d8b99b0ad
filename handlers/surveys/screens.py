"""Questionnaire screens: pure functions of the view models in :mod:`services.surveys`."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from aiogram.types import InlineKeyboardButton

from bot.i18n import Translator
from handlers.common import Screen, button, button_with_data, esc, markup, split_text
from handlers.home.callbacks import MenuCB
from handlers.home.screens import main_menu, menu_button
from handlers.mentoring.callbacks import RequestFromSurvey
from handlers.route.callbacks import RouteBuild
from handlers.surveys.callbacks import (
    AnswerCB,
    BackCB,
    DoneCB,
    PauseCB,
    ResultCB,
    SkipCB,
    SurveyBegin,
    SurveyOpen,
    TickCB,
)
from services.people import MenuView
from services.surveys import HistoryItem, Intro, QuestionView, Refusal, ResultsView, SurveyList
from surveys.schema import QuestionType

SHORT_SCALE_LABEL = 6  # scale and yes/no options this short share one row


def fmt_score(value: float) -> str:
    text = f"{value:.1f}".replace(".", ",")
    return text.removesuffix(",0")


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def refusal(exc: Refusal, t: Translator) -> str:
    params = {k: t.date(v) if isinstance(v, date | datetime) else v for k, v in exc.params.items()}
    return t(exc.code, **params)


def survey_list(view: SurveyList, t: Translator) -> Screen:
    lines = [t("survey.list_title")]
    rows: list[list[InlineKeyboardButton]] = []
    for item in view.items:
        title = esc(item.title)
        if item.status == "in_progress":
            lines.append(t("survey.line_in_progress", title=title))
            label = t("survey.continue", button=esc(item.button))
            rows.append([button(label, SurveyOpen(instrument=item.instrument_id))])
        elif item.status == "wait" and item.when is not None:
            lines.append(t("survey.line_wait", title=title, date=t.date(item.when)))
        else:
            if item.status == "again" and item.when is not None:
                lines.append(t("survey.line_done_before", title=title, date=t.date(item.when)))
            else:
                lines.append(t("survey.line_new", title=title))
            rows.append([button(item.button, SurveyOpen(instrument=item.instrument_id))])
    rows.append([menu_button(t)])
    return Screen("\n\n".join(lines), markup(rows))


def intro(view: Intro, t: Translator) -> Screen:
    inst = view.instrument
    text = f"<b>{esc(inst.title)}</b>\n\n{esc(inst.intro)}"
    if inst.private:
        text += "\n\n" + t("survey.private_note")
    text += "\n\n" + t("survey.intro_count", count=len(inst.questions))
    return Screen(
        text,
        markup(
            [
                [button(t("survey.begin"), SurveyBegin(instrument=inst.id))],
                [button(t("survey.back_to_list"), MenuCB(to="surveys")), menu_button(t)],
            ]
        ),
    )


def _option_rows(view: QuestionView) -> list[list[InlineKeyboardButton]]:
    q = view.question
    options = view.instrument.options(q)
    selected = view.selected
    chosen = (
        set(selected)
        if isinstance(selected, list)
        else ({selected} if selected is not None else set())
    )
    multi = q.type == QuestionType.MULTI
    buttons = [
        button(
            (
                ("☑️ " if opt.value in chosen else "⬜ ")
                if multi
                else ("• " if opt.value in chosen else "")
            )
            + opt.label,
            (TickCB if multi else AnswerCB)(attempt=view.attempt_id, question=view.index, option=i),
        )
        for i, opt in enumerate(options)
    ]
    one_row = q.type in (QuestionType.SCALE, QuestionType.YESNO) and all(
        len(o.label) <= SHORT_SCALE_LABEL for o in options
    )
    return [buttons] if one_row else [[b] for b in buttons]


# A question looks the same to every teacher at the same place of the same questionnaire,
# but for the attempt id in its buttons (always their first field). So it is drawn once per
# place, state and language with a placeholder id, and each tap gets a copy with its own id:
# a fraction of drawing it. tests/test_survey_screens.py compares copies with drawings.
_PLACEHOLDER = 0
_Template = list[list[tuple[str, str, str]]]  # rows of (text, data before the id, after it)
_DRAWN: dict[tuple[object, ...], tuple[Screen, _Template | None]] = {}
_DRAWN_LIMIT = 4096  # places × states × languages kept; beyond it, drawn afresh


def question(view: QuestionView, t: Translator) -> Screen:
    """The question screen of ``view`` (see :func:`draw_question`)."""
    inst = view.instrument
    selected = tuple(view.selected) if isinstance(view.selected, list) else view.selected
    earlier = tuple(view.earlier) if isinstance(view.earlier, list) else view.earlier
    key = (
        t.language,
        inst.id,
        inst.version,
        view.index,
        view.number,
        view.total,
        selected,
        earlier,
        view.can_go_back,
        view.section_intro,
        view.notice,
    )
    found = _DRAWN.get(key)
    if found is None:
        drawn = draw_question(replace(view, attempt_id=_PLACEHOLDER), t)
        if len(_DRAWN) >= _DRAWN_LIMIT:
            _DRAWN.clear()
        found = _DRAWN[key] = (drawn, _template(drawn))
    drawn, template = found
    if view.attempt_id == _PLACEHOLDER or template is None:
        return drawn
    attempt = str(view.attempt_id)
    rows = [
        [button_with_data(text, head + attempt + tail) for text, head, tail in row]
        for row in template
    ]
    return Screen(drawn.text, markup(rows))


def _template(drawn: Screen) -> _Template | None:
    """The buttons of a drawing, each one's data cut around the placeholder id (its first
    field), so a copy joins three strings per button."""
    if drawn.keyboard is None:
        return None
    rows: _Template = []
    for row in drawn.keyboard.inline_keyboard:
        cells = []
        for b in row:
            prefix, _placeholder, *rest = (b.callback_data or "").split(":")
            cells.append((b.text, prefix + ":", "".join(":" + r for r in rest)))
        rows.append(cells)
    return rows


def draw_question(view: QuestionView, t: Translator) -> Screen:
    inst, q = view.instrument, view.question
    at = {"attempt": view.attempt_id, "question": view.index}
    parts = [
        *([t(view.notice), ""] if view.notice else []),
        f"<b>{esc(inst.title)}</b> · {esc(inst.section_of(q.id).title)}",
        t("survey.progress", n=view.number, total=view.total),
        "",
    ]
    if view.section_intro:
        parts += [f"<i>{esc(view.section_intro)}</i>", ""]
    parts.append(esc(q.text))
    if q.hint:
        parts.append(f"<i>{esc(q.hint)}</i>")
    rows: list[list[InlineKeyboardButton]] = []
    if q.type == QuestionType.MULTI:
        limits = (
            t("survey.multi_hint_max", max=q.max_choices)
            if q.max_choices
            else t("survey.multi_hint")
        )
        parts.append(f"<i>{limits}</i>")
    if view.typed:
        hint_key = "survey.type_number" if q.type == QuestionType.NUMBER else "survey.type_text"
        parts.append(
            "<i>" + t(hint_key, min=_num(q.min), max=_num(q.max), length=q.max_length) + "</i>"
        )
        if view.earlier is not None:
            parts.append(t("survey.current_answer", value=esc(str(view.earlier))))
    else:
        rows.extend(_option_rows(view))
        if q.type == QuestionType.MULTI:
            rows.append([button(t("survey.done"), DoneCB(**at))])
    nav: list[InlineKeyboardButton] = []
    if view.can_go_back:
        nav.append(button(t("survey.back"), BackCB(**at)))
    if not q.required:
        nav.append(button(t("survey.skip"), SkipCB(**at)))
    rows.append(nav)
    rows.append([button(t("survey.pause"), PauseCB(**at))])
    return Screen("\n".join(parts), markup(rows))


def paused(title: str, menu: MenuView, t: Translator) -> Screen:
    return main_menu(menu, t, notice=t("survey.paused", title=esc(title)))


def result_blocks(view: ResultsView, t: Translator) -> list[str]:
    when = t.date(view.completed_at) if view.completed_at else ""
    blocks = [t("survey.results_title", title=esc(view.title), date=when)]
    for line in view.lines:
        if line.score is None:
            blocks.append(
                t(
                    "survey.scale_no_score",
                    scale=esc(line.block or line.title),
                    answered=line.answered,
                    need=line.need,
                )
            )
            continue
        unit = " %" if line.percent else ""
        if line.block is not None:
            # a deficits block says what its number is: the share mastered, by self-assessment
            text = t(
                "survey.block_line",
                block=esc(line.block),
                score=fmt_score(line.score) + unit,
                band=esc(line.band[:1].lower() + line.band[1:]),
            )
        else:
            text = t(
                "survey.scale_line",
                scale=esc(line.title),
                score=fmt_score(line.score) + unit,
                band=esc(line.band),
            )
        if line.previous is not None:
            delta = line.score - line.previous
            sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
            text += "\n" + t(
                "survey.scale_change",
                before=fmt_score(line.previous) + unit,
                delta=f"{sign}{fmt_score(abs(delta))}",
            )
        if line.band:
            text += "\n" + esc(line.interpretation)
            if line.recommendation:
                text += "\n" + t("survey.recommendation", text=esc(line.recommendation))
        blocks.append(text)
    if view.note:
        blocks.append(f"<i>{esc(view.note)}</i>")
    if view.private:
        blocks.append(t("survey.private_note"))
    if view.just_completed and not view.has_scales:
        blocks.append(t("survey.thanks_no_scales"))
    return blocks


def results(view: ResultsView, t: Translator, lead: str | None = None) -> list[Screen]:
    """Results as messages under Telegram's limit (``lead`` opens the first); the last one
    carries the buttons."""
    if view.just_completed:
        rows = [
            [button(t("menu.results"), MenuCB(to="results"))],
            [button(t("menu.surveys"), MenuCB(to="surveys"))],
            [menu_button(t)],
        ]
        if view.kind == "deficits":
            rows = [[button(t("route.build_from_results"), RouteBuild())], *rows]
        if view.wants_mentor:
            ask = button(t("mentoring.want_mentor"), RequestFromSurvey(attempt=view.attempt_id))
            rows = [[ask], *rows]
    else:
        rows = [[button(t("results.back"), MenuCB(to="results"))], [menu_button(t)]]
    blocks = result_blocks(view, t)
    texts = split_text([lead, *blocks] if lead else blocks)
    return [
        Screen(text, markup(rows) if i == len(texts) - 1 else None) for i, text in enumerate(texts)
    ]


def history(items: tuple[HistoryItem, ...], t: Translator) -> Screen:
    if not items:
        return Screen(
            t("results.empty"),
            markup([[button(t("menu.surveys"), MenuCB(to="surveys"))], [menu_button(t)]]),
        )
    rows = [
        [
            button(
                f"{t.date(a.completed_at) if a.completed_at else ''} · {a.button}",
                ResultCB(attempt=a.attempt_id),
            )
        ]
        for a in items
    ]
    rows.append([menu_button(t)])
    return Screen(t("results.title"), markup(rows))
