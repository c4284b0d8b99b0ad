"""The catalog of programmes (the municipal bank of ДПП): import, export, reads for the route.

Import rules
------------
* A file is read like the school list (:func:`services.schools.read_table`): CSV in UTF-8
  (with or without BOM) or Windows-1251, the delimiter (``;``, ``,`` or a tab) taken from the
  header line; or XLSX (the first sheet). Row numbers are those a spreadsheet shows: the
  header is row 1. ``RowError.row == 0`` is about the file as a whole.
* Columns are found by their header, case-insensitively, in Russian or English (see
  :data:`COLUMNS`); brackets, quotes and «*» in a header do not matter, so «Организатор
  (провайдер)» is the provider column. Required: ``название``, ``организатор``, ``часы``,
  ``формат``, ``блоки``; the others are optional and an empty ``вид`` means «повышение
  квалификации».
* Values: hours are a whole number 1–2000; format is очно / дистанционно / смешанно; kind is
  one of :data:`KIND_LABELS`; blocks, positions and subjects are lists separated by commas
  (positions and subjects by their labels in the locale files — «Учитель», «Математика» — or
  their codes; empty means "any"); the link is http(s); dates are ДД.ММ.ГГГГ, ISO
  (ГГГГ-ММ-ДД) or Excel dates, the end not before the start and «запись до» not before «запись
  с»; «в ФР ДПП» is да / нет (empty: нет).
* The natural key of a programme is (title, provider), compared ignoring case, «ё», quotes
  and spacing. A programme already in the catalog is updated (the file's spelling wins),
  never duplicated; the same programme twice in one file is an error of the later row.
  Providers are created on demand (matched the same way).
* A programme listed in the file is active (listing a deactivated one brings it back).
  Programmes missing from the file are never deleted: courses and route steps may refer to
  them. By default they are left as they are. With ``replace=True`` the active programmes
  missing from the file are marked inactive: they leave the catalog and new routes, while
  existing references stay. Replacing happens only when the whole file is valid: with any
  error nothing is deactivated (``report.replace_skipped``), so a broken row never hides a
  programme that was meant to stay.
* Everything is validated first; only the valid rows are written, after the last check, so a
  file with errors never leaves a row half-written. Nothing is committed here: the caller
  commits, and if a write fails its transaction rolls back as a whole.

Export writes the same columns with Russian headers (active programmes, in the order they
were added): XLSX with real date cells, or CSV with ``;`` in UTF-8 with BOM (what Russian
Excel opens). Exporting and importing the file back changes nothing.

Position and subject labels come from the locale files (``position.*``, ``subject.*``) through
:func:`bot.i18n.catalogs`, a pure module without aiogram: the labels live in one place.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import CatalogItem, CourseFormat, CourseKind, Provider, ProviderStatus
from services.reference import BLOCKS, POSITIONS, SUBJECTS
from services.schools import (
    RowError,
    _clean,
    _FileError,
    _norm_header,
    name_key,
    read_table,
    yield_interpreter,
)

SAMPLE_CATALOG_CSV = Path(__file__).parent / "samples" / "catalog.csv"
"""About thirty programmes of fictional providers around «Энский муниципальный округ»."""


HOURS_MIN = 1
HOURS_MAX = 2000
TITLE_MAX = 300
PROVIDER_MAX = 200
LINK_MAX = 500
YEAR_MIN = 2000
YEAR_MAX = 2100
EXPORT_SUFFIXES = (".xlsx", ".csv")
UPLOAD_SUFFIXES = (".xlsx", ".csv")
MAX_FILE_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download

log = logging.getLogger(__name__)

# canonical column -> (header as exported, accepted headers after normalisation)
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "title": (
        "Название",
        (
            "title",
            "name",
            "название",
            "наименование",
            "название программы",
            "наименование программы",
            "программа",
        ),
    ),
    "provider": (
        "Организатор",
        (
            "provider",
            "организатор",
            "провайдер",
            "организатор провайдер",
            "организация",
            "организация провайдер",
            "учреждение",
            "кто проводит",
        ),
    ),
    "hours": (
        "Часы",
        ("hours", "часы", "часов", "объем", "объем часов", "количество часов", "кол-во часов"),
    ),
    "format": ("Формат", ("format", "формат", "форма обучения", "форма")),
    "kind": ("Вид", ("kind", "вид", "вид программы", "тип", "тип программы")),
    "blocks": (
        "Блоки",
        ("blocks", "блоки", "блок", "блоки компетенций", "компетенции", "направления"),
    ),
    "positions": ("Должности", ("positions", "должности", "должность", "для кого")),
    "subjects": ("Предметы", ("subjects", "предметы", "предмет")),
    "link": ("Ссылка", ("link", "url", "ссылка", "сайт", "адрес")),
    "starts_on": (
        "Начало",
        ("starts_on", "начало", "дата начала", "начало обучения", "с", "начало курса"),
    ),
    "ends_on": (
        "Окончание",
        ("ends_on", "окончание", "дата окончания", "окончание обучения", "по", "конец"),
    ),
    "enrol_from": (
        "Запись с",
        ("enrol_from", "запись с", "начало записи", "прием заявок с", "заявки с"),
    ),
    "enrol_until": (
        "Запись до",
        ("enrol_until", "запись до", "окончание записи", "прием заявок до", "заявки до"),
    ),
    "federal_register": (
        "В ФР ДПП",
        (
            "federal_register",
            "в фр дпп",
            "фр дпп",
            "в федеральном реестре",
            "в федеральном реестре дпп",
            "федеральный реестр",
            "федеральный реестр дпп",
            "в ефп дппо",
            "ефп дппо",
            "реестр",
        ),
    ),
}
REQUIRED = ("title", "provider", "hours", "format", "blocks")

FORMAT_LABELS: dict[CourseFormat, str] = {
    CourseFormat.IN_PERSON: "очно",
    CourseFormat.DISTANCE: "дистанционно",
    CourseFormat.BLENDED: "смешанно",
}
FORMAT_WORDS: dict[str, CourseFormat] = {
    **{
        w: CourseFormat.IN_PERSON
        for w in ("очно", "очная", "очный", "очное", "очная форма", "in_person", "in person")
    },
    **{
        w: CourseFormat.DISTANCE
        for w in (
            "дистанционно",
            "дистанционная",
            "дистанционный",
            "дистанционное",
            "дистант",
            "заочно",
            "заочная",
            "онлайн",
            "online",
            "дот",
            "с применением дот",
            "distance",
        )
    },
    **{
        w: CourseFormat.BLENDED
        for w in (
            "смешанно",
            "смешанная",
            "смешанный",
            "смешанное",
            "очно-заочно",
            "очно-заочная",
            "очно-дистанционно",
            "очно-дистанционная",
            "гибридный",
            "гибридная",
            "blended",
            "mixed",
        )
    },
}
FORMAT_HINT = "«очно», «дистанционно» или «смешанно»"

KIND_LABELS: dict[CourseKind, str] = {
    CourseKind.QUALIFICATION: "повышение квалификации",
    CourseKind.RETRAINING: "профессиональная переподготовка",
    CourseKind.INTERNSHIP: "стажировка",
    CourseKind.SEMINAR: "семинар или вебинар",
    CourseKind.CONFERENCE: "конференция",
    CourseKind.OTHER: "другое",
}
KIND_WORDS: dict[str, CourseKind] = {
    **{label: kind for kind, label in KIND_LABELS.items()},
    **{kind.value: kind for kind in CourseKind},
    **{
        w: CourseKind.QUALIFICATION
        for w in ("пк", "кпк", "дпп пк", "курсы повышения квалификации", "курсы", "курс")
    },
    **{w: CourseKind.RETRAINING for w in ("переподготовка", "пп", "дпп пп", "профпереподготовка")},
    **{
        w: CourseKind.SEMINAR
        for w in ("семинар", "вебинар", "семинар/вебинар", "мастер-класс", "практикум")
    },
    **{w: CourseKind.CONFERENCE for w in ("конференция", "форум")},
    **{w: CourseKind.OTHER for w in ("другое", "прочее", "иное")},
}
KIND_HINT = "; ".join(KIND_LABELS.values())

BLOCK_LABELS: dict[str, str] = {
    "subject": "предметная",
    "methodical": "методическая",
    "psychological": "психолого-педагогическая",
    "communicative": "коммуникативная",
}
BLOCK_WORDS: dict[str, str] = {
    **{label: code for code, label in BLOCK_LABELS.items()},
    **{code: code for code in BLOCKS},
    **{
        w: "subject"
        for w in ("предметный", "предметные", "предметная компетенция", "предметный блок")
    },
    **{
        w: "methodical"
        for w in ("методический", "методические", "методическая компетенция", "методический блок")
    },
    **{
        w: "psychological"
        for w in (
            "психолого-педагогический",
            "психолого-педагогические",
            "психологическая",
            "психологический",
            "психолого-педагогическая компетенция",
            "психолого-педагогический блок",
        )
    },
    **{
        w: "communicative"
        for w in (
            "коммуникативный",
            "коммуникативные",
            "коммуникативная компетенция",
            "коммуникативный блок",
        )
    },
}
BLOCK_HINT = ", ".join(BLOCK_LABELS.values())

YES_WORDS = frozenset({"да", "yes", "true", "1", "+", "есть", "в реестре", "y", "д"})
NO_WORDS = frozenset({"нет", "no", "false", "0", "-", "не", "n", "н", ""})

_DMY = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})(?:\s*г\.?)?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_SERIAL = re.compile(r"^(\d{5})(?:[.,]0+)?$")
_HOURS = re.compile(r"^(\d+)(?:[.,]0+)?(?:\s*(?:ч|час|часа|часов|ак\.? ?ч)\.?)?$")
_SPLIT = re.compile(r"\s*[,;\n]\s*")
_EXCEL_EPOCH = date(1899, 12, 30)


@dataclass
class CatalogImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    providers_created: int = 0
    replace_skipped: bool = False  # replace was asked but the file had errors
    rejected: bool = False  # the file as a whole was unusable: nothing was read from it
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_rows(self) -> int:
        """How many rows of the file had errors (a file-level error counts as one)."""
        return len({e.row for e in self.errors})


@dataclass(frozen=True)
class CatalogSummary:
    """What the catalog screen shows: active and withdrawn counts, active ones per block."""

    active: int
    inactive: int
    by_block: dict[str, int]


@dataclass
class _Row:
    row: int
    title: str
    provider: str
    hours: int
    format: str
    kind: str
    blocks: list[str]
    positions: list[str]
    subjects: list[str]
    link: str | None
    starts_on: date | None
    ends_on: date | None
    enrol_from: date | None
    enrol_until: date | None
    federal_register: bool

    def values(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "hours": self.hours,
            "format": self.format,
            "kind": self.kind,
            "blocks": self.blocks,
            "positions": self.positions,
            "subjects": self.subjects,
            "link": self.link,
            "starts_on": self.starts_on,
            "ends_on": self.ends_on,
            "enrol_from": self.enrol_from,
            "enrol_until": self.enrol_until,
            "federal_register": self.federal_register,
            "active": True,
        }


# ---------------------------------------------------------------- labels and small parsers


def _norm(text: str) -> str:
    """Lower case, «ё»→«е», one kind of dash without spaces around it, single spaces."""
    text = text.casefold().replace("ё", "е").replace("–", "-").replace("—", "-")
    text = re.sub(r"\s*-\s*", "-", text)
    return " ".join(text.replace("«", " ").replace("»", " ").replace('"', " ").split())


def _norm_column(text: str) -> str:
    text = _norm_header(text)
    for ch in "()[]:*«»\"'":
        text = text.replace(ch, " ")
    return " ".join(text.split())


@cache
def _reference_words() -> tuple[dict[str, str], dict[str, str]]:
    """Label (any language, normalised) or code -> code, for positions and for subjects."""
    from bot.i18n import catalogs

    def words(prefix: str, codes: Sequence[str]) -> dict[str, str]:
        out = {_norm(code): code for code in codes}
        for texts in catalogs().values():
            for code in codes:
                label = texts.get(f"{prefix}.{code}")
                if label:
                    out.setdefault(_norm(label), code)
        return out

    return words("position", POSITIONS), words("subject", SUBJECTS)


def reference_label(kind: str, code: str) -> str:
    """The Russian label of a position or subject code (as written in the files)."""
    from bot.i18n import DEFAULT_LANGUAGE, catalogs

    return catalogs()[DEFAULT_LANGUAGE].get(f"{kind}.{code}", code)


def _quote(value: str, limit: int = 60) -> str:
    return f"«{value if len(value) <= limit else value[: limit - 1] + '…'}»"


def parse_date(text: str) -> date:
    """ДД.ММ.ГГГГ (also ДД.ММ.ГГ), ISO ГГГГ-ММ-ДД (a time after it is ignored) or an Excel
    day number; raises ``ValueError`` with a message in Russian."""
    text = text.strip()
    day = month = year = 0
    if m := _DMY.match(text):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
        if len(m[3]) == 2:
            year += 2000
    elif m := _ISO.match(text):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := _SERIAL.match(text):
        value = _EXCEL_EPOCH + timedelta(days=int(m[1]))
        if not YEAR_MIN <= value.year <= YEAR_MAX:
            raise ValueError(f"{_quote(text)} не похоже на дату: напишите её как ДД.ММ.ГГГГ")
        return value
    else:
        raise ValueError(f"{_quote(text)} не похоже на дату: напишите её как ДД.ММ.ГГГГ")
    try:
        value = date(year, month, day)
    except ValueError:
        raise ValueError(f"такой даты нет: {_quote(text)}") from None
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        raise ValueError(f"год {value.year} вне {YEAR_MIN}–{YEAR_MAX}: проверьте дату")
    return value


def _parse_list(
    text: str, words: dict[str, str], order: Sequence[str], what: str, hint: str
) -> tuple[list[str], list[str]]:
    """Codes in canonical order without repeats, and the messages about unknown parts."""
    found: set[str] = set()
    problems: list[str] = []
    for part in _SPLIT.split(text):
        part = part.strip().strip(".")
        if not part:
            continue
        code = words.get(_norm(part))
        if code is None:
            problems.append(f"неизвестн{what} {_quote(part)}: можно {hint}")
        else:
            found.add(code)
    return [c for c in order if c in found], problems


def _check_link(text: str) -> str | None:
    """A message about a bad link, or None."""
    if len(text) > LINK_MAX:
        return f"ссылка длиннее {LINK_MAX} символов"
    if any(ch.isspace() for ch in text):
        return "в ссылке не должно быть пробелов"
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        return f"ссылка {_quote(text)} должна начинаться с http:// или https://"
    host = parts.hostname or ""
    if not host or ("." not in host and host != "localhost") or host.startswith("."):
        return f"ссылка {_quote(text)} не похожа на адрес сайта"
    return None


def enrolment_open(item: CatalogItem, on: date) -> bool:
    """Whether one can enrol on ``on``: an empty boundary is open on that side."""
    if item.enrol_from is not None and on < item.enrol_from:
        return False
    return item.enrol_until is None or on <= item.enrol_until


# ---------------------------------------------------------------- parsing the table


def _find_columns(
    table: list[list[str]], errors: list[RowError], titles: dict[str, str]
) -> tuple[int, dict[str, int]] | None:
    """The header row (1-based) and column indexes, or None after a file-level error."""
    header_index = next((i for i, r in enumerate(table) if any(c.strip() for c in r)), None)
    if header_index is None:
        errors.append(RowError(0, "", "файл пуст"))
        return None
    lookup = {_norm_column(a): key for key, (_, aliases) in COLUMNS.items() for a in aliases}
    cols: dict[str, int] = {}
    for idx, raw in enumerate(table[header_index]):
        key = lookup.get(_norm_column(raw))
        if key is not None and key not in cols:
            cols[key] = idx
            titles[key] = raw.replace("\ufeff", "").strip()
    header_row = header_index + 1
    missing = [k for k in REQUIRED if k not in cols]
    for key in missing:
        label = COLUMNS[key][0].lower()
        errors.append(
            RowError(header_row, COLUMNS[key][0], f"нет столбца «{label}» в строке заголовков")
        )
    if missing:
        return None
    return header_row, cols


def _parse_rows(
    table: list[list[str]], errors: list[RowError], titles: dict[str, str]
) -> list[_Row] | None:
    """Rows that pass the checks of one row; None when the file as a whole is unusable."""
    from services.schools import MAX_ROWS

    found = _find_columns(table, errors, titles)
    if found is None:
        return None
    header_row, cols = found
    if len(table) - header_row > MAX_ROWS:
        errors.append(RowError(0, "", f"в файле больше {MAX_ROWS} строк: разделите его на части"))
        return None
    positions_words, subjects_words = _reference_words()
    position_hint = ", ".join(reference_label("position", p) for p in POSITIONS)

    def get(cells: list[str], key: str) -> str:
        idx = cols.get(key)
        return _clean(cells[idx]) if idx is not None and idx < len(cells) else ""

    out: list[_Row] = []
    nonempty = 0
    for offset, cells in enumerate(table[header_row:]):
        yield_interpreter()  # this runs in a worker thread (see import_catalog)
        rownum = header_row + offset + 1
        if not any(c.strip() for c in cells):
            continue
        nonempty += 1
        row_errors: list[RowError] = []

        def err(
            key: str, message: str, rownum: int = rownum, bucket: list[RowError] = row_errors
        ) -> None:
            bucket.append(RowError(rownum, titles.get(key, COLUMNS[key][0]), message))

        title = get(cells, "title")
        if not title:
            err("title", "пустое название программы")
        elif len(title) > TITLE_MAX:
            err("title", f"название длиннее {TITLE_MAX} символов")

        provider = get(cells, "provider")
        if not provider:
            err("provider", "не указан организатор")
        elif len(provider) > PROVIDER_MAX:
            err("provider", f"название организатора длиннее {PROVIDER_MAX} символов")

        hours = 0
        hours_text = get(cells, "hours")
        m = _HOURS.match(hours_text.casefold())
        if not hours_text:
            err("hours", f"не указано число часов: целое число от {HOURS_MIN} до {HOURS_MAX}")
        elif m is None:
            err(
                "hours",
                f"{_quote(hours_text)} — нужно целое число часов от {HOURS_MIN} до {HOURS_MAX}",
            )
        else:
            hours = int(m[1])
            if not HOURS_MIN <= hours <= HOURS_MAX:
                err("hours", f"{hours} ч — нужно от {HOURS_MIN} до {HOURS_MAX} часов")

        format_text = get(cells, "format")
        fmt = FORMAT_WORDS.get(_norm(format_text))
        if fmt is None:
            if format_text:
                err("format", f"неизвестный формат {_quote(format_text)}: укажите {FORMAT_HINT}")
            else:
                err("format", f"не указан формат: {FORMAT_HINT}")

        kind_text = get(cells, "kind")
        kind: CourseKind | None = CourseKind.QUALIFICATION
        if kind_text:
            kind = KIND_WORDS.get(_norm(kind_text))
            if kind is None:
                err("kind", f"неизвестный вид {_quote(kind_text)}: укажите один из: {KIND_HINT}")

        blocks_text = get(cells, "blocks")
        blocks, problems = _parse_list(
            blocks_text, BLOCK_WORDS, BLOCKS, "ый блок", f"через запятую: {BLOCK_HINT}"
        )
        for problem in problems:
            err("blocks", problem)
        if not blocks and not problems:
            err("blocks", f"не указан ни один блок: через запятую {BLOCK_HINT}")

        positions, problems = _parse_list(
            get(cells, "positions"),
            positions_words,
            POSITIONS,
            "ая должность",
            f"{position_hint} (или оставьте пустым — для всех)",
        )
        for problem in problems:
            err("positions", problem)

        subjects, problems = _parse_list(
            get(cells, "subjects"),
            subjects_words,
            SUBJECTS,
            "ый предмет",
            "названия предметов, как в профиле педагога, например «Математика», "
            "«Русский язык», «Начальные классы» (или оставьте пустым — для всех)",
        )
        for problem in problems:
            err("subjects", problem)

        link: str | None = get(cells, "link") or None
        if link is not None and (problem := _check_link(link)):
            err("link", problem)

        dates: dict[str, date | None] = {}
        for key in ("starts_on", "ends_on", "enrol_from", "enrol_until"):
            text = get(cells, key)
            dates[key] = None
            if text:
                try:
                    dates[key] = parse_date(text)
                except ValueError as exc:
                    err(key, str(exc))
        for first, last, later, earlier in (
            ("starts_on", "ends_on", "дата окончания", "даты начала"),
            ("enrol_from", "enrol_until", "«запись до»", "«запись с»"),
        ):
            a, b = dates[first], dates[last]
            if a is not None and b is not None and b < a:
                err(last, f"{later} {b:%d.%m.%Y} раньше {earlier} {a:%d.%m.%Y}")

        fr_text = get(cells, "federal_register")
        fr = _norm(fr_text)
        if fr not in YES_WORDS and fr not in NO_WORDS:
            err("federal_register", f"{_quote(fr_text)} — укажите «да» или «нет»")

        if row_errors:
            errors.extend(row_errors)
            continue
        assert fmt is not None and kind is not None
        out.append(
            _Row(
                row=rownum,
                title=title,
                provider=provider,
                hours=hours,
                format=fmt.value,
                kind=kind.value,
                blocks=blocks,
                positions=positions,
                subjects=subjects,
                link=link,
                starts_on=dates["starts_on"],
                ends_on=dates["ends_on"],
                enrol_from=dates["enrol_from"],
                enrol_until=dates["enrol_until"],
                federal_register=fr in YES_WORDS,
            )
        )
    if not nonempty:
        errors.append(RowError(0, "", "в файле нет ни одной программы, только заголовки"))
        return None
    return out


# ---------------------------------------------------------------- import


_VALUE_KEYS = (
    *("title", "hours", "format", "kind", "blocks", "positions", "subjects", "link"),
    *("starts_on", "ends_on", "enrol_from", "enrol_until", "federal_register", "active"),
)
"""The columns of a programme a file sets (:meth:`_Row.values`)."""


def _read_and_check(
    path: Path,
) -> tuple[list[tuple[_Row, str, str]] | None, list[RowError], bool]:
    """Read the file and check its rows, in a worker thread: the rows to write with the keys
    of their title and provider (a programme repeated in the file is reported, not planned),
    the errors, and whether the file as a whole was refused."""
    errors: list[RowError] = []
    titles: dict[str, str] = {}
    try:
        table = read_table(path)
    except _FileError as exc:
        return None, [RowError(0, "", str(exc))], True
    rows = _parse_rows(table, errors, titles)
    if rows is None:
        return None, errors, True
    title_col = titles.get("title", COLUMNS["title"][0])
    seen: dict[tuple[str, str], int] = {}
    planned: list[tuple[_Row, str, str]] = []
    for r in rows:
        yield_interpreter()
        key = (name_key(r.title), name_key(r.provider))
        if key in seen:
            errors.append(
                RowError(
                    r.row,
                    title_col,
                    f"эта программа этого организатора уже есть в строке {seen[key]}",
                )
            )
            continue
        seen[key] = r.row
        planned.append((r, *key))
    return planned, errors, False


async def import_catalog(
    session: AsyncSession, path: Path | str, *, replace: bool = False
) -> CatalogImportReport:
    """Create or update catalog programmes (and providers) from a CSV or XLSX file.

    Valid rows are imported and rows with errors are reported (row number, column, a message
    in Russian). With ``replace`` the active programmes missing from a file without errors
    are deactivated. Nothing is committed here.
    """
    report = CatalogImportReport()
    # off the event loop: other teachers' replies go on while a spreadsheet is read and its
    # rows are checked (no database connection is held meanwhile)
    planned, errors, refused = await asyncio.to_thread(_read_and_check, Path(path))
    report.errors.extend(errors)
    if refused or planned is None:
        report.rejected = True
        report.replace_skipped = replace
        return report

    # ---- pass 2: write. Programmes are read as plain rows and written with one statement
    # for all new ones and one for all changed ones: thousands of ORM objects would hold the
    # event loop (and SQLite's one connection) for seconds.
    providers = list((await session.execute(select(Provider).order_by(Provider.id))).scalars())
    provider_by_key: dict[str, Provider] = {}
    for p in providers:
        provider_by_key.setdefault(name_key(p.name), p)
    for r, _, pkey in planned:
        if pkey not in provider_by_key:
            provider = Provider(name=r.provider)
            session.add(provider)
            provider_by_key[pkey] = provider
            report.providers_created += 1
        elif provider_by_key[pkey].status != ProviderStatus.APPROVED.value:
            # a name teachers typed is now in the catalog: everyone's, nobody's own
            provider_by_key[pkey].status = ProviderStatus.APPROVED.value
            provider_by_key[pkey].created_by = None
    await session.flush()

    value_columns = [CatalogItem.__table__.c[k] for k in _VALUE_KEYS]
    existing = (
        await session.execute(
            select(CatalogItem.id, CatalogItem.provider_id, *value_columns).order_by(CatalogItem.id)
        )
    ).all()
    item_by_key: dict[tuple[str, int], Any] = {}
    for item in existing:
        item_by_key.setdefault((name_key(item.title), item.provider_id), item)

    touched: set[int] = set()
    created: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for r, tkey, pkey in planned:
        provider_id = provider_by_key[pkey].id
        values = r.values()
        key = (tkey, provider_id)
        item = item_by_key.get(key)
        if item is None:
            created.append({"provider_id": provider_id, **values})
            report.created += 1
            continue
        touched.add(item.id)
        if all(getattr(item, k) == v for k, v in values.items()):
            report.unchanged += 1
            continue
        changed.append({"id": item.id, **values})
        report.updated += 1
    if created:
        await session.execute(insert(CatalogItem.__table__), created)
    if changed:
        await session.execute(update(CatalogItem), changed)

    if replace:
        if report.errors:
            report.replace_skipped = True
        else:
            gone = [
                {"id": item.id, "active": False}
                for item in existing
                if item.active and item.id not in touched
            ]
            if gone:
                await session.execute(update(CatalogItem), gone)
            report.deactivated += len(gone)
    await session.flush()
    report.errors.sort(key=lambda e: e.row)  # stable: a row's errors in column order
    return report


# ---------------------------------------------------------------- reads


async def active_catalog(session: AsyncSession) -> list[CatalogItem]:
    """Active programmes (with their provider loaded), in the order they were added."""
    stmt = select(CatalogItem).where(CatalogItem.active.is_(True)).order_by(CatalogItem.id)
    return list((await session.execute(stmt)).scalars())


async def catalog_summary(session: AsyncSession) -> CatalogSummary:
    """Active and inactive counts, and active programmes per competency block."""
    counts = dict(
        (
            await session.execute(
                select(CatalogItem.active, func.count()).group_by(CatalogItem.active)
            )
        ).all()
    )
    by_block = dict.fromkeys(BLOCKS, 0)
    # blocks are a JSON list: counted here, portably (a catalog holds hundreds of rows)
    for (blocks,) in await session.execute(
        select(CatalogItem.blocks).where(CatalogItem.active.is_(True))
    ):
        for code in blocks or []:
            if code in by_block:
                by_block[code] += 1
    return CatalogSummary(
        active=int(counts.get(True, 0)), inactive=int(counts.get(False, 0)), by_block=by_block
    )


# ---------------------------------------------------------------- export


def _labels(kind: str, codes: Iterable[str]) -> str:
    return ", ".join(reference_label(kind, c) for c in codes)


def _label_of(labels: Mapping[Any, str], value: str) -> str:
    return labels.get(value, value)  # StrEnum keys are equal to their string values


def _export_row(item: CatalogItem) -> list[Any]:
    return [
        item.title,
        item.provider.name,
        item.hours,
        _label_of(FORMAT_LABELS, item.format),
        _label_of(KIND_LABELS, item.kind),
        ", ".join(BLOCK_LABELS.get(b, b) for b in item.blocks or []),
        _labels("position", item.positions or []),
        _labels("subject", item.subjects or []),
        item.link or "",
        item.starts_on,
        item.ends_on,
        item.enrol_from,
        item.enrol_until,
        "да" if item.federal_register else "нет",
    ]


HEADERS: list[str] = [label for label, _ in COLUMNS.values()]
_WIDTHS = [60, 40, 8, 14, 26, 40, 26, 26, 40, 12, 12, 12, 12, 10]


def _write_xlsx(rows: Sequence[Sequence[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Каталог"
    ws.append(HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(list(row))
    for idx, width in enumerate(_WIDTHS, start=1):
        ws.column_dimensions[ws.cell(row=1, column=idx).column_letter].width = width
    for column in ws.iter_cols(min_row=2, min_col=10, max_col=13):
        for cell in column:
            if cell.value is not None:
                cell.number_format = "DD.MM.YYYY"
    ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _write_csv(rows: Sequence[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow(
            [
                v.strftime("%d.%m.%Y") if isinstance(v, date) else ("" if v is None else v)
                for v in row
            ]
        )
    return buffer.getvalue().encode("utf-8-sig")


async def export_bytes(session: AsyncSession, suffix: str) -> tuple[bytes, int]:
    """The active catalog as an XLSX or CSV file (by ``suffix``) and how many programmes."""
    suffix = suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise ValueError("укажите файл с расширением .xlsx или .csv")
    rows = [_export_row(item) for item in await active_catalog(session)]
    data = _write_xlsx(rows) if suffix == ".xlsx" else _write_csv(rows)
    return data, len(rows)


async def export_catalog(session: AsyncSession, path: Path | str) -> int:
    """Write the active catalog to ``path`` (XLSX or CSV by its extension); returns the count.

    Raises ``ValueError`` (a Russian message) for another extension.
    """
    path = Path(path)
    data, n = await export_bytes(session, path.suffix)
    path.write_bytes(data)
    return n


def sample_catalog_xlsx() -> bytes:
    """The sample catalog as an XLSX workbook: what a methodist opens in Excel and fills."""
    table = read_table(SAMPLE_CATALOG_CSV)
    rows: list[list[Any]] = []
    for cells in table[1:]:
        if not any(cells):
            continue
        row: list[Any] = list(cells)
        row[2] = int(row[2]) if row[2].isdigit() else row[2]
        for i in range(9, 13):
            row[i] = parse_date(row[i]) if row[i] else None
        rows.append(row)
    return _write_xlsx(rows)


# ---------------------------------------------------------------- the bot's files


class CatalogRefusal(Exception):
    """A file the bot does not take; ``key`` is the locale key that explains why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class CatalogFile:
    """A spreadsheet to send: its bytes, its name and how many programmes it lists."""

    data: bytes
    filename: str
    count: int


def accept_upload(file_name: str | None, file_size: int | None) -> str:
    """The suffix of a sent document worth downloading (checked before any download).

    Raises :class:`CatalogRefusal` for another type or a file too big to download.
    """
    suffix = Path(file_name or "").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise CatalogRefusal("catalog.wrong_type")
    if (file_size or 0) > MAX_FILE_BYTES:
        raise CatalogRefusal("catalog.too_big")
    return suffix


def _write_upload(folder: str, suffix: str, data: bytes) -> Path:
    path = Path(folder) / f"catalog{suffix}"
    path.write_bytes(data)
    return path


async def import_upload(
    session: AsyncSession, suffix: str, data: bytes, *, replace: bool
) -> CatalogImportReport:
    """Read a downloaded spreadsheet (``suffix`` from :func:`accept_upload`) and import it.

    Call it after the download: the import opens the transaction. Raises
    :class:`CatalogRefusal` when the bytes are over the limit; nothing is written then.
    """
    if suffix not in UPLOAD_SUFFIXES:
        raise CatalogRefusal("catalog.wrong_type")
    if len(data) > MAX_FILE_BYTES:
        raise CatalogRefusal("catalog.too_big")
    with tempfile.TemporaryDirectory(prefix="pedbot-catalog-") as folder:
        path = await asyncio.to_thread(_write_upload, folder, suffix, data)
        report = await import_catalog(session, path, replace=replace)
    log.info(
        "catalog import: created=%d updated=%d unchanged=%d deactivated=%d error_rows=%d",
        report.created,
        report.updated,
        report.unchanged,
        report.deactivated,
        report.error_rows,
    )
    return report


async def catalog_file(session: AsyncSession, now: datetime) -> CatalogFile | None:
    """The active catalog as an XLSX file named by today's date; ``None`` when it is empty."""
    data, count = await export_bytes(session, ".xlsx")
    if not count:
        return None
    return CatalogFile(data, f"catalog-{now:%Y%m%d}.xlsx", count)


async def sample_file() -> CatalogFile:
    """The sample catalog as an XLSX file (built off the event loop)."""
    data = await asyncio.to_thread(sample_catalog_xlsx)
    return CatalogFile(data, "catalog-sample.xlsx", 0)
