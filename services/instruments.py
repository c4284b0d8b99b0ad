"""Instrument versions in the database: a version with responses is frozen.

On start-up every file is registered as ``(id, version, digest, definition)``. A file whose
content changed while its version did not is refused when that version already has
answers (the file must get a new version); old attempts keep scoring by the definition
stored with their own version.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Attempt, InstrumentVersion
from models.driver import SessionStatements, Statement, Statements
from surveys.schema import Instrument


class FrozenVersionError(Exception):
    def __init__(self, instrument_id: str, version: int) -> None:
        super().__init__(
            f"анкета {instrument_id}: версия {version} уже имеет ответы, а файл изменён — "
            f"увеличьте version в файле (например, до {version + 1})"
        )
        self.instrument_id = instrument_id
        self.version = version


@dataclass(frozen=True)
class Registered:
    """A loaded instrument and the id of its stored version row."""

    instrument: Instrument
    version_id: int


_DEFINITION = Statement(
    select(InstrumentVersion.definition).where(InstrumentVersion.id == bindparam("version_id"))
)


class InstrumentRegistry:
    """Current instruments (from files) and every stored version (for old attempts)."""

    def __init__(self, current: dict[str, Registered]) -> None:
        self.current = current
        self._by_version_id: dict[int, Instrument] = {
            r.version_id: r.instrument for r in current.values()
        }

    def get(self, instrument_id: str) -> Registered | None:
        return self.current.get(instrument_id)

    def ordered(self) -> list[Registered]:
        order = {"deficits": 0, "burnout": 1, "young": 2}
        return sorted(
            self.current.values(), key=lambda r: (order.get(r.instrument.kind, 9), r.instrument.id)
        )

    def known(self, version_id: int) -> Instrument | None:
        """The instrument of a stored version if this process has parsed it already."""
        return self._by_version_id.get(version_id)

    async def version(self, db: Statements, version_id: int) -> Instrument:
        """The instrument of a stored version (parsed once per process)."""
        inst = self._by_version_id.get(version_id)
        if inst is None:
            rows = await db.fetch(_DEFINITION, version_id=version_id)
            if not rows:
                raise KeyError(version_id)
            inst = self._by_version_id[version_id] = Instrument.model_validate(rows[0][0])
        return inst

    async def by_version_id(self, session: AsyncSession, version_id: int) -> Instrument:
        """:meth:`version` through the ORM session (which is not touched when it is known)."""
        inst = self._by_version_id.get(version_id)
        if inst is None:
            inst = await self.version(SessionStatements(await session.connection()), version_id)
        return inst


async def sync_instruments(
    session: AsyncSession, instruments: dict[str, Instrument]
) -> InstrumentRegistry:
    """Store every file's version; refuse a changed file whose version already has answers."""
    current: dict[str, Registered] = {}
    for inst in instruments.values():
        digest = inst.digest()
        row = await session.scalar(
            select(InstrumentVersion).where(
                InstrumentVersion.instrument_id == inst.id,
                InstrumentVersion.version == inst.version,
            )
        )
        definition = inst.model_dump(mode="json", by_alias=True)
        if row is None:
            row = InstrumentVersion(
                instrument_id=inst.id, version=inst.version, digest=digest, definition=definition
            )
            session.add(row)
            await session.flush()
        elif row.digest != digest:
            used = await session.scalar(
                select(exists().where(Attempt.instrument_version_id == row.id))
            )
            if used:
                raise FrozenVersionError(inst.id, inst.version)
            row.digest = digest
            row.definition = definition
            await session.flush()
        current[inst.id] = Registered(inst, row.id)
    return InstrumentRegistry(current)
