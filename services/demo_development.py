"""Demo data for professional development: the sample catalog, recorded courses, routes.

Called by :func:`services.demo.fill_demo` after the teachers and their questionnaires exist.
Deterministic for a seed; courses are plausible for each teacher (their position, subjects,
dates within the last four years, some teachers overdue for ПК), and a share of the teachers
with a deficits self-assessment have built a route from it, most confirmed, some steps done.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Attempt,
    AttemptStatus,
    CatalogItem,
    Course,
    CourseKind,
    StepStatus,
    User,
)
from services import routes
from services.catalog import SAMPLE_CATALOG_CSV, import_catalog
from services.instruments import InstrumentRegistry

ROUTE_SHARE = 0.45  # of the teachers with a deficits self-assessment
CONFIRM_SHARE = 0.85  # of those routes
OVERDUE_SHARE = 0.15  # teachers whose last ПК ended more than 3 years ago


class DemoCatalogError(Exception):
    pass


@dataclass
class DevelopmentReport:
    catalog_items: int = 0
    courses: int = 0
    routes_active: int = 0
    routes_draft: int = 0
    steps_done: int = 0


def _pick_items(
    rng: random.Random, user: User, items: list[CatalogItem], n: int
) -> list[CatalogItem]:
    subjects = set(user.subject_codes)
    fitting = [
        i
        for i in items
        if (not i.positions or user.position in i.positions)
        and (not i.subjects or subjects & set(i.subjects))
    ]
    pool = fitting or items
    return rng.sample(pool, min(n, len(pool)))


def _past_course(
    rng: random.Random, user: User, item: CatalogItem, today: date, overdue: bool
) -> Course:
    weeks = max(1, item.hours // 18)
    years_back = rng.uniform(3.1, 4.5) if overdue else rng.uniform(0.05, 2.9)
    ends_on = today - timedelta(days=int(years_back * 365))
    starts_on = ends_on - timedelta(weeks=weeks)
    return Course(
        user_id=user.id,
        title=item.title,
        provider_id=item.provider_id,
        kind=item.kind,
        hours=item.hours,
        starts_on=starts_on,
        ends_on=ends_on,
        format=item.format,
        blocks=list(item.blocks),
        certificate_number=f"{rng.randint(100000, 999999)}" if rng.random() < 0.6 else None,
        catalog_item_id=item.id,
        created_at=datetime.combine(ends_on, time(12), tzinfo=UTC),
    )


async def fill_development(
    session: AsyncSession,
    registry: InstrumentRegistry,
    users: list[User],
    *,
    seed: int,
    today: date,
) -> DevelopmentReport:
    report = DevelopmentReport()
    imported = await import_catalog(session, SAMPLE_CATALOG_CSV)
    if imported.errors:
        raise DemoCatalogError("; ".join(map(str, imported.errors)))
    items = list(
        (await session.execute(select(CatalogItem).order_by(CatalogItem.id))).unique().scalars()
    )
    report.catalog_items = len(items)
    courses_only = [i for i in items if i.kind in (CourseKind.QUALIFICATION, CourseKind.RETRAINING)]
    rng = random.Random(seed * 7919 + 17)

    courses: list[Course] = []
    for user in users:
        overdue = rng.random() < OVERDUE_SHARE
        count = 1 if overdue else rng.choice((0, 1, 1, 2, 2, 3))
        for item in _pick_items(rng, user, courses_only, count):
            courses.append(_past_course(rng, user, item, today, overdue))
    session.add_all(courses)
    await session.flush()
    report.courses = len(courses)

    deficits = routes.deficit_instrument_ids(registry)
    diagnosed = (
        await session.execute(
            select(Attempt.user_id, Attempt.completed_at)
            .where(
                Attempt.instrument_id.in_(deficits),
                Attempt.status == AttemptStatus.COMPLETED.value,
            )
            .order_by(Attempt.user_id, Attempt.completed_at)
        )
    ).all()
    last_diagnosis: dict[int, datetime] = {}
    for user_id, completed_at in diagnosed:
        last_diagnosis[user_id] = completed_at
    by_id = {u.id: u for u in users}
    for user_id in sorted(last_diagnosis):
        if rng.random() >= ROUTE_SHARE:
            continue
        user = by_id[user_id]
        built_at = min(
            last_diagnosis[user_id] + timedelta(hours=rng.randint(1, 72)),
            datetime.combine(today, time(9), tzinfo=UTC),
        )
        route = await routes.build_for_latest(session, registry, user, built_at)
        if not route.steps:
            await routes.discard_draft(session, user.id)
            continue
        if rng.random() >= CONFIRM_SHARE:
            report.routes_draft += 1
            continue
        route = await routes.confirm(session, user.id, built_at + timedelta(minutes=10))
        report.routes_active += 1
        for step in list(route.steps):
            days_since = (today - built_at.date()).days
            if step.status == StepStatus.PLANNED.value and rng.random() < min(0.5, days_since / 90):
                done_at = built_at + timedelta(days=rng.randint(1, max(1, days_since)))
                latest = datetime.combine(today, time(18), tzinfo=UTC)
                when = min(done_at, latest)
                if await routes.not_started(session, step, when.date()) is not None:
                    continue  # a course that has not begun cannot have been done
                await routes.mark_done(session, user.id, step.id, when)
                report.steps_done += 1
    await session.flush()
    return report
