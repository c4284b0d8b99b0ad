"""«Мои курсы»: the courses a teacher records, their totals, and the attestation term.

No aiogram here. Validation is pure: each parser returns a clean value or raises
:class:`CourseError` whose ``code`` is a locale key (``courses.error.*``) and whose ``params``
fill its placeholders, so a handler only renders ``t(exc.code, **exc.params)``.

Terms (the same rule for both, after ст. 191–192 ГК РФ: a term counted in years ends on the
same day and month of its last year):

* «срок ПК»: повышение квалификации is due at least once every 3 years. A ПК that ended on
  12.10.2023 is enough until 12.10.2026 inclusive; from 13.10.2026 it is due.
* a qualification category is valid 5 years from the date it was given: given 15.03.2021,
  valid until 15.03.2026 inclusive, expired from 16.03.2026. The warning starts 6 months
  before the expiry date (on 15.09.2025 in the example) and lasts until the expiry date.
  When only the year is known the term is counted from 1 January of that year, the earliest
  date the category can have been given, so the warning never comes too late.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePosixPath
from typing import Any, Protocol

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import Course, CourseFormat, CourseKind, Provider, ProviderStatus, User
from services import routes
from services.attestation import (
    Attestation,
    add_years,
    attestation,
    has_category,
)
from services.errors import Refusal
from services.facts import teachers_changed
from services.reference import BLOCKS
from services.roles import Access

log = logging.getLogger("pedbot.courses")

# ---------- reference lists (codes are stored; labels live in the locale files) ----------

KINDS: tuple[str, ...] = tuple(k.value for k in CourseKind)
FORMATS: tuple[str, ...] = tuple(f.value for f in CourseFormat)
# the four competency blocks of the deficits diagnosis (labels: ``block.<code>``)
# kinds that count as «повышение квалификации» for «срок ПК»
PK_KINDS: frozenset[str] = frozenset({CourseKind.QUALIFICATION.value, CourseKind.RETRAINING.value})

TITLE_MIN, TITLE_MAX = 3, 300
PROVIDER_MIN, PROVIDER_MAX = 2, 200
HOURS_MIN, HOURS_MAX = 1, 2000
RETRAINING_TYPICAL_HOURS = 250
CERT_NUMBER_MAX = 100
FILE_NAME_MAX = 300
FILE_ID_MAX = 300
MAX_FILE_SIZE = 20 * 1024 * 1024  # what a bot can download from Telegram
EARLIEST_DATE = date(1980, 1, 1)
FUTURE_YEARS = 2
PK_PERIOD_YEARS = 3
PHOTO_FILE_NAME = "photo.jpg"  # a Telegram photo has no name of its own

# a certificate is a PDF or a picture; mime type -> the extension used when there is no name
CERT_MIME_TYPES: dict[str, str] = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
}
CERT_EXTENSIONS: frozenset[str] = frozenset({".pdf", ".jpg", ".jpeg", ".png"})
_UNKNOWN_MIME = frozenset({"", "application/octet-stream"})


class CourseError(Refusal):
    """A refused course input or button."""


# ---------- dates ----------


def date_bounds(today: date) -> tuple[date, date]:
    """The dates a course may have: from 1980 to two years ahead (a planned course)."""
    return EARLIEST_DATE, add_years(today, FUTURE_YEARS)


_DATE_RE = re.compile(
    r"^\s*(\d{1,2})\s*[.,/-]\s*(\d{1,2})\s*[.,/-]\s*(\d{4})\s*(?:г\.?)?\s*$", re.A
)


def read_date(text: str) -> date:
    """ДД.ММ.ГГГГ (also Д.М.ГГГГ, with «/», «-» or «,» between): a real calendar date."""
    match = _DATE_RE.match(text)
    if match is None:
        raise CourseError("courses.error.date_format")
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise CourseError("courses.error.date_invalid") from None


def parse_date(text: str, today: date, *, lo: date | None = None, hi: date | None = None) -> date:
    """A typed date of a course: :func:`read_date` within the bounds (1980 … today + 2 years)."""
    return check_date(read_date(text), today, lo=lo, hi=hi)


def check_date(value: date, today: date, *, lo: date | None = None, hi: date | None = None) -> date:
    """A date within [lo, hi] (by default 1980 … today + 2 years)."""
    low, high = date_bounds(today)
    low = max(low, lo) if lo else low
    high = min(high, hi) if hi else high
    if not low <= value <= high:
        raise CourseError("courses.error.date_range", lo=fmt_date(low), hi=fmt_date(high))
    return value


def check_order(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise CourseError("courses.error.date_order", start=fmt_date(starts_on))


def fmt_date(value: date) -> str:
    return value.strftime("%d.%m.%Y")


# ---------- text fields ----------


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def parse_title(text: str) -> str:
    title = _squeeze(text)
    if len(title) < TITLE_MIN:
        raise CourseError("courses.error.title_short", min=TITLE_MIN)
    if len(title) > TITLE_MAX:
        raise CourseError("courses.error.title_long", max=TITLE_MAX, got=len(title))
    return title


def parse_provider_name(text: str) -> str:
    name = _squeeze(text)
    if len(name) < PROVIDER_MIN:
        raise CourseError("courses.error.provider_short", min=PROVIDER_MIN)
    if len(name) > PROVIDER_MAX:
        raise CourseError("courses.error.provider_long", max=PROVIDER_MAX, got=len(name))
    return name


def parse_certificate_number(text: str) -> str:
    number = _squeeze(text)
    if not number:
        raise CourseError("courses.error.number_empty")
    if len(number) > CERT_NUMBER_MAX:
        raise CourseError("courses.error.number_long", max=CERT_NUMBER_MAX, got=len(number))
    return number


_HOURS_RE = re.compile(
    r"^\s*([+-]?)(\d+)\s*(?:ч|ч\.|час|часа|часов|ак\.?\s*ч\.?|академических\s+часов)?\s*$",
    re.A | re.I,
)
_FRACTION_RE = re.compile(r"^\s*[+-]?\d+[.,]\d+\s*\S*\s*$", re.A)


def parse_hours(text: str) -> int:
    """A whole number of hours, 1–2000 («72», «72 ч», «72 часа»)."""
    match = _HOURS_RE.match(text)
    if match is None:
        if _FRACTION_RE.match(text):
            raise CourseError("courses.error.hours_integer")
        raise CourseError("courses.error.hours_number")
    sign, digits = match.groups()
    digits = digits.lstrip("0") or "0"
    if len(digits) > 6:  # far out of range; int() of huge strings is refused by Python anyway
        raise CourseError("courses.error.hours_range", min=HOURS_MIN, max=HOURS_MAX)
    hours = -int(digits) if sign == "-" else int(digits)
    return check_hours(hours)


def check_hours(hours: int) -> int:
    if not HOURS_MIN <= hours <= HOURS_MAX:
        raise CourseError("courses.error.hours_range", min=HOURS_MIN, max=HOURS_MAX)
    return hours


def hours_warning(kind: str | None, hours: int | None) -> bool:
    """A retraining is typically 250 hours or more: fewer is allowed, but worth a question."""
    return (
        kind == CourseKind.RETRAINING.value
        and hours is not None
        and hours < RETRAINING_TYPICAL_HOURS
    )


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise CourseError("courses.error.bad_choice")
    return kind


def check_format(value: str) -> str:
    if value not in FORMATS:
        raise CourseError("courses.error.bad_choice")
    return value


def check_blocks(blocks: Sequence[str]) -> list[str]:
    chosen = set(blocks)
    if not chosen:
        raise CourseError("courses.error.blocks_empty")
    if not chosen <= set(BLOCKS):
        raise CourseError("courses.error.bad_choice")
    return [b for b in BLOCKS if b in chosen]


# ---------- certificate files ----------


@dataclass(frozen=True)
class CertificateFile:
    """What is kept of a certificate: Telegram's file id, a name and the size in bytes."""

    file_id: str
    file_name: str
    file_size: int | None

    @property
    def is_photo(self) -> bool:
        return self.file_name == PHOTO_FILE_NAME

    def to_data(self) -> dict[str, Any]:
        return {"id": self.file_id, "name": self.file_name, "size": self.file_size}

    @classmethod
    def from_data(cls, data: Any) -> CertificateFile | None:
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            return None
        size = data.get("size")
        return cls(
            file_id=data["id"],
            file_name=str(data.get("name") or PHOTO_FILE_NAME),
            file_size=size if isinstance(size, int) else None,
        )


def _check_size_and_id(file_id: str, file_size: int | None) -> None:
    if not file_id or len(file_id) > FILE_ID_MAX:
        raise CourseError("courses.error.file_type")
    if file_size is not None and file_size > MAX_FILE_SIZE:
        got = f"{file_size / (1024 * 1024):.1f}".replace(".", ",")
        raise CourseError("courses.error.file_big", max=MAX_FILE_SIZE // (1024 * 1024), got=got)


def _clip_name(name: str) -> str:
    name = _squeeze(name.replace("/", "_").replace("\\", "_"))
    if len(name) <= FILE_NAME_MAX:
        return name
    suffix = PurePosixPath(name).suffix[:10]
    return name[: FILE_NAME_MAX - len(suffix)] + suffix


def certificate_from_document(
    file_id: str, file_name: str | None, mime_type: str | None, file_size: int | None
) -> CertificateFile:
    """A document is taken when it is a PDF, JPEG or PNG (by its type, else by its name)."""
    mime = (mime_type or "").split(";")[0].strip().lower()
    suffix = PurePosixPath(file_name or "").suffix.lower()
    known = mime in CERT_MIME_TYPES or (mime in _UNKNOWN_MIME and suffix in CERT_EXTENSIONS)
    if not known:
        raise CourseError("courses.error.file_type")
    _check_size_and_id(file_id, file_size)
    name = _clip_name(file_name or "")
    if not name:
        name = "certificate" + CERT_MIME_TYPES.get(mime, suffix or ".pdf")
    if name == PHOTO_FILE_NAME:  # keep the name reserved for Telegram photos
        name = "photo (1).jpg"
    return CertificateFile(file_id=file_id, file_name=name, file_size=file_size)


def certificate_from_photo(file_id: str, file_size: int | None) -> CertificateFile:
    """A Telegram photo (always a JPEG); pass the largest size Telegram offers."""
    _check_size_and_id(file_id, file_size)
    return CertificateFile(file_id=file_id, file_name=PHOTO_FILE_NAME, file_size=file_size)


def size_parts(size: int) -> tuple[str, str]:
    """A file size as a number and its unit («kb» or «mb»), for ``courses.size_<unit>``."""
    if size < 1024 * 1024:
        return str(max(1, round(size / 1024))), "kb"
    return f"{size / (1024 * 1024):.1f}".replace(".", ","), "mb"


# ---------- the draft of a course being added ----------

# the steps of adding a course, in order; «confirm» shows the summary before saving
QUESTIONS: tuple[str, ...] = (
    "title",
    "provider",
    "kind",
    "hours",
    "starts_on",
    "ends_on",
    "format",
    "blocks",
    "certificate_number",
    "certificate",
)
ADD_STEPS: tuple[str, ...] = (*QUESTIONS, "confirm")
OPTIONAL_STEPS = frozenset({"certificate_number", "certificate"})


@dataclass
class Draft:
    """The answers collected so far while a course is being added (kept in the FSM data)."""

    title: str | None = None
    provider_id: int | None = None
    provider_name: str | None = None
    kind: str | None = None
    hours: int | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    format: str | None = None
    blocks: list[str] = field(default_factory=list)
    certificate_number: str | None = None
    certificate: CertificateFile | None = None
    # the steps answered (or skipped) so far; the step to ask is the first one not here
    answered: list[str] = field(default_factory=list)

    def to_data(self) -> dict[str, Any]:
        return {
            "answered": list(self.answered),
            "title": self.title,
            "provider_id": self.provider_id,
            "provider_name": self.provider_name,
            "kind": self.kind,
            "hours": self.hours,
            "starts_on": self.starts_on.isoformat() if self.starts_on else None,
            "ends_on": self.ends_on.isoformat() if self.ends_on else None,
            "format": self.format,
            "blocks": list(self.blocks),
            "certificate_number": self.certificate_number,
            "certificate": self.certificate.to_data() if self.certificate else None,
        }

    @classmethod
    def from_data(cls, data: Any) -> Draft:
        """Tolerant: anything malformed is simply not there (and will be asked again)."""
        if not isinstance(data, dict):
            return cls()

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        def integer(key: str) -> int | None:
            value = data.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        def day(key: str) -> date | None:
            value = data.get(key)
            try:
                return date.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                return None

        blocks = data.get("blocks")
        answered = data.get("answered")
        draft = cls(
            title=text("title"),
            provider_id=integer("provider_id"),
            provider_name=text("provider_name"),
            kind=text("kind") if data.get("kind") in KINDS else None,
            hours=integer("hours"),
            starts_on=day("starts_on"),
            ends_on=day("ends_on"),
            format=text("format") if data.get("format") in FORMATS else None,
            blocks=[b for b in BLOCKS if isinstance(blocks, list) and b in blocks],
            certificate_number=text("certificate_number"),
            certificate=CertificateFile.from_data(data.get("certificate")),
        )
        if isinstance(answered, list):
            draft.answered = [s for s in ADD_STEPS if s in answered]
        else:  # a draft kept before steps were recorded: what is filled in was answered
            draft.answered = [s for s in QUESTIONS if s not in missing_fields(draft)]
        return draft


# ---------- providers ----------

_QUOTES = str.maketrans({c: '"' for c in "«»„“”‟″'’‘`"})


def provider_key(name: str) -> str:
    """The form two provider names are compared in: case, quotes and spaces do not matter."""
    return _squeeze(name).translate(_QUOTES).casefold()


async def find_provider(session: AsyncSession, name: str) -> Provider | None:
    """A known provider with this name, ignoring case, quotes and extra spaces.

    Candidates are narrowed in SQL by length (SQLite's ``lower()`` knows only ASCII, so the
    case-insensitive comparison of Cyrillic names is done here on those few rows).
    """
    name = _squeeze(name)
    key = provider_key(name)
    rows = await session.scalars(
        select(Provider).where(func.length(Provider.name) == len(name)).order_by(Provider.id)
    )
    return next((p for p in rows if provider_key(p.name) == key), None)


def visible_to(user_id: int) -> ColumnElement[bool]:
    """Providers a teacher may see and pick: approved or shared ones, and their own typing."""
    return (Provider.status != ProviderStatus.PRIVATE.value) | (Provider.created_by == user_id)


def _typed_by(provider: Provider, user_id: int) -> None:
    """A teacher typed the name of a known provider: a second teacher's typing makes a
    private name everyone's (and no longer anyone's in particular)."""
    if provider.status != ProviderStatus.PRIVATE.value:
        return
    if provider.created_by is None:
        provider.created_by = user_id
    elif provider.created_by != user_id:
        provider.status = ProviderStatus.SHARED.value
        provider.created_by = None


async def provider_for(session: AsyncSession, name: str, user_id: int) -> Provider:
    """The known provider of this name, or a new one private to the teacher who typed it (a
    concurrent twin is reused)."""
    name = parse_provider_name(name)
    found = await find_provider(session, name)
    if found is not None:
        _typed_by(found, user_id)
        return found
    try:
        async with session.begin_nested():
            provider = Provider(name=name, status=ProviderStatus.PRIVATE.value, created_by=user_id)
            session.add(provider)
    except IntegrityError:
        found = await find_provider(session, name)
        if found is None:  # pragma: no cover - the twin must be there
            raise
        _typed_by(found, user_id)
        return found
    return provider


async def known_providers(
    session: AsyncSession, user_id: int, limit: int, offset: int = 0
) -> list[Provider]:
    """Providers to choose from (those this teacher may see): the most used by teachers
    first, then by name."""
    used = (
        select(Course.provider_id, func.count().label("n"))
        .where(Course.provider_id.is_not(None))
        .group_by(Course.provider_id)
        .subquery()
    )
    rows = await session.scalars(
        select(Provider)
        .outerjoin(used, used.c.provider_id == Provider.id)
        .where(visible_to(user_id))
        .order_by(func.coalesce(used.c.n, 0).desc(), Provider.name, Provider.id)
        .offset(max(0, offset))
        .limit(max(0, limit))
    )
    return list(rows)


async def count_providers(session: AsyncSession, user_id: int) -> int:
    found = select(func.count()).select_from(Provider).where(visible_to(user_id))
    return int(await session.scalar(found) or 0)


PENDING_SHOWN = 10


@dataclass(frozen=True)
class PendingProvider:
    id: int
    name: str
    shared: bool  # a second teacher typed it too (everyone already sees it)
    courses: int  # how many recorded courses name it


@dataclass(frozen=True)
class PendingProviders:
    """Organisers of courses typed by teachers and not approved yet, for a methodist or an
    admin to approve (who typed them is not shown)."""

    items: tuple[PendingProvider, ...]
    total: int
    approved: str | None = None  # the name approved just now


async def pending_providers(
    session: AsyncSession, access: Access, approved: str | None = None
) -> PendingProviders:
    """The typed names waiting for approval: names only one teacher uses first, oldest
    first (at most :data:`PENDING_SHOWN`)."""
    if not access.manages_catalog:
        raise CourseError("common.stale")
    waiting = Provider.status != ProviderStatus.APPROVED.value
    used = (
        select(Course.provider_id, func.count().label("n"))
        .where(Course.provider_id.is_not(None))
        .group_by(Course.provider_id)
        .subquery()
    )
    rows = await session.execute(
        select(Provider.id, Provider.name, Provider.status, func.coalesce(used.c.n, 0))
        .outerjoin(used, used.c.provider_id == Provider.id)
        .where(waiting)
        .order_by((Provider.status == ProviderStatus.SHARED.value), Provider.id)
        .limit(PENDING_SHOWN)
    )
    total = await session.scalar(select(func.count()).select_from(Provider).where(waiting))
    items = tuple(
        PendingProvider(pid, name, status == ProviderStatus.SHARED.value, int(n))
        for pid, name, status, n in rows
    )
    return PendingProviders(items, int(total or 0), approved)


async def approve_typed_provider(
    session: AsyncSession, access: Access, provider_id: int
) -> PendingProviders:
    """A methodist or an admin approves a typed name: everyone may pick it from now on."""
    if not access.manages_catalog:
        raise CourseError("common.stale")
    provider = await session.get(Provider, provider_id) if _plausible_id(provider_id) else None
    if provider is None or provider.status == ProviderStatus.APPROVED.value:
        raise CourseError("common.stale")
    provider.status = ProviderStatus.APPROVED.value
    provider.created_by = None
    await session.flush()
    return await pending_providers(session, access, approved=provider.name)


# ---------- a teacher's courses ----------


async def list_courses(session: AsyncSession, user_id: int) -> list[Course]:
    """All courses of one teacher, newest first (a teacher has tens, not thousands)."""
    rows = await session.scalars(
        select(Course)
        .where(Course.user_id == user_id)
        .order_by(Course.ends_on.desc(), Course.starts_on.desc(), Course.id.desc())
    )
    return list(rows)


ID_MAX = 2**31 - 1  # ids are 32-bit integers; a forged bigger one is simply not found


def _plausible_id(value: int) -> bool:
    return 0 < value <= ID_MAX


async def get_provider(session: AsyncSession, provider_id: int, user_id: int) -> Provider | None:
    """The provider if this teacher may see it (another teacher's private typing is not)."""
    if not _plausible_id(provider_id):
        return None
    provider = await session.get(Provider, provider_id)
    if provider is None or (
        provider.status == ProviderStatus.PRIVATE.value and provider.created_by != user_id
    ):
        return None
    return provider


async def get_course(session: AsyncSession, user_id: int, course_id: int) -> Course | None:
    """The course if it exists and belongs to this teacher; ``None`` otherwise."""
    if not _plausible_id(course_id):
        return None
    course = await session.get(Course, course_id)
    if course is None or course.user_id != user_id:
        return None
    return course


def missing_fields(draft: Draft) -> list[str]:
    required = {
        "title": draft.title,
        "provider": draft.provider_id or draft.provider_name,
        "kind": draft.kind,
        "hours": draft.hours,
        "starts_on": draft.starts_on,
        "ends_on": draft.ends_on,
        "format": draft.format,
        "blocks": draft.blocks,
    }
    return [k for k, v in required.items() if not v]


async def _resolve_provider(
    session: AsyncSession, user_id: int, provider_id: int | None, provider_name: str | None
) -> Provider:
    if provider_id is not None:
        provider = await get_provider(session, provider_id, user_id)
        if provider is not None:
            return provider
    if provider_name:
        return await provider_for(session, provider_name, user_id)
    raise CourseError("courses.error.incomplete")


async def create_course(session: AsyncSession, user_id: int, draft: Draft, today: date) -> Course:
    """Validate the whole draft again and write the course (and a new provider if typed)."""
    if missing_fields(draft):
        raise CourseError("courses.error.incomplete")
    assert draft.title and draft.kind and draft.hours and draft.format
    assert draft.starts_on and draft.ends_on
    title = parse_title(draft.title)
    kind = check_kind(draft.kind)
    hours = check_hours(draft.hours)
    starts_on = check_date(draft.starts_on, today)
    ends_on = check_date(draft.ends_on, today)
    check_order(starts_on, ends_on)
    fmt = check_format(draft.format)
    blocks = check_blocks(draft.blocks)
    number = (
        parse_certificate_number(draft.certificate_number) if draft.certificate_number else None
    )
    provider = await _resolve_provider(session, user_id, draft.provider_id, draft.provider_name)
    cert = draft.certificate
    course = Course(
        user_id=user_id,
        title=title,
        provider_id=provider.id,
        kind=kind,
        hours=hours,
        starts_on=starts_on,
        ends_on=ends_on,
        format=fmt,
        blocks=blocks,
        certificate_number=number,
        certificate_file_id=cert.file_id if cert else None,
        certificate_file_name=cert.file_name if cert else None,
        certificate_file_size=cert.file_size if cert else None,
    )
    session.add(course)
    await session.flush()
    await session.refresh(course, ["provider"])
    return course


# fields a teacher can change on a recorded course, in the order they are offered
EDIT_FIELDS: tuple[str, ...] = (
    "title",
    "provider",
    "kind",
    "hours",
    "starts_on",
    "ends_on",
    "format",
    "blocks",
    "certificate_number",
    "certificate",
)


async def update_course(
    session: AsyncSession,
    user_id: int,
    course_id: int,
    field_name: str,
    value: Any,
    today: date,
) -> Course:
    """Change one field of the teacher's own course; the value is validated again.

    ``value`` is: a string (title, provider name, certificate number or ``None`` to remove
    it), a provider id (int) for «provider», an int for hours, a :class:`date`, a code for
    kind and format, a list of codes for blocks, a :class:`CertificateFile` or ``None``.
    """
    course = await get_course(session, user_id, course_id)
    if course is None:
        raise CourseError("courses.error.not_found")
    if field_name == "title":
        course.title = parse_title(str(value))
    elif field_name == "provider":
        if isinstance(value, int) and not isinstance(value, bool):
            provider = await _resolve_provider(session, user_id, value, None)
        else:
            provider = await provider_for(session, str(value), user_id)
        course.provider_id = provider.id
    elif field_name == "kind":
        course.kind = check_kind(str(value))
    elif field_name == "hours":
        if not isinstance(value, int) or isinstance(value, bool):
            raise CourseError("courses.error.hours_number")
        course.hours = check_hours(value)
    elif field_name == "starts_on":
        if not isinstance(value, date):
            raise CourseError("courses.error.date_format")
        check_date(value, today)
        if value > course.ends_on:
            raise CourseError("courses.error.date_order_start", end=fmt_date(course.ends_on))
        course.starts_on = value
    elif field_name == "ends_on":
        if not isinstance(value, date):
            raise CourseError("courses.error.date_format")
        check_date(value, today)
        check_order(course.starts_on, value)
        course.ends_on = value
    elif field_name == "format":
        course.format = check_format(str(value))
    elif field_name == "blocks":
        course.blocks = check_blocks(list(value or []))
    elif field_name == "certificate_number":
        course.certificate_number = parse_certificate_number(str(value)) if value else None
    elif field_name == "certificate":
        if value is not None and not isinstance(value, CertificateFile):
            raise CourseError("courses.error.file_type")
        course.certificate_file_id = value.file_id if value else None
        course.certificate_file_name = value.file_name if value else None
        course.certificate_file_size = value.file_size if value else None
    else:
        raise CourseError("courses.error.bad_choice")
    await session.flush()
    await session.refresh(course, ["provider"])
    return course


async def delete_course(session: AsyncSession, user_id: int, course_id: int) -> bool:
    """Delete the teacher's own course; ``False`` when there is no such course of theirs."""
    if not _plausible_id(course_id):
        return False
    result = await session.execute(
        delete(Course).where(Course.id == course_id, Course.user_id == user_id)
    )
    await teachers_changed(session, [user_id])
    return bool(result.rowcount)  # type: ignore[attr-defined]


# ---------- totals ----------


class CourseLike(Protocol):
    kind: str
    hours: int
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class Totals:
    hours_year: int  # courses that ended this calendar year, up to today
    hours_3y: int  # courses that ended in the last 3 years (since ``since_3y``), up to today
    since_3y: date
    last_pk: date | None  # end of the last повышение квалификации or переподготовка
    pk_due: bool  # none recorded, or the last ended more than 3 years ago
    pk_deadline: date | None  # the last day the last ПК still counts
    ongoing_hours: int  # courses that have not ended yet


def pk_deadline(last_pk: date | None) -> date | None:
    """The last day the last повышение квалификации (or переподготовка) still counts."""
    return add_years(last_pk, PK_PERIOD_YEARS) if last_pk else None


def pk_due(last_pk: date | None, today: date) -> bool:
    """ПК is due: none recorded, or the last one ended more than 3 years before ``today``."""
    deadline = pk_deadline(last_pk)
    return deadline is None or today > deadline


def totals(courses: Sequence[CourseLike], today: date) -> Totals:
    """A course counts when it has ended: by its end date, not later than today."""
    since = add_years(today, -PK_PERIOD_YEARS)
    year_start = date(today.year, 1, 1)
    done = [c for c in courses if c.ends_on <= today]
    last_pk = max((c.ends_on for c in done if c.kind in PK_KINDS), default=None)
    deadline = pk_deadline(last_pk)
    return Totals(
        hours_year=sum(c.hours for c in done if c.ends_on >= year_start),
        hours_3y=sum(c.hours for c in done if c.ends_on >= since),
        since_3y=since,
        last_pk=last_pk,
        pk_due=pk_due(last_pk, today),
        pk_deadline=deadline,
        ongoing_hours=sum(c.hours for c in courses if c.ends_on > today),
    )


def certificate_of(course: Course) -> CertificateFile | None:
    """The stored certificate file of a course, if any."""
    if not course.certificate_file_id:
        return None
    return CertificateFile(
        file_id=course.certificate_file_id,
        file_name=course.certificate_file_name or PHOTO_FILE_NAME,
        file_size=course.certificate_file_size,
    )


def check_category_date(category: str | None, value: date, today: date) -> date:
    """The date of the attestation: not in the future, not before 1980."""
    if value > today:
        raise CourseError("courses.error.att_future")
    return check_date(value, today)


def set_category_date(user: User, value: date, today: date) -> None:
    """Record the exact date of the teacher's attestation: of the category they hold (its
    year follows the date), or, without a category, of the attestation for «соответствие
    занимаемой должности»."""
    checked = check_category_date(user.category, value, today)
    if has_category(user.category):
        user.category_date = checked
        user.category_year = checked.year
    else:
        user.conformity_date = checked


# ---------- view models: what the screens of «Мои курсы» show ----------


@dataclass(frozen=True)
class CourseItem:
    """One line of the list: a button opening the course."""

    id: int
    title: str
    ends_on: date


@dataclass(frozen=True)
class CourseCard:
    """A recorded course as its card shows it (also the draft's summary, with ``id`` 0)."""

    id: int
    title: str | None
    provider: str | None
    kind: str | None
    hours: int | None
    starts_on: date | None
    ends_on: date | None
    format: str | None
    blocks: tuple[str, ...]
    certificate_number: str | None
    certificate: CertificateFile | None

    @classmethod
    def of(cls, course: Course) -> CourseCard:
        return cls(
            id=course.id,
            title=course.title,
            provider=course.provider.name if course.provider else None,
            kind=course.kind,
            hours=course.hours,
            starts_on=course.starts_on,
            ends_on=course.ends_on,
            format=course.format,
            blocks=tuple(b for b in BLOCKS if b in (course.blocks or [])),
            certificate_number=course.certificate_number,
            certificate=certificate_of(course),
        )

    @classmethod
    def of_draft(cls, draft: Draft) -> CourseCard:
        return cls(
            id=0,
            title=draft.title,
            provider=draft.provider_name,
            kind=draft.kind,
            hours=draft.hours,
            starts_on=draft.starts_on,
            ends_on=draft.ends_on,
            format=draft.format,
            blocks=tuple(draft.blocks),
            certificate_number=draft.certificate_number,
            certificate=draft.certificate,
        )


COURSES_PER_PAGE = 8
PROVIDERS_PER_PAGE = 6


def pages_of(total: int, per_page: int, page: int) -> tuple[int, int]:
    """(the page within range, the number of pages) for ``total`` items."""
    pages = max(1, -(-total // per_page))
    return min(max(page, 0), pages - 1), pages


@dataclass(frozen=True)
class Overview:
    """«Мои курсы»: totals, the attestation term and one page of the list."""

    today: date
    totals: Totals
    attestation: Attestation
    count: int
    courses: tuple[CourseItem, ...]
    page: int
    pages: int
    resumable: bool  # a course being added waits to be continued
    has_category: bool


async def overview(
    session: AsyncSession, user: User, today: date, *, page: int = 0, resumable: bool = False
) -> Overview:
    courses = await list_courses(session, user.id)
    page, pages = pages_of(len(courses), COURSES_PER_PAGE, page)
    shown = courses[page * COURSES_PER_PAGE : (page + 1) * COURSES_PER_PAGE]
    return Overview(
        today=today,
        totals=totals(courses, today),
        attestation=attestation(
            user.category, user.category_date, user.category_year, today, user.conformity_date
        ),
        count=len(courses),
        courses=tuple(CourseItem(c.id, c.title, c.ends_on) for c in shown),
        page=page,
        pages=pages,
        resumable=resumable,
        has_category=has_category(user.category),
    )


async def course_card(session: AsyncSession, user_id: int, course_id: int) -> CourseCard | None:
    """The card of the teacher's own course; ``None`` when it is gone or someone else's."""
    course = await get_course(session, user_id, course_id)
    return CourseCard.of(course) if course is not None else None


async def remove_course(session: AsyncSession, user_id: int, course_id: int) -> bool:
    """Delete the teacher's own course (``False``: not theirs or already gone)."""
    return await delete_course(session, user_id, course_id)


# ---------- the dialog of adding (and editing) a course ----------


def next_step(draft: Draft) -> str | None:
    """The first step not answered yet; ``None`` when all are (the summary is shown)."""
    return next((s for s in QUESTIONS if s not in draft.answered), None)


def step_to_ask(draft: Draft) -> str:
    return next_step(draft) or "confirm"


def step_back(draft: Draft, step: str) -> str | None:
    """Go back from ``step`` one step: that step is asked again (its answer stays shown)."""
    step = "hours" if step == "hours_warn" else step
    index = ADD_STEPS.index(step) if step in ADD_STEPS else 0
    if index == 0:
        return None
    previous = ADD_STEPS[index - 1]
    draft.answered = [s for s in draft.answered if ADD_STEPS.index(s) < index - 1]
    return previous


def step_number(step: str) -> int:
    """The number shown as «Шаг N из 10»."""
    return QUESTIONS.index("hours" if step == "hours_warn" else step) + 1


TYPED_STEPS = frozenset(
    {"title", "provider", "hours", "hours_warn", "starts_on", "ends_on", "certificate_number"}
    | {"att"}
)
BUTTON_STEPS = frozenset({"kind", "format", "blocks", "confirm"})


def check_typed(step: str, text: str, today: date) -> Any:
    """A typed answer to ``step``: its clean value, or :class:`CourseError`."""
    if step == "title":
        return parse_title(text)
    if step == "provider":
        return parse_provider_name(text)
    if step in ("hours", "hours_warn"):
        return parse_hours(text)
    if step == "att":
        return read_date(text)  # its own rules are checked when it is saved
    if step in ("starts_on", "ends_on"):
        return parse_date(text, today)
    if step == "certificate_number":
        return parse_certificate_number(text)
    raise CourseError("courses.error.use_buttons")


def check_choice(step: str, index: int) -> str:
    """A kind or format picked by its button's index."""
    codes = KINDS if step == "kind" else FORMATS
    if not 0 <= index < len(codes):
        raise CourseError("common.stale")
    return codes[index]


def toggle_block(ticked: Sequence[str], index: int) -> list[str]:
    """Tick or untick the block of this index; the result in the canonical order."""
    if not 0 <= index < len(BLOCKS):
        raise CourseError("common.stale")
    chosen = set(ticked) ^ {BLOCKS[index]}
    return [b for b in BLOCKS if b in chosen]


def edit_field_of(index: int) -> str:
    if not 0 <= index < len(EDIT_FIELDS):
        raise CourseError("common.stale")
    return EDIT_FIELDS[index]


async def hours_need_confirming(
    session: AsyncSession, user_id: int, hours: int, draft: Draft, edit_id: int | None
) -> bool:
    """Retraining under 250 hours: asked «Да, верно» before it is kept."""
    kind = draft.kind
    if edit_id is not None:
        course = await get_course(session, user_id, edit_id)
        kind = course.kind if course else None
    return hours_warning(kind, hours)


def step_dates(step: str, today: date, start: date | None) -> tuple[date, date]:
    """The dates the calendar of ``step`` offers (the end not before the start)."""
    lo, hi = date_bounds(today)
    if step == "att":
        return lo, today
    if step == "ends_on" and start is not None and lo <= start <= hi:
        lo = start
    return lo, hi


async def answer_step(session: AsyncSession, draft: Draft, step: str, value: Any) -> Draft:
    """Keep one checked answer in the draft (a typed provider matched to a known one)."""
    if step == "provider":
        provider = value if isinstance(value, Provider) else None
        if isinstance(value, str):
            provider = await find_provider(session, value)
        if provider is not None:
            draft.provider_id, draft.provider_name = provider.id, provider.name
        else:
            draft.provider_id, draft.provider_name = None, str(value)
    elif step == "ends_on" and draft.starts_on is not None:
        check_order(draft.starts_on, value)
        draft.ends_on = value
    elif step == "blocks":
        draft.blocks = check_blocks(value)
    elif step in QUESTIONS:
        setattr(draft, step, value)
    else:  # pragma: no cover - the steps are a closed list
        raise CourseError("courses.error.bad_choice")
    if step not in draft.answered:
        draft.answered = [s for s in ADD_STEPS if s in {*draft.answered, step}]
    return draft


async def pick_provider(session: AsyncSession, user_id: int, provider_id: int) -> Provider:
    provider = await get_provider(session, provider_id, user_id)
    if provider is None:
        raise CourseError("common.stale")
    return provider


@dataclass(frozen=True)
class ProviderItem:
    id: int
    name: str


@dataclass(frozen=True)
class ProviderPage:
    """Known providers to choose from, the most used first."""

    items: tuple[ProviderItem, ...]
    total: int
    page: int
    pages: int


async def provider_page(session: AsyncSession, user_id: int, page: int) -> ProviderPage:
    total = await count_providers(session, user_id)
    page, pages = pages_of(total, PROVIDERS_PER_PAGE, page)
    offset = page * PROVIDERS_PER_PAGE
    rows = await known_providers(session, user_id, PROVIDERS_PER_PAGE, offset=offset)
    return ProviderPage(tuple(ProviderItem(p.id, p.name) for p in rows), total, page, pages)


@dataclass(frozen=True)
class DatePick:
    lo: date
    hi: date
    shown: date
    selected: date | None


@dataclass(frozen=True)
class Question:
    """One step asked: while adding (``course`` is None), editing a course, or «att»."""

    step: str
    draft: Draft
    course: CourseCard | None = None
    providers: ProviderPage | None = None
    chosen_provider: int | None = None
    pending_hours: int | None = None
    ticked: tuple[str, ...] = ()
    dates: DatePick | None = None
    category: str | None = None
    today: date | None = None

    @property
    def adding(self) -> bool:
        return self.course is None and self.step != "att"


async def question(
    session: AsyncSession,
    user: User,
    step: str,
    today: date,
    *,
    draft: Draft,
    edit_id: int | None = None,
    pending_hours: int | None = None,
    ticked: Sequence[str] = (),
    page: int = 0,
    month: date | None = None,
) -> Question:
    """What the question of ``step`` shows; :class:`CourseError` when the course is gone."""
    course: Course | None = None
    if edit_id is not None:
        course = await get_course(session, user.id, edit_id)
        if course is None:
            raise CourseError("courses.error.not_found")
    card = CourseCard.of(course) if course is not None else None
    providers = None
    chosen_provider = None
    dates = None
    if step == "provider":
        providers = await provider_page(session, user.id, page)
        chosen_provider = course.provider_id if course else draft.provider_id
    elif step in ("starts_on", "ends_on", "att"):
        start = course.starts_on if course else draft.starts_on
        lo, hi = step_dates(step, today, start)
        if step == "att":
            held = has_category(user.category)
            selected = user.category_date if held else user.conformity_date
            fallback = date(user.category_year, 1, 1) if held and user.category_year else today
        else:
            selected = getattr(course if course is not None else draft, step)
            fallback = draft.starts_on if step == "ends_on" and draft.starts_on else today
            if course is not None:
                fallback = course.starts_on
        dates = DatePick(lo, hi, month or selected or fallback, selected)
    if step == "blocks":
        ticked = list(ticked) if course is not None else draft.blocks
    return Question(
        step=step,
        draft=draft,
        course=card,
        providers=providers,
        chosen_provider=chosen_provider,
        pending_hours=pending_hours,
        ticked=tuple(ticked),
        dates=dates,
        category=user.category if has_category(user.category) else None,
        today=today,
    )


def date_in_step(step: str, picked: date, today: date, start: date | None) -> bool:
    lo, hi = step_dates(step, today, start)
    return lo <= picked <= hi


class DraftIncomplete(CourseError):
    """The summary was confirmed with a required answer missing: ``step`` asks it."""

    def __init__(self, step: str) -> None:
        super().__init__("courses.error.incomplete")
        self.step = step


@dataclass(frozen=True)
class Saved:
    """A course just written, and the ИОМ steps it may close (offered to the teacher)."""

    card: CourseCard
    course: Course
    close_offer: routes.CloseOffer | None  # the ИОМ steps it may close, if any


async def save_draft(session: AsyncSession, user_id: int, draft: Draft, today: date) -> Saved:
    """The last step: write the course, then look up the open ИОМ steps it may close.

    The lookup runs in a savepoint: a failure there is logged (its type only) and never
    undoes the course.
    """
    missing = missing_fields(draft)
    if missing:
        raise DraftIncomplete(missing[0])
    course = await create_course(session, user_id, draft, today)
    offer: routes.CloseOffer | None = None
    try:
        async with session.begin_nested():
            offer = await routes.close_offer(session, user_id, course)
    except Exception as exc:  # the course is saved; the offer is a convenience on top
        log.warning("close_offer failed: %s", type(exc).__name__)
    return Saved(CourseCard.of(course), course, offer)


@dataclass(frozen=True)
class Edited:
    card: CourseCard
    hours_warning: bool  # the kind was changed to retraining while the hours are under 250


async def edit_step(
    session: AsyncSession, user_id: int, course_id: int, step: str, value: Any, today: date
) -> Edited:
    """Change one field of the teacher's own course (the value is checked again)."""
    stored = value.id if isinstance(value, Provider) else value
    course = await update_course(session, user_id, course_id, step, stored, today)
    warn = step == "kind" and hours_warning(course.kind, course.hours)
    return Edited(CourseCard.of(course), warn)


async def save_category_date(session: AsyncSession, user: User, value: date, today: date) -> None:
    """The attestation date typed or picked: checked and kept on the teacher's row."""
    set_category_date(user, value, today)
    await session.flush()
