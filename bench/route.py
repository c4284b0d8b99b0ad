"""Route proposal throughput: the pure ``propose_route`` for many teachers against a catalog.

A region builds routes for every teacher after a diagnosis campaign; this measures the
proposal itself (the database adapters are one query each and are not included). The
catalog and the teachers are synthetic and deterministic (``random.Random(seed)``): items
develop 1–3 blocks, a third target one position, half target 1–3 subjects, about 70 % have
dates spread from two months ago to fifteen months ahead (some already closed or over);
teachers have a position, subjects, birth and teaching years (some young), formats chosen
before, and a deficit level per block.

    python bench/route.py [--teachers 10000] [--items 500] [--seed 1]

Prints teachers per second, steps proposed, and the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.reference import POSITIONS, SUBJECTS
from services.routes import (
    BLOCKS,
    BlockDeficit,
    CatalogEntry,
    TeacherProfile,
    propose_route,
)

TODAY = date(2026, 10, 12)
FORMATS = ("in_person", "distance", "blended")
KINDS = ("qualification", "qualification", "qualification", "retraining", "seminar")


def make_catalog(rng: random.Random, size: int) -> list[CatalogEntry]:
    items: list[CatalogEntry] = []
    for i in range(1, size + 1):
        starts = ends = enrol_until = None
        if rng.random() < 0.7:
            starts = TODAY + timedelta(days=rng.randint(-60, 450))
            ends = starts + timedelta(days=rng.randint(3, 90))
            if rng.random() < 0.5:
                enrol_until = starts - timedelta(days=rng.randint(0, 20))
        items.append(
            CatalogEntry(
                id=i,
                title=f"Программа повышения квалификации № {i}",
                format=rng.choice(FORMATS),
                kind=rng.choice(KINDS),
                blocks=frozenset(rng.sample(BLOCKS, rng.randint(1, 3))),
                positions=frozenset(rng.sample(POSITIONS[:3], 1))
                if rng.random() < 0.33
                else frozenset(),
                subjects=frozenset(rng.sample(SUBJECTS, rng.randint(1, 3)))
                if rng.random() < 0.5
                else frozenset(),
                hours=rng.choice((16, 24, 36, 72, 108, 250)),
                starts_on=starts,
                ends_on=ends,
                enrol_until=enrol_until,
            )
        )
    return items


def make_teacher(rng: random.Random) -> tuple[dict[str, BlockDeficit], TeacherProfile]:
    deficits = {}
    for block in BLOCKS:
        score = round(rng.uniform(20, 100), 1)
        level = "high" if score < 60 else ("medium" if score <= 80 else "minimal")
        deficits[block] = BlockDeficit(level, score)
    position = rng.choice(("teacher", "teacher", "teacher", "preschool", "extra", "psychologist"))
    born = rng.randint(1960, 2003)
    teacher = TeacherProfile(
        position=position,
        subjects=frozenset(rng.sample(SUBJECTS, rng.randint(1, 2)))
        if position == "teacher"
        else frozenset(),
        birth_year=born,
        teaching_since=rng.randint(born + 20, 2026),
        formats=tuple(rng.sample(FORMATS, rng.randint(0, 3))),
    )
    return deficits, teacher


def main(teachers: int, items: int, seed: int) -> None:
    rng = random.Random(seed)
    catalog = make_catalog(rng, items)
    people = [make_teacher(rng) for _ in range(teachers)]
    started = time.perf_counter()
    steps = 0
    courses = 0
    for deficits, teacher in people:
        proposal = propose_route(deficits, teacher, catalog, TODAY)
        steps += len(proposal)
        courses += sum(1 for s in proposal if s.catalog_item_id is not None)
    elapsed = time.perf_counter() - started
    print(f"teachers: {teachers}; catalog items: {items}; seed: {seed}")
    print(f"steps proposed: {steps} ({courses} catalog courses)")
    print(f"throughput: {teachers / elapsed:,.0f} teachers/s ({elapsed:.2f} s)")
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()} (one process, one core)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--teachers", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    main(args.teachers, args.items, args.seed)
