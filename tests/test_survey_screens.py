"""The question screen is drawn once per place and copied for each attempt: every copy is
what drawing it afresh gives, whatever the questionnaire, question, state and language."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.i18n import Translator, languages
from handlers.common import MAX_ID
from handlers.surveys import screens
from handlers.surveys.callbacks import AnswerCB, BackCB, DoneCB, PauseCB, SkipCB, TickCB
from services.surveys import QuestionView
from surveys.loader import load_instruments
from surveys.schema import QuestionType

INSTRUMENTS = list(load_instruments().values())
TRANSLATORS = [Translator(lang) for lang in languages()]


def test_the_attempt_is_the_first_field_of_every_button_under_a_question() -> None:
    for cb in (AnswerCB, TickCB, DoneCB, SkipCB, BackCB, PauseCB):
        assert next(iter(cb.model_fields)) == "attempt", cb


@st.composite
def views(draw: st.DrawFn) -> QuestionView:
    inst = draw(st.sampled_from(INSTRUMENTS))
    index = draw(st.integers(0, len(inst.questions) - 1))
    q = inst.questions[index]
    values = [o.value for o in inst.options(q)]
    selected: Any = None
    if values and q.type == QuestionType.MULTI:
        selected = draw(st.lists(st.sampled_from(values), unique=True))
    elif values:
        selected = draw(st.none() | st.sampled_from(values))
    earlier = draw(st.none() | st.integers(0, 50)) if q.type == QuestionType.NUMBER else None
    return QuestionView(
        attempt_id=draw(st.integers(1, MAX_ID)),
        instrument=inst,
        question=q,
        index=index,
        number=index + 1,
        total=len(inst.questions),
        selected=selected,
        earlier=earlier,
        can_go_back=draw(st.booleans()),
        section_intro=draw(st.none() | st.just(inst.section_of(q.id).intro)),
        notice=draw(st.none() | st.just("survey.error.use_buttons")),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(view=views(), t=st.sampled_from(TRANSLATORS), other=st.integers(1, MAX_ID))
def test_a_copied_question_screen_is_the_drawn_one(
    view: QuestionView, t: Translator, other: int
) -> None:
    assert screens.question(view, t) == screens.draw_question(view, t)
    # the same place for another attempt: a copy with that attempt's id in every button
    again = replace(view, attempt_id=other)
    copied = screens.question(again, t)
    assert copied == screens.draw_question(again, t)
    if copied.keyboard is not None:
        for row in copied.keyboard.inline_keyboard:
            for b in row:
                assert b.callback_data is not None
                assert b.callback_data.split(":")[1] == str(other)
                assert len(b.callback_data.encode()) <= 64
