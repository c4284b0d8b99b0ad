"""The questionnaire engine: which question comes next, skip logic, answer validation.

Pure functions over an :class:`Instrument` and a mapping ``question id -> answer``. A key
present with ``None`` means the question was skipped («Пропустить»).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from surveys.schema import AnswerValue, Instrument, OptionValue, Question, QuestionType

Answers = Mapping[str, AnswerValue]


class AnswerError(ValueError):
    """A typed answer that does not fit the question; ``code`` names a locale text."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def is_visible(question: Question, answers: Answers) -> bool:
    return all(c.holds(answers.get(c.question), c.question in answers) for c in question.show_if)


def visible_questions(instrument: Instrument, answers: Answers) -> list[Question]:
    """Questions shown for these answers, in order (a condition only looks backwards).

    A condition sees only answers to questions that are themselves visible, so hiding a
    question also hides the questions that depend on it (an answer left over from before
    «Назад» does not keep them on screen).
    """
    if not instrument.conditional:
        return list(instrument.questions)
    shown: list[Question] = []
    seen: dict[str, AnswerValue] = {}
    for q in instrument.questions:
        if is_visible(q, seen):
            shown.append(q)
            if q.id in answers:
                seen[q.id] = answers[q.id]
    return shown


def effective_answers(instrument: Instrument, answers: Answers) -> dict[str, AnswerValue]:
    """Answers to the questions that are visible now; answers to hidden ones don't count."""
    return {q.id: answers[q.id] for q in visible_questions(instrument, answers) if q.id in answers}


def next_question(
    instrument: Instrument, answers: Answers, after: str | None = None
) -> Question | None:
    """The first unanswered visible question after ``after`` (or from the start).

    Having edited an earlier answer via «Назад», the teacher goes on to the first question
    still without an answer, so nothing already answered is asked twice.
    """
    visible = visible_questions(instrument, answers)
    if after is not None:
        pos = instrument.index_of(after)
        for q in visible:
            if q.id not in answers and instrument.index_of(q.id) > pos:
                return q
    for q in visible:
        if q.id not in answers:
            return q
    return None


def previous_question(
    instrument: Instrument, answers: Answers, current: str | None
) -> Question | None:
    """The visible question before ``current`` (``None`` = after the last one)."""
    if current is None:
        visible = visible_questions(instrument, answers)
        return visible[-1] if visible else None
    pos = instrument.index_of(current)
    if not instrument.conditional:
        return instrument.questions[pos - 1] if pos > 0 else None
    earlier = [q for q in visible_questions(instrument, answers) if instrument.index_of(q.id) < pos]
    return earlier[-1] if earlier else None


def is_complete(instrument: Instrument, answers: Answers) -> bool:
    return next_question(instrument, answers) is None


@dataclass(frozen=True)
class Progress:
    number: int
    total: int


def possible_questions(instrument: Instrument, answers: Answers) -> list[Question]:
    """Questions shown for these answers, and the later ones that may still be shown: a
    question whose condition looks at a question not answered yet (or itself uncertain)
    counts, since its answer is not known. Answering can only take questions away, so a
    count of these never grows while the teacher goes forward."""
    if not instrument.conditional:
        return list(instrument.questions)
    shown: list[Question] = []
    seen: dict[str, AnswerValue] = {}
    unknown: set[str] = set()
    for q in instrument.questions:
        uncertain = any(c.question in unknown for c in q.show_if)
        if not all(
            c.question in unknown or c.holds(seen.get(c.question), c.question in seen)
            for c in q.show_if
        ):
            continue
        shown.append(q)
        if not uncertain and q.id in answers:
            seen[q.id] = answers[q.id]
        else:
            unknown.add(q.id)
    return shown


def progress(instrument: Instrument, answers: Answers, current: str) -> Progress:
    """«Вопрос N из M»: N among the questions shown so far, M counting the questions that
    can still be shown (:func:`possible_questions`), so M does not grow mid-way (it shrinks
    when an answer hides a later question)."""
    if not instrument.conditional:
        return Progress(number=instrument.index_of(current) + 1, total=len(instrument.questions))
    possible = [q.id for q in possible_questions(instrument, answers)]
    if current not in possible:
        possible.append(current)
        possible.sort(key=instrument.index_of)
    return Progress(number=possible.index(current) + 1, total=len(possible))


_NUMBER = re.compile(r"^[+-]?\d{1,12}([.,]\d{1,6})?$")


def parse_typed(question: Question, text: str) -> AnswerValue:
    """Validate a typed answer to a number or text question; raises :class:`AnswerError`."""
    text = text.strip()
    if question.type == QuestionType.NUMBER:
        compact = text.replace(" ", "").replace("\u00a0", "")
        if not _NUMBER.match(compact):
            raise AnswerError("survey.error.not_number")
        value = float(compact.replace(",", "."))
        if question.integer and not value.is_integer():
            raise AnswerError("survey.error.not_integer")
        if question.min is not None and value < question.min:
            raise AnswerError("survey.error.too_small", min=_fmt(question.min))
        if question.max is not None and value > question.max:
            raise AnswerError("survey.error.too_large", max=_fmt(question.max))
        return int(value) if question.integer else value
    if question.type == QuestionType.TEXT:
        if not text:
            raise AnswerError("survey.error.empty_text")
        if len(text) > question.max_length:
            raise AnswerError("survey.error.too_long", max=question.max_length, got=len(text))
        return text
    raise AnswerError("survey.error.use_buttons")


def option_value(instrument: Instrument, question: Question, index: int) -> OptionValue:
    options = instrument.options(question)
    if not 0 <= index < len(options):
        raise AnswerError("survey.error.stale")
    return options[index].value


def toggle(
    instrument: Instrument, question: Question, current: list[OptionValue], index: int
) -> list[OptionValue]:
    """A multiple-choice tap: add or remove an option, kept in the options' order."""
    value = option_value(instrument, question, index)
    chosen = set(current)
    if value in chosen:
        chosen.discard(value)
    else:
        if question.max_choices is not None and len(chosen) >= question.max_choices:
            raise AnswerError("survey.error.too_many", max=question.max_choices)
        chosen.add(value)
    return [o.value for o in instrument.options(question) if o.value in chosen]


def check_multi(question: Question, chosen: list[OptionValue]) -> None:
    if len(chosen) < question.min_choices:
        raise AnswerError("survey.error.too_few", min=question.min_choices)


def _fmt(x: float) -> str:
    return f"{x:g}"
