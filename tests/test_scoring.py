"""Scale scoring: every aggregation rule, reverse items, min_answered, skips, hidden items and
the band boundaries of the shipped instruments."""

from __future__ import annotations

from typing import Any

import pytest

from surveys.loader import load_instruments
from surveys.schema import Instrument, Scale
from surveys.scoring import band_for, item_points, score_instrument, score_scale

INSTRUMENTS = load_instruments()
DEFICITS = INSTRUMENTS["deficits"]
BURNOUT = INSTRUMENTS["burnout"]
YOUNG = INSTRUMENTS["young"]


def scale(instrument: Instrument, scale_id: str) -> Scale:
    return next(s for s in instrument.scales if s.id == scale_id)


def middle(instrument: Instrument, question_id: str) -> str | int:
    """The option worth 50 points («Иногда» / «В некоторой степени»)."""
    options = instrument.options(instrument.question(question_id))
    return next(o.value for o in options if o.score == 50)


PREFIXES = {
    "subj": "subject",
    "meth": "methodical",
    "psy": "psychological",
    "comm": "communicative",
}


def block(prefix: str, values: list[int | None]) -> dict[str, int | None]:
    """Answers to the first items of a deficits block, in the order of its scale."""
    items = scale(DEFICITS, PREFIXES[prefix]).items
    assert len(values) <= len(items)
    return dict(zip(items, values, strict=False))


# ---------------------------------------------------------------- percent with invert


def test_deficits_no_difficulty_is_full_mastery() -> None:
    result = score_scale(DEFICITS, scale(DEFICITS, "subject"), block("subj", [0] * 7))
    assert result.score == 100.0
    assert result.answered == 7
    assert result.band is not None and result.band.code == "minimal"


def test_deficits_serious_difficulty_everywhere_is_zero() -> None:
    result = score_scale(DEFICITS, scale(DEFICITS, "methodical"), block("meth", [3] * 7))
    assert result.score == 0.0
    assert result.band is not None and result.band.code == "high"


def test_deficits_percent_formula() -> None:
    # 100 × (1 − sum / (3 × answered)) = 100 × (1 − 9/27)
    result = score_scale(DEFICITS, scale(DEFICITS, "psychological"), block("psy", [1] * 9))
    assert result.score == pytest.approx(66.67)
    assert result.band is not None and result.band.code == "medium"


def test_deficits_score_is_rounded_to_two_places() -> None:
    # 100 × (1 − 4/21) = 80.952...
    result = score_scale(
        DEFICITS, scale(DEFICITS, "communicative"), block("comm", [1, 1, 1, 1, 0, 0, 0])
    )
    assert result.score == 80.95


def test_deficits_blocks_are_scored_separately() -> None:
    answers = {**block("subj", [0] * 7), **block("meth", [3] * 7)}
    by_id = {r.scale_id: r for r in score_instrument(DEFICITS, answers)}
    assert by_id["subject"].score == 100.0
    assert by_id["methodical"].score == 0.0
    assert by_id["psychological"].score is None
    assert by_id["communicative"].score is None


# ---------------------------------------------------------------- band boundaries (Р-201)


def test_deficits_exactly_60_is_medium() -> None:
    # 5 answered, 2 skipped: 100 × (1 − 6/15) = 60
    answers = block("subj", [2, 2, 2, 0, 0, None, None])
    result = score_scale(DEFICITS, scale(DEFICITS, "subject"), answers)
    assert result.answered == 5
    assert result.score == 60.0
    assert result.band is not None and result.band.code == "medium"


def test_deficits_exactly_80_is_medium() -> None:
    # 5 answered: 100 × (1 − 3/15) = 80
    answers = block("meth", [1, 1, 1, 0, 0, None, None])
    result = score_scale(DEFICITS, scale(DEFICITS, "methodical"), answers)
    assert result.score == 80.0
    assert result.band is not None and result.band.code == "medium"


def test_deficits_just_above_80_is_minimal() -> None:
    # 14 answered: 100 × (1 − 8/42) = 80.95
    answers = block("psy", [1] * 8 + [0] * 6)
    result = score_scale(DEFICITS, scale(DEFICITS, "psychological"), answers)
    assert result.score is not None and 80 < result.score < 81
    assert result.band is not None and result.band.code == "minimal"


def test_deficits_below_60_is_high() -> None:
    # 6 answered: 100 × (1 − 8/18) = 55.56
    answers = block("comm", [2, 2, 2, 2, 0, 0, None])
    result = score_scale(DEFICITS, scale(DEFICITS, "communicative"), answers)
    assert result.score == pytest.approx(55.56)
    assert result.band is not None and result.band.code == "high"


@pytest.mark.parametrize(
    ("score", "code"),
    [
        (0.0, "high"),
        (59.0, "high"),
        (59.99, "high"),
        (60.0, "medium"),
        (60.5, "medium"),
        (79.99, "medium"),
        (80.0, "medium"),
        (80.01, "minimal"),
        (80.5, "minimal"),
        (100.0, "minimal"),
    ],
)
def test_deficits_band_boundaries(score: float, code: str) -> None:
    for s in DEFICITS.scales:
        assert band_for(s, score).code == code


# ---------------------------------------------------------------- min_answered


def test_deficits_needs_more_than_half_of_a_block() -> None:
    s = scale(DEFICITS, "subject")  # 9 items: 5 answers needed
    four = score_scale(DEFICITS, s, block("subj", [0, 0, 0, 0, None, None, None]))
    assert four.score is None and four.band is None and four.answered == 4
    five = score_scale(DEFICITS, s, block("subj", [0, 0, 0, 0, 0, None, None]))
    assert five.score == 100.0 and five.answered == 5


def test_burnout_personal_with_two_answers_has_no_score() -> None:
    result = score_scale(BURNOUT, scale(BURNOUT, "personal"), {"p1": "always", "p2": "often"})
    assert result.score is None
    assert result.band is None
    assert result.answered == 2


def test_burnout_personal_with_three_answers_is_scored() -> None:
    answers = {"p1": "always", "p2": "often", "p3": "sometimes"}
    result = score_scale(BURNOUT, scale(BURNOUT, "personal"), answers)
    assert result.score == 75.0
    assert result.answered == 3


@pytest.mark.parametrize(("scale_id", "needed"), [("personal", 3), ("work", 4), ("student", 4)])
def test_burnout_min_answered(scale_id: str, needed: int) -> None:
    s = scale(BURNOUT, scale_id)
    items = [i for i in s.items if i not in s.reverse]
    short = {i: middle(BURNOUT, i) for i in items[: needed - 1]}
    assert score_scale(BURNOUT, s, short).score is None
    enough = {i: middle(BURNOUT, i) for i in items[:needed]}
    result = score_scale(BURNOUT, s, enough)
    assert result.score == 50.0
    assert result.answered == needed


# ---------------------------------------------------------------- skipped and hidden items


def test_skipped_items_are_not_counted() -> None:
    answers = {"p1": "always", "p2": "always", "p3": "always", "p4": None, "p5": None}
    result = score_scale(BURNOUT, scale(BURNOUT, "personal"), answers)
    assert result.answered == 3
    assert result.score == 100.0  # the skips do not pull the mean down


def test_skips_do_not_count_towards_min_answered() -> None:
    answers = {"p1": "always", "p2": "always", "p3": None, "p4": None, "p5": None, "p6": None}
    result = score_scale(BURNOUT, scale(BURNOUT, "personal"), answers)
    assert result.score is None
    assert result.answered == 2


def test_unknown_option_value_is_not_counted() -> None:
    answers = {"p1": "always", "p2": "always", "p3": "always", "p4": "stale"}
    result = score_scale(BURNOUT, scale(BURNOUT, "personal"), answers)
    assert result.answered == 3


YOUNG_ITEMS = [i for i in scale(YOUNG, "difficulties").items if i != "upbringing"]


def test_hidden_items_are_not_counted() -> None:
    s = scale(YOUNG, "difficulties")
    base: dict[str, Any] = dict.fromkeys(YOUNG_ITEMS, 0)
    # «upbringing» is shown to class teachers only; a stale answer left from before the
    # teacher changed «class_teacher» to «no» must not count.
    hidden = score_scale(YOUNG, s, {**base, "class_teacher": "no", "upbringing": 3})
    assert hidden.answered == len(YOUNG_ITEMS)
    assert hidden.score == 0.0
    shown = score_scale(YOUNG, s, {**base, "class_teacher": "yes", "upbringing": 3})
    assert shown.answered == len(YOUNG_ITEMS) + 1
    assert shown.score == pytest.approx(round(100 * 3 / (3 * (len(YOUNG_ITEMS) + 1)), 2))


def test_young_difficulty_percent_is_not_inverted() -> None:
    s = scale(YOUNG, "difficulties")
    answers: dict[str, Any] = {**dict.fromkeys(YOUNG_ITEMS, 3), "class_teacher": "no"}
    result = score_scale(YOUNG, s, answers)
    assert result.score == 100.0
    assert result.band is not None and result.band.code == "many" and result.band.signal


# ---------------------------------------------------------------- mean and reverse (CBI)


def test_burnout_options_give_exact_points() -> None:
    s = scale(BURNOUT, "personal")
    expected = {"always": 100, "often": 75, "sometimes": 50, "seldom": 25, "never": 0}
    for value, points in expected.items():
        assert item_points(BURNOUT, s, "p1", value) == points
    w = scale(BURNOUT, "work")
    degree = {"very_high": 100, "high": 75, "somewhat": 50, "low": 25, "very_low": 0}
    for value, points in degree.items():
        assert item_points(BURNOUT, w, "w1", value) == points


def test_burnout_w7_is_reverse_scored() -> None:
    w = scale(BURNOUT, "work")
    assert item_points(BURNOUT, w, "w7", "always") == 0
    assert item_points(BURNOUT, w, "w7", "often") == 25
    assert item_points(BURNOUT, w, "w7", "sometimes") == 50
    assert item_points(BURNOUT, w, "w7", "never") == 100
    # an ordinary frequency item is not reversed
    assert item_points(BURNOUT, w, "w4", "always") == 100


def test_burnout_work_mean_with_reverse_item() -> None:
    answers = {
        "w1": "very_high",  # 100
        "w2": "high",  # 75
        "w3": "somewhat",  # 50
        "w4": "seldom",  # 25
        "w5": "never",  # 0
        "w6": "often",  # 75
        "w7": "always",  # reversed: 0
    }
    result = score_scale(BURNOUT, scale(BURNOUT, "work"), answers)
    assert result.answered == 7
    assert result.score == round(325 / 7, 2)
    assert result.band is not None and result.band.code == "normal"


def test_burnout_exactly_50_is_elevated() -> None:
    answers = {"s1": "very_high", "s2": "very_low", "s3": "high", "s4": "low"}
    result = score_scale(BURNOUT, scale(BURNOUT, "student"), answers)
    assert result.score == 50.0
    assert result.band is not None and result.band.code == "elevated"
    assert result.band.signal


def test_burnout_just_below_50_is_normal() -> None:
    answers = {"p1": "sometimes", "p2": "sometimes", "p3": "sometimes", "p4": "seldom"}
    result = score_scale(BURNOUT, scale(BURNOUT, "personal"), answers)
    assert result.score == 43.75
    assert result.band is not None and result.band.code == "normal"
    assert not result.band.signal


@pytest.mark.parametrize(
    ("score", "code"),
    [(0.0, "normal"), (49.99, "normal"), (50.0, "elevated"), (100.0, "elevated")],
)
def test_burnout_band_boundaries(score: float, code: str) -> None:
    for s in BURNOUT.scales:
        assert band_for(s, score).code == code


def test_burnout_has_three_scales_and_no_total() -> None:
    results = score_instrument(BURNOUT, {})
    assert [r.scale_id for r in results] == ["personal", "work", "student"]
    assert all(r.score is None for r in results)


# ---------------------------------------------------------------- synthetic instruments


def synthetic(scales: list[dict[str, Any]], questions: list[dict[str, Any]]) -> Instrument:
    return Instrument.model_validate(
        {
            "id": "synthetic",
            "version": 1,
            "title": "Проверка",
            "button": "Проверка",
            "intro": "Проверка подсчёта.",
            "sources": ["тест"],
            "option_sets": {
                "agree": [
                    {"value": "no", "label": "Нет", "points": 1},
                    {"value": "partly", "label": "Отчасти", "points": 2},
                    {"value": "yes", "label": "Да", "points": 3},
                ]
            },
            "sections": [{"id": "main", "title": "Раздел", "questions": questions}],
            "scales": scales,
        }
    )


QUESTIONS = [
    {"id": "a", "type": "single", "text": "A", "option_set": "agree"},
    {"id": "b", "type": "single", "text": "B", "option_set": "agree"},
    {"id": "c", "type": "single", "text": "C", "option_set": "agree"},
    {"id": "flag", "type": "yesno", "text": "Flag"},
    {
        "id": "d",
        "type": "single",
        "text": "D",
        "option_set": "agree",
        "show_if": {"question": "flag", "equals": "yes"},
    },
]

SUM_BANDS = [
    {"code": "low", "upper": 6, "upper_inclusive": False, "label": "Низ", "interpretation": "."},
    {"code": "high", "upper": 12, "label": "Верх", "interpretation": "."},
]


def test_sum_aggregation() -> None:
    inst = synthetic(
        [
            {
                "id": "total",
                "title": "Сумма",
                "items": ["a", "b", "c", "d"],
                "aggregation": "sum",
                "bands": SUM_BANDS,
            }
        ],
        QUESTIONS,
    )
    s = inst.scales[0]
    assert inst.scale_range(s) == (4, 12)
    result = score_scale(inst, s, {"a": "yes", "b": "partly", "c": "no"})
    assert result.score == 6.0
    assert result.band is not None and result.band.code == "high"
    result = score_scale(inst, s, {"a": "no", "b": "partly", "c": "no"})
    assert result.score == 4.0
    assert result.band is not None and result.band.code == "low"


def test_sum_with_reverse_item_and_hidden_item() -> None:
    inst = synthetic(
        [
            {
                "id": "total",
                "title": "Сумма",
                "items": ["a", "b", "c", "d"],
                "reverse": ["b"],
                "aggregation": "sum",
                "min_answered": 3,
                "bands": SUM_BANDS,
            }
        ],
        QUESTIONS,
    )
    s = inst.scales[0]
    answers = {"a": "yes", "b": "yes", "c": "yes", "flag": "no", "d": "yes"}
    result = score_scale(inst, s, answers)
    assert result.answered == 3  # d is hidden
    assert result.score == 3 + 1 + 3  # b reversed: 1 + 3 − 3
    shown = score_scale(inst, s, {**answers, "flag": "yes"})
    assert shown.answered == 4
    assert shown.score == 10.0


def test_sum_min_answered() -> None:
    inst = synthetic(
        [
            {
                "id": "total",
                "title": "Сумма",
                "items": ["a", "b", "c"],
                "aggregation": "sum",
                "min_answered": 2,
                "bands": SUM_BANDS,
            }
        ],
        QUESTIONS,
    )
    s = inst.scales[0]
    assert score_scale(inst, s, {"a": "yes", "b": None}).score is None
    assert score_scale(inst, s, {"a": "yes", "b": "no"}).score == 4.0


def test_percent_without_invert_uses_item_range() -> None:
    inst = synthetic(
        [
            {
                "id": "share",
                "title": "Доля",
                "items": ["a", "b"],
                "aggregation": "percent",
                "bands": [{"code": "all", "upper": 100, "label": "Все", "interpretation": "."}],
            }
        ],
        QUESTIONS,
    )
    s = inst.scales[0]
    # points 1..3: (2 − 1) / (3 − 1) over one item = 50 %
    assert score_scale(inst, s, {"a": "partly"}).score == 50.0
    assert score_scale(inst, s, {"a": "yes", "b": "no"}).score == 50.0
    assert score_scale(inst, s, {"a": "yes", "b": "yes"}).score == 100.0


def test_percent_with_invert_on_synthetic_scale() -> None:
    inst = synthetic(
        [
            {
                "id": "share",
                "title": "Доля",
                "items": ["a", "b"],
                "aggregation": "percent",
                "invert": True,
                "bands": [{"code": "all", "upper": 100, "label": "Все", "interpretation": "."}],
            }
        ],
        QUESTIONS,
    )
    s = inst.scales[0]
    assert score_scale(inst, s, {"a": "yes", "b": "yes"}).score == 0.0
    assert score_scale(inst, s, {"a": "no", "b": "partly"}).score == 75.0


def test_mean_of_yesno_items() -> None:
    inst = synthetic(
        [
            {
                "id": "share",
                "title": "Доля",
                "items": ["flag"],
                "aggregation": "mean",
                "bands": [{"code": "all", "upper": 1, "label": "Все", "interpretation": "."}],
            }
        ],
        QUESTIONS,
    )
    s = inst.scales[0]
    assert score_scale(inst, s, {"flag": "yes"}).score == 1.0
    assert score_scale(inst, s, {"flag": "no"}).score == 0.0
