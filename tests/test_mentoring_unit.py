"""Mentoring rules that need no database: typed texts, meeting fields, the mentor card."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services import mentoring as svc
from services.reference import SUBJECTS

CHECKS = [
    (svc.check_details, svc.DETAILS_MAX),
    (svc.check_note, svc.NOTE_MAX),
    (svc.check_goals, svc.GOALS_MAX),
    (svc.check_topic, svc.TOPIC_MAX),
    (svc.check_reason, svc.REASON_MAX),
    (svc.check_comment, svc.COMMENT_MAX),
    (svc.check_intro, svc.INTRO_MAX),
]


@pytest.mark.parametrize(("check", "limit"), CHECKS)
@given(text=st.text(max_size=2500))
def test_typed_text_is_kept_within_its_limit_or_refused(
    check: object, limit: int, text: str
) -> None:
    try:
        value = check(text)  # type: ignore[operator]
    except svc.MentoringError as exc:
        assert exc.code in ("mentoring.error.empty", "mentoring.error.too_long")
        return
    assert value.strip() and len(value) <= limit


def test_topic_is_one_line() -> None:
    assert svc.check_topic("  Разбор\n\nурока  ") == "Разбор урока"


def test_meeting_fields() -> None:
    today = date(2026, 10, 12)
    assert svc.meeting_date(today, 0) == today
    assert svc.meeting_date(today, 13) == date(2026, 9, 29)
    for bad in (-1, 14, 9999):
        with pytest.raises(svc.MentoringError):
            svc.meeting_date(today, bad)
    assert svc.meeting_format(0) == "lesson_visit"
    with pytest.raises(svc.MentoringError):
        svc.meeting_format(len(svc.FORMATS))
    assert svc.meeting_minutes(45) == 45
    with pytest.raises(svc.MentoringError):
        svc.meeting_minutes(44)


@given(index=st.integers(-5, 40), count=st.integers(-3, 9))
def test_card_draft_accepts_only_known_subjects_and_one_to_five(index: int, count: int) -> None:
    draft = {"subjects": ["math"], "max": 1, "note": None}
    try:
        after = svc.toggle_card_subject(draft, index)
        assert 0 <= index < len(SUBJECTS)
        assert set(after["subjects"]) == {"math"} ^ {SUBJECTS[index]}
    except svc.MentoringError:
        assert not 0 <= index < len(SUBJECTS)
    try:
        assert svc.set_card_capacity(draft, count)["max"] == count
        assert 1 <= count <= svc.MAX_MENTEES
    except svc.MentoringError:
        assert not 1 <= count <= svc.MAX_MENTEES
