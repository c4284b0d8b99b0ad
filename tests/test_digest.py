"""The weekly digest: the pure builders on hand-made tables (text, arrows, «< 5», what needs
attention, the chart, XLSX, CSV, JSON), the weekly job through the outbox, «📈 Показатели»
through the real Dispatcher, and ``pedbot export indicators``."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import warnings
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram.methods import SendDocument, SendMessage, SendPhoto
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import Translator
from handlers.home.callbacks import MenuCB
from handlers.indicators.callbacks import IndicatorsMenu, IndicatorsOpen
from models import (
    IndicatorSnapshot,
    Outbox,
    OutboxFile,
    RoleName,
    ScopeKind,
    User,
)
from services import digest, indicators
from services.roles import grant
from tests.conftest import ADMIN_ID, NOW, Harness, make_settings
from tests.helpers import add_schools
from tests.telegram import html_errors

CampaignRate = indicators.CampaignRate
IndicatorDef = indicators.IndicatorDef
IndicatorTable = indicators.IndicatorTable
Period = indicators.Period
Row = indicators.Row
Value = indicators.Value

TZ = ZoneInfo("Europe/Moscow")
TODAY = date(2026, 10, 12)
YEAR = Period(date(2026, 9, 1), date(2027, 8, 31))
STALE = "Эта кнопка уже не действует. Откройте нужный раздел заново из главного меню."


# ---------------------------------------------------------------- hand-made tables


class Texts:
    """The Russian texts plus titles for the made-up indicator codes of these tests."""

    def __init__(self, titles: dict[str, str] | None = None) -> None:
        self.base = Translator("ru", TZ)
        self.titles = titles or {}

    def _own(self, key: str) -> str | None:
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "indicators" and parts[2] == "title":
            return self.titles.get(parts[1])
        if len(parts) == 3 and parts[0] == "indicators" and parts[2] == "definition":
            return f"Определение {parts[1]}." if parts[1] in self.titles else None
        return None

    def __call__(self, key: str, /, **params: Any) -> str:
        own = self._own(key)
        return own if own is not None else self.base(key, **params)

    def has(self, key: str) -> bool:
        return self._own(key) is not None or self.base.has(key)

    def date(self, value: datetime | date) -> str:
        return self.base.date(value)


def D(
    code: str,
    number: int,
    kind: str = "share",
    plan: float | None = None,
    better_higher: bool = True,
    sensitive: bool = False,
) -> IndicatorDef:
    return IndicatorDef(code, number, kind, plan, better_higher, sensitive)


def V(
    value: float | None, num: int | None = None, den: int | None = 40, hide: bool = False
) -> Value:
    return Value(value, num, den, hide)


HIDDEN = V(None, None, 3, True)


def pct(x: float) -> str:
    """A share as the contract's ``display`` writes it (whole numbers may drop the «,0»)."""
    return indicators.display(V(float(x)), D("x", 1))


def R(school_id: int | None, name: str | None, teachers: int, values: dict[str, Value]) -> Row:
    code = None if school_id is None else f"sch{school_id}"
    return Row(school_id, code, name, teachers, values)


def table(
    defs: tuple[IndicatorDef, ...],
    total: dict[str, Value],
    schools: tuple[Row, ...] = (),
    campaigns: tuple[CampaignRate, ...] = (),
    teachers: int = 40,
    name: str = "Энский муниципальный округ",
) -> IndicatorTable:
    return IndicatorTable(
        "municipality:1", name, YEAR, defs, schools, R(None, None, teachers, total), campaigns
    )


NO_ATTENTION = digest.Attention((), 0, ())


# ---------------------------------------------------------------- text: arrows and «< 5»

ARROW_DEFS = (
    D("diag", 1, plan=80.0),
    D("route", 2, plan=30.0),
    D("mentors", 5, kind="count"),
    D("burnout", 10, better_higher=False, sensitive=True),
    D("fresh", 11),
)
ARROW_TITLES = {
    "diag": "Прошли диагностику",
    "route": "Есть ИОМ",
    "mentors": "Наставников",
    "burnout": "Высокий риск выгорания",
    "fresh": "Новый показатель",
}


def arrows_table() -> IndicatorTable:
    return table(
        ARROW_DEFS,
        {
            "diag": V(42.5, 17, 40),
            "route": V(30.0, 12, 40),
            "mentors": V(7.0, 7, None),
            "burnout": V(None, None, 4, True),
            "fresh": V(10.0, 4, 40),
        },
    )


def test_change_arrows_and_hidden_values() -> None:
    previous = {"diag": 40.0, "route": 35.3, "mentors": 7.0, "burnout": 20.0, "fresh": None}
    text = digest.digest_text(
        arrows_table(), Texts(ARROW_TITLES), previous=previous, attention=NO_ATTENTION, today=TODAY
    )
    lines = text.split("\n")

    def line(start: str) -> str:
        return next(x for x in lines if x.startswith(start))

    # 42,5 − 40 = +2,5 points; 30 − 35,3 = −5,3; 7 − 7 = 0
    assert line("1. ") == f"1. Прошли диагностику: <b>42,5 %</b> · план {pct(80)} · ↑ +2,5"
    assert line("2. ") == f"2. Есть ИОМ: <b>{pct(30)}</b> · план {pct(30)} · ↓ −5,3"
    assert line("5. ") == "5. Наставников: <b>7</b> · → 0"
    # a burnout figure of a group under 5: «< 5» (escaped for HTML) and no change at all
    assert line("10. ") == "10. Высокий риск выгорания: <b>&lt; 5</b>"
    # no number last week: no arrow
    assert line("11. ") == f"11. Новый показатель: <b>{pct(10)}</b>"
    assert "<b>📈 Показатели: Энский муниципальный округ</b>" in text
    assert "Учебный год 2026/2027 · педагогов: 40 · на 12.10.2026" in text
    assert "первая сводка" not in text
    assert "✅ Отставаний от плана" in text
    assert text.endswith("«&lt; 5» — группа меньше 5 педагогов: число не показывается.")
    assert "на графике" in text  # two shares with a plan: there is a chart
    assert not html_errors(text)


def test_change_is_written_like_the_values() -> None:
    share, count = D("s", 1), D("c", 2, kind="count")
    assert digest.change(V(50.0), share, 48.0) == "↑ +2"
    assert digest.change(V(50.04), share, 50.0) == "→ 0"  # rounded to the shown decimal
    assert digest.change(V(47.5), share, 50.0) == "↓ −2,5"
    assert digest.change(V(9.0), count, 12.0) == "↓ −3"
    assert digest.change(V(None), share, 12.0) is None
    assert digest.change(HIDDEN, share, 12.0) is None


def test_first_digest_and_small_scope() -> None:
    t = table(ARROW_DEFS, arrows_table().total.values, teachers=3)
    text = digest.digest_text(
        t, Texts(ARROW_TITLES), previous=None, attention=NO_ATTENTION, today=TODAY
    )
    assert "Это первая сводка" in text
    assert "педагогов: &lt; 5" in text  # the size of a group under 5 is not told either
    assert "↑" not in text and "↓" not in text and "→" not in text

    plain = table((D("mentors", 5, kind="count"),), {"mentors": V(7.0)})
    text = digest.digest_text(plain, Texts(), previous={}, attention=NO_ATTENTION, today=TODAY)
    assert text.endswith("\n\nПо школам — в файле XLSX.")  # no chart, nothing hidden


def test_snapshot_keeps_no_number_for_hidden_values() -> None:
    burnout = D("burnout", 10, better_higher=False, sensitive=True)
    t = table(
        (*ARROW_DEFS[:3], burnout, D("small_burnout", 10, sensitive=True)),
        {
            **arrows_table().total.values,
            "small_burnout": V(25.0, 1, 4),  # not flagged, yet a burnout figure of 4 people
        },
    )
    values = digest.snapshot_values(t)
    assert values == {
        "diag": 42.5,
        "route": 30.0,
        "mentors": 7.0,
        "burnout": None,
        "small_burnout": None,
    }
    text = digest.digest_text(t, Texts(), previous=None, attention=NO_ATTENTION, today=TODAY)
    assert "small_burnout: <b>&lt; 5</b>" in text  # a code without a title shows the code


# ---------------------------------------------------------------- what needs attention

GAP_DEFS = (
    D("a", 1, plan=80.0),  # 40 % : 40 points behind
    D("b", 2, plan=60.0),  # 50 % : 10 points behind
    D("c", 3, plan=10.0, better_higher=False),  # 35 % where at most 10: 25 points behind
    D("d", 4, kind="count", plan=10.0),  # 5 of 10: 50 % of the plan behind
    D("e", 5, plan=90.0),  # hidden: never in the list
    D("f", 6, plan=20.0),  # above plan
    D("g", 7),  # no plan
)
GAP_TITLES = {c: f"Показатель {c.upper()}" for c in "abcdefg"}


def gaps_table(campaigns: tuple[CampaignRate, ...] = ()) -> IndicatorTable:
    total = {
        "a": V(40.0),
        "b": V(50.0),
        "c": V(35.0),
        "d": V(5.0, 5, None),
        "e": HIDDEN,
        "f": V(25.0),
        "g": V(1.0),
    }
    schools = (
        R(1, "Школа № 1", 20, {**total, "a": V(50.0)}),
        R(2, "Школа № 2", 17, {**total, "a": V(20.0)}),
        R(3, "Школа № 3", 3, {**total, "a": HIDDEN}),  # hidden: never named as furthest
    )
    return table(GAP_DEFS, total, schools, campaigns)


def test_three_largest_gaps_first() -> None:
    found = digest.gaps(gaps_table())
    assert [(g.definition.code, g.gap) for g in found] == [("d", 50.0), ("a", 40.0), ("c", 25.0)]
    by_code = {g.definition.code: g for g in found}
    assert by_code["a"].weakest is not None and by_code["a"].weakest.school_name == "Школа № 2"
    # lower is better: the school with the highest value is the furthest behind
    assert by_code["c"].weakest is not None and by_code["c"].weakest.school_name == "Школа № 1"


def test_late_campaigns_by_time_elapsed() -> None:
    start = date(2026, 10, 1)
    campaigns = (
        # 30 days, 15 gone by at 16.10: 50 % of the time, 25 % answered: behind by 25
        CampaignRate(1, "burnout", "Выгорание", date(2026, 10, 30), 10, 40),
        # 75 % answered: on time
        CampaignRate(2, "deficits", "Дефициты", date(2026, 10, 30), 30, 40),
        # the deadline passed: 100 % of the time, 2 of 4 answered: behind by 50; a small group
        CampaignRate(3, "young", "Молодые", date(2026, 10, 10), 2, 4),
        # start unknown: not judged
        CampaignRate(4, "x", "Без начала", date(2026, 10, 30), 0, 40),
    )
    starts = {1: start, 2: start, 3: start}
    today = date(2026, 10, 16)
    late = digest.late_campaigns(campaigns, starts, today)
    assert [(c.rate.campaign_id, c.answered_share, c.elapsed_share) for c in late] == [
        (3, 50.0, 100.0),
        (1, 25.0, 50.0),
    ]
    att = digest.attention(gaps_table(campaigns), today=today, starts=starts, waiting_over_week=2)
    text = digest.digest_text(
        gaps_table(campaigns), Texts(GAP_TITLES), previous={}, attention=att, today=today
    )
    head = text.split("<b>Показатели (факт")[0]
    order = [
        head.index(s)
        for s in (
            "4. Показатель D",
            "1. Показатель A",
            "3. Показатель C",
            "Заявки на наставника ждут больше 7 дней: <b>2</b>",
            "«Молодые»",
            "«Выгорание»",
        )
    ]
    assert order == sorted(order)
    assert "Показатель B" not in head and "Показатель E" not in head
    assert (
        f"1. Показатель A: <b>{pct(40)}</b> при плане {pct(80)}; дальше всех от плана — Школа № 2 ({pct(20)})"
        in head
    )
    assert "ответили 10 из 40 (25 %), а прошло 50 % срока (до 30.10.2026)" in head
    assert "ответили &lt; 5 из &lt; 5" in head  # a campaign of fewer than 5: no counts
    assert "«Дефициты»" not in head and "Без начала" not in head
    assert not html_errors(text)


def test_text_fits_on_a_large_table() -> None:
    defs = tuple(D(f"i{n}", n, plan=90.0 if n % 2 else None) for n in range(1, 31))
    long = "Муниципальное бюджетное общеобразовательное учреждение «Средняя школа № {}» " * 2
    values = {d.code: V(10.0 + d.number) for d in defs}
    schools = tuple(
        R(i, f"<b>&{i} " + long.format(i, i), 30, {d.code: V(float(i % 97)) for d in defs})
        for i in range(1, 201)
    )
    campaigns = tuple(
        CampaignRate(i, "burnout", "Опрос «очень длинное название» " * 5, date(2026, 10, 30), 1, 40)
        for i in range(1, 41)
    )
    t = table(defs, values, schools, campaigns, teachers=6000, name="Очень длинное имя " * 20)
    starts = {c.campaign_id: date(2026, 9, 1) for c in campaigns}
    att = digest.attention(t, today=TODAY, starts=starts, waiting_over_week=12)
    text = digest.digest_text(
        t,
        Texts({d.code: f"Показатель номер {d.number} с длинным названием" for d in defs}),
        previous={d.code: 5.0 for d in defs},
        attention=att,
        today=TODAY,
    )
    assert len(text) <= 4096
    assert not html_errors(text)
    assert "… и ещё опросов, которые отстают: 35" in text
    assert "&lt;b&gt;&amp;" in text  # a school's name is text, never markup

    # many more indicators than fit: cut, and told where the rest is
    defs = tuple(D(f"j{n}", n, plan=50.0) for n in range(1, 151))
    t = table(defs, {d.code: V(60.0) for d in defs}, schools)
    text = digest.digest_text(t, Texts(), previous=None, attention=NO_ATTENTION, today=TODAY)
    assert len(text) <= 4096
    assert "— в файле XLSX" in text and "… и ещё" in text
    assert text.endswith(Translator("ru")("digest.tail"))
    assert not html_errors(text)


# ---------------------------------------------------------------- files


def files_table() -> IndicatorTable:
    defs = (
        D("diag", 1, plan=80.0),
        D("mentors", 5, kind="count", plan=12.0),
        D("burnout", 10, better_higher=False, sensitive=True),
        D("score", 12, kind="mean"),
    )
    return table(
        defs,
        {"diag": V(42.5, 17, 40), "mentors": V(9.0), "burnout": V(12.5, 5, 40), "score": V(3.8)},
        (
            R(
                1,
                "Школа № 1",
                36,
                {
                    "diag": V(44.4, 16, 36),
                    "mentors": V(8.0),
                    "burnout": V(13.9, 5, 36),
                    "score": V(3.9),
                },
            ),
            R(
                2,
                "Школа № 2",
                4,
                {"diag": HIDDEN, "mentors": V(1.0), "burnout": HIDDEN, "score": V(None, None, 0)},
            ),
        ),
    )


TITLES = {
    "diag": "Прошли диагностику",
    "mentors": "Наставников",
    "burnout": "Риск выгорания",
    "score": "Удовлетворённость",
}


def test_xlsx_reads_back() -> None:
    data = digest.xlsx_bytes(files_table(), Texts(TITLES), TODAY)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Показатели", "Определения"]
    rows = [list(r) for r in wb["Показатели"].iter_rows(values_only=True)]
    assert rows[0] == [
        "Код ОО",
        "Организация",
        "Педагогов",
        "1. Прошли диагностику, %",
        "5. Наставников, чел.",
        "10. Риск выгорания, %",
        "12. Удовлетворённость, ср.",
    ]
    assert rows[1] == ["sch1", "Школа № 1", 36, 44.4, 8, 13.9, 3.9]
    assert rows[2] == ["sch2", "Школа № 2", "< 5", "< 5", 1, "< 5", "—"]
    assert rows[3] == [None, "Итого: Энский муниципальный округ", 40, 42.5, 9, 12.5, 3.8]
    assert len(rows) == 4
    ws = wb["Показатели"]
    assert ws["D2"].number_format == "0.0" and ws["E2"].number_format == "0"
    defs = [list(r) for r in wb["Определения"].iter_rows(values_only=True)]
    assert defs[0] == ["Код", "№", "Показатель", "Определение", "Единица", "План", "Лучше, когда"]
    assert defs[1] == ["diag", 1, "Прошли диагностику", "Определение diag.", "%", 80, "больше"]
    assert defs[3] == ["burnout", 10, "Риск выгорания", "Определение burnout.", "%", None, "меньше"]
    flat = [str(c) for r in defs for c in r if c is not None]
    assert "Энский муниципальный округ" in flat and "2026/2027" in flat and "12.10.2026" in flat
    assert any(c.startswith("«< 5»") for c in flat)


def test_csv_and_json() -> None:
    t = files_table()
    text = digest.csv_bytes(t, Texts(TITLES)).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:4] == ["Код ОО", "Организация", "Педагогов", "1. Прошли диагностику, %"]
    assert rows[1] == ["sch1", "Школа № 1", "36", "44,4", "8", "13,9", "3,9"]
    assert rows[2] == ["sch2", "Школа № 2", "< 5", "< 5", "1", "< 5", "—"]
    assert rows[3][1] == "Итого: Энский муниципальный округ"

    data = json.loads(digest.json_bytes(t, Texts(TITLES)))
    assert data["scope"] == "municipality:1" and data["period"]["label"] == "2026/2027"
    assert [d["code"] for d in data["definitions"]] == ["diag", "mentors", "burnout", "score"]
    small = data["schools"][1]
    assert small["teachers"] is None and small["teachers_text"] == "< 5"
    assert small["values"]["burnout"] == {
        "value": None,
        "numerator": None,
        "denominator": None,
        "suppressed": True,
        "text": "< 5",
    }
    assert data["total"]["values"]["diag"]["value"] == 42.5
    assert data["total"]["values"]["diag"]["text"] == "42,5 %"


def _png_size(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    return image.size


def test_chart_decodes_with_cyrillic_and_no_missing_glyphs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    defs = (
        D("diag", 1, plan=80.0),
        D("route", 2, plan=30.0),
        D("deficit", 3, plan=20.0, better_higher=False),
        D("hidden", 4, plan=50.0),  # hidden: no bar
        D("nodata", 5, plan=50.0),  # no number: no bar
        D("count", 6, kind="count", plan=5.0),  # not a share: no bar
    )
    t = table(
        defs,
        {
            "diag": V(42.5),
            "route": V(31.0),
            "deficit": V(25.0),
            "hidden": HIDDEN,
            "nodata": V(None),
            "count": V(3.0),
        },
        name="Энский муниципальный округ «№ 1» — ёжик",
    )
    titles = {
        "diag": "Прошли диагностику профессиональных дефицитов (ЁЖЗ № «»)",
        "route": "Есть индивидуальный образовательный маршрут",
        "deficit": "Высокий методический дефицит",
    }
    caplog.set_level(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = digest.chart_png(t, Texts(titles))
    assert png is not None
    width, height = _png_size(png)
    assert width > 500 and height > 200
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "missing" in m.lower() or "findfont" in m.lower()], messages

    nothing = table((D("count", 6, kind="count", plan=5.0),), {"count": V(3.0)})
    assert digest.chart_png(nothing, Texts()) is None


def test_iso_week_and_keys() -> None:
    assert digest.iso_week(date(2026, 10, 12)) == "2026-W42"
    assert digest.iso_week(date(2027, 1, 1)) == "2026-W53"
    assert digest.digest_key(5, "school:3", "2026-W42") == "digest:5:school:3:2026-W42"


# ---------------------------------------------------------------- the weekly job

SCHOOL_METHODIST = 7001  # sch1
MUNICIPAL_METHODIST = 7002  # ensk
BLOCKED_METHODIST = 7004  # sch2, blocked the bot
BOTH = 7005  # sch1 and sch2
TEACHER = 7003


async def people(sessionmaker: async_sessionmaker[AsyncSession]) -> list[int]:
    """Three schools of «ensk»: teachers in schools 1 and 2, methodists of each kind."""
    schools = await add_schools(sessionmaker, count=3)
    async with sessionmaker.begin() as s:
        await grant(s, SCHOOL_METHODIST, RoleName.METHODIST, school_code="sch1")
        await grant(s, MUNICIPAL_METHODIST, RoleName.METHODIST, municipality_code="ensk")
        await grant(s, BLOCKED_METHODIST, RoleName.METHODIST, school_code="sch2")
        await grant(s, BOTH, RoleName.METHODIST, school_code="sch1")
        await grant(s, BOTH, RoleName.METHODIST, school_code="sch2")
        registered = NOW - timedelta(days=30)
        s.add(User(telegram_id=BLOCKED_METHODIST, registered_at=registered, blocked_bot=True))
        s.add(
            User(
                telegram_id=TEACHER,
                registered_at=registered,
                school_id=schools[0].id,
                full_name="Учитель",
            )
        )
        for i in range(12):
            s.add(
                User(
                    telegram_id=80000 + i,
                    registered_at=registered,
                    school_id=schools[i % 2].id,
                    full_name=f"Педагог {i}",
                    position="teacher",
                    category="highest" if i % 3 == 0 else "first",
                    birth_year=1980,
                    teaching_since=2005,
                )
            )
    return [s.id for s in schools]


async def outbox(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Outbox]:
    async with sessionmaker() as s:
        rows = (await s.execute(select(Outbox).order_by(Outbox.key))).scalars().all()
        for r in rows:
            await s.refresh(r, ["files"])
        return list(rows)


def _xlsx_codes(data: bytes) -> list[str]:
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    return [str(r[0] or "") for r in ws.iter_rows(min_row=2, values_only=True)]


async def test_enqueue_twice_sends_one_per_methodist_scope_and_week(
    sessionmaker: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    ids = await people(sessionmaker)
    settings = make_settings(db_url)
    async with sessionmaker.begin() as s:
        first = await digest.enqueue_digests(s, NOW, settings)
    async with sessionmaker.begin() as s:
        again = await digest.enqueue_digests(s, NOW + timedelta(hours=5), settings)
    week = "2026-W42"
    expected = sorted(
        [
            f"digest:{SCHOOL_METHODIST}:school:{ids[0]}:{week}",
            f"digest:{MUNICIPAL_METHODIST}:municipality:1:{week}",
            f"digest:{BOTH}:school:{ids[0]}:{week}",
            f"digest:{BOTH}:school:{ids[1]}:{week}",
            f"digest:{ADMIN_ID}:region:{week}",
        ]
    )
    assert (first, again) == (5, 0)
    rows = await outbox(sessionmaker)
    assert [r.key for r in rows] == expected  # nobody twice; the blocked methodist not at all
    for r in rows:
        assert r.kind == "digest" and len(r.text) <= 4096 and not html_errors(r.text)
        kinds = [f.kind for f in r.files]
        assert kinds[-1] == "document" and r.files[-1].filename.endswith(f"{week}.xlsx")
        assert set(kinds) <= {"photo", "document"}
        for f in r.files:
            if f.kind == "photo":
                _png_size(f.content)
    # the school methodist's table holds their school only (and the total)
    [own] = [r for r in rows if r.telegram_id == SCHOOL_METHODIST]
    assert _xlsx_codes(own.files[-1].content) == ["sch1", ""]
    [mun] = [r for r in rows if r.telegram_id == MUNICIPAL_METHODIST]
    assert _xlsx_codes(mun.files[-1].content) == ["sch1", "sch2", "sch3", ""]
    # one snapshot per scope and week, kept on the second run
    async with sessionmaker() as s:
        snaps = (await s.execute(select(IndicatorSnapshot.scope, IndicatorSnapshot.period))).all()
    assert sorted(snaps) == sorted(
        [
            (f"school:{ids[0]}", week),
            (f"school:{ids[1]}", week),
            ("municipality:1", week),
            ("region", week),
        ]
    )
    # a restart next week: one more each, and last week's snapshot is the change's base
    async with sessionmaker.begin() as s:
        assert await digest.enqueue_digests(s, NOW + timedelta(days=7), settings) == 5
    async with sessionmaker() as s:
        assert await digest.previous_values(s, "region", "2026-W43") is not None
        assert await digest.previous_values(s, "region", week) is None
        n_files = len((await s.execute(select(OutboxFile.id))).all())
    assert len(await outbox(sessionmaker)) == 10 and n_files >= 10


async def test_snapshot_feeds_the_change(
    sessionmaker: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    await people(sessionmaker)
    async with sessionmaker.begin() as s:
        await digest.enqueue_digests(s, NOW - timedelta(days=7), make_settings(db_url))
    async with sessionmaker() as s:
        inputs = await digest.read_inputs(s, "municipality:1", NOW, make_settings(db_url))
        snap = await s.scalar(
            select(IndicatorSnapshot).where(
                IndicatorSnapshot.scope == "municipality:1", IndicatorSnapshot.period == "2026-W41"
            )
        )
    assert snap is not None and inputs.week == "2026-W42"
    assert inputs.previous == dict(snap.values)


# ---------------------------------------------------------------- «📈 Показатели»


def _sent(harness: Harness, kind: type, chat_id: int) -> list[Any]:
    return [r for r in harness.bot.api.of(kind) if int(r.chat_id) == chat_id]


async def test_school_methodist_gets_their_digest_on_demand(harness: Harness) -> None:
    ids = await people(harness.sessionmaker)
    chat = harness.chat(SCHOOL_METHODIST)
    await chat.press(MenuCB(to="methodist").pack())
    assert "📈 Показатели" in chat.buttons()
    harness.bot.api.clear()
    await chat.tap("Показатели")
    texts = chat.texts()
    assert len(texts) == 1 and "📈 Показатели:" in texts[0] and "2026/2027" in texts[0]
    [doc] = _sent(harness, SendDocument, SCHOOL_METHODIST)
    assert doc.document.filename == f"indicators-school-{ids[0]}-2026-W42.xlsx"
    assert _xlsx_codes(doc.document.data) == ["sch1", ""]
    for photo in _sent(harness, SendPhoto, SCHOOL_METHODIST):
        _png_size(photo.photo.data)
    assert chat.buttons() == ["🗂 Кабинет методиста", "🏠 Главное меню"]
    async with harness.sessionmaker() as s:  # on demand writes nothing
        assert (await s.execute(select(IndicatorSnapshot.id))).first() is None
        assert (await s.execute(select(Outbox.id))).first() is None


async def test_several_scopes_choose_and_forged_scope_refused(harness: Harness) -> None:
    ids = await people(harness.sessionmaker)
    chat = harness.chat(BOTH)
    await chat.press(IndicatorsMenu().pack())
    assert "Выберите охват" in chat.last.text
    assert chat.buttons() == [
        "📈 Школа № 1",
        "📈 Школа № 2",
        "🗂 Кабинет методиста",
        "🏠 Главное меню",
    ]
    harness.bot.api.clear()
    await chat.tap("Школа № 2")
    [doc] = _sent(harness, SendDocument, BOTH)
    assert _xlsx_codes(doc.document.data) == ["sch2", ""]
    assert chat.buttons()[0] == "📈 Выбрать охват"

    for forged in (
        IndicatorsOpen(scope=ScopeKind.SCHOOL, target=ids[2]),
        IndicatorsOpen(scope=ScopeKind.MUNICIPALITY, target=1),
        IndicatorsOpen(scope=ScopeKind.REGION),
    ):
        harness.bot.api.clear()
        await chat.press(forged.pack())
        assert chat.alerts() == ["Этот охват вам недоступен. Откройте «📈 Показатели» заново."]
        assert not harness.bot.api.of(SendMessage) and not harness.bot.api.of(SendDocument)


async def test_admin_gets_the_region(harness: Harness) -> None:
    await people(harness.sessionmaker)
    chat = harness.chat(ADMIN_ID)
    await chat.press(IndicatorsMenu().pack())
    [doc] = _sent(harness, SendDocument, ADMIN_ID)
    assert doc.document.filename.startswith("indicators-region-")
    assert _xlsx_codes(doc.document.data) == ["sch1", "sch2", "sch3", ""]


async def test_teacher_without_role_gets_the_stale_answer(harness: Harness) -> None:
    ids = await people(harness.sessionmaker)
    chat = harness.chat(TEACHER)
    for data in (
        IndicatorsMenu().pack(),
        IndicatorsOpen(scope=ScopeKind.SCHOOL, target=ids[0]).pack(),
        IndicatorsOpen(scope=ScopeKind.REGION).pack(),
        "dgo:bogus:1",
        f"dgo:school:{2**40}",
    ):
        harness.bot.api.clear()
        await chat.press(data)
        assert chat.alerts() == [STALE]
        for kind in (SendMessage, SendPhoto, SendDocument):
            assert not harness.bot.api.of(kind)


# ---------------------------------------------------------------- pedbot export indicators


def _prepare(url: str) -> None:
    from bot.migrate import upgrade
    from models.db import make_engine, make_sessionmaker

    upgrade(url)

    async def fill() -> None:
        engine = make_engine(url)
        try:
            await people(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    asyncio.run(fill())


def test_export_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    url = f"sqlite+aiosqlite:///{tmp_path}/export.db"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    _prepare(url)

    out = tmp_path / "school.xlsx"
    main(["export", "indicators", "--scope", "school:sch1", "--format", "xlsx", "--out", str(out)])
    assert "Показатели выгружены" in capsys.readouterr().out
    assert _xlsx_codes(out.read_bytes()) == ["sch1", ""]

    main(["export", "indicators", "--scope", "municipality", "--format", "csv"])
    printed = capsys.readouterr().out
    [csv_file] = list(tmp_path.glob("indicators-municipality-1-*.csv"))
    assert csv_file.name in printed and "организаций: 3" in printed
    rows = list(csv.reader(io.StringIO(csv_file.read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert [r[0] for r in rows[1:]] == ["sch1", "sch2", "sch3", ""]

    out = tmp_path / "region.json"
    main(
        [
            "export",
            "indicators",
            "--scope",
            "region",
            "--format",
            "json",
            "--out",
            str(out),
            "--period",
            "2025/2026",
        ]
    )
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["scope"] == "region" and data["period"]["label"] == "2025/2026"
    assert len(data["schools"]) == 3

    for args, word in (
        (["--scope", "school:nope", "--format", "xlsx"], "nope"),
        (["--scope", "town:1", "--format", "xlsx"], "school:КОД"),
        (["--scope", "region", "--format", "xlsx", "--period", "2026-2027"], "2026/2027"),
        (
            ["--scope", "region", "--format", "xlsx", "--out", str(tmp_path / "no" / "x.xlsx")],
            "Папки нет",
        ),
    ):
        with pytest.raises(SystemExit) as exit_:
            main(["export", "indicators", *args])
        err = capsys.readouterr().err
        assert exit_.value.code in (1, 2) and word in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exit_:
        main(["export", "indicators", "--scope", "region", "--format", "pdf"])
    assert exit_.value.code == 2
