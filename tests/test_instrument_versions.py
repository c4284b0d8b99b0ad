"""A version with answers is frozen; a new version leaves old attempts scoring by their own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import InstrumentVersion, User
from services import surveys as svc
from services.instruments import FrozenVersionError, sync_instruments
from surveys.loader import load_instruments
from surveys.schema import Instrument

NOW = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)


def changed(inst: Instrument, **top: Any) -> Instrument:
    data = inst.model_dump(mode="json", by_alias=True)
    data.update(top)
    return Instrument.model_validate(data)


def with_cutoff(inst: Instrument, version: int, cutoff: float) -> Instrument:
    """The same burnout instrument with the «elevated» band starting at ``cutoff``."""
    data = inst.model_dump(mode="json", by_alias=True)
    data["version"] = version
    for scale in data["scales"]:
        scale["bands"][0]["upper"] = cutoff
    return Instrument.model_validate(data)


async def teacher(session: AsyncSession) -> User:
    user = User(telegram_id=4242, consent_at=NOW, registered_at=NOW, full_name="Тест Тестов")
    session.add(user)
    await session.flush()
    return user


async def test_same_file_twice_keeps_one_row(session: AsyncSession) -> None:
    files = load_instruments()
    first = await sync_instruments(session, files)
    again = await sync_instruments(session, files)
    assert {k: r.version_id for k, r in first.current.items()} == {
        k: r.version_id for k, r in again.current.items()
    }
    assert await session.scalar(select(func.count()).select_from(InstrumentVersion)) == len(files)


async def test_edit_without_answers_is_taken_edit_with_answers_is_refused(
    session: AsyncSession,
) -> None:
    files = load_instruments()
    await sync_instruments(session, files)
    edited = {**files, "burnout": changed(files["burnout"], title="Выгорание (правка)")}
    registry = await sync_instruments(session, edited)  # nobody answered yet: fine
    assert registry.current["burnout"].instrument.title == "Выгорание (правка)"

    user = await teacher(session)
    await svc.start_or_resume(session, registry, user, "burnout", NOW)
    again = {**files, "burnout": changed(files["burnout"], title="Ещё одна правка")}
    with pytest.raises(FrozenVersionError) as err:
        await sync_instruments(session, again)
    assert "burnout" in str(err.value) and "version" in str(err.value)


async def test_old_attempts_keep_their_version(session: AsyncSession) -> None:
    files = load_instruments()
    v1 = files["burnout"]
    registry = await sync_instruments(session, files)
    user = await teacher(session)

    # one attempt completed on version 1, one left half-way
    done = await svc.start_or_resume(session, registry, user, "burnout", NOW)
    for q in v1.questions:  # «Иногда» / «В некоторой степени» everywhere: 50 on every scale
        await svc.save_answer(session, done, q.id, v1.options(q)[2].value, NOW)
    await svc.advance(session, done, v1, NOW, after=None)
    old_results = {r.scale_id: r.band for r in await svc.results_of(session, done.id)}
    assert old_results["personal"] == "elevated"

    # the next version moves the cut-off to 60: new attempts score differently, the old do not
    v2 = with_cutoff(v1, v1.version + 1, 60)
    registry2 = await sync_instruments(session, {**files, "burnout": v2})
    assert registry2.current["burnout"].version_id != registry.current["burnout"].version_id
    stored_v1 = await registry2.by_version_id(session, done.instrument_version_id)
    assert stored_v1.version == v1.version and stored_v1.digest() == v1.digest()
    assert {r.scale_id: r.band for r in await svc.results_of(session, done.id)} == old_results

    later = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)  # after the 90-day interval
    new = await svc.start_or_resume(session, registry2, user, "burnout", later)
    assert new.instrument_version_id == registry2.current["burnout"].version_id
    for q in v2.questions:
        await svc.save_answer(session, new, q.id, v2.options(q)[2].value, later)
    await svc.advance(
        session,
        new,
        await registry2.by_version_id(session, new.instrument_version_id),
        later,
        after=None,
    )
    new_results = {
        r.scale_id: (r.band, r.instrument_version) for r in await svc.results_of(session, new.id)
    }
    assert new_results["personal"] == ("normal", v1.version + 1)
