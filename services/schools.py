"""Schools: import from a CSV/XLSX list, search for the registration screen, deep-link codes.

Import rules
------------
* A file is CSV (UTF-8 with or without BOM; Windows-1251 is accepted as a fallback, since
  that is what Russian Excel writes; the delimiter — ``;``, ``,`` or a tab — is taken from
  the header line) or XLSX (the first sheet).
* Columns are found by their header, case-insensitively, in Russian or English; see
  :data:`COLUMNS`. ``название``, ``тип`` and ``муниципалитет`` are required; without
  ``краткое название`` the full name is used when it fits in 100 characters.
* Row numbers are those a spreadsheet shows: the header is row 1, the first school row 2.
  ``RowError.row == 0`` is about the file as a whole (unreadable, too long).
* School codes (used in deep links ``/start s<code>``) are 1–16 latin letters or digits and
  are stored in lower case; a missing code is generated from the short name
  («СОШ № 3» → ``sosh3``, «Детский сад № 5 «Солнышко»» → ``ds5s``), with a number added
  when that code is taken (``sosh1x2``). Municipalities are created on demand; their code
  is generated the same way when the file has no ``код муниципалитета``.
* A school that already exists (the same code, or else the same name in the same
  municipality) is updated, never duplicated. When it is matched by name and the file gives
  another code, the file wins and the code changes (the file is the reference list).
* Everything is validated first; only the valid rows are written, after the last check, so
  a file with errors never leaves a row half-written. Nothing is committed here: the caller
  commits, and if a write fails, its transaction rolls back as a whole.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from models import Municipality, School, SchoolKind

SAMPLE_SCHOOLS_CSV = Path(__file__).parent / "samples" / "schools.csv"
"""Twelve schools of the fictional «Энский муниципальный округ» (the demo and the docs use it)."""

MAX_ROWS = 5000
MAX_COLUMNS = 60  # a catalog or school list has about twenty
MAX_UNPACKED = 16 * 1024 * 1024  # an XLSX of MAX_ROWS x MAX_COLUMNS of text unpacks to less
MAX_PACK_RATIO = 200  # a part that unpacks to more than this many times its size is a bomb
SCHOOL_CODE_MAX = 16
MUNICIPALITY_CODE_MAX = 32
NAME_MAX = 300
SHORT_NAME_MAX = 100
MUNICIPALITY_NAME_MAX = 200

SCHOOL_CODE_RE = re.compile(r"^[a-z0-9]{1,16}$")
MUNICIPALITY_CODE_RE = re.compile(r"^[a-z0-9_-]{1,32}$")

# canonical column -> (Russian label for messages, accepted headers after normalisation)
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "name": (
        "название",
        (
            "name",
            "full name",
            "full_name",
            "название",
            "полное название",
            "наименование",
            "полное наименование",
        ),
    ),
    "short_name": (
        "краткое название",
        (
            "short_name",
            "short name",
            "краткое название",
            "краткое наименование",
            "сокращенное название",
            "сокращенное наименование",
        ),
    ),
    "kind": ("тип", ("kind", "type", "тип", "вид", "тип организации", "тип оо")),
    "municipality": (
        "муниципалитет",
        ("municipality", "муниципалитет", "муниципальное образование", "район", "округ"),
    ),
    "code": ("код", ("code", "код", "код школы", "код оо", "school_code", "school code")),
    "municipality_code": (
        "код муниципалитета",
        ("municipality_code", "municipality code", "код муниципалитета", "код района"),
    ),
}
REQUIRED = ("name", "kind", "municipality")
KIND_HINT = "«школа», «детский сад» или «доп. образование»"

# values of the «тип» column after normalisation (lower case, ё→е, no dots or quotes)
KIND_WORDS: dict[str, SchoolKind] = {
    **{
        w: SchoolKind.SCHOOL
        for w in (
            "школа",
            "school",
            "сош",
            "оош",
            "нош",
            "лицей",
            "гимназия",
            "оо",
            "общеобразовательная организация",
            "общеобразовательная школа",
            "общеобразовательное учреждение",
            "мбоу",
            "моу",
            "гбоу",
        )
    },
    **{
        w: SchoolKind.KINDERGARTEN
        for w in (
            "детский сад",
            "детсад",
            "сад",
            "kindergarten",
            "preschool",
            "доу",
            "мбдоу",
            "мдоу",
            "дошкольная организация",
            "дошкольная образовательная организация",
            "дошкольное учреждение",
        )
    },
    **{
        w: SchoolKind.EXTRA
        for w in (
            "доп образование",
            "дополнительное образование",
            "extra",
            "до",
            "удо",
            "одо",
            "мбу до",
            "мбудо",
            "организация дополнительного образования",
            "учреждение дополнительного образования",
        )
    },
}

_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "",
            "y",
            "",
            "e",
            "yu",
            "ya",
        ],
        strict=True,
    )
)
_QUOTES = re.compile(r"[\"«»„“”'`№]")


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"строка {self.row}" if self.row else "файл"
        if self.column:
            where += f", столбец «{self.column}»"
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    municipalities_created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Row:
    row: int
    name: str
    short_name: str
    kind: SchoolKind
    municipality: str
    code: str | None
    municipality_code: str | None


# ---------------------------------------------------------------- normalisation helpers


def _norm_header(text: str) -> str:
    text = text.replace("\ufeff", "").replace("ё", "е").replace("Ё", "Е")
    return " ".join(text.strip().casefold().replace(".", " ").split())


def _norm_kind(text: str) -> str:
    text = _QUOTES.sub(" ", text.casefold().replace("ё", "е")).replace(".", " ")
    return " ".join(text.split())


def name_key(text: str) -> str:
    """A comparison key for names: case, «ё», quotes, «№» and spacing do not matter."""
    return " ".join(_QUOTES.sub(" ", text.casefold().replace("ё", "е")).split())


def _clean(text: str) -> str:
    return " ".join(text.split())


def _translit(word: str) -> str:
    return "".join(_TRANSLIT.get(ch, ch) for ch in word.casefold() if ch.isalnum())


def _ascii_alnum(text: str) -> str:
    return "".join(ch for ch in text if ch.isascii() and ch.isalnum())


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^\w]+", text) if w and w != "_"]


def school_slug(short_name: str, kind: SchoolKind) -> str:
    """Readable code stem: abbreviations kept whole, other words by their first letter,
    numbers kept — «СОШ № 3» → ``sosh3``, «Дом детского творчества» → ``ddt``."""
    parts: list[str] = []
    for word in _words(short_name):
        if word.isdigit():
            parts.append(word)
        elif word.isupper() and len(word) > 1:
            parts.append(_translit(word))
        else:
            parts.append(_translit(word[:1]))
    slug = _ascii_alnum("".join(parts))[:12]
    if not any(ch.isalpha() for ch in slug):
        prefix = {"school": "sch", "kindergarten": "ds", "extra": "do"}[kind.value]
        slug = (prefix + slug)[:12]
    return slug


def municipality_slug(name: str) -> str:
    """First word transliterated, the rest by initials: «Энский муниципальный округ» →
    ``enskiymo``."""
    words = _words(name)
    if not words:
        return "mun"
    head = _ascii_alnum(_translit(words[0]))[:20]
    tail = _ascii_alnum("".join(_translit(w[:1]) if not w.isdigit() else w for w in words[1:]))
    return (head + tail)[:24] or "mun"


def _unique(stem: str, taken: set[str], limit: int) -> str:
    """``stem``, or ``stem`` with a number when taken (``ddt2``; ``sosh1x2``, so that it does
    not read as school № 12)."""
    if stem not in taken:
        return stem
    n = 2
    while True:
        suffix = ("x" if stem[-1:].isdigit() else "") + str(n)
        code = stem[: limit - len(suffix)] + suffix
        if code not in taken:
            return code
        n += 1


# ---------------------------------------------------------------- reading files


class _FileError(Exception):
    pass


def yield_interpreter() -> None:
    """Give the interpreter lock back for a moment. Files are read in a worker thread; a
    thread busy in Python code keeps the lock for up to 5 ms at a time (the switch interval)
    while the event loop waits for it after each database call, so one spreadsheet would
    stretch every other teacher's reply. Called once per row, it lets the loop in at once."""
    time.sleep(0)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_csv(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1251")
        except UnicodeDecodeError as exc:
            raise _FileError("файл не в кодировке UTF-8 и не в Windows-1251") from exc
    header = next((line for line in io.StringIO(text) if line.strip()), "")
    counts = [(header.count(d), -i, d) for i, d in enumerate((";", ",", "\t"))]
    delimiter = max(counts)[2] if max(counts)[0] else ","
    # the caps of a spreadsheet, applied while reading (a 20 MB file of short lines would
    # otherwise become millions of rows in memory before anything counted them)
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            yield_interpreter()
            if len(row) > MAX_COLUMNS and any(c.strip() for c in row[MAX_COLUMNS:]):
                raise _FileError(
                    f"в таблице больше {MAX_COLUMNS} столбцов: удалите пустые и лишние столбцы"
                )
            cells = [c.strip() for c in row[:MAX_COLUMNS]]
            if len(rows) > MAX_ROWS + 1:  # a header and MAX_ROWS rows are read already
                if any(cells):
                    raise _FileError(f"в файле больше {MAX_ROWS} строк: разделите его на части")
                continue
            rows.append(cells)
    except csv.Error as exc:
        raise _FileError("файл не читается как таблица CSV") from exc
    return rows


def _check_package(path: Path) -> None:
    """Before openpyxl opens anything: the parts of the package, unpacked, stay small (a
    400 KB zip bomb unpacks to hundreds of megabytes)."""
    try:
        with zipfile.ZipFile(path) as package:
            parts = package.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise _FileError("файл не читается как XLSX (повреждён или не XLSX)") from exc
    unpacked = sum(p.file_size for p in parts)
    bomb = any(p.file_size > MAX_PACK_RATIO * max(p.compress_size, 1) + 1_000_000 for p in parts)
    if unpacked > MAX_UNPACKED or bomb:
        raise _FileError(
            f"файл слишком велик после распаковки ({unpacked // (1024 * 1024)} МБ, можно до "
            f"{MAX_UNPACKED // (1024 * 1024)} МБ): оставьте в нём только нужный лист"
        )


def _read_xlsx(path: Path) -> list[list[str]]:
    """The first sheet, checked before it is read: the package's unpacked size, then the
    declared dimensions (columns and rows), then read row by row in streaming mode with both
    caps applied again (a file may declare less than it holds)."""
    _check_package(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise _FileError(f"файл не читается как XLSX ({exc.__class__.__name__})") from exc
    try:
        if not wb.worksheets:
            return []
        sheet = wb.worksheets[0]
        columns, rows_declared = sheet.max_column or 0, sheet.max_row or 0
        if columns > MAX_COLUMNS:
            raise _FileError(
                f"в таблице {columns} столбцов, можно не больше {MAX_COLUMNS}: "
                "удалите пустые и лишние столбцы"
            )
        if rows_declared > MAX_ROWS + 1:
            raise _FileError(f"в файле больше {MAX_ROWS} строк: разделите его на части")
        rows: list[list[str]] = []
        for values in sheet.iter_rows(max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS, values_only=True):
            yield_interpreter()
            rows.append([_cell(v) for v in values])
        return rows
    finally:
        wb.close()


def read_table(path: Path) -> list[list[str]]:
    """Rows of cells as strings; raises ``_FileError`` when the file cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _FileError(f"файл не открывается: {exc.strerror or exc}") from exc
    if path.suffix.lower() in (".xlsx", ".xlsm") or data[:2] == b"PK":
        return _read_xlsx(path)
    if path.suffix.lower() == ".xls":
        raise _FileError("старый формат .xls не поддерживается: сохраните файл как .xlsx или .csv")
    return _read_csv(data)


# ---------------------------------------------------------------- import


def _parse_rows(
    table: list[list[str]], errors: list[RowError], titles: dict[str, str]
) -> list[_Row]:
    """Rows that pass the checks of one row; ``titles`` gets the headers as written."""
    header_index = next((i for i, r in enumerate(table) if any(c.strip() for c in r)), None)
    if header_index is None:
        errors.append(RowError(0, "", "файл пуст"))
        return []
    header = table[header_index]
    cols: dict[str, int] = {}
    lookup = {alias: key for key, (_, aliases) in COLUMNS.items() for alias in aliases}
    for idx, raw in enumerate(header):
        key = lookup.get(_norm_header(raw))
        if key is not None and key not in cols:
            cols[key] = idx
            titles[key] = raw.replace("\ufeff", "").strip()
    header_row = header_index + 1
    missing = [k for k in REQUIRED if k not in cols]
    for key in missing:
        errors.append(
            RowError(
                header_row, COLUMNS[key][0], f"нет столбца «{COLUMNS[key][0]}» в первой строке"
            )
        )
    if missing:
        return []
    if len(table) - header_row > MAX_ROWS:
        errors.append(RowError(0, "", f"в файле больше {MAX_ROWS} строк: разделите его на части"))
        return []

    def get(cells: list[str], key: str) -> str:
        idx = cols.get(key)
        return _clean(cells[idx]) if idx is not None and idx < len(cells) else ""

    out: list[_Row] = []
    for offset, cells in enumerate(table[header_row:]):
        rownum = header_row + offset + 1
        if not any(c.strip() for c in cells):
            continue
        row_errors: list[RowError] = []

        def err(
            key: str, message: str, rownum: int = rownum, bucket: list[RowError] = row_errors
        ) -> None:
            bucket.append(RowError(rownum, titles.get(key, COLUMNS[key][0]), message))

        name = get(cells, "name")
        if not name:
            err("name", "пустое название")
        elif len(name) > NAME_MAX:
            err("name", f"название длиннее {NAME_MAX} символов")
        short = get(cells, "short_name")
        if not short:
            if name and len(name) <= SHORT_NAME_MAX:
                short = name
            elif name:
                err(
                    "short_name",
                    f"нужно краткое название: полное длиннее {SHORT_NAME_MAX} символов",
                )
        elif len(short) > SHORT_NAME_MAX:
            err("short_name", f"краткое название длиннее {SHORT_NAME_MAX} символов")
        kind_text = get(cells, "kind")
        kind = KIND_WORDS.get(_norm_kind(kind_text))
        if kind is None:
            if kind_text:
                err(
                    "kind",
                    f"неизвестный тип «{kind_text}»: укажите {KIND_HINT}",
                )
            else:
                err("kind", f"не указан тип: {KIND_HINT}")
        mun = get(cells, "municipality")
        if not mun:
            err("municipality", "не указан муниципалитет")
        elif len(mun) > MUNICIPALITY_NAME_MAX:
            err("municipality", f"название муниципалитета длиннее {MUNICIPALITY_NAME_MAX} символов")
        code: str | None = get(cells, "code").lower() or None
        if code is not None and not SCHOOL_CODE_RE.match(code):
            err(
                "code",
                f"код «{code}»: только латинские буквы и цифры, "
                f"не длиннее {SCHOOL_CODE_MAX} символов",
            )
        mcode: str | None = get(cells, "municipality_code").lower() or None
        if mcode is not None and not MUNICIPALITY_CODE_RE.match(mcode):
            err(
                "municipality_code",
                f"код «{mcode}»: только латинские буквы, цифры, «-» и «_», "
                f"не длиннее {MUNICIPALITY_CODE_MAX} символов",
            )
        if row_errors:
            errors.extend(row_errors)
            continue
        assert kind is not None
        out.append(_Row(rownum, name, short, kind, mun, code, mcode))
    return out


async def import_schools(session: AsyncSession, path: Path) -> ImportReport:
    """Create or update schools (and municipalities) from a CSV or XLSX file.

    Valid rows are imported and rows with errors are reported (row number, column, a
    message in Russian). Nothing is committed here.
    """
    report = ImportReport()
    try:
        table = await asyncio.to_thread(read_table, Path(path))
    except _FileError as exc:
        report.errors.append(RowError(0, "", str(exc)))
        return report
    titles: dict[str, str] = {}
    rows = _parse_rows(table, report.errors, titles)
    col = {k: titles.get(k, label) for k, (label, _) in COLUMNS.items()}

    municipalities = list((await session.execute(select(Municipality))).scalars())
    mun_by_code = {m.code: m for m in municipalities}
    mun_by_name: dict[str, Municipality] = {}
    for m in sorted(municipalities, key=lambda m: m.id):
        mun_by_name.setdefault(name_key(m.name), m)
    schools = list((await session.execute(select(School).order_by(School.id))).scalars())
    school_by_code_ = {s.code: s for s in schools}
    school_by_name: dict[tuple[int, str], School] = {}
    for s in schools:
        school_by_name.setdefault((s.municipality_id, name_key(s.name)), s)

    # ---- pass 1: resolve municipalities and detect conflicts inside the file (no writes)
    # a municipality of the file is identified by a token: ("id", db id) or ("new", code)
    taken_mcodes = set(mun_by_code)
    new_muns: dict[str, str] = {}  # new code -> name
    mun_token_by_name: dict[str, tuple[str, int | str]] = {}
    mcode_first_row: dict[str, tuple[int, str]] = {}
    seen_codes: dict[str, int] = {}
    seen_names: dict[tuple[tuple[str, int | str], str], int] = {}
    matched: dict[int, int] = {}  # id of an existing school -> the row that updates it
    planned: list[tuple[_Row, tuple[str, int | str]]] = []
    for r in rows:
        mkey = name_key(r.municipality)
        token: tuple[str, int | str]
        if r.municipality_code is not None:
            first = mcode_first_row.get(r.municipality_code)
            if first is not None and first[1] != mkey:
                report.errors.append(
                    RowError(
                        r.row,
                        col["municipality_code"],
                        f"код «{r.municipality_code}» в строке {first[0]} "
                        "дан другому муниципалитету",
                    )
                )
                continue
            mcode_first_row.setdefault(r.municipality_code, (r.row, mkey))
            existing = mun_by_code.get(r.municipality_code)
            if existing is not None:
                token = ("id", existing.id)
            else:
                token = ("new", r.municipality_code)
                new_muns.setdefault(r.municipality_code, r.municipality)
                taken_mcodes.add(r.municipality_code)
            mun_token_by_name.setdefault(mkey, token)
        elif mkey in mun_token_by_name:
            token = mun_token_by_name[mkey]
        elif mkey in mun_by_name:
            token = ("id", mun_by_name[mkey].id)
            mun_token_by_name[mkey] = token
        else:
            code = _unique(municipality_slug(r.municipality), taken_mcodes, MUNICIPALITY_CODE_MAX)
            taken_mcodes.add(code)
            new_muns[code] = r.municipality
            token = ("new", code)
            mun_token_by_name[mkey] = token
        if r.code is not None and r.code in seen_codes:
            message = f"код «{r.code}» уже есть в строке {seen_codes[r.code]}"
            report.errors.append(RowError(r.row, col["code"], message))
            continue
        nkey = (token, name_key(r.name))
        if nkey in seen_names:
            report.errors.append(
                RowError(
                    r.row,
                    col["name"],
                    "школа с таким названием в этом муниципалитете уже есть "
                    f"в строке {seen_names[nkey]}",
                )
            )
            continue
        target = school_by_code_.get(r.code) if r.code is not None else None
        if target is None and isinstance(token[1], int):
            target = school_by_name.get((token[1], name_key(r.name)))
        if target is not None and target.id in matched:
            report.errors.append(
                RowError(
                    r.row,
                    col["code"] if r.code is not None else col["name"],
                    f"это та же школа, что в строке {matched[target.id]} (код «{target.code}»)",
                )
            )
            continue
        if target is not None:
            matched[target.id] = r.row
        if r.code is not None:
            seen_codes[r.code] = r.row
        seen_names[nkey] = r.row
        planned.append((r, token))

    # ---- pass 2: write
    mun_ids: dict[tuple[str, int | str], int] = {}
    for code, name in new_muns.items():
        if any(tok == ("new", code) for _, tok in planned):
            m = Municipality(code=code, name=name)
            session.add(m)
            await session.flush()
            mun_ids[("new", code)] = m.id
            report.municipalities_created += 1
    taken_codes = set(school_by_code_) | set(seen_codes)
    for r, token in planned:
        ref = token[1]
        mun_id = ref if isinstance(ref, int) else mun_ids[token]
        school = school_by_code_.get(r.code) if r.code is not None else None
        if school is None:
            school = school_by_name.get((mun_id, name_key(r.name)))
        if school is None:
            code = r.code or _unique(
                school_slug(r.short_name, r.kind), taken_codes, SCHOOL_CODE_MAX
            )
            taken_codes.add(code)
            school = School(
                municipality_id=mun_id,
                code=code,
                name=r.name,
                short_name=r.short_name,
                kind=r.kind.value,
            )
            session.add(school)
            school_by_code_[code] = school
            report.created += 1
            continue
        new_values = {
            "municipality_id": mun_id,
            "name": r.name,
            "short_name": r.short_name,
            "kind": r.kind.value,
            "code": r.code or school.code,
        }
        changed = {k: v for k, v in new_values.items() if getattr(school, k) != v}
        if not changed:
            report.unchanged += 1
            continue
        if "code" in changed:
            school_by_code_.pop(school.code, None)
            school_by_code_[changed["code"]] = school
        for key, value in changed.items():
            setattr(school, key, value)
        report.updated += 1
    await session.flush()
    report.errors.sort(key=lambda e: (e.row, e.column))
    return report


# ---------------------------------------------------------------- lookups for the bot


def _tokens(query: str) -> list[str]:
    return name_key(query).split()


async def search_schools(
    session: AsyncSession,
    query: str | None,
    page: int,
    per_page: int = 8,
    municipality_id: int | None = None,
) -> tuple[list[School], int]:
    """One page (0-based) of schools whose name or short name contains every word of
    ``query``, ignoring case, «ё», quotes and «№»; and the number of all matches.

    Ordered by short name (then id). A page past the end is empty.

    The filtering and ordering are done in Python on purpose: SQLite's ``lower()`` and
    ``LIKE`` fold case for ASCII letters only, so «сош» would not find «СОШ» there, and the
    order of Cyrillic text depends on the database collation. Loading ``(id, name,
    short_name)`` of every school is cheap (a municipality has at most a few hundred, a
    region a few thousand), gives the same answer on SQLite and PostgreSQL and needs no
    extra column; the page itself is then loaded by id.
    """
    stmt = select(School.id, School.name, School.short_name)
    if municipality_id is not None:
        stmt = stmt.where(School.municipality_id == municipality_id)
    rows = (await session.execute(stmt)).all()
    tokens = _tokens(query or "")
    if tokens:
        rows = [r for r in rows if all(t in name_key(f"{r.short_name} {r.name}") for t in tokens)]
    rows.sort(key=lambda r: (r.short_name.casefold().replace("ё", "е"), r.id))
    total = len(rows)
    if page < 0 or per_page <= 0:
        return [], total
    ids = [r.id for r in rows[page * per_page : (page + 1) * per_page]]
    if not ids:
        return [], total
    loaded = (
        await session.execute(
            select(School).where(School.id.in_(ids)).options(selectinload(School.municipality))
        )
    ).scalars()
    by_id = {s.id: s for s in loaded}
    return [by_id[i] for i in ids if i in by_id], total


async def school_by_code(session: AsyncSession, code: str) -> School | None:
    """The school of a deep link ``/start s<code>`` (codes are stored in lower case)."""
    code = (code or "").strip().lower()
    if not SCHOOL_CODE_RE.match(code):
        return None
    return await session.scalar(
        select(School).where(School.code == code).options(selectinload(School.municipality))
    )
