"""Indicators on a small hand-made municipality: every figure checked against a hand count.

The world (today 12.10.2026, the academic year 2026/2027 from 01.09.2026):

* municipality m1: «Школа № 1» (A) with six active teachers a1..a6, plus a7 who blocked the
  bot and a8 who never finished registering (neither counts); «Гимназия № 2» (B) with b1..b3;
  «Детский сад № 5» (D) with nobody. Municipality m2: «Школа соседей» (C) with c1.
* every teacher below has results, routes, courses, pairs... so that each indicator's
  numerator and denominator can be counted by hand (the counts are in the comments).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import catalogs
from models import (
    Attempt,
    Campaign,
    CampaignMember,
    Course,
    MentorPair,
    MentorRequest,
    Municipality,
    Route,
    ScaleResult,
    School,
    User,
    UserSubject,
)
from models.people import RoleName, ScopeKind
from services.indicators import (
    CODES,
    IndicatorTable,
    PlanError,
    Value,
    academic_year,
    compute,
    count,
    deficits_split,
    definitions,
    display,
    load_plans,
    scope_of,
    share,
)
from services.instruments import InstrumentRegistry, sync_instruments
from services.mentoring_figures import mentoring_figures
from services.roles import Access, Scope
from surveys.loader import load_instruments

NOW = datetime(2026, 10, 12, 9, 30, tzinfo=UTC)
TODAY = NOW.date()
PERIOD = academic_year(TODAY)
OLD = (1975, 2000)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


@dataclass
class World:
    session: AsyncSession
    registry: InstrumentRegistry
    users: dict[str, User] = field(default_factory=dict)
    schools: dict[str, School] = field(default_factory=dict)
    municipalities: dict[str, Municipality] = field(default_factory=dict)

    async def add(self, *rows: object) -> None:
        self.session.add_all(rows)
        await self.session.flush()

    async def municipality(self, key: str) -> None:
        m = Municipality(code=key, name=f"Округ {key}")
        await self.add(m)
        self.municipalities[key] = m

    async def school(self, key: str, municipality: str, name: str) -> None:
        s = School(
            municipality_id=self.municipalities[municipality].id,
            code=key,
            name=name,
            short_name=name,
        )
        await self.add(s)
        self.schools[key] = s

    async def teacher(
        self,
        key: str,
        school: str,
        years: tuple[int, int] = OLD,
        position: str = "teacher",
        subjects: tuple[str, ...] = (),
        category: str | None = None,
        category_year: int | None = None,
        category_date: date | None = None,
        *,
        conformity_date: date | None = None,
        registered: bool = True,
        blocked: bool = False,
    ) -> None:
        u = User(
            telegram_id=5000 + len(self.users),
            full_name=key,
            school_id=self.schools[school].id,
            position=position,
            birth_year=years[0],
            teaching_since=years[1],
            category=category,
            category_year=category_year,
            category_date=category_date,
            conformity_date=conformity_date,
            registered_at=NOW - timedelta(days=300) if registered else None,
            blocked_bot=blocked,
        )
        await self.add(u)
        for s in subjects:
            await self.add(UserSubject(user_id=u.id, subject=s))
        self.users[key] = u

    async def survey(self, user: str, instrument: str, day: str, **bands: str | None) -> None:
        """A completed attempt with a result row for every scale of the instrument; a scale
        not given has no score (band None); ``overall=4`` style values are scores."""
        reg = self.registry.current[instrument]
        when = at(day)
        a = Attempt(
            user_id=self.users[user].id,
            instrument_version_id=reg.version_id,
            instrument_id=instrument,
            status="completed",
            started_at=when - timedelta(minutes=5),
            updated_at=when,
            completed_at=when,
        )
        await self.add(a)
        for scale in reg.instrument.scales:
            given = bands.get(scale.id)
            score: float | None = None
            band: str | None = given
            if given is not None and given.isdigit():
                score = float(given)
                band = next(b.code for b in scale.bands if b.contains_below(score))
            await self.add(
                ScaleResult(
                    attempt_id=a.id,
                    user_id=a.user_id,
                    instrument_id=instrument,
                    instrument_version=1,
                    scale_id=scale.id,
                    score=score if score is not None else (50.0 if band else None),
                    band=band,
                    answered=len(scale.items) if band else 0,
                    completed_at=when,
                )
            )

    async def deficits(self, user: str, day: str, s: str | None, m: str | None,
                       p: str | None, c: str | None) -> None:  # fmt: skip
        await self.survey(
            user, "deficits", day, subject=s, methodical=m, psychological=p, communicative=c
        )

    async def route(self, user: str, status: str, activated: str | None = None,
                    completed: str | None = None) -> None:  # fmt: skip
        await self.add(
            Route(
                user_id=self.users[user].id,
                status=status,
                created_at=at(activated or "2026-01-01"),
                activated_at=at(activated) if activated else None,
                completed_at=at(completed) if completed else None,
            )
        )

    async def course(self, user: str, kind: str, ends: str, fmt: str = "in_person") -> None:
        end = date.fromisoformat(ends)
        await self.add(
            Course(
                user_id=self.users[user].id,
                title="Курс",
                kind=kind,
                hours=36,
                starts_on=end - timedelta(days=10),
                ends_on=end,
                format=fmt,
            )
        )

    async def pair(self, mentor: str, mentee: str, status: str = "active") -> None:
        await self.add(
            MentorPair(
                mentor_id=self.users[mentor].id,
                mentee_id=self.users[mentee].id,
                status=status,
                started_on=TODAY - timedelta(days=30),
            )
        )


async def build(session: AsyncSession) -> World:
    w = World(session, await sync_instruments(session, load_instruments()))
    await w.municipality("m1")
    await w.municipality("m2")
    await w.school("A", "m1", "Школа № 1")
    await w.school("B", "m1", "Гимназия № 2")
    await w.school("D", "m1", "Детский сад № 5")
    await w.school("C", "m2", "Школа соседей")

    # young in 2026: born after 1991 and teaching since 2023 or later
    await w.teacher("a1", "A", (1996, 2024), subjects=("math",), category="first",
                    category_year=2021, category_date=date(2021, 11, 1))  # fmt: skip
    await w.teacher("a2", "A", subjects=("math", "physics"), category="highest",
                    category_year=2022)  # fmt: skip
    # no category; attested for conformity with the position on 01.12.2021
    await w.teacher("a3", "A", subjects=("math",), category="none",
                    conformity_date=date(2021, 12, 1))  # fmt: skip
    await w.teacher("a4", "A", (1995, 2023), position="preschool", category="highest",
                    category_year=2024, category_date=date(2024, 3, 1))  # fmt: skip
    await w.teacher("a5", "A", position="preschool", category="first")
    await w.teacher("a6", "A", (1998, 2024), subjects=("russian",), category="none")
    await w.teacher("a7", "A", blocked=True)
    await w.teacher("a8", "A", registered=False)
    await w.teacher("b1", "B", position="preschool", category="first", category_year=2021,
                    category_date=date(2021, 10, 12))  # fmt: skip
    await w.teacher("b2", "B", (1999, 2025), subjects=("math",), category="first",
                    category_year=2021, category_date=date(2021, 10, 11))  # fmt: skip
    await w.teacher("b3", "B", (2000, 2025), category="none")
    await w.teacher("c1", "C")

    # deficits self-assessment: subject, methodical, psychological, communicative
    await w.deficits("a1", "2026-09-10", "high", "medium", "minimal", "high")  # replaced:
    await w.deficits("a1", "2026-10-01", "medium", "medium", "minimal", None)
    await w.deficits("a2", "2026-09-20", "high", "high", "medium", "minimal")
    await w.deficits("a3", "2026-06-01", "high", "high", "high", "high")  # before the period
    await w.deficits("a4", "2026-09-05", "minimal", "minimal", "minimal", "minimal")
    await w.deficits("a5", "2026-09-06", "high", "minimal", "minimal", "medium")
    await w.deficits("a6", "2026-09-07", "medium", "minimal", "high", "minimal")
    await w.deficits("a7", "2026-09-07", "high", "high", "high", "high")  # blocked
    await w.deficits("b1", "2026-09-15", "high", "high", "high", "high")
    await w.deficits("c1", "2026-09-15", "high", "high", "high", "high")  # other municipality

    # burnout (12 months back: from 12.10.2025)
    e, n = "elevated", "normal"
    await w.survey("a1", "burnout", "2026-03-01", personal=e, work=n)  # student unscored
    await w.survey("a2", "burnout", "2025-12-01", personal=n, work=e, student=e)  # replaced:
    await w.survey("a2", "burnout", "2026-09-20", personal=n, work=n, student=n)
    await w.survey("a3", "burnout", "2025-06-01", personal=e, work=e, student=e)  # too old
    await w.survey("a4", "burnout", "2026-05-01", personal=e, work=e, student=e)
    await w.survey("a5", "burnout", "2026-05-01", personal=n, work=n, student=n)
    await w.survey("a6", "burnout", "2026-05-01", personal=e, work=n, student=n)

    # activity (in the period)
    y, no = "yes", "no"
    await w.survey("a1", "activity", "2026-09-20", network=y, expert=y, active=no,
                   competitions=y)  # fmt: skip
    await w.survey("a2", "activity", "2026-09-20", network=no, expert=no, active=no,
                   competitions=no)  # fmt: skip
    await w.survey("a3", "activity", "2026-06-10", network=y, expert=y, active=y,
                   competitions=y)  # fmt: skip
    await w.survey("a4", "activity", "2026-09-20", network=y, expert=no, active=y,
                   competitions=no)  # fmt: skip
    await w.survey("a5", "activity", "2026-09-20", network=y, expert=no, active=no,
                   competitions=y)  # fmt: skip
    await w.survey("a6", "activity", "2026-09-20", network=y, expert=y, active=no,
                   competitions=no)  # fmt: skip

    # satisfaction (overall score 1–5, in the period)
    for key, score in (("a1", "5"), ("a2", "4"), ("a4", "4"), ("a5", "2"), ("a6", "5")):
        await w.survey(key, "satisfaction", "2026-09-25", overall=score)
    await w.survey("b1", "satisfaction", "2026-09-25", overall="3")

    # routes
    await w.route("a1", "active", "2026-09-12")
    await w.route("a2", "completed", "2026-05-01", "2026-09-25")
    await w.route("a3", "completed", "2026-01-10", "2026-05-01")  # completed before
    await w.route("a4", "draft")
    await w.route("a5", "archived", "2026-02-01")
    await w.route("b1", "active", "2026-10-01")

    # courses (ПК counts for 3 years: ended on or after 12.10.2023)
    await w.course("a1", "qualification", "2026-09-20", "distance")
    await w.course("a2", "retraining", "2026-10-01")
    await w.course("a3", "qualification", "2023-10-11")  # one day too old
    await w.course("a4", "qualification", "2023-10-12")  # still counts for ПК in 3 years
    await w.course("a5", "seminar", "2026-09-15")  # not a ПК
    await w.course("a5", "qualification", "2026-12-01")  # not ended yet
    await w.course("b1", "qualification", "2026-09-10")
    await w.course("b1", "qualification", "2026-09-25", "distance")

    # mentoring
    await w.pair("a5", "a6")
    await w.pair("a5", "b2")  # across schools
    await w.pair("a1", "a2", "completed")
    for key, status, shared in (
        ("a3", "open", timedelta(days=10)),  # waiting more than 7 days
        ("b3", "open", timedelta(days=3)),
        ("a4", "draft", None),
    ):
        await w.add(
            MentorRequest(
                mentee_id=w.users[key].id,
                status=status,
                created_at=NOW - timedelta(days=12),
                shared_at=NOW - shared if shared else None,
            )
        )

    # campaigns: one of m1, one of the region, one closed
    c1 = Campaign(instrument_id="activity", municipality_id=w.municipalities["m1"].id,
                  starts_at=NOW - timedelta(days=5), deadline=date(2026, 10, 20),
                  created_by=1)  # fmt: skip
    c2 = Campaign(instrument_id="satisfaction", starts_at=NOW - timedelta(days=5),
                  deadline=date(2026, 10, 25), created_by=1)  # fmt: skip
    c3 = Campaign(instrument_id="activity", municipality_id=w.municipalities["m1"].id,
                  starts_at=NOW - timedelta(days=50), deadline=date(2026, 9, 1),
                  status="closed", created_by=1)  # fmt: skip
    await w.add(c1, c2, c3)
    for campaign, key, answered, before in (
        (c1, "a1", True, False),
        (c1, "a2", False, True),
        (c1, "a3", False, False),
        (c1, "b1", True, False),
        (c2, "a4", True, False),
        (c2, "c1", True, False),
        (c3, "a1", True, False),
    ):
        await w.add(
            CampaignMember(
                campaign_id=campaign.id,
                user_id=w.users[key].id,
                answered_at=NOW if answered else None,
                counted_before=before,
            )
        )
    await w.session.commit()
    return w


async def table(w: World, scope: str) -> IndicatorTable:
    return await compute(w.session, scope_key=scope, period=PERIOD, today=TODAY, now=NOW)


def v(value: float | None, num: int | None, den: int | None, suppressed: bool = False) -> Value:
    return Value(value, num, den, suppressed)


# ---------------------------------------------------------------- the municipality


async def test_municipality_by_school_and_in_total(session: AsyncSession) -> None:
    w = await build(session)
    t = await table(w, f"municipality:{w.municipalities['m1'].id}")
    assert t.scope_name == "Округ m1"
    assert t.period.label == "2026/2027"
    assert [d.code for d in t.definitions] == list(CODES)
    # every school of m1, by name (D has nobody), none of m2
    assert [r.school_name for r in t.schools] == ["Гимназия № 2", "Детский сад № 5", "Школа № 1"]
    b, d, a = t.schools
    assert (a.teachers, b.teachers, d.teachers, t.total.teachers) == (6, 3, 0, 9)
    assert all(set(r.values) == set(CODES) for r in (*t.schools, t.total))
    A, T = a.values, t.total.values

    # 1. A: a1, a2, a4, a5, a6 did it in the period (a3 in June) -> 5/6; total + b1 -> 6/9
    assert A["deficits_done"] == v(83.3, 5, 6)
    assert T["deficits_done"] == v(66.7, 6, 9)
    assert b.values["deficits_done"] == v(33.3, 1, 3, True)  # a group of 3
    assert d.values["deficits_done"] == v(None, 0, 0)  # nobody: no figure, nothing to hide
    # 2. routes: a1 active, a2 completed in the period (a3 before, a4 draft, a5 archived)
    assert A["route_any"] == v(33.3, 2, 6)
    assert T["route_any"] == v(33.3, 3, 9)  # + b1
    # 3. of those, a2 completed it
    assert A["route_completed"] == v(50.0, 1, 2, True)
    assert T["route_completed"] == v(33.3, 1, 3, True)
    # 4. ПК within 3 years: a1, a2 (retraining), a4 (ended exactly 3 years ago); total + b1
    assert A["pk_3y"] == v(50.0, 3, 6)
    assert T["pk_3y"] == v(44.4, 4, 9)
    # 5. a ПК ended in the period: a1 (a5's ends in December); total + b1
    assert A["course_year"] == v(16.7, 1, 6)
    assert T["course_year"] == v(22.2, 2, 9)
    # courses by distance: A has a1's (distance) and a2's retraining -> 1 of 2; total + b1's
    # two (one distance) -> 2 of 4
    assert A["course_distance"] == v(50.0, 1, 2, True)
    assert T["course_distance"] == v(50.0, 2, 4, True)
    # 6. retraining: a2
    assert A["retraining_year"] == v(16.7, 1, 6)
    # 7. mentoring: a5 (mentor) and a6 (mentee) in A; b2 (mentee) in B; a1-a2 is completed
    assert A["mentoring_share"] == v(33.3, 2, 6)
    assert T["mentoring_share"] == v(33.3, 3, 9)
    # 8. a5 mentors two (counted once); mentees a6 and b2
    assert (A["mentors"].value, A["mentees"].value) == (1, 1)
    assert (T["mentors"].value, T["mentees"].value) == (1, 2)
    assert b.values["mentees"] == v(1, 1, None, True)  # a count in a row of 3 teachers
    # 9. young: a1 (route), a4 (nothing), a6 (mentee), b2 (mentee), b3 (nothing) -> 3 of 5
    assert A["young_supported"] == v(66.7, 2, 3, True)
    assert T["young_supported"] == v(60.0, 3, 5)
    # 10. burnout, latest in 12 months: a1 E/N/-, a2 N/N/N (its December result replaced),
    # a4 E/E/E, a5 N/N/N, a6 E/N/N (a3's is too old) -> personal 3/5, work 1/5, student 1/4
    assert A["cbi_personal_high"] == v(60.0, 3, 5)
    assert A["cbi_work_high"] == v(20.0, 1, 5)
    assert A["cbi_student_high"] == v(25.0, 1, 4, True)
    assert T["cbi_personal_high"] == A["cbi_personal_high"]
    # 11. deficits, latest: a1 M/M/-/·, a2 H/H/M/-, a4 -, a5 H/-/-/M, a6 M/-/H/- (- minimal,
    # · unscored); b1 H everywhere
    assert (A["deficit_subject_high"], A["deficit_subject_medium"]) == (
        v(40.0, 2, 5),
        v(40.0, 2, 5),
    )
    assert (A["deficit_methodical_high"], A["deficit_methodical_medium"]) == (
        v(20.0, 1, 5),
        v(20.0, 1, 5),
    )
    assert A["deficit_psychological_high"] == v(20.0, 1, 5)
    assert A["deficit_communicative_medium"] == v(25.0, 1, 4, True)  # a1's is unscored
    assert (T["deficit_subject_high"], T["deficit_subject_medium"]) == (
        v(50.0, 3, 6),
        v(33.3, 2, 6),
    )
    assert T["deficit_communicative_high"] == v(20.0, 1, 5)
    # 12. no events yet: zero, not missing
    assert A["events_attended"] == v(0.0, 0, 6)
    assert T["burnout_events"] == v(0, 0, None)
    # 13. categories: first a1 (expires 01.11.2026), a5 (no year: counted);
    # highest a2 (year 2022: until 01.01.2027), a4; b1 until today, b2 expired yesterday;
    # a3 has no category, her attestation for conformity expires 01.12.2026
    assert (A["category_first"].value, A["category_highest"].value) == (2, 2)
    assert A["attestation_expiring"].value == 3  # a1, a2, a3
    assert (T["category_first"].value, T["attestation_expiring"].value) == (3, 4)  # + b1
    # 15. a3's request shared 10 days ago (b3's 3 days ago, a4's a draft)
    assert A["requests_waiting_7d"] == v(1, 1, None)
    assert T["requests_waiting_7d"].value == 1
    # 16–18. activity in the period: a1, a2, a4, a5, a6 (a3's is from June)
    assert A["network_share"] == v(80.0, 4, 5)
    assert A["expert_share"] == v(40.0, 2, 5)
    assert A["active_share"] == v(20.0, 1, 5)
    assert A["competitions"] == v(2, 2, None)
    # 19. satisfaction: A 5, 4, 4, 2, 5 -> mean 4.0, «2» 1/5, «4» 2/5, «5» 2/5; total + b1's 3
    assert A["satisfaction_mean"] == v(4.0, None, 5)
    assert [A[f"satisfaction_{n}"].value for n in range(1, 6)] == [0.0, 20.0, 0.0, 40.0, 40.0]
    assert T["satisfaction_mean"] == v(3.83, None, 6)
    assert T["satisfaction_3"] == v(16.7, 1, 6)
    assert b.values["satisfaction_mean"] == v(3.0, None, 1, True)
    # 14. running campaigns of the scope: c1 (a1 answered, a2 counted before, a3 not, b1
    # answered), c2 of the region (a4 of m1); c3 is closed
    assert [(c.instrument_id, c.answered, c.invited) for c in t.campaigns] == [
        ("activity", 3, 4),
        ("satisfaction", 1, 1),
    ]
    assert t.campaigns[0].title == "Профессиональная активность"
    assert t.campaigns[0].rate == 75.0


async def test_preschool_instruments_count_with_the_school_ones(session: AsyncSession) -> None:
    """The pre-school self-assessment and CBI are of the same kinds: a kindergarten's
    воспитатели count in «прошли диагностику», the deficit levels and the burnout figures,
    and a teacher who answered both self-assessments counts once, by the latest."""
    w = await build(session)
    await w.teacher("d1", "D", position="preschool")
    await w.teacher("d2", "D", position="preschool")
    await w.survey("d1", "deficits_preschool", "2026-09-20", subject="high", methodical="high",
                   psychological="minimal", communicative="minimal")  # fmt: skip
    # d2 answered the school one at her former school, then the pre-school one
    await w.deficits("d2", "2026-09-05", "high", "high", "high", "high")
    await w.survey("d2", "deficits_preschool", "2026-09-25", subject="medium",
                   methodical="minimal", psychological="minimal", communicative="minimal")  # fmt: skip
    await w.survey("d1", "burnout_preschool", "2026-09-21", personal="elevated",
                   work="normal", student="normal")  # fmt: skip
    await w.session.commit()
    t = await table(w, f"municipality:{w.municipalities['m1'].id}")
    d = next(r for r in t.schools if r.school_name == "Детский сад № 5")
    T = t.total.values
    assert d.values["deficits_done"] == v(100.0, 2, 2, True)
    # 1. the 6 of 9 above, and d1, d2 once each -> 8 of 11
    assert T["deficits_done"] == v(72.7, 8, 11)
    # 11. subject: 3 high and 2 medium of 6 above; d1 high, d2 medium (her latest) -> of 8
    assert (T["deficit_subject_high"], T["deficit_subject_medium"]) == (
        v(50.0, 4, 8),
        v(37.5, 3, 8),
    )
    # 10. personal burnout: 3 of 5 above, and d1 -> 4 of 6
    assert T["cbi_personal_high"] == v(66.7, 4, 6)


async def test_school_scope_is_that_school(session: AsyncSession) -> None:
    w = await build(session)
    school_b = w.schools["B"]
    t = await table(w, f"school:{school_b.id}")
    assert t.scope_key == f"school:{school_b.id}"
    assert t.scope_name == "Гимназия № 2"
    assert [r.school_id for r in t.schools] == [school_b.id]
    assert t.total.values == t.schools[0].values
    # B alone: 3 teachers, so every figure is hidden; b1 did the self-assessment
    assert t.total.values["deficits_done"] == v(33.3, 1, 3, True)
    assert t.total.values["mentees"] == v(1, 1, None, True)
    # only c1 reaches into B (b1 answered)
    assert [(c.instrument_id, c.answered, c.invited) for c in t.campaigns] == [("activity", 1, 1)]


async def test_region_counts_every_municipality(session: AsyncSession) -> None:
    w = await build(session)
    t = await table(w, "region")
    assert t.total.teachers == 10  # + c1
    assert t.total.values["deficits_done"] == v(70.0, 7, 10)
    assert [(c.instrument_id, c.answered, c.invited) for c in t.campaigns] == [
        ("activity", 3, 4),
        ("satisfaction", 2, 2),
    ]


async def test_mentoring_indicators_match_the_mentoring_figures(session: AsyncSession) -> None:
    """Indicators 7, 8, 9 and 15 follow the definitions of services.mentoring_figures."""
    w = await build(session)
    m1 = w.municipalities["m1"].id
    t = await table(w, f"municipality:{m1}")
    schools, total = await mentoring_figures(session, TODAY, NOW, m1)
    rows = {r.school_id: r.values for r in t.schools}
    for f in [*schools, total]:
        got = rows[f.school_id] if f.school_id is not None else t.total.values
        assert got["mentors"].numerator == f.mentors
        assert got["mentees"].numerator == f.mentees
        assert got["mentoring_share"].numerator == f.in_mentoring
        assert got["young_supported"].numerator == f.young_supported
        assert got["young_supported"].denominator == f.young
        assert got["requests_waiting_7d"].numerator == f.waiting_over_7_days


async def test_deficits_split_by_position_and_subject(session: AsyncSession) -> None:
    w = await build(session)
    scope = f"municipality:{w.municipalities['m1'].id}"
    by_position = await deficits_split(
        session, scope_key=scope, period=PERIOD, today=TODAY, now=NOW, by="position"
    )
    rows = {r.key: r for r in by_position}
    # teacher: a1, a2, a3, a6, b2, b3 -> done a1, a2, a6; preschool: a4, a5, b1 -> all done
    assert rows["teacher"].teachers == 6
    assert rows["teacher"].values["deficits_done"] == v(50.0, 3, 6)
    # subject block among teachers: a1 medium, a2 high, a6 medium
    assert rows["teacher"].values["deficit_subject_high"] == v(33.3, 1, 3, True)
    assert rows["preschool"].values["deficits_done"] == v(100.0, 3, 3, True)
    by_subject = await deficits_split(
        session, scope_key=scope, period=PERIOD, today=TODAY, now=NOW, by="subject"
    )
    rows = {r.key: r for r in by_subject}
    # math: a1, a2, a3, b2 -> a1, a2 done; physics: a2; russian: a6
    assert rows["math"].values["deficits_done"] == v(50.0, 2, 4, True)
    assert rows["physics"].values["deficits_done"] == v(100.0, 1, 1, True)
    assert rows["russian"].teachers == 1


async def test_an_unknown_scope_is_refused(session: AsyncSession) -> None:
    from services.indicators import ScopeError

    with pytest.raises(ScopeError):
        await compute(session, scope_key="school:999", period=PERIOD, today=TODAY, now=NOW)
    with pytest.raises(ScopeError):
        await compute(session, scope_key="town:1", period=PERIOD, today=TODAY, now=NOW)


# ---------------------------------------------------------------- pure parts


def test_the_less_than_five_rule() -> None:
    assert share(4, 4, 30).suppressed  # a share of 4 people
    assert not share(2, 5, 30).suppressed
    assert share(1, 5, 3).suppressed  # a row of 3 teachers
    assert count(12, 4).suppressed and not count(12, 5).suppressed
    assert share(0, 0, 0) == v(None, 0, 0)  # nobody: nothing to hide
    defs = {d.code: d for d in definitions()}
    assert display(share(4, 4, 30), defs["deficits_done"]) == "< 5"
    assert all(defs[f"cbi_{s}_high"].sensitive for s in ("personal", "work", "student"))
    assert not defs["deficits_done"].sensitive


def test_display() -> None:
    defs = {d.code: d for d in definitions()}
    assert display(v(42.5, 17, 40), defs["deficits_done"]) == "42,5 %"
    assert display(v(80.0, 8, 10), defs["deficits_done"]) == "80 %"
    assert display(v(12, 12, None), defs["mentors"]) == "12"
    assert display(v(3.83, None, 6), defs["satisfaction_mean"]) == "3,8"
    assert display(v(None, 0, 0), defs["route_completed"]) == "—"


def test_period() -> None:
    assert academic_year(date(2026, 9, 1)).label == "2026/2027"
    assert academic_year(date(2027, 8, 31)) == academic_year(date(2026, 9, 1))
    assert academic_year(date(2026, 8, 31)).label == "2025/2026"
    from services.indicators import Period

    assert Period(date(2026, 1, 1), date(2026, 6, 30)).label == "01.01.2026–30.06.2026"


def test_plans(tmp_path: Path) -> None:
    plans = load_plans(None)
    assert plans["deficits_done"] == plans["route_any"] == plans["mentoring_share"] == 80
    assert plans["young_supported"] == 100
    defs = {d.code: d for d in definitions()}
    assert defs["deficits_done"].plan == 80 and defs["mentors"].plan is None
    assert not defs["requests_waiting_7d"].higher_is_better
    override = tmp_path / "plans.yaml"
    override.write_text("deficits_done: 60\nroute_any: null\n", encoding="utf-8")
    plans = load_plans(str(override))
    defs = {d.code: d for d in definitions(plans)}
    assert defs["deficits_done"].plan == 60
    assert defs["route_any"].plan is None
    assert defs["mentoring_share"].plan == 80  # not listed: the default
    override.write_text("deficit_done: 60\n", encoding="utf-8")
    with pytest.raises(PlanError, match="deficit_done"):
        load_plans(str(override))
    override.write_text("deficits_done: много\n", encoding="utf-8")
    with pytest.raises(PlanError, match="deficits_done"):
        load_plans(str(override))


def test_scope_of() -> None:
    access = Access(
        telegram_id=1,
        methodist_scopes=(
            Scope(ScopeKind.SCHOOL, school_id=3),
            Scope(ScopeKind.MUNICIPALITY, municipality_id=2),
            Scope(ScopeKind.SCHOOL, school_id=3),
        ),
    )
    assert scope_of(access) == [("school", 3), ("municipality", 2)]
    assert scope_of(Access(telegram_id=1, is_admin=True)) == [("region", None)]
    assert RoleName.METHODIST  # the scopes come from methodist roles


def test_every_code_has_texts() -> None:
    for language, texts in catalogs().items():
        for code in CODES:
            title = texts[f"indicators.{code}.title"]
            assert 0 < len(title) <= 60, (language, code)
            assert texts[f"indicators.{code}.definition"].strip(), (language, code)
