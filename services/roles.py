"""Roles and scopes: who may see what. The single place privileged checks consult."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Municipality, Role, RoleName, School, ScopeKind


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    school_id: int | None = None
    municipality_id: int | None = None

    def covers(self, school_id: int | None, municipality_id: int | None) -> bool:
        if self.kind == ScopeKind.REGION:
            return True
        if self.kind == ScopeKind.MUNICIPALITY:
            return municipality_id is not None and municipality_id == self.municipality_id
        return school_id is not None and school_id == self.school_id


@dataclass(frozen=True)
class Access:
    """What the current person may do, built once per update."""

    telegram_id: int
    is_admin: bool = False
    methodist_scopes: tuple[Scope, ...] = field(default_factory=tuple)

    @property
    def is_methodist(self) -> bool:
        return bool(self.methodist_scopes)

    @property
    def manages_catalog(self) -> bool:
        """Admins and methodists of a municipality or the region load the programme catalog."""
        return self.is_admin or any(s.kind != ScopeKind.SCHOOL for s in self.methodist_scopes)

    def has(self, role: RoleName) -> bool:
        return self.is_admin if role == RoleName.ADMIN else self.is_methodist or self.is_admin

    def covers_school(self, school_id: int | None, municipality_id: int | None) -> bool:
        if self.is_admin:
            return True
        return any(s.covers(school_id, municipality_id) for s in self.methodist_scopes)


def _scope(role: Role) -> Scope:
    return Scope(ScopeKind(role.scope), role.school_id, role.municipality_id)


async def access_for(session: AsyncSession, telegram_id: int, admin_ids: Collection[int]) -> Access:
    roles = (
        (await session.execute(select(Role).where(Role.telegram_id == telegram_id))).scalars().all()
    )
    return access_of(telegram_id, roles, admin_ids)


def access_of(telegram_id: int, roles: Iterable[Role], admin_ids: Collection[int]) -> Access:
    """:class:`Access` from roles already loaded (with the person, in one statement)."""
    roles = list(roles)
    if not roles:  # most people: a teacher and nothing more
        return Access(telegram_id=telegram_id, is_admin=telegram_id in admin_ids)
    is_admin = telegram_id in admin_ids or any(r.role == RoleName.ADMIN.value for r in roles)
    scopes = tuple(_scope(r) for r in roles if r.role == RoleName.METHODIST.value)
    return Access(telegram_id=telegram_id, is_admin=is_admin, methodist_scopes=scopes)


class RoleError(ValueError):
    pass


async def _resolve_scope(
    session: AsyncSession, school_code: str | None, municipality_code: str | None, region: bool
) -> tuple[ScopeKind, int | None, int | None]:
    if sum([school_code is not None, municipality_code is not None, region]) != 1:
        raise RoleError("укажите ровно одно: --school КОД, --municipality КОД или --region")
    if school_code is not None:
        school = await session.scalar(select(School).where(School.code == school_code))
        if school is None:
            raise RoleError(f"нет школы с кодом {school_code}")
        return ScopeKind.SCHOOL, school.id, None
    if municipality_code is not None:
        mun = await session.scalar(
            select(Municipality).where(Municipality.code == municipality_code)
        )
        if mun is None:
            raise RoleError(f"нет муниципалитета с кодом {municipality_code}")
        return ScopeKind.MUNICIPALITY, None, mun.id
    return ScopeKind.REGION, None, None


async def grant(
    session: AsyncSession,
    telegram_id: int,
    role: RoleName,
    *,
    school_code: str | None = None,
    municipality_code: str | None = None,
    region: bool = False,
) -> Role:
    if role == RoleName.ADMIN:
        kind, school_id, mun_id = ScopeKind.REGION, None, None
    else:
        kind, school_id, mun_id = await _resolve_scope(
            session, school_code, municipality_code, region
        )
    existing = await session.scalar(
        select(Role).where(
            Role.telegram_id == telegram_id,
            Role.role == role.value,
            Role.scope == kind.value,
            Role.school_id.is_(None) if school_id is None else Role.school_id == school_id,
            Role.municipality_id.is_(None) if mun_id is None else Role.municipality_id == mun_id,
        )
    )
    if existing is not None:
        return existing
    row = Role(
        telegram_id=telegram_id,
        role=role.value,
        scope=kind.value,
        school_id=school_id,
        municipality_id=mun_id,
    )
    session.add(row)
    await session.flush()
    return row


async def revoke(
    session: AsyncSession,
    telegram_id: int,
    role: RoleName,
    *,
    school_code: str | None = None,
    municipality_code: str | None = None,
    region: bool = False,
) -> int:
    """Remove a role; without a scope, every scope of that role. Returns rows removed."""
    stmt = delete(Role).where(Role.telegram_id == telegram_id, Role.role == role.value)
    if role == RoleName.METHODIST and (school_code or municipality_code or region):
        kind, school_id, mun_id = await _resolve_scope(
            session, school_code, municipality_code, region
        )
        stmt = stmt.where(Role.scope == kind.value)
        if school_id is not None:
            stmt = stmt.where(Role.school_id == school_id)
        if mun_id is not None:
            stmt = stmt.where(Role.municipality_id == mun_id)
    result = await session.execute(stmt)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RoleLine:
    telegram_id: int
    role: str
    scope: str
    target: str


async def list_roles(session: AsyncSession) -> list[RoleLine]:
    rows = (
        await session.execute(
            select(Role, School.code, Municipality.code)
            .outerjoin(School, School.id == Role.school_id)
            .outerjoin(Municipality, Municipality.id == Role.municipality_id)
            .order_by(Role.telegram_id, Role.role, Role.id)
        )
    ).all()
    return [RoleLine(r.telegram_id, r.role, r.scope, sc or mc or "") for r, sc, mc in rows]
