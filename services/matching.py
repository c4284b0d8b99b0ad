"""Mentor suggestions for a request: a pure ranking, no database and no Telegram.

The methodist sees the best few candidates with the reasons they were put forward, and always
chooses themselves; the ranking only orders the list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

GENERAL = "general"
"""The subject of a request that asks for help in any area."""

EXPERIENCED_YEARS = 5

# Reason codes (labels are ``methodist.reason.<code>`` in the locale files) and their weights.
SUBJECT = "subject"
SAME_SCHOOL = "same_school"
FREE = "free"
CATEGORY_HIGHEST = "category_highest"
CATEGORY_FIRST = "category_first"
CATEGORY_METHODIST = "category_methodist"
MENTOR_TITLE = "mentor_title"
EXPERIENCE = "experience"

WEIGHTS: dict[str, int] = {
    SUBJECT: 40,
    FREE: 10,
    CATEGORY_HIGHEST: 15,
    CATEGORY_FIRST: 10,
    CATEGORY_METHODIST: 15,
    MENTOR_TITLE: 20,
    EXPERIENCE: 10,
}
SAME_SCHOOL_PREFERRED = 60
"""Same school when the teacher asked for a mentor from their own school."""
SAME_SCHOOL_PLAIN = 10
"""Same school otherwise: meeting is easier, but the teacher did not ask for it."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A teacher ready to be a mentor, as the ranking sees them."""

    user_id: int
    name: str
    school_id: int | None
    school_name: str
    subjects: frozenset[str]  # subject codes from the mentor's card
    category: str | None  # services.reference.CATEGORIES
    mentor_title: bool  # the category «педагог-наставник» (services.reference.MENTOR_CATEGORY)
    teaching_years: int | None
    mentees: int  # active pairs + offers waiting for an answer
    capacity: int  # max mentees, 1–5

    @property
    def free(self) -> int:
        return self.capacity - self.mentees


@dataclass(frozen=True, slots=True)
class Need:
    """What the request asks for."""

    mentee_id: int
    school_id: int | None
    subject: str | None  # a subject code, or None / "general" for any area
    same_school: bool  # the teacher prefers a mentor from their own school


@dataclass(frozen=True, slots=True)
class Suggestion:
    candidate: Candidate
    score: int
    reasons: tuple[str, ...]  # reason codes, always in the order :func:`score` checks them


def score(need: Need, candidate: Candidate) -> Suggestion:
    """The candidate's score for this need and the reasons that make it up."""
    reasons: list[str] = []
    total = 0
    if need.subject not in (None, GENERAL) and need.subject in candidate.subjects:
        reasons.append(SUBJECT)
        total += WEIGHTS[SUBJECT]
    if need.school_id is not None and candidate.school_id == need.school_id:
        reasons.append(SAME_SCHOOL)
        total += SAME_SCHOOL_PREFERRED if need.same_school else SAME_SCHOOL_PLAIN
    if candidate.mentees == 0:
        reasons.append(FREE)
        total += WEIGHTS[FREE]
    if candidate.category == "highest":
        reasons.append(CATEGORY_HIGHEST)
        total += WEIGHTS[CATEGORY_HIGHEST]
    elif candidate.category == "methodist":
        reasons.append(CATEGORY_METHODIST)
        total += WEIGHTS[CATEGORY_METHODIST]
    elif candidate.category == "first":
        reasons.append(CATEGORY_FIRST)
        total += WEIGHTS[CATEGORY_FIRST]
    if candidate.mentor_title:
        reasons.append(MENTOR_TITLE)
        total += WEIGHTS[MENTOR_TITLE]
    if candidate.teaching_years is not None and candidate.teaching_years >= EXPERIENCED_YEARS:
        reasons.append(EXPERIENCE)
        total += WEIGHTS[EXPERIENCE]
    return Suggestion(candidate, total, tuple(reasons))


def rank_mentors(need: Need, candidates: Iterable[Candidate], limit: int = 5) -> list[Suggestion]:
    """The best ``limit`` mentors for a request, best first.

    Never the mentee themselves, never a mentor with no free place (``mentees >= capacity``).
    Points, each with its reason code:

    - ``subject`` +40: the mentor's card names the request's subject (a request for help in
      any area, ``None`` or ``"general"``, gives no subject points);
    - ``same_school`` +60 when the teacher asked for a mentor from their own school, +10
      otherwise (the preference outweighs any other single reason);
    - ``free`` +10: the mentor has no mentee and no offer waiting now;
    - ``category_highest`` +15, ``category_methodist`` +15 or ``category_first`` +10: the
      qualification category;
    - ``mentor_title`` +20: the category «педагог-наставник» (приказ Минпросвещения № 196,
      awarded above высшая for mentoring itself, so it outranks высшая);
    - ``experience`` +10: at least 5 years of teaching.

    Ties go to the mentor with more free places, then to the smaller user id, so the order is
    the same for the same input whatever the order of ``candidates``.
    """
    if limit <= 0:
        return []
    scored = [
        score(need, c) for c in candidates if c.user_id != need.mentee_id and c.mentees < c.capacity
    ]
    scored.sort(key=lambda s: (-s.score, -s.candidate.free, s.candidate.user_id))
    return scored[:limit]
