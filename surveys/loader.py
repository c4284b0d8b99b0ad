"""Reading instrument files and reporting what is wrong with them in plain words."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from surveys.schema import Instrument

INSTRUMENTS_DIR = Path(__file__).parent / "instruments"


@dataclass(frozen=True)
class InstrumentProblem:
    file: str
    where: str
    message: str

    def __str__(self) -> str:
        where = f", {self.where}" if self.where else ""
        return f"{self.file}{where}: {self.message}"


class InstrumentError(Exception):
    def __init__(self, problems: list[InstrumentProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _where(raw: Any, loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into «вопрос q3» / «шкала work» where possible."""
    node = raw
    label = ""
    for i, part in enumerate(loc):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        prev = loc[i - 1] if i else None
        if isinstance(node, dict) and "id" in node:
            if prev == "questions":
                label = f"вопрос {node['id']}"
            elif prev == "scales":
                label = f"шкала {node['id']}"
            elif prev == "sections" and not label:
                label = f"раздел {node['id']}"
    rest = ".".join(str(p) for p in loc)
    return f"{label} ({rest})" if label else rest


def parse_file(path: Path) -> Instrument:
    name = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InstrumentError(
            [InstrumentProblem(name, "", f"файл не читается как YAML: {exc}")]
        ) from exc
    if not isinstance(raw, dict):
        raise InstrumentError([InstrumentProblem(name, "", "ожидается словарь с полями анкеты")])
    try:
        return Instrument.model_validate(raw)
    except ValidationError as exc:
        problems = [
            InstrumentProblem(name, _where(raw, tuple(err["loc"])), err["msg"])
            for err in exc.errors()
        ]
        raise InstrumentError(problems) from exc


def load_instruments(directory: Path = INSTRUMENTS_DIR) -> dict[str, Instrument]:
    """All instruments in a directory by id.

    Raises :class:`InstrumentError` listing every problem.
    """
    problems: list[InstrumentProblem] = []
    found: dict[str, Instrument] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            inst = parse_file(path)
        except InstrumentError as exc:
            problems.extend(exc.problems)
            continue
        if inst.id in found:
            problems.append(
                InstrumentProblem(path.name, "", f"id «{inst.id}» уже занят другим файлом")
            )
            continue
        found[inst.id] = inst
    if problems:
        raise InstrumentError(problems)
    return found


# kinds whose instruments are one questionnaire for the indicators and for «the teacher's
# latest result» (the school and the pre-school self-assessment, the two CBIs, the two
# young-teacher questionnaires)
GROUPED_KINDS = frozenset({"deficits", "burnout", "young", "activity", "satisfaction"})


@cache
def _kinds(directory: Path = INSTRUMENTS_DIR) -> dict[str, str]:
    """Each shipped instrument's id and its kind, read once per process (ids and kinds only,
    without validating the files: :func:`load_instruments` does that at start-up)."""
    out: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            out[raw["id"]] = str(raw.get("kind") or "other")
    return out


def kind_group(instrument_id: str) -> tuple[str, ...]:
    """The ids of the instruments counted as one questionnaire with ``instrument_id``
    (itself included; sorted): those of its kind for the kinds in :data:`GROUPED_KINDS`,
    otherwise itself alone."""
    kinds = _kinds()
    kind = kinds.get(instrument_id)
    if kind not in GROUPED_KINDS:
        return (instrument_id,)
    return tuple(sorted(i for i, k in kinds.items() if k == kind))


def kind_groups() -> dict[str, str]:
    """Instrument id -> the name of its group (the kind, or the id itself when ungrouped),
    for SQL that compares groups (a ``CASE`` over this mapping)."""
    return {i: (k if k in GROUPED_KINDS else i) for i, k in _kinds().items()}
