"""Mentoring figures: a small hand-made municipality, every figure checked by hand."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    MentorOffer,
    MentorPair,
    MentorRequest,
    Municipality,
    PairStatus,
    RequestStatus,
    Route,
    RouteStatus,
    School,
    User,
)
from services.mentoring_figures import MentoringFigures, mentoring_figures

NOW = datetime(2026, 10, 12, 9, 30, tzinfo=UTC)
TODAY = NOW.date()
# young in 2026: born 1992 or later (age under 35) and teaching since 2023 or later (≤ 3 years)
OLD = (1975, 1998)


@dataclass
class World:
    session: AsyncSession
    users: dict[str, User] = field(default_factory=dict)
    schools: dict[str, School] = field(default_factory=dict)
    municipalities: dict[str, Municipality] = field(default_factory=dict)

    async def municipality(self, key: str) -> Municipality:
        m = Municipality(code=key, name=f"Округ {key}")
        self.session.add(m)
        await self.session.flush()
        self.municipalities[key] = m
        return m

    async def school(self, key: str, municipality: str, name: str) -> School:
        s = School(
            municipality_id=self.municipalities[municipality].id,
            code=key,
            name=name,
            short_name=name,
        )
        self.session.add(s)
        await self.session.flush()
        self.schools[key] = s
        return s

    async def teacher(
        self,
        key: str,
        school: str | None,
        years: tuple[int | None, int | None] = OLD,
        *,
        registered: bool = True,
        blocked: bool = False,
    ) -> User:
        u = User(
            telegram_id=1000 + len(self.users),
            full_name=key,
            school_id=self.schools[school].id if school else None,
            birth_year=years[0],
            teaching_since=years[1],
            registered_at=NOW - timedelta(days=100) if registered else None,
            blocked_bot=blocked,
        )
        self.session.add(u)
        await self.session.flush()
        self.users[key] = u
        return u

    async def pair(self, mentor: str, mentee: str, status: PairStatus = PairStatus.ACTIVE) -> None:
        closed = status != PairStatus.ACTIVE
        self.session.add(
            MentorPair(
                mentor_id=self.users[mentor].id,
                mentee_id=self.users[mentee].id,
                status=status.value,
                started_on=TODAY - timedelta(days=200 if closed else 40),
                closed_at=NOW - timedelta(days=60) if closed else None,
                rating=5 if status == PairStatus.COMPLETED else None,
            )
        )
        await self.session.flush()

    async def request(
        self, mentee: str, status: RequestStatus, shared: timedelta | None
    ) -> MentorRequest:
        r = MentorRequest(
            mentee_id=self.users[mentee].id,
            status=status.value,
            created_at=NOW - (shared or timedelta()) - timedelta(hours=1),
            shared_at=NOW - shared if shared is not None else None,
        )
        self.session.add(r)
        await self.session.flush()
        return r

    async def route(self, user: str, status: RouteStatus) -> None:
        self.session.add(Route(user_id=self.users[user].id, status=status.value))
        await self.session.flush()


async def build(session: AsyncSession) -> World:
    w = World(session)
    await w.municipality("m1")
    await w.municipality("m2")
    # ids in another order than names: «Гимназия» < «Детский сад» < «Школа» by name
    await w.school("a", "m1", "Школа № 1")
    await w.school("b", "m1", "Гимназия № 2")
    await w.school("d", "m1", "Детский сад № 5")  # nobody registered
    await w.school("c", "m2", "Школа № 1 соседнего округа")

    # school A
    await w.teacher("a1", "a")  # mentor of a2 and of a5
    await w.teacher("a2", "a", (1999, 2024))  # young, mentee of a1
    await w.teacher("a3", "a", (2000, 2025))  # young, an active route; a cancelled pair
    await w.teacher("a4", "a", (1998, 2023))  # young, open request shared 9 days ago
    await w.teacher("a5", "a", (1985, 2010))  # mentee of a1 and mentor of b2
    await w.teacher("a6", "a", (2001, 2025), blocked=True)  # blocked: counted nowhere
    await w.teacher("a7", "a", (2001, 2026), registered=False)  # registration not finished
    await w.teacher("a8", "a")  # only a completed and a cancelled pair
    await w.teacher("a9", "a", (1991, 2024))  # 35 this year: not young
    # school B
    await w.teacher("b1", "b")  # mentor of b3
    await w.teacher("b2", "b", (1997, 2023))  # young, mentee of a5 (another school)
    await w.teacher("b3", "b", (1990, 2020))  # not young, mentee of b1
    await w.teacher("b4", "b", (2002, 2026))  # young, request offered, shared 2 days ago
    await w.teacher("b5", "b", (1996, 2024))  # young, withdrawn request, completed route
    await w.teacher("b6", "b", (None, 2025))  # no birth year: not young
    await w.teacher("b7", "b", (1996, 2022))  # 4 years of teaching: not young
    # school C, the other municipality
    await w.teacher("c1", "c")  # mentor of c2
    await w.teacher("c2", "c", (1995, 2024))  # young, mentee of c1
    await w.teacher("c3", "c", (1999, 2025))  # young, open request shared 20 days ago
    # no school: in no scope
    await w.teacher("z1", None, (2000, 2025))
    await w.request("z1", RequestStatus.OPEN, timedelta(days=30))

    await w.pair("a1", "a2")
    await w.pair("a1", "a5")
    await w.pair("a5", "b2")
    await w.pair("b1", "b3")
    await w.pair("c1", "c2")
    await w.pair("a8", "a2", PairStatus.COMPLETED)
    await w.pair("a8", "a3", PairStatus.CANCELLED)
    await w.pair("b1", "a6")  # the mentee blocked the bot: the pair still counts for b1
    await w.pair("a1", "z1")  # a mentee with no school: counts for a1's school
    await w.pair("b1", "b5", PairStatus.CANCELLED)

    await w.request("a2", RequestStatus.MATCHED, timedelta(days=45))
    await w.request("a3", RequestStatus.DRAFT, None)
    await w.request("a4", RequestStatus.OPEN, timedelta(days=9, hours=3))
    await w.request("a6", RequestStatus.OPEN, timedelta(days=12))  # blocked
    offered = await w.request("b4", RequestStatus.OFFERED, timedelta(days=2))
    session.add(MentorOffer(request_id=offered.id, mentor_id=w.users["b1"].id, offered_by=1))
    await w.request("b5", RequestStatus.WITHDRAWN, timedelta(days=5))
    await w.request("c3", RequestStatus.OPEN, timedelta(days=20, hours=5))
    # a draft that was once shared and taken back to edit is not waiting either
    await w.request("b7", RequestStatus.DRAFT, timedelta(days=15))

    await w.route("a3", RouteStatus.ACTIVE)
    await w.route("a4", RouteStatus.DRAFT)
    await w.route("b5", RouteStatus.COMPLETED)
    await w.route("a6", RouteStatus.ACTIVE)  # blocked
    await session.commit()
    return w


def figures(
    school: tuple[int, str] | None,
    *,
    teachers: int,
    mentors: int,
    mentees: int,
    pairs: int,
    involved: int,
    young: int,
    supported: int,
    waiting: int,
    oldest: int | None,
    long: int,
) -> MentoringFigures:
    return MentoringFigures(
        school_id=school[0] if school else None,
        school_name=school[1] if school else None,
        teachers=teachers,
        mentors=mentors,
        mentees=mentees,
        active_pairs=pairs,
        in_mentoring=involved,
        young=young,
        young_supported=supported,
        requests_waiting=waiting,
        oldest_wait_days=oldest,
        waiting_over_7_days=long,
    )


def expected(w: World) -> dict[str, MentoringFigures]:
    s = {k: (v.id, v.name) for k, v in w.schools.items()}
    return {
        # A: active a1 a2 a3 a4 a5 a8 a9 = 7 (a6 blocked, a7 unregistered)
        #   mentors a1 a5 = 2; mentees a2 a5 = 2; in mentoring a1 a2 a5 = 3 (a5 once)
        #   pairs a1–a2, a1–a5, a5–b2, a1–z1 = 4 (b1–a6: a6 blocked, b1 in B)
        #   young a2 a3 a4 = 3 (a9 is 35); supported a2 (pair), a3 (route) = 2
        #   waiting a4 (9 days 3 h) = 1, oldest 9, over 7 days 1; a3's draft, a6 blocked
        "a": figures(
            s["a"],
            teachers=7,
            mentors=2,
            mentees=2,
            pairs=4,
            involved=3,
            young=3,
            supported=2,
            waiting=1,
            oldest=9,
            long=1,
        ),
        # B: active b1..b7 = 7; mentors b1 = 1; mentees b2 b3 = 2; in mentoring b1 b2 b3 = 3
        #   pairs a5–b2, b1–b3, b1–a6 = 3; young b2 b4 b5 = 3 (b6 no birth year, b7 4 years)
        #   supported b2 = 1 (b5's route is completed); waiting b4 (offered, 2 days) = 1,
        #   oldest 2, over 7 days 0 (b5 withdrawn, b7 a draft)
        "b": figures(
            s["b"],
            teachers=7,
            mentors=1,
            mentees=2,
            pairs=3,
            involved=3,
            young=3,
            supported=1,
            waiting=1,
            oldest=2,
            long=0,
        ),
        "d": figures(
            s["d"],
            teachers=0,
            mentors=0,
            mentees=0,
            pairs=0,
            involved=0,
            young=0,
            supported=0,
            waiting=0,
            oldest=None,
            long=0,
        ),
        # C: c1 c2 c3 = 3; mentor c1, mentee c2, pair c1–c2; young c2 c3, supported c2;
        #   waiting c3 (20 days 5 h): oldest 20, over 7 days 1
        "c": figures(
            s["c"],
            teachers=3,
            mentors=1,
            mentees=1,
            pairs=1,
            involved=2,
            young=2,
            supported=1,
            waiting=1,
            oldest=20,
            long=1,
        ),
        # municipality m1 = A + B, except pairs: a5–b2 is in both schools, counted once:
        #   a1–a2, a1–a5, a5–b2, a1–z1, b1–b3, b1–a6 = 6
        "m1": figures(
            None,
            teachers=14,
            mentors=3,
            mentees=4,
            pairs=6,
            involved=6,
            young=6,
            supported=3,
            waiting=2,
            oldest=9,
            long=1,
        ),
        # everything: m1 + C (z1 has no school and is in no scope)
        "all": figures(
            None,
            teachers=17,
            mentors=4,
            mentees=5,
            pairs=7,
            involved=8,
            young=8,
            supported=4,
            waiting=3,
            oldest=20,
            long=2,
        ),
    }


async def test_figures_of_a_municipality(session: AsyncSession) -> None:
    w = await build(session)
    want = expected(w)
    schools, total = await mentoring_figures(session, TODAY, NOW, w.municipalities["m1"].id)
    assert [f.school_name for f in schools] == ["Гимназия № 2", "Детский сад № 5", "Школа № 1"]
    assert schools == [want["b"], want["d"], want["a"]]
    assert total == want["m1"]
    assert total.share_in_mentoring == 6 / 14
    assert total.share_young_supported == 3 / 6
    assert schools[1].share_in_mentoring is None and schools[1].share_young_supported is None


async def test_figures_of_everything_and_of_the_other_municipality(session: AsyncSession) -> None:
    w = await build(session)
    want = expected(w)
    schools, total = await mentoring_figures(session, TODAY, NOW)
    assert schools == [want["b"], want["d"], want["a"], want["c"]]
    assert total == want["all"]

    schools, total = await mentoring_figures(session, TODAY, NOW, w.municipalities["m2"].id)
    assert schools == [want["c"]]
    assert total == replace(want["c"], school_id=None, school_name=None)


async def test_young_follows_today(session: AsyncSession) -> None:
    await build(session)
    # a year later: a2 (1999, 2024) is still young; a4 (2023) and b2 (2023) have 4 years;
    # a3, b4, b5, c2, c3 stay young; a9 and b7 stay not young
    _, total = await mentoring_figures(session, date(2027, 1, 1), NOW)
    assert total.young == 6  # a2 a3 b4 b5 c2 c3
    assert total.young_supported == 3  # a2 (pair), a3 (route), c2 (pair)


async def test_wait_boundaries(session: AsyncSession) -> None:
    w = World(session)
    await w.municipality("m")
    await w.school("s", "m", "Школа")
    await w.teacher("t1", "s", (2000, 2025))
    await w.teacher("t2", "s", (2000, 2025))
    await w.teacher("t3", "s", (2000, 2025))
    await w.request("t1", RequestStatus.OPEN, timedelta(days=7))  # exactly 7 days: not over
    await w.request("t2", RequestStatus.OPEN, timedelta(days=7, minutes=1))  # over
    await w.request("t3", RequestStatus.OFFERED, timedelta(hours=23))  # 0 days
    await session.commit()
    schools, total = await mentoring_figures(session, TODAY, NOW)
    assert (total.requests_waiting, total.oldest_wait_days, total.waiting_over_7_days) == (3, 7, 1)
    assert [(f.requests_waiting, f.oldest_wait_days, f.waiting_over_7_days) for f in schools] == [
        (3, 7, 1)
    ]


async def test_an_empty_database(session: AsyncSession) -> None:
    schools, total = await mentoring_figures(session, TODAY, NOW)
    assert schools == []
    assert total == figures(
        None,
        teachers=0,
        mentors=0,
        mentees=0,
        pairs=0,
        involved=0,
        young=0,
        supported=0,
        waiting=0,
        oldest=None,
        long=0,
    )


def test_shares() -> None:
    base = figures(
        None,
        teachers=8,
        mentors=1,
        mentees=2,
        pairs=2,
        involved=3,
        young=4,
        supported=1,
        waiting=0,
        oldest=None,
        long=0,
    )
    assert base.share_in_mentoring == 3 / 8
    assert base.share_young_supported == 0.25
    none = replace(base, teachers=0, in_mentoring=0, young=0, young_supported=0)
    assert none.share_in_mentoring is None
    assert none.share_young_supported is None
    full = replace(base, young_supported=4)
    assert full.share_young_supported == 1.0
