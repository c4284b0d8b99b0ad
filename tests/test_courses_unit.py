"""«Мои курсы» without Telegram: validation, totals, the attestation term (pure functions)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models import User
from services import attestation as terms
from services import courses as svc
from services.attestation import AttStatus
from services.courses import CertificateFile, CourseError, Draft

TODAY = date(2026, 10, 12)
MB = 1024 * 1024


def code_of(fn: Callable[..., object], *args: object, **kwargs: object) -> str:
    with pytest.raises(CourseError) as info:
        fn(*args, **kwargs)
    return info.value.code


# ---------- title, provider, number ----------


def test_title_length_and_spaces() -> None:
    assert svc.parse_title("  Основы   ФГОС\n ООО ") == "Основы ФГОС ООО"
    assert svc.parse_title("abc") == "abc"
    assert svc.parse_title("я" * 300) == "я" * 300
    assert code_of(svc.parse_title, " ab ") == "courses.error.title_short"
    assert code_of(svc.parse_title, "   ") == "courses.error.title_short"
    assert code_of(svc.parse_title, "я" * 301) == "courses.error.title_long"


def test_provider_and_certificate_number() -> None:
    assert svc.parse_provider_name(" ГАУ  ДПО «ИРО» ") == "ГАУ ДПО «ИРО»"
    assert code_of(svc.parse_provider_name, "И") == "courses.error.provider_short"
    assert code_of(svc.parse_provider_name, "И" * 201) == "courses.error.provider_long"
    assert svc.parse_certificate_number(" 7727 00012345 ") == "7727 00012345"
    assert svc.parse_certificate_number("№" * 100) == "№" * 100
    assert code_of(svc.parse_certificate_number, "1" * 101) == "courses.error.number_long"
    assert code_of(svc.parse_certificate_number, " \n ") == "courses.error.number_empty"


def test_provider_key_ignores_case_quotes_and_spaces() -> None:
    assert svc.provider_key('ГАУ ДПО  "ИРО"') == svc.provider_key("гау дпо «иро»")
    assert svc.provider_key("ЦНППМ") != svc.provider_key("ЦНППМ-2")


# ---------- hours ----------


@pytest.mark.parametrize(
    ("text", "hours"),
    [("72", 72), (" 1 ", 1), ("2000", 2000), ("72 ч", 72), ("36 часов", 36), ("16ч.", 16)],
)
def test_hours_accepted(text: str, hours: int) -> None:
    assert svc.parse_hours(text) == hours


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("0", "courses.error.hours_range"),
        ("2001", "courses.error.hours_range"),
        ("-5", "courses.error.hours_range"),
        ("9" * 40, "courses.error.hours_range"),
        ("двадцать", "courses.error.hours_number"),
        ("", "courses.error.hours_number"),
        ("72 72", "courses.error.hours_number"),
        ("1,5", "courses.error.hours_integer"),
        ("36.5 ч", "courses.error.hours_integer"),
        ("٧٢", "courses.error.hours_number"),  # non-ASCII digits are not taken
    ],
)
def test_hours_refused(text: str, code: str) -> None:
    assert code_of(svc.parse_hours, text) == code


def test_retraining_under_250_hours_is_a_warning() -> None:
    assert svc.hours_warning("retraining", 249)
    assert not svc.hours_warning("retraining", 250)
    assert not svc.hours_warning("qualification", 16)
    assert not svc.hours_warning("retraining", None)


# ---------- dates ----------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("15.03.2026", date(2026, 3, 15)),
        ("1.3.2026", date(2026, 3, 1)),
        ("01/03/2026", date(2026, 3, 1)),
        (" 29.02.2024 г. ", date(2024, 2, 29)),
        ("01.01.1980", date(1980, 1, 1)),
        ("12.10.2028", date(2028, 10, 12)),  # today + 2 years: the last date allowed
    ],
)
def test_dates_accepted(text: str, value: date) -> None:
    assert svc.parse_date(text, TODAY) == value


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("31.02.2026", "courses.error.date_invalid"),
        ("29.02.2025", "courses.error.date_invalid"),
        ("15.13.2026", "courses.error.date_invalid"),
        ("2026-03-15", "courses.error.date_format"),
        ("15.03.26", "courses.error.date_format"),
        ("вчера", "courses.error.date_format"),
        ("31.12.1979", "courses.error.date_range"),
        ("13.10.2028", "courses.error.date_range"),
    ],
)
def test_dates_refused(text: str, code: str) -> None:
    assert code_of(svc.parse_date, text, TODAY) == code


def test_date_range_message_names_the_bounds() -> None:
    with pytest.raises(CourseError) as info:
        svc.parse_date("01.01.3000", TODAY)
    assert info.value.params == {"lo": "01.01.1980", "hi": "12.10.2028"}


def test_end_not_before_start() -> None:
    svc.check_order(date(2026, 3, 1), date(2026, 3, 1))
    with pytest.raises(CourseError) as info:
        svc.check_order(date(2026, 3, 2), date(2026, 3, 1))
    assert info.value.code == "courses.error.date_order"
    assert info.value.params == {"start": "02.03.2026"}


def test_month_and_year_arithmetic_clamps_the_day() -> None:
    assert terms.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert terms.add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert terms.add_months(date(2026, 1, 15), -13) == date(2024, 12, 15)
    assert terms.add_years(date(2024, 2, 29), 5) == date(2029, 2, 28)
    assert terms.add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)


# ---------- certificate files ----------


def test_certificate_documents_by_type() -> None:
    pdf = svc.certificate_from_document("BQAC1", "Удостоверение.pdf", "application/pdf", 345_678)
    assert pdf == CertificateFile("BQAC1", "Удостоверение.pdf", 345_678)
    assert not pdf.is_photo
    png = svc.certificate_from_document("BQAC2", "scan.PNG", "image/png", 10)
    assert png.file_name == "scan.PNG"
    assert svc.certificate_from_document("BQAC3", "scan.jpeg", "image/jpeg", None).file_size is None
    # the type Telegram reports decides; the name only when the type is unknown
    assert svc.certificate_from_document("x", "a.pdf", "application/octet-stream", 1).file_name
    assert svc.certificate_from_document("x", "a.pdf", None, 1).file_name == "a.pdf"
    assert svc.certificate_from_document("x", None, "application/pdf", 1).file_name == (
        "certificate.pdf"
    )
    for name, mime in [
        ("cert.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("cert.pdf", "application/msword"),
        ("cert.docx", None),
        ("cert.gif", "image/gif"),
        (None, None),
        ("cert.heic", "image/heic"),
    ]:
        assert code_of(svc.certificate_from_document, "x", name, mime, 1) == (
            "courses.error.file_type"
        )


def test_certificate_size_limit_is_20_mb() -> None:
    ok = svc.certificate_from_document("x", "big.pdf", "application/pdf", 20 * MB)
    assert ok.file_size == 20 * MB
    with pytest.raises(CourseError) as info:
        svc.certificate_from_document("x", "big.pdf", "application/pdf", 20 * MB + 1)
    assert info.value.code == "courses.error.file_big"
    assert info.value.params["max"] == 20
    assert svc.certificate_from_photo("AgAC", 2 * MB).file_name == svc.PHOTO_FILE_NAME
    assert code_of(svc.certificate_from_photo, "AgAC", 25 * MB) == "courses.error.file_big"


def test_certificate_names_are_kept_short_and_photos_recognised() -> None:
    long_name = "у" * 400 + ".pdf"
    cert = svc.certificate_from_document("x", long_name, "application/pdf", 1)
    assert len(cert.file_name) == 300 and cert.file_name.endswith(".pdf")
    # a document may not take the name reserved for Telegram photos
    assert not svc.certificate_from_document("x", "photo.jpg", "image/jpeg", 1).is_photo
    assert svc.certificate_from_photo("AgAC", 1).is_photo
    assert svc.size_parts(350 * 1024) == ("350", "kb")
    assert svc.size_parts(1 * 1024 + 1) == ("1", "kb")
    assert svc.size_parts(int(1.25 * MB)) == ("1,2", "mb")


# ---------- the draft ----------


def test_draft_round_trip_and_tolerance() -> None:
    draft = Draft(
        title="Курс",
        provider_id=3,
        provider_name="ИРО",
        kind="qualification",
        hours=72,
        starts_on=date(2026, 9, 1),
        ends_on=date(2026, 9, 20),
        format="distance",
        blocks=["methodical", "subject"],
        certificate_number="12",
        certificate=CertificateFile("id", "a.pdf", 5),
    )
    again = Draft.from_data(draft.to_data())
    assert again == Draft(
        **{**draft.__dict__, "blocks": ["subject", "methodical"]}
    )  # canonical order
    assert Draft.from_data(None) == Draft()
    broken = Draft.from_data(
        {"kind": "hack", "hours": True, "starts_on": "31.02", "blocks": ["x", "subject"]}
    )
    assert (broken.kind, broken.hours, broken.starts_on, broken.blocks) == (
        None,
        None,
        None,
        ["subject"],
    )
    assert svc.missing_fields(Draft(title="x")) == [
        "provider",
        "kind",
        "hours",
        "starts_on",
        "ends_on",
        "format",
        "blocks",
    ]


def test_blocks_choice() -> None:
    assert svc.check_blocks(["communicative", "subject"]) == ["subject", "communicative"]
    assert code_of(svc.check_blocks, []) == "courses.error.blocks_empty"
    assert code_of(svc.check_blocks, ["cooking"]) == "courses.error.bad_choice"


# ---------- totals ----------


@dataclass
class C:
    kind: str
    hours: int
    starts_on: date
    ends_on: date


def course(kind: str, hours: int, ends: date, days: int = 10) -> C:
    return C(kind, hours, ends - timedelta(days=days), ends)


def test_totals_by_end_date() -> None:
    courses = [
        course("seminar", 8, date(2026, 3, 1)),
        course("qualification", 72, date(2026, 1, 1)),  # first day of the year: counted
        course("qualification", 36, date(2025, 12, 31)),  # last year
        course("internship", 24, date(2023, 10, 12)),  # exactly 3 years ago: counted
        course("qualification", 18, date(2023, 10, 11)),  # a day earlier: not
        course("qualification", 40, date(2026, 11, 20)),  # not finished yet
    ]
    tot = svc.totals(courses, TODAY)
    assert tot.hours_year == 80
    assert tot.hours_3y == 8 + 72 + 36 + 24
    assert tot.since_3y == date(2023, 10, 12)
    assert tot.ongoing_hours == 40
    assert tot.last_pk == date(2026, 1, 1)  # the unfinished one does not count yet
    assert not tot.pk_due and tot.pk_deadline == date(2029, 1, 1)


def test_pk_due_boundary_exactly_three_years() -> None:
    last = [course("retraining", 300, date(2023, 10, 12)), course("seminar", 8, date(2026, 1, 1))]
    on_the_day = svc.totals(last, TODAY)
    assert on_the_day.last_pk == date(2023, 10, 12)
    assert on_the_day.pk_deadline == TODAY and not on_the_day.pk_due
    next_day = svc.totals(last, TODAY + timedelta(days=1))
    assert next_day.pk_due
    # seminars and conferences are not «повышение квалификации»
    none = svc.totals([course("seminar", 8, date(2026, 1, 1))], TODAY)
    assert none.last_pk is None and none.pk_due and none.pk_deadline is None
    assert svc.totals([], TODAY) == svc.Totals(0, 0, date(2023, 10, 12), None, True, None, 0)


# ---------- attestation ----------


def test_attestation_with_an_exact_date() -> None:
    given = date(2021, 3, 15)
    att = terms.attestation("first", given, 2021, TODAY)
    assert att.status == AttStatus.EXPIRED
    assert att.expires == date(2026, 3, 15) and att.warn_from == date(2025, 9, 15)
    assert not att.year_only

    def status(today: date) -> AttStatus:
        return terms.attestation("highest", given, 2021, today).status

    assert status(date(2025, 9, 14)) == AttStatus.VALID
    assert status(date(2025, 9, 15)) == AttStatus.SOON  # exactly 6 months before expiry
    assert status(date(2026, 3, 15)) == AttStatus.SOON  # the last valid day
    assert status(date(2026, 3, 16)) == AttStatus.EXPIRED


def test_attestation_with_only_the_year_counts_from_1_january() -> None:
    att = terms.attestation("first", None, 2022, TODAY)
    assert att.year_only and att.given == date(2022, 1, 1)
    assert att.expires == date(2027, 1, 1) and att.warn_from == date(2026, 7, 1)
    assert att.status == AttStatus.SOON
    assert terms.attestation("first", None, 2022, date(2026, 6, 30)).status == AttStatus.VALID
    # a date left from an earlier category (its year differs) is not used
    stale = terms.attestation("highest", date(2015, 5, 5), 2022, TODAY)
    assert stale.year_only and stale.given == date(2022, 1, 1)


def test_attestation_without_a_category_or_a_year() -> None:
    assert terms.attestation("none", date(2020, 1, 1), 2020, TODAY).status == AttStatus.NONE
    assert terms.attestation(None, None, None, TODAY).status == AttStatus.NONE
    unknown = terms.attestation("mentor", None, None, TODAY)
    assert unknown.status == AttStatus.UNKNOWN and unknown.expires is None
    leap = terms.attestation("first", date(2024, 2, 29), 2024, TODAY)
    assert leap.expires == date(2029, 2, 28)


def test_attestation_for_conformity_with_the_position() -> None:
    """Not a category: its own date, valid five years, used only without a category."""
    att = terms.attestation("none", None, None, TODAY, date(2021, 12, 1))
    assert att.conformity and att.category == terms.CONFORMITY
    assert (att.given, att.expires, att.status) == (
        date(2021, 12, 1),
        date(2026, 12, 1),
        AttStatus.SOON,
    )
    assert terms.attestation(None, None, None, TODAY, date(2024, 5, 1)).status == AttStatus.VALID
    assert terms.attestation("none", None, None, TODAY, date(2021, 5, 1)).status == (
        AttStatus.EXPIRED
    )
    # a category held takes the place of an older attestation for conformity
    held = terms.attestation("highest", None, 2024, TODAY, date(2021, 12, 1))
    assert not held.conformity and held.status == AttStatus.VALID
    user = User(telegram_id=1, language="ru", category="none")
    svc.set_category_date(user, date(2024, 5, 1), TODAY)
    assert (user.conformity_date, user.category_date, user.category_year) == (
        date(2024, 5, 1),
        None,
        None,
    )
    user.category = "first"
    svc.set_category_date(user, date(2025, 2, 3), TODAY)
    assert (user.category_date, user.category_year) == (date(2025, 2, 3), 2025)


def test_category_date_rules() -> None:
    assert svc.check_category_date("first", TODAY, TODAY) == TODAY
    assert code_of(svc.check_category_date, "first", TODAY + timedelta(days=1), TODAY) == (
        "courses.error.att_future"
    )
    # without a category the date is that of the attestation for conformity with the position
    assert svc.check_category_date("none", TODAY, TODAY) == TODAY
    assert code_of(svc.check_category_date, "first", date(1979, 1, 1), TODAY) == (
        "courses.error.date_range"
    )


# ---------- properties of the parsers ----------

date_like = st.builds(
    lambda d, m, y, sep: f"{d}{sep}{m}{sep}{y}",
    st.integers(-5, 40),
    st.integers(-2, 15),
    st.integers(0, 99999),
    st.sampled_from([".", "/", "-", ",", " ", ""]),
)
today_st = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@given(st.one_of(st.text(max_size=40), date_like), today_st)
def test_parse_date_only_raises_course_error_and_keeps_bounds(text: str, today: date) -> None:
    try:
        value = svc.parse_date(text, today)
    except CourseError as exc:
        assert exc.code.startswith("courses.error.date_")
        return
    lo, hi = svc.date_bounds(today)
    assert lo <= value <= hi


hours_like = st.builds(
    lambda sign, n, unit: f"{sign}{n}{unit}",
    st.sampled_from(["", "-", "+", " "]),
    st.integers(0, 10**12),
    st.sampled_from(["", " ч", "ч.", " часов", ",5", " шт"]),
)


@given(st.one_of(st.text(max_size=40), hours_like))
def test_parse_hours_only_raises_course_error_and_keeps_bounds(text: str) -> None:
    try:
        hours = svc.parse_hours(text)
    except CourseError as exc:
        assert exc.code.startswith("courses.error.hours_")
        return
    assert isinstance(hours, int) and 1 <= hours <= 2000


@given(st.text(max_size=400))
def test_text_parsers_only_raise_course_error(text: str) -> None:
    for parse, limit in (
        (svc.parse_title, 300),
        (svc.parse_provider_name, 200),
        (svc.parse_certificate_number, 100),
    ):
        try:
            value = parse(text)
        except CourseError:
            continue
        assert 0 < len(value) <= limit and value == value.strip()


# ---------- the dialog of adding a course: the step to ask is a function of the draft ----------


def test_next_step_follows_the_answers() -> None:
    draft = Draft()
    assert svc.next_step(draft) == "title"
    draft.answered = ["title", "provider", "kind"]
    assert svc.next_step(draft) == "hours"
    draft.answered = list(svc.QUESTIONS)
    assert svc.next_step(draft) is None and svc.step_to_ask(draft) == "confirm"
    # a skipped optional step counts as answered
    draft.answered = [s for s in svc.QUESTIONS if s != "certificate"]
    assert svc.next_step(draft) == "certificate"


def test_step_back_asks_the_previous_step_again_and_then_goes_on() -> None:
    draft = Draft(title="Курс", kind="qualification", answered=["title", "provider", "kind"])
    assert svc.step_back(draft, "hours") == "kind"
    assert svc.next_step(draft) == "kind" and draft.kind == "qualification"  # still shown
    assert svc.step_back(draft, "kind") == "provider"
    assert svc.next_step(draft) == "provider"
    assert svc.step_back(draft, "title") is None
    confirm = Draft(answered=list(svc.QUESTIONS))
    assert svc.step_back(confirm, "confirm") == "certificate"
    assert svc.step_to_ask(confirm) == "certificate"
    assert svc.step_back(Draft(answered=["title", "provider", "kind"]), "hours_warn") == "kind"


async def test_answers_are_checked_and_recorded_in_order() -> None:
    draft = Draft(starts_on=date(2026, 9, 1), answered=["title", "starts_on"])
    draft = await svc.answer_step(None, draft, "ends_on", date(2026, 9, 2))  # type: ignore[arg-type]
    assert draft.answered == ["title", "starts_on", "ends_on"]
    with pytest.raises(CourseError) as info:
        await svc.answer_step(None, draft, "ends_on", date(2026, 8, 1))  # type: ignore[arg-type]
    assert info.value.code == "courses.error.date_order"
    with pytest.raises(CourseError):
        await svc.answer_step(None, draft, "blocks", [])  # type: ignore[arg-type]
    draft = await svc.answer_step(None, draft, "certificate", None)  # type: ignore[arg-type]
    assert draft.answered[-1] == "certificate" and draft.certificate is None


def test_draft_keeps_the_answered_steps_and_reads_an_older_draft() -> None:
    draft = Draft(title="Курс", answered=["title", "provider"])
    assert Draft.from_data(draft.to_data()).answered == ["title", "provider"]
    # a draft kept before the steps were recorded: what is filled in counts as answered
    older = Draft(title="Курс", provider_name="ИРО", kind="other").to_data()
    del older["answered"]
    assert svc.next_step(Draft.from_data(older)) == "hours"
    forged = {**Draft().to_data(), "answered": ["hack", "title", 5]}
    assert Draft.from_data(forged).answered == ["title"]


def test_typed_answers_and_buttons_are_checked_by_the_service() -> None:
    assert svc.check_typed("title", "  Курс  по   методике ", TODAY) == "Курс по методике"
    assert svc.check_typed("hours_warn", "100", TODAY) == 100
    assert svc.check_typed("starts_on", "01.09.2026", TODAY) == date(2026, 9, 1)
    assert svc.check_typed("att", "01.09.2031", TODAY) == date(2031, 9, 1)  # checked on save
    assert code_of(svc.check_typed, "kind", "Очно", TODAY) == "courses.error.use_buttons"
    assert svc.check_choice("kind", 0) == svc.KINDS[0]
    assert svc.check_choice("format", len(svc.FORMATS) - 1) == svc.FORMATS[-1]
    assert code_of(svc.check_choice, "format", len(svc.FORMATS)) == "common.stale"
    assert code_of(svc.check_choice, "kind", -1) == "common.stale"
    assert svc.toggle_block([], 1) == [svc.BLOCKS[1]]
    assert svc.toggle_block([svc.BLOCKS[1], svc.BLOCKS[0]], 1) == [svc.BLOCKS[0]]
    assert code_of(svc.toggle_block, [], len(svc.BLOCKS)) == "common.stale"
    assert svc.edit_field_of(0) == "title"
    assert code_of(svc.edit_field_of, len(svc.EDIT_FIELDS)) == "common.stale"


def test_calendar_bounds_of_each_date_step() -> None:
    lo, hi = svc.date_bounds(TODAY)
    assert svc.step_dates("starts_on", TODAY, None) == (lo, hi)
    assert svc.step_dates("ends_on", TODAY, date(2026, 9, 1)) == (date(2026, 9, 1), hi)
    assert svc.step_dates("ends_on", TODAY, date(1900, 1, 1)) == (lo, hi)
    assert svc.step_dates("att", TODAY, None) == (lo, TODAY)


def test_buttons_stay_within_64_bytes_and_refuse_unbounded_numbers() -> None:
    from aiogram.filters.callback_data import CallbackData

    from handlers.calendar.callbacks import CalendarCB
    from handlers.common import MAX_ID
    from handlers.courses import callbacks

    classes = [
        v
        for v in vars(callbacks).values()
        if isinstance(v, type)
        and issubclass(v, CallbackData)
        and v.__module__ == callbacks.__name__
    ]
    assert len(classes) == 22
    for cls in classes:
        biggest = {
            name: next(m.le for m in f.metadata if hasattr(m, "le"))
            for name, f in cls.model_fields.items()
        }
        assert all(v in (MAX_ID, 9999) for v in biggest.values()), cls
        packed = cls(**biggest).pack()
        assert len(packed.encode()) <= 64, packed
        assert cls.unpack(packed) == cls(**biggest)
    assert len(CalendarCB(f="abcd", a="d", y=9999, m=9999, d=9999).pack()) <= 64
    with pytest.raises(ValueError):
        callbacks.CourseOpen.unpack("coo:99999999999999999999")
    with pytest.raises(ValueError):
        CalendarCB.unpack("cal:cs:d:99999999999:1:1")


def test_question_screen_is_pure_and_ends_with_the_menu_button() -> None:
    from bot.i18n import Translator
    from handlers.courses import screens

    t = Translator("ru")
    q = svc.Question(
        step="blocks", draft=Draft(blocks=["subject"]), ticked=("subject",), today=TODAY
    )
    screen = screens.question(q, t, notice="Проверка")
    assert screen.text.startswith("Проверка") and "Шаг 8 из 10" in screen.text
    assert screen.keyboard is not None
    labels = [b.text for row in screen.keyboard.inline_keyboard for b in row]
    assert "✅ Предметная" in labels and labels[-1] == "🏠 Главное меню"
