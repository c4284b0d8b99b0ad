"""Every indicator for every school and the municipality, against one full read of the answers.

A synthetic municipality (``--schools`` schools, ``--teachers`` registered teachers) with
questionnaires answered over the last 14 months until ``--answers`` answers are stored
(deficits self-assessments, some repeated; burnout, activity and satisfaction), each
completed attempt with its scale result rows (the latest of each teacher per questionnaire
flagged as the application flags it); recorded courses, routes, mentor pairs,
waiting requests and two running campaigns, then the stored facts the indicators count
(``models.facts.rebuild_all``, as the application keeps them). Rows are inserted directly (deterministic,
``random.Random(seed)``); bands are drawn, not scored (the indicators read the stored rows).

Each round times :func:`services.indicators.compute` for the municipality (every school and
the total) and, in the same round, the floor: one full read of the answers table
(``SELECT count(value) FROM answers``: every row read, no index can answer it). The ratio
compute/floor is judged on the median over the rounds.

    python bench/indicators.py [--teachers 50000] [--answers 2000000] [--schools 60]
        [--rounds 5] [--database-url URL]

Goals: compute under 1 s and a ratio under 3, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench._common import database_version, goal, load_average, machine_line, median, use_database
from models import (
    Answer,
    Attempt,
    Campaign,
    CampaignMember,
    Course,
    InstrumentVersion,
    MentorPair,
    MentorRequest,
    Municipality,
    Route,
    ScaleResult,
    School,
    User,
)
from models.db import make_engine, make_sessionmaker
from models.facts import rebuild_all
from services.indicators import academic_year, compute
from services.surveys import mark_latest
from surveys.loader import load_instruments
from tests.conftest import reset_schema

NOW = datetime(2027, 5, 14, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
TIME_GOAL = 1.0  # seconds
RATIO_GOAL = 3.0
CHUNK = 5_000
# the questionnaires a teacher answers, with their weight (deficits is repeated by some)
MIX = (("deficits", 10), ("burnout", 4), ("activity", 5), ("satisfaction", 3), ("deficits", 3))
POSITIONS = ("teacher",) * 6 + ("preschool", "preschool", "extra", "psychologist")


async def insert_rows(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await conn.execute(insert(table), list(rows[start : start + CHUNK]))


class Ids:
    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, name: str) -> int:
        self.next[name] = self.next.get(name, 0) + 1
        return self.next[name]


async def populate(
    engine: AsyncEngine, teachers: int, answers: int, schools: int, seed: int
) -> str:
    rng = random.Random(seed)
    instruments = load_instruments()
    ids = Ids()
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(insert(Municipality.__table__), [{"id": 1, "code": "m", "name": "Энск"}])
        await insert_rows(
            conn,
            School.__table__,
            [
                {
                    "id": i,
                    "municipality_id": 1,
                    "code": f"s{i}",
                    "name": f"Школа № {i}",
                    "short_name": f"Школа № {i}",
                    "kind": "school",
                }
                for i in range(1, schools + 1)
            ],
        )
        versions = {}
        for n, inst in enumerate(instruments.values(), start=1):
            versions[inst.id] = n
            await conn.execute(
                insert(InstrumentVersion.__table__),
                [
                    {
                        "id": n,
                        "instrument_id": inst.id,
                        "version": inst.version,
                        "digest": inst.digest(),
                        "definition": {},
                        "loaded_at": NOW,
                    }
                ],
            )
        users = []
        for uid in range(1, teachers + 1):
            born = rng.randint(1960, 2003)
            category = rng.choice(("none", "first", "highest", "methodist", None))
            users.append(
                {
                    "id": uid,
                    "telegram_id": 10_000_000 + uid,
                    "language": "ru",
                    "consent_at": NOW - timedelta(days=400),
                    "registered_at": NOW - timedelta(days=400),
                    "full_name": f"Педагог {uid}",
                    "school_id": 1 + uid % schools,
                    "position": rng.choice(POSITIONS),
                    "birth_year": born,
                    "teaching_since": rng.randint(born + 21, 2026),
                    "category": category,
                    "category_year": rng.randint(2018, 2026) if category else None,
                    "category_date": None,
                    "blocked_bot": rng.random() < 0.02,
                }
            )
        await insert_rows(conn, User.__table__, users)

        # questionnaires until the answers are there
        attempts: list[dict[str, Any]] = []
        results: list[dict[str, Any]] = []
        answer_rows: list[dict[str, Any]] = []
        stored = 0
        kinds = [k for k, w in MIX for _ in range(w)]
        questions = {k: [q.id for q in inst.questions] for k, inst in instruments.items()}
        while stored < answers:
            uid = rng.randint(1, teachers)
            iid = rng.choice(kinds)
            inst = instruments[iid]
            aid = ids.take("attempt")
            done = NOW - timedelta(days=rng.uniform(0, 420))
            attempts.append(
                {
                    "id": aid,
                    "user_id": uid,
                    "instrument_version_id": versions[iid],
                    "instrument_id": iid,
                    "status": "completed",
                    "current_question": None,
                    "started_at": done - timedelta(minutes=7),
                    "updated_at": done,
                    "completed_at": done,
                }
            )
            qs = questions[iid][: max(1, min(len(questions[iid]), answers - stored))]
            for q in qs:
                answer_rows.append(
                    {
                        "id": ids.take("answer"),
                        "attempt_id": aid,
                        "question_id": q,
                        "value": rng.randint(0, 3),
                        "final": True,
                        "answered_at": done,
                    }
                )
            stored += len(qs)
            for scale in inst.scales:
                band = rng.choice(scale.bands)
                results.append(
                    {
                        "id": ids.take("result"),
                        "attempt_id": aid,
                        "user_id": uid,
                        "instrument_id": iid,
                        "instrument_version": inst.version,
                        "scale_id": scale.id,
                        "score": band.upper,
                        "band": band.code,
                        "answered": len(scale.items),
                        "completed_at": done,
                    }
                )
            if len(answer_rows) >= 50_000:
                await insert_rows(conn, Attempt.__table__, attempts)
                await insert_rows(conn, ScaleResult.__table__, results)
                await insert_rows(conn, Answer.__table__, answer_rows)
                attempts, results, answer_rows = [], [], []
        await insert_rows(conn, Attempt.__table__, attempts)
        await insert_rows(conn, ScaleResult.__table__, results)
        await insert_rows(conn, Answer.__table__, answer_rows)
        await conn.execute(mark_latest())  # each teacher's latest result per questionnaire

        # courses, routes, mentoring, campaigns
        courses, routes = [], []
        for uid in range(1, teachers + 1):
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                ends = TODAY - timedelta(days=rng.randint(0, 1500))
                courses.append(
                    {
                        "id": ids.take("course"),
                        "user_id": uid,
                        "title": "Курс",
                        "kind": rng.choice(("qualification",) * 4 + ("retraining", "seminar")),
                        "hours": 36,
                        "starts_on": ends - timedelta(days=20),
                        "ends_on": ends,
                        "format": rng.choice(("in_person", "distance", "blended")),
                        "blocks": [],
                        "created_at": NOW,
                    }
                )
            if rng.random() < 0.4:
                status = rng.choice(("active", "active", "completed", "draft"))
                activated = NOW - timedelta(days=rng.randint(1, 400))
                routes.append(
                    {
                        "id": ids.take("route"),
                        "user_id": uid,
                        "status": status,
                        "baseline": {},
                        "created_at": activated,
                        "activated_at": activated if status != "draft" else None,
                        "completed_at": activated + timedelta(days=60)
                        if status == "completed"
                        else None,
                    }
                )
        await insert_rows(conn, Course.__table__, courses)
        await insert_rows(conn, Route.__table__, routes)
        people = rng.sample(range(1, teachers + 1), min(teachers, teachers // 10 * 2))
        half = len(people) // 2
        await insert_rows(
            conn,
            MentorPair.__table__,
            [
                {
                    "id": n + 1,
                    "mentor_id": mentor,
                    "mentee_id": mentee,
                    "status": "active",
                    "started_on": TODAY - timedelta(days=30),
                }
                for n, (mentor, mentee) in enumerate(
                    zip(people[:half], people[half:], strict=False)
                )
            ],
        )
        free = [u for u in range(1, teachers + 1) if u % 97 == 0]
        await insert_rows(
            conn,
            MentorRequest.__table__,
            [
                {
                    "id": n + 1,
                    "mentee_id": uid,
                    "status": "open",
                    "topics": [],
                    "created_at": NOW - timedelta(days=n % 20),
                    "shared_at": NOW - timedelta(days=n % 20),
                }
                for n, uid in enumerate(free)
            ],
        )
        for cid, share_ in ((1, 1.0), (2, 0.2)):
            await conn.execute(
                insert(Campaign.__table__),
                [
                    {
                        "id": cid,
                        "instrument_id": "activity" if cid == 1 else "satisfaction",
                        "municipality_id": 1,
                        "filters": {},
                        "remind_after_days": [3],
                        "remind_before_days": [1],
                        "starts_at": NOW - timedelta(days=5),
                        "deadline": TODAY + timedelta(days=10),
                        "status": "active",
                        "created_by": 1,
                        "created_at": NOW - timedelta(days=5),
                    }
                ],
            )
            await insert_rows(
                conn,
                CampaignMember.__table__,
                [
                    {
                        "id": ids.take("member"),
                        "campaign_id": cid,
                        "user_id": uid,
                        "counted_before": False,
                        "answered_at": NOW if rng.random() < 0.4 else None,
                    }
                    for uid in range(1, teachers + 1)
                    if rng.random() < share_
                ],
            )
        # the stored facts, as the application keeps them (here written with plain INSERTs)
        await conn.run_sync(rebuild_all)
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execute(text("COMMIT"))
            await conn.execute(text("VACUUM ANALYZE"))
    else:
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    counts = []
    async with engine.connect() as conn:
        for model in (Attempt, ScaleResult, Course, Route, CampaignMember):
            n = await conn.scalar(select(func.count()).select_from(model))
            counts.append(f"{n:,} {model.__tablename__}")
    return f"{', '.join(counts)} (in {time.perf_counter() - started:.1f} s)"


async def floor_read(engine: AsyncEngine) -> tuple[float, int]:
    async with engine.connect() as conn:
        started = time.perf_counter()
        n = int(await conn.scalar(select(func.count(Answer.value))) or 0)
        return time.perf_counter() - started, n


async def main(
    *,
    teachers: int = 50_000,
    answers: int = 2_000_000,
    schools: int = 60,
    rounds: int = 5,
    database_url: str | None = None,
    seed: int = 1,
) -> dict[str, float]:
    """Run the benchmark, print its figures; returns the headline figures."""
    print(machine_line(), flush=True)
    with use_database(database_url) as url:
        engine = make_engine(url)
        try:
            await reset_schema(engine)
            where = "a temporary file" if not database_url else "the given database, schema reset"
            print(f"database: {await database_version(engine)} ({where})")
            print(f"teachers: {teachers:,}; schools: {schools}; answers: {answers:,}", flush=True)
            print(f"setup: {await populate(engine, teachers, answers, schools, seed)}", flush=True)
            sessionmaker = make_sessionmaker(engine)
            period = academic_year(TODAY)
            computes: list[float] = []
            floors: list[float] = []
            table = None
            for r in range(1, rounds + 1):
                floor, rows = await floor_read(engine)
                async with sessionmaker() as session:
                    started = time.perf_counter()
                    table = await compute(
                        session, scope_key="municipality:1", period=period, today=TODAY, now=NOW
                    )
                    elapsed = time.perf_counter() - started
                computes.append(elapsed)
                floors.append(floor)
                print(
                    f"round {r}: compute {elapsed:.3f} s; floor (read of {rows:,} answers) "
                    f"{floor:.3f} s; ratio {elapsed / floor:.2f}",
                    flush=True,
                )
            assert table is not None
            ratios = [c / f for c, f in zip(computes, floors, strict=True)]
            backend = engine.dialect.name
            met = median(computes) < TIME_GOAL and median(ratios) < RATIO_GOAL
            print(
                f"indicators: {len(table.definitions)} codes for {len(table.schools)} schools and "
                f"the municipality ({table.total.teachers:,} active teachers), "
                f"{len(table.campaigns)} campaigns"
            )
            print(
                f"over {rounds} rounds: compute min {min(computes):.3f} / median "
                f"{median(computes):.3f} s; floor min {min(floors):.3f} / median "
                f"{median(floors):.3f} s; ratio min {min(ratios):.2f} / median "
                f"{median(ratios):.2f} (goal under {TIME_GOAL:g} s and ratio under "
                f"{RATIO_GOAL:g} on {backend}: {goal(met)}, judged on the medians); "
                f"{load_average()}",
                flush=True,
            )
            return {
                "compute": median(computes),
                "floor": median(floors),
                "ratio": median(ratios),
                "schools": float(len(table.schools)),
                "teachers": float(table.total.teachers),
            }
        finally:
            await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teachers", type=int, default=50_000)
    parser.add_argument("--answers", type=int, default=2_000_000)
    parser.add_argument("--schools", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--database-url", default="", help="default: a fresh SQLite file in a temporary dir"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(
        main(
            teachers=args.teachers,
            answers=args.answers,
            schools=args.schools,
            rounds=args.rounds,
            database_url=args.database_url or None,
            seed=args.seed,
        )
    )
