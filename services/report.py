"""The analytic report for a scope: which scopes a methodist may report on, the periods held,
the catalog's programmes per block, and the DOCX (:mod:`services.report_docx`).

The periods are academic years from the one of the scope's earliest completed questionnaire
to the current one, at most :data:`MAX_PERIODS` (the latest); each is computed by
``services.indicators.compute``, the one definition of every indicator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Attempt,
    AttemptStatus,
    CatalogItem,
    CourseKind,
    Municipality,
    School,
    ScopeKind,
    User,
)
from services.indicators import IndicatorTable, Period, academic_year, compute, scope_of
from services.report_docx import build_report
from services.report_rules import BLOCKS, Rule, default_rules
from services.roles import Access
from services.route_docx import Texts

MAX_PERIODS = 5


class ReportRefusal(Exception):
    """A refused request, with the locale key of the answer."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class ReportScope:
    kind: ScopeKind
    id: int | None  # the school's or municipality's id; None for the region
    name: str | None  # None for the region (the screen names it)

    @property
    def key(self) -> str:
        return scope_key(self.kind, self.id)


@dataclass(frozen=True, slots=True)
class ReportFile:
    data: bytes
    scope_name: str
    period: str  # the current period's label


def scope_key(kind: ScopeKind | str, scope_id: int | None) -> str:
    """``school:<id>``, ``municipality:<id>`` or ``region``."""
    kind = ScopeKind(kind)
    return kind.value if kind == ScopeKind.REGION else f"{kind.value}:{scope_id}"


def _parse_key(key: str) -> tuple[ScopeKind, int | None]:
    kind, _, rest = key.partition(":")
    if kind == ScopeKind.REGION.value and not rest:
        return ScopeKind.REGION, None
    if kind in (ScopeKind.SCHOOL.value, ScopeKind.MUNICIPALITY.value) and rest.isdigit():
        return ScopeKind(kind), int(rest)
    raise ValueError(f"not a scope key: {key!r}")


# ---------------------------------------------------------------- scopes


async def report_scopes(session: AsyncSession, access: Access) -> list[ReportScope]:
    """The scopes this person may report on: each methodist scope, and the region for an
    admin; schools and municipalities by name, the region last."""
    pairs: list[tuple[str, int | None]] = list(dict.fromkeys(scope_of(access)))
    if access.is_admin and ("region", None) not in pairs:
        pairs.append(("region", None))
    school_ids = [i for k, i in pairs if k == ScopeKind.SCHOOL.value and i is not None]
    mun_ids = [i for k, i in pairs if k == ScopeKind.MUNICIPALITY.value and i is not None]
    names: dict[tuple[str, int], str] = {}
    if school_ids:
        rows = await session.execute(
            select(School.id, School.short_name).where(School.id.in_(school_ids))
        )
        names.update({("school", i): n for i, n in rows.all()})
    if mun_ids:
        rows = await session.execute(
            select(Municipality.id, Municipality.name).where(Municipality.id.in_(mun_ids))
        )
        names.update({("municipality", i): n for i, n in rows.all()})
    out = [
        ReportScope(ScopeKind(k), i, names[(k, i)])
        for k, i in pairs
        if i is not None and (k, i) in names
    ]
    out.sort(key=lambda s: (s.kind != ScopeKind.SCHOOL, s.name or ""))
    if ("region", None) in pairs:
        out.append(ReportScope(ScopeKind.REGION, None, None))
    return out


async def resolve_scope(session: AsyncSession, text: str) -> str:
    """A scope key from the command line's ``school:CODE``, ``municipality[:CODE]`` or
    ``region``; :class:`ValueError` with the reason otherwise. ``municipality`` alone means
    the only municipality there is."""
    kind, _, code = text.strip().partition(":")
    if kind == "region" and not code:
        return "region"
    if kind == "school" and code:
        school_id = await session.scalar(select(School.id).where(School.code == code))
        if school_id is None:
            raise ValueError(f"нет организации с кодом {code}")
        return scope_key(ScopeKind.SCHOOL, school_id)
    if kind == "municipality":
        stmt = select(Municipality.id)
        if code:
            stmt = stmt.where(Municipality.code == code)
        ids = list((await session.scalars(stmt.limit(2))).all())
        if not ids:
            raise ValueError(
                f"нет муниципалитета с кодом {code}" if code else "муниципалитетов нет"
            )
        if len(ids) > 1:
            raise ValueError("муниципалитетов несколько: укажите код, municipality:КОД")
        return scope_key(ScopeKind.MUNICIPALITY, ids[0])
    raise ValueError("ожидается school:КОД, municipality, municipality:КОД или region")


# ---------------------------------------------------------------- periods and catalog


async def periods_held(
    session: AsyncSession, key: str, today: date, now: datetime | None = None
) -> list[Period]:
    """Academic years from the scope's earliest completed questionnaire (on or before
    ``today``) to the one of ``today``, oldest first, at most :data:`MAX_PERIODS`."""
    kind, scope_id = _parse_key(key)
    stmt = (
        select(func.min(Attempt.completed_at))
        .join(User, User.id == Attempt.user_id)
        .where(Attempt.status == AttemptStatus.COMPLETED.value, Attempt.completed_at.is_not(None))
    )
    if kind == ScopeKind.SCHOOL:
        stmt = stmt.where(User.school_id == scope_id)
    elif kind == ScopeKind.MUNICIPALITY:
        stmt = stmt.join(School, School.id == User.school_id).where(
            School.municipality_id == scope_id
        )
    earliest: datetime | None = await session.scalar(stmt)
    current = academic_year(today)
    if earliest is None:
        return [current]
    if now is not None and now.tzinfo is not None and earliest.tzinfo is not None:
        earliest = earliest.astimezone(now.tzinfo)
    periods = [academic_year(min(earliest.date(), today))]
    while periods[-1].end < current.start and len(periods) < 200:
        periods.append(academic_year(periods[-1].end + timedelta(days=1)))
    return periods[-MAX_PERIODS:]


async def catalog_by_block(session: AsyncSession, today: date) -> dict[str, list[str]]:
    """Titles of the active catalog programmes not yet over, per block: courses (повышение
    квалификации) before other kinds, programmes of fewer blocks (more to the point) first,
    then by title."""
    rows = await session.execute(
        select(CatalogItem.title, CatalogItem.blocks, CatalogItem.kind).where(
            CatalogItem.active.is_(True),
            or_(CatalogItem.ends_on.is_(None), CatalogItem.ends_on >= today),
        )
    )
    ranked: dict[str, list[tuple[bool, int, str]]] = {b: [] for b in BLOCKS}
    for title, blocks, kind in rows.all():
        blocks = [b for b in blocks or () if b in ranked]
        for block in dict.fromkeys(blocks):
            ranked[block].append((kind != CourseKind.QUALIFICATION.value, len(blocks), title))
    return {
        b: list(dict.fromkeys(title for *_, title in sorted(items))) for b, items in ranked.items()
    }


# ---------------------------------------------------------------- the report


async def _tables(
    session: AsyncSession,
    key: str,
    today: date,
    now: datetime,
    plans: Mapping[str, float] | None,
) -> list[IndicatorTable]:
    tables = []
    for period in await periods_held(session, key, today, now):
        if period.end < today:  # a past year: as it stood at its end
            p_today = period.end
            p_now = datetime.combine(period.end, time(23, 59), tzinfo=now.tzinfo)
        else:
            p_today, p_now = today, now
        tables.append(
            await compute(
                session, scope_key=key, period=period, today=p_today, now=p_now, plans=plans
            )
        )
    return tables


async def _build(
    session: AsyncSession,
    key: str,
    today: date,
    now: datetime,
    plans: Mapping[str, float] | None,
    t: Texts,
    rules: Sequence[Rule] | None,
) -> tuple[bytes, IndicatorTable]:
    tables = await _tables(session, key, today, now, plans)
    catalog = await catalog_by_block(session, today)
    rules = default_rules() if rules is None else rules
    return build_report(tables, rules, catalog, today, t=t), tables[-1]


async def report_for(
    session: AsyncSession,
    scope_key: str,
    today: date,
    now: datetime,
    plans: Mapping[str, float] | None,
    *,
    t: Texts,
    rules: Sequence[Rule] | None = None,
) -> bytes:
    """The analytic report of a scope (``school:<id>``, ``municipality:<id>``, ``region``) as
    DOCX bytes; ``rules``: the shipped ones when not given."""
    data, _ = await _build(session, scope_key, today, now, plans, t, rules)
    return data


async def make_report(
    session: AsyncSession,
    access: Access,
    kind: ScopeKind,
    scope_id: int,
    today: date,
    now: datetime,
    plans: Mapping[str, float] | None,
    t: Texts,
) -> ReportFile:
    """The report of one of the person's scopes (checked again here: a forged id is refused
    with ``report.gone``)."""
    wanted = scope_key(kind, None if kind == ScopeKind.REGION else scope_id)
    if wanted not in {s.key for s in await report_scopes(session, access)}:
        raise ReportRefusal("report.gone")
    data, table = await _build(session, wanted, today, now, plans, t, None)
    return ReportFile(data=data, scope_name=table.scope_name, period=table.period.label)


async def open_report(
    session: AsyncSession,
    access: Access,
    today: date,
    now: datetime,
    plans: Mapping[str, float] | None,
    t: Texts,
) -> ReportFile | list[ReportScope]:
    """«Аналитическая справка»: the report itself when the person has one scope, else the
    scopes to choose from (empty: none any more)."""
    scopes = await report_scopes(session, access)
    if len(scopes) != 1:
        return scopes
    data, table = await _build(session, scopes[0].key, today, now, plans, t, None)
    return ReportFile(data=data, scope_name=table.scope_name, period=table.period.label)
