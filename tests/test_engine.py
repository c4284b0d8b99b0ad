"""The questionnaire engine: order, skip logic, progress, typed answers, multiple choice."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.engine import (
    AnswerError,
    check_multi,
    effective_answers,
    is_complete,
    is_visible,
    next_question,
    option_value,
    parse_typed,
    previous_question,
    progress,
    toggle,
    visible_questions,
)
from surveys.loader import load_instruments
from surveys.schema import Instrument, Question, QuestionType

INSTRUMENT = Instrument.model_validate(
    {
        "id": "engine",
        "version": 1,
        "title": "Проверка движка",
        "button": "Проверка",
        "intro": "Анкета для тестов.",
        "sources": ["тест"],
        "sections": [
            {
                "id": "first",
                "title": "Первый раздел",
                "questions": [
                    {
                        "id": "role",
                        "type": "single",
                        "text": "Ваша должность?",
                        "options": [
                            {"value": "teacher", "label": "Учитель"},
                            {"value": "methodist", "label": "Методист"},
                            {"value": "other", "label": "Другое"},
                        ],
                    },
                    {
                        "id": "subjects",
                        "type": "multi",
                        "text": "Какие предметы вы ведёте?",
                        "min_choices": 1,
                        "max_choices": 2,
                        "show_if": {"question": "role", "in": ["teacher"]},
                        "options": [
                            {"value": "math", "label": "Математика"},
                            {"value": "rus", "label": "Русский язык"},
                            {"value": "hist", "label": "История"},
                            {"value": "bio", "label": "Биология"},
                        ],
                    },
                    {
                        "id": "math_hours",
                        "type": "number",
                        "text": "Сколько часов математики в неделю?",
                        "min": 1,
                        "max": 40,
                        "show_if": {"question": "subjects", "equals": "math"},
                    },
                    {
                        "id": "not_methodist",
                        "type": "text",
                        "text": "Что вам мешает?",
                        "max_length": 20,
                        "show_if": {"question": "role", "not_in": ["methodist"]},
                    },
                ],
            },
            {
                "id": "second",
                "title": "Второй раздел",
                "questions": [
                    {"id": "mentor", "type": "yesno", "text": "Нужен наставник?"},
                    {
                        "id": "comment",
                        "type": "text",
                        "text": "Комментарий",
                        "required": False,
                        "show_if": {"question": "mentor", "answered": True},
                    },
                    {
                        "id": "no_mentor_reason",
                        "type": "text",
                        "text": "Почему не ответили?",
                        "required": False,
                        "show_if": {"question": "mentor", "answered": False},
                    },
                    {
                        "id": "rating",
                        "type": "number",
                        "text": "Оценка от -5 до 5 (можно дробную)",
                        "integer": False,
                        "min": -5,
                        "max": 5,
                    },
                ],
            },
        ],
    }
)


def q(question_id: str, instrument: Instrument = INSTRUMENT) -> Question:
    return instrument.question(question_id)


def ids(questions: list[Question]) -> list[str]:
    return [x.id for x in questions]


def next_id(answers: dict[str, Any], after: str | None = None) -> str | None:
    found = next_question(INSTRUMENT, answers, after=after)
    return found.id if found else None


def prev_id(answers: dict[str, Any], current: str | None) -> str | None:
    found = previous_question(INSTRUMENT, answers, current)
    return found.id if found else None


# ---------------------------------------------------------------- next / previous


def test_next_question_from_the_start() -> None:
    assert next_id({}) == "role"


def test_next_question_follows_the_answers() -> None:
    answers: dict[str, Any] = {"role": "teacher"}
    assert next_id(answers) == "subjects"
    answers["subjects"] = ["rus"]
    # math_hours is hidden: no math chosen
    assert next_id(answers) == "not_methodist"
    answers["subjects"] = ["math", "rus"]
    assert next_id(answers) == "math_hours"


def test_methodist_skips_teacher_questions() -> None:
    answers = {"role": "methodist"}
    assert next_id(answers) == "mentor"


def test_skipped_question_counts_as_answered() -> None:
    answers = {"role": "other", "not_methodist": None}
    assert next_id(answers) == "mentor"


def test_next_question_after_editing_goes_to_first_unanswered() -> None:
    answers = {"role": "teacher", "subjects": ["rus"], "not_methodist": "нагрузка"}
    # teacher went back to «subjects» and now chose math: the next is the newly opened one
    answers["subjects"] = ["math"]
    assert next_id(answers, after="subjects") == "math_hours"
    answers["math_hours"] = 5
    # nothing answered is asked twice: straight on to the second section
    assert next_id(answers, after="math_hours") == "mentor"


def test_next_question_after_wraps_to_an_earlier_gap() -> None:
    answers = {"role": "teacher", "mentor": "no", "rating": 1}
    # everything after «rating» is answered, «subjects» earlier is not
    assert next_id(answers, after="rating") == "subjects"


def test_complete_when_every_visible_question_is_answered() -> None:
    answers: dict[str, Any] = {"role": "methodist", "mentor": "yes", "comment": None}
    assert not is_complete(INSTRUMENT, answers)
    answers["rating"] = 0
    assert is_complete(INSTRUMENT, answers)
    assert next_question(INSTRUMENT, answers) is None


def test_previous_question() -> None:
    answers = {"role": "methodist", "mentor": "yes"}
    assert prev_id(answers, "mentor") == "role"
    assert prev_id(answers, "comment") == "mentor"
    assert prev_id(answers, "role") is None
    # after the last question: the last visible one
    assert prev_id(answers, None) == "rating"


def test_previous_question_skips_hidden() -> None:
    answers = {"role": "teacher", "subjects": ["rus"], "not_methodist": "x"}
    assert prev_id(answers, "not_methodist") == "subjects"
    answers["subjects"] = ["math"]
    assert prev_id(answers, "not_methodist") == "math_hours"


# ---------------------------------------------------------------- show_if


@pytest.mark.parametrize(
    ("answers", "visible"),
    [
        ({}, False),
        ({"role": None}, False),
        ({"role": "teacher"}, True),
        ({"role": "methodist"}, False),
        ({"role": "other"}, False),
    ],
)
def test_show_if_in(answers: dict[str, Any], visible: bool) -> None:
    assert is_visible(q("subjects"), answers) is visible


@pytest.mark.parametrize(
    ("subjects", "visible"),
    [(["math"], True), (["rus", "math"], True), (["rus"], False), ([], False), (None, False)],
)
def test_show_if_equals_on_multiple_choice(subjects: list[str] | None, visible: bool) -> None:
    answers = {"role": "teacher", "subjects": subjects}
    assert is_visible(q("math_hours"), answers) is visible


@pytest.mark.parametrize(
    ("answers", "visible"),
    [
        ({"role": "teacher"}, True),
        ({"role": "other"}, True),
        ({"role": "methodist"}, False),
        ({"role": None}, False),  # a skipped answer matches no value
        ({}, False),
    ],
)
def test_show_if_not_in(answers: dict[str, Any], visible: bool) -> None:
    assert is_visible(q("not_methodist"), answers) is visible


@pytest.mark.parametrize(
    ("answers", "comment", "reason"),
    [
        ({"mentor": "yes"}, True, False),
        ({"mentor": "no"}, True, False),
        ({"mentor": None}, False, True),
        ({}, False, True),
    ],
)
def test_show_if_answered(answers: dict[str, Any], comment: bool, reason: bool) -> None:
    assert is_visible(q("comment"), answers) is comment
    assert is_visible(q("no_mentor_reason"), answers) is reason


def test_hidden_answers_do_not_count() -> None:
    answers = {"role": "methodist", "subjects": ["math"], "math_hours": 5, "mentor": "yes"}
    effective = effective_answers(INSTRUMENT, answers)
    assert effective == {"role": "methodist", "mentor": "yes"}


def test_hiding_a_question_hides_its_dependants() -> None:
    # teacher chose math, answered math_hours, then went back and became a methodist:
    # «subjects» is hidden, so «math_hours» (which depends on it) is hidden too.
    answers = {"role": "methodist", "subjects": ["math"], "math_hours": 5}
    visible = ids(visible_questions(INSTRUMENT, answers))
    assert "subjects" not in visible
    assert "math_hours" not in visible
    assert "math_hours" not in effective_answers(INSTRUMENT, answers)


def test_young_mentor_areas_only_when_mentor_needed() -> None:
    young = load_instruments()["young"]
    areas = young.question("mentor_areas")
    assert is_visible(areas, {"need_mentor": "yes"})
    assert not is_visible(areas, {"need_mentor": "no"})
    assert not is_visible(areas, {"need_mentor": None})
    assert not is_visible(areas, {})


# ---------------------------------------------------------------- progress


def test_progress_counts_questions_that_can_still_be_shown() -> None:
    # methodist: role, mentor, then comment or no_mentor_reason (either may still come:
    # «mentor» is not answered yet), rating
    p = progress(INSTRUMENT, {"role": "methodist"}, "mentor")
    assert (p.number, p.total) == (2, 5)
    p = progress(INSTRUMENT, {"role": "methodist", "mentor": "yes"}, "comment")
    assert (p.number, p.total) == (3, 4)
    teacher = {"role": "teacher", "subjects": ["math"]}
    p = progress(INSTRUMENT, teacher, "math_hours")
    assert (p.number, p.total) == (3, 8)


def test_progress_total_never_grows_going_forward() -> None:
    """«Вопрос 1 из 16» must not become «из 18» later: the total starts at what can be shown
    and only shrinks when an answer hides a question."""
    answers: dict[str, object] = {}
    path = [
        ("role", "teacher"),
        ("subjects", ["rus"]),
        ("not_methodist", "время"),
        ("mentor", "no"),
        ("comment", None),
        ("rating", 1),
    ]
    totals = []
    for number, (question, value) in enumerate(path, start=1):
        p = progress(INSTRUMENT, answers, question)
        assert p.number == number
        totals.append(p.total)
        answers[question] = value
    assert totals == sorted(totals, reverse=True)
    assert totals[0] == len(INSTRUMENT.questions)
    assert totals[-1] == len(path)


def test_progress_for_a_question_not_yet_visible() -> None:
    p = progress(INSTRUMENT, {"role": "methodist"}, "subjects")
    assert p.number == 2
    assert p.total == 6


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_progress_never_grows_on_random_paths(data: st.DataObject) -> None:
    """Whatever the answers, going forward never raises «из M» and N counts up by one."""
    answers: dict[str, object] = {}
    last_total = None
    number = 0
    while (q := next_question(INSTRUMENT, answers)) is not None:
        p = progress(INSTRUMENT, answers, q.id)
        number += 1
        assert p.number == number
        if last_total is not None:
            assert p.total <= last_total
        last_total = p.total
        options = INSTRUMENT.options(q)
        if q.type == QuestionType.MULTI:
            value: object = data.draw(
                st.lists(
                    st.sampled_from([o.value for o in options]), min_size=1, max_size=2, unique=True
                )
            )
        elif options:
            value = data.draw(st.sampled_from([o.value for o in options]))
        elif q.type == QuestionType.NUMBER:
            value = 1
        else:
            value = data.draw(st.sampled_from(["текст", None]))
        answers[q.id] = value
    assert last_total == number


# ---------------------------------------------------------------- typed answers


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", 12), (" 7 ", 7), ("3,0", 3), ("3.0", 3), ("40", 40), ("1", 1), ("+5", 5)],
)
def test_parse_integer(text: str, value: int) -> None:
    result = parse_typed(q("math_hours"), text)
    assert result == value
    assert isinstance(result, int)


@pytest.mark.parametrize(("text", "value"), [("2,5", 2.5), ("-4.25", -4.25), ("0", 0.0)])
def test_parse_decimal_with_comma(text: str, value: float) -> None:
    assert parse_typed(q("rating"), text) == value


def test_parse_number_with_thousands_space() -> None:
    wide = INSTRUMENT.question("math_hours").model_copy(update={"max": 10_000})
    assert parse_typed(wide, "1 500") == 1500
    assert parse_typed(wide, "1\u00a0500") == 1500


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("2,5", "survey.error.not_integer"),
        ("abc", "survey.error.not_number"),
        ("", "survey.error.not_number"),
        ("   ", "survey.error.not_number"),
        ("1e3", "survey.error.not_number"),
        ("5 часов", "survey.error.not_number"),
        ("1,2,3", "survey.error.not_number"),
        ("0", "survey.error.too_small"),
        ("-3", "survey.error.too_small"),
        ("41", "survey.error.too_large"),
        ("1000000", "survey.error.too_large"),
    ],
)
def test_parse_number_errors(text: str, code: str) -> None:
    with pytest.raises(AnswerError) as exc:
        parse_typed(q("math_hours"), text)
    assert exc.value.code == code


def test_parse_number_error_params() -> None:
    with pytest.raises(AnswerError) as exc:
        parse_typed(q("math_hours"), "41")
    assert exc.value.params == {"max": "40"}
    with pytest.raises(AnswerError) as exc:
        parse_typed(q("rating"), "-5,5")
    assert exc.value.code == "survey.error.too_small"
    assert exc.value.params == {"min": "-5"}


def test_parse_text() -> None:
    assert parse_typed(q("not_methodist"), "  нагрузка  ") == "нагрузка"
    assert parse_typed(q("not_methodist"), "x" * 20) == "x" * 20


def test_parse_text_empty() -> None:
    with pytest.raises(AnswerError) as exc:
        parse_typed(q("not_methodist"), " \n ")
    assert exc.value.code == "survey.error.empty_text"


def test_parse_text_too_long() -> None:
    with pytest.raises(AnswerError) as exc:
        parse_typed(q("not_methodist"), "x" * 21)
    assert exc.value.code == "survey.error.too_long"
    assert exc.value.params == {"max": 20, "got": 21}


@pytest.mark.parametrize("question_id", ["role", "subjects", "mentor"])
def test_typing_into_a_choice_question(question_id: str) -> None:
    with pytest.raises(AnswerError) as exc:
        parse_typed(q(question_id), "1")
    assert exc.value.code == "survey.error.use_buttons"


# ---------------------------------------------------------------- multiple choice


def test_toggle_adds_and_removes_in_option_order() -> None:
    subjects = q("subjects")
    chosen = toggle(INSTRUMENT, subjects, [], 2)
    assert chosen == ["hist"]
    chosen = toggle(INSTRUMENT, subjects, chosen, 0)
    assert chosen == ["math", "hist"]
    chosen = toggle(INSTRUMENT, subjects, chosen, 2)
    assert chosen == ["math"]


def test_toggle_respects_max_choices() -> None:
    subjects = q("subjects")
    with pytest.raises(AnswerError) as exc:
        toggle(INSTRUMENT, subjects, ["math", "rus"], 2)
    assert exc.value.code == "survey.error.too_many"
    assert exc.value.params == {"max": 2}
    # removing is always allowed
    assert toggle(INSTRUMENT, subjects, ["math", "rus"], 1) == ["math"]


@pytest.mark.parametrize("index", [-1, 4, 99])
def test_stale_button(index: int) -> None:
    with pytest.raises(AnswerError) as exc:
        toggle(INSTRUMENT, q("subjects"), [], index)
    assert exc.value.code == "survey.error.stale"
    with pytest.raises(AnswerError):
        option_value(INSTRUMENT, q("role"), index)


def test_option_value_for_yesno() -> None:
    assert option_value(INSTRUMENT, q("mentor"), 0) == "yes"
    assert option_value(INSTRUMENT, q("mentor"), 1) == "no"


def test_check_multi() -> None:
    subjects = q("subjects")
    with pytest.raises(AnswerError) as exc:
        check_multi(subjects, [])
    assert exc.value.code == "survey.error.too_few"
    assert exc.value.params == {"min": 1}
    check_multi(subjects, ["math"])  # no error


def test_young_mentor_areas_limits() -> None:
    young = load_instruments()["young"]
    areas = young.question("mentor_areas")
    chosen = toggle(young, areas, [], 0)
    chosen = toggle(young, areas, chosen, 1)
    chosen = toggle(young, areas, chosen, 2)
    assert len(chosen) == 3
    with pytest.raises(AnswerError):
        toggle(young, areas, chosen, 3)
    with pytest.raises(AnswerError):
        check_multi(areas, [])


def test_support_forms_accept_nothing_ticked() -> None:
    """«Какую поддержку вы уже получаете?»: nothing of these is an answer, not an error."""
    young = load_instruments()["young"]
    forms = young.question("support_forms")
    check_multi(forms, [])  # no error
    assert toggle(young, forms, [], 0) == ["mentor"]
    answers = {q.id: 0 for q in young.questions if q.id in young.scales[0].items}
    answers |= {"class_teacher": "yes", "education": "higher_ped"}
    assert next_question(young, {**answers, "support_forms": []}, after="support_forms") == (
        young.question("social_support")
    )


# ---------------------------------------------------------------- properties

NUMBER_LIKE = st.from_regex(r"\A[ +-]?\d{0,14}([.,]\d{0,8})?\s?\Z", fullmatch=True)
TYPED_QUESTIONS = [q("math_hours"), q("rating"), q("not_methodist")]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    question=st.sampled_from(TYPED_QUESTIONS),
    text=st.one_of(st.text(), NUMBER_LIKE),
)
def test_parse_typed_returns_valid_value_or_answer_error(question: Question, text: str) -> None:
    try:
        value = parse_typed(question, text)
    except AnswerError as exc:
        assert exc.code.startswith("survey.error.")
        return
    if question.type == QuestionType.NUMBER:
        assert isinstance(value, int | float) and not isinstance(value, bool)
        if question.integer:
            assert isinstance(value, int)
        assert question.min is None or value >= question.min
        assert question.max is None or value <= question.max
    else:
        assert isinstance(value, str)
        assert value == value.strip()
        assert 1 <= len(value) <= question.max_length


def answer_strategy(instrument: Instrument, question: Question) -> st.SearchStrategy[Any]:
    """Any answer a question can hold (including a skip) — or a value for another branch."""
    if question.type == QuestionType.MULTI:
        values = [o.value for o in instrument.options(question)]
        valid: st.SearchStrategy[Any] = st.lists(st.sampled_from(values), unique=True)
    elif question.type in (QuestionType.SINGLE, QuestionType.SCALE, QuestionType.YESNO):
        valid = st.sampled_from([o.value for o in instrument.options(question)])
    elif question.type == QuestionType.NUMBER:
        valid = st.integers(min_value=-10, max_value=50)
    else:
        valid = st.text(max_size=5)
    return st.one_of(st.none(), valid)


def answers_strategy(instrument: Instrument) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={x.id: answer_strategy(instrument, x) for x in instrument.questions},
    )


def check_next_question(instrument: Instrument, answers: dict[str, Any], after: str | None) -> None:
    nxt = next_question(instrument, answers, after=after)
    visible = visible_questions(instrument, answers)
    if nxt is None:
        assert all(x.id in answers for x in visible)
        return
    assert nxt.id not in answers
    assert nxt in visible
    assert is_visible(nxt, effective_answers(instrument, answers))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_next_question_is_never_answered_or_hidden(data: st.DataObject) -> None:
    answers = data.draw(answers_strategy(INSTRUMENT))
    after = data.draw(st.one_of(st.none(), st.sampled_from(ids(INSTRUMENT.questions))))
    check_next_question(INSTRUMENT, answers, after)


YOUNG = load_instruments()["young"]


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_next_question_on_the_young_survey(data: st.DataObject) -> None:
    answers = data.draw(answers_strategy(YOUNG))
    after = data.draw(st.one_of(st.none(), st.sampled_from(ids(YOUNG.questions))))
    check_next_question(YOUNG, answers, after)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_answering_in_order_reaches_the_end(data: st.DataObject) -> None:
    """Answering whatever comes next always finishes within the number of questions."""
    answers: dict[str, Any] = {}
    for _ in range(len(INSTRUMENT.questions) + 1):
        nxt = next_question(INSTRUMENT, answers)
        if nxt is None:
            break
        answers[nxt.id] = data.draw(answer_strategy(INSTRUMENT, nxt))
    assert is_complete(INSTRUMENT, answers)


UNCONDITIONAL = [i for i in load_instruments().values() if not i.conditional]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_shortcut_for_instruments_without_conditions_agrees_with_the_general_rule(
    data: st.DataObject,
) -> None:
    """An instrument without ``show_if`` takes a shortcut (every question shown, progress by
    position); the general rule, applied to the same instrument, gives the same answers."""
    inst = data.draw(st.sampled_from(UNCONDITIONAL))
    general = inst.model_copy()
    general.__dict__["conditional"] = True  # the same questions, through the general rule
    assert not inst.conditional and general.conditional
    ids = [q.id for q in inst.questions]
    answered = data.draw(st.lists(st.sampled_from(ids), unique=True))
    answers: dict[str, Any] = dict.fromkeys(answered, "x")
    current = data.draw(st.sampled_from(ids))
    assert visible_questions(inst, answers) == visible_questions(general, answers)
    assert next_question(inst, answers) == next_question(general, answers)
    assert next_question(inst, answers, after=current) == next_question(
        general, answers, after=current
    )
    assert previous_question(inst, answers, current) == previous_question(general, answers, current)
    assert previous_question(inst, answers, None) == previous_question(general, answers, None)
    assert progress(inst, answers, current) == progress(general, answers, current)
