"""Mentor ranking (services.matching): plain cases and properties."""

from __future__ import annotations

import random
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from services.matching import Candidate, Need, rank_mentors, score
from services.reference import CATEGORIES, SUBJECTS


def cand(user_id: int, **more: object) -> Candidate:
    values: dict[str, object] = {
        "user_id": user_id,
        "name": f"Наставник {user_id}",
        "school_id": 2,
        "school_name": "Школа № 2",
        "subjects": frozenset({"russian"}),
        "category": "none",
        "mentor_title": False,
        "teaching_years": 2,
        "mentees": 1,
        "capacity": 2,
    }
    values.update(more)
    return Candidate(**values)  # type: ignore[arg-type]


NEED = Need(mentee_id=1, school_id=1, subject="math", same_school=False)


def test_each_reason_and_its_points() -> None:
    plain = score(NEED, cand(10))
    assert (plain.score, plain.reasons) == (0, ())
    full = score(
        replace(NEED, same_school=True),
        cand(
            11,
            school_id=1,
            subjects=frozenset({"math"}),
            mentees=0,
            category="highest",
            mentor_title=True,
            teaching_years=5,
        ),
    )
    assert full.reasons == (
        "subject",
        "same_school",
        "free",
        "category_highest",
        "mentor_title",
        "experience",
    )
    assert full.score == 40 + 60 + 10 + 15 + 20 + 10
    assert score(NEED, cand(12, school_id=1)).score == 10  # same school, not asked for
    assert score(NEED, cand(13, category="first")).reasons == ("category_first",)
    assert score(NEED, cand(16, category="methodist")).reasons == ("category_methodist",)
    mentor = score(NEED, cand(17, category="mentor", mentor_title=True))
    assert (mentor.reasons, mentor.score) == (("mentor_title",), 20)
    assert mentor.score > score(NEED, cand(18, category="highest")).score
    assert score(NEED, cand(14, teaching_years=4)).reasons == ()
    assert score(NEED, cand(15, teaching_years=None)).reasons == ()


def test_general_request_gives_no_subject_points() -> None:
    for subject in (None, "general"):
        need = replace(NEED, subject=subject)
        assert score(need, cand(10, subjects=frozenset({"math", "general"}))).reasons == ()


def test_mentee_without_school_matches_nobody_by_school() -> None:
    need = replace(NEED, school_id=None, same_school=True)
    assert score(need, cand(10, school_id=None)).reasons == ()


def test_never_self_never_full_and_the_limit() -> None:
    people = [
        cand(1, subjects=frozenset({"math"}), mentees=0),  # the mentee
        cand(2, mentees=2, capacity=2),  # full
        cand(3, mentees=5, capacity=1),  # over full
        *(cand(i) for i in range(4, 12)),
    ]
    found = rank_mentors(NEED, people)
    assert len(found) == 5
    assert {s.candidate.user_id for s in found}.isdisjoint({1, 2, 3})
    assert rank_mentors(NEED, people, limit=0) == []
    assert len(rank_mentors(NEED, people, limit=100)) == 8


def test_order_score_then_free_places_then_id() -> None:
    people = [
        cand(30, capacity=3),  # 0 points, 2 free
        cand(20, capacity=2),  # 0 points, 1 free
        cand(10, capacity=2),  # 0 points, 1 free
        cand(40, subjects=frozenset({"math"})),  # 40 points
    ]
    assert [s.candidate.user_id for s in rank_mentors(NEED, people)] == [40, 30, 10, 20]


def test_preferred_school_outweighs_the_subject() -> None:
    need = replace(NEED, same_school=True)
    near = cand(10, school_id=1, subjects=frozenset({"russian"}))
    subject = cand(11, school_id=2, subjects=frozenset({"math"}))
    assert [s.candidate.user_id for s in rank_mentors(need, [subject, near])] == [10, 11]
    # without the preference the subject wins
    assert [s.candidate.user_id for s in rank_mentors(NEED, [subject, near])] == [11, 10]


# ---------------------------------------------------------------- properties

candidates = st.builds(
    Candidate,
    user_id=st.integers(1, 30),
    name=st.just("Наставник"),
    school_id=st.one_of(st.none(), st.integers(1, 4)),
    school_name=st.just("Школа"),
    subjects=st.frozensets(st.sampled_from(SUBJECTS[:5]), max_size=3),
    category=st.one_of(st.none(), st.sampled_from(CATEGORIES)),
    mentor_title=st.booleans(),
    teaching_years=st.one_of(st.none(), st.integers(0, 40)),
    mentees=st.integers(0, 6),
    capacity=st.integers(1, 5),
)
needs = st.builds(
    Need,
    mentee_id=st.integers(1, 30),
    school_id=st.one_of(st.none(), st.integers(1, 4)),
    subject=st.one_of(st.none(), st.just("general"), st.sampled_from(SUBJECTS[:5])),
    same_school=st.booleans(),
)


def unique(people: list[Candidate]) -> list[Candidate]:
    return list({c.user_id: c for c in people}.values())


@given(needs, st.lists(candidates, max_size=25).map(unique), st.integers(-1, 8))
def test_never_self_never_over_capacity_at_most_limit(
    need: Need, people: list[Candidate], limit: int
) -> None:
    found = rank_mentors(need, people, limit)
    assert len(found) <= max(limit, 0)
    for s in found:
        assert s.candidate.user_id != need.mentee_id
        assert s.candidate.mentees < s.candidate.capacity
    scores = [(-s.score, -s.candidate.free, s.candidate.user_id) for s in found]
    assert scores == sorted(scores)


@given(needs, st.lists(candidates, max_size=25).map(unique), st.randoms(use_true_random=False))
def test_deterministic_whatever_the_input_order(
    need: Need, people: list[Candidate], rnd: random.Random
) -> None:
    shuffled = list(people)
    rnd.shuffle(shuffled)
    assert rank_mentors(need, people) == rank_mentors(need, shuffled)
    assert rank_mentors(need, people) == rank_mentors(need, people)


@given(needs.filter(lambda n: n.school_id is not None), candidates, st.integers(1, 30))
def test_preferred_same_school_comes_first(need: Need, other: Candidate, twin_id: int) -> None:
    """Two candidates alike in all but the school: with the preference, the one from the
    teacher's school ranks above the other."""
    need = replace(need, same_school=True)
    assert need.school_id is not None
    other = replace(other, school_id=need.school_id + 1, mentees=0)
    twin = replace(other, user_id=twin_id, school_id=need.school_id)
    if need.mentee_id in (other.user_id, twin.user_id) or other.user_id == twin.user_id:
        return
    for people in ([other, twin], [twin, other]):
        found = rank_mentors(need, people)
        assert [s.candidate.user_id for s in found] == [twin.user_id, other.user_id]
        assert found[0].score > found[1].score
