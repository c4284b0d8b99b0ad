"""The shipped questionnaire files load, say what they should, and a broken file is reported
with its file name and the id of the question or scale at fault."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.mentoring import TOPICS
from surveys.loader import INSTRUMENTS_DIR, InstrumentError, load_instruments, parse_file
from surveys.schema import Instrument, QuestionType

SHIPPED = sorted(INSTRUMENTS_DIR.glob("*.yaml"))
INSTRUMENTS = load_instruments()


# ---------------------------------------------------------------- the shipped files


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_file_loads(path: Path) -> None:
    instrument = parse_file(path)
    assert instrument.id == path.stem
    assert instrument.kind == path.stem.removesuffix("_preschool")
    assert instrument.version == VERSIONS.get(path.stem, 1)


# corrected after people had answered: each correction is a new version
VERSIONS = {
    "deficits": 2,
    "burnout": 3,
    "burnout_preschool": 2,
    "satisfaction": 2,
    "young": 3,
}
PRESCHOOL = {
    "deficits": "deficits_preschool",
    "burnout": "burnout_preschool",
    "young": "young_preschool",
}
SCHOOL_WORDS = ("урок", "ОГЭ", "ЕГЭ", "ВПР", "класс", "подрост", "ученик")


def test_the_three_instruments_are_shipped() -> None:
    assert {"deficits", "burnout", "young"} <= set(INSTRUMENTS)


def test_every_question_type_is_used() -> None:
    used = {q.type for inst in INSTRUMENTS.values() for q in inst.questions}
    assert used == set(QuestionType)


@pytest.mark.parametrize("instrument", INSTRUMENTS.values(), ids=lambda i: i.id)
def test_texts_fit_telegram(instrument: Instrument) -> None:
    assert len(instrument.button) <= 40
    for question in instrument.questions:
        assert len(question.text) <= 1000
        for option in instrument.options(question):
            assert len(option.label) <= 40, (question.id, option.label)


@pytest.mark.parametrize("instrument", INSTRUMENTS.values(), ids=lambda i: i.id)
def test_every_band_explains_itself(instrument: Instrument) -> None:
    for scale in instrument.scales:
        for band in scale.bands:
            assert band.interpretation.strip()


def test_digest_is_stable() -> None:
    again = load_instruments()
    for key, instrument in INSTRUMENTS.items():
        assert again[key].digest() == instrument.digest()


def test_a_file_without_setting_keeps_its_stored_digest() -> None:
    """``audience.setting`` came later: the files that do not use it hash as before, so a
    database that has their answers accepts them unchanged (no new version needed)."""
    assert INSTRUMENTS["activity"].digest() == (
        "d866dd40fd3cf21bd88ddd585ac4fa2d35f69e9451ddb37396f584a5b959cc61"
    )
    assert INSTRUMENTS["satisfaction"].digest() == (  # version 2
        "48954d6423b78358dae168f1512809e4649757cf76387343e3fa10a920a08641"
    )


# ---------------------------------------------------------------- deficits


@pytest.mark.parametrize(
    ("instrument_id", "setting", "sizes"),
    [
        ("deficits", "school", [9, 9, 15, 10]),
        ("deficits_preschool", "preschool", [9, 9, 12, 9]),
    ],
)
def test_deficits_structure(instrument_id: str, setting: str, sizes: list[int]) -> None:
    inst = INSTRUMENTS[instrument_id]
    assert inst.kind == "deficits"
    assert not inst.private
    assert inst.audience.kind == "all"
    assert inst.audience.setting == setting
    assert inst.min_interval_days == 30
    assert [len(s.questions) for s in inst.sections] == sizes
    assert [(o.value, o.label) for o in inst.option_sets["difficulty"]] == [
        (0, "Не испытываю затруднений"),
        (1, "Испытываю незначительные затруднения"),
        (2, "Испытываю заметные затруднения"),
        (3, "Испытываю серьёзные затруднения"),
    ]
    blocks = ["subject", "methodical", "psychological", "communicative"]
    assert [s.id for s in inst.sections] == blocks
    assert [s.id for s in inst.scales] == blocks
    for section, scale in zip(inst.sections, inst.scales, strict=True):
        assert scale.block == section.id
        assert scale.items == [q.id for q in section.questions]
        assert scale.aggregation == "percent"
        assert scale.invert
        assert scale.min_answered == len(scale.items) // 2 + 1  # more than half
        assert section.intro
        assert [(b.code, b.upper, b.upper_inclusive) for b in scale.bands] == [
            ("high", 60, False),
            ("medium", 80, True),
            ("minimal", 100, True),
        ]
        for band in scale.bands:
            assert band.recommendation.strip()
    for question in inst.questions:
        assert question.option_set == "difficulty"
        assert not question.required  # a skip is allowed: min_answered decides


@pytest.mark.parametrize(
    ("instrument_id", "needles"),
    [
        ("deficits", ("544н", "Р-201", "TALIS")),
        ("deficits_preschool", ("544н", "Р-201", "1155", "1028")),
    ],
)
def test_deficits_texts_and_sources(instrument_id: str, needles: tuple[str, ...]) -> None:
    inst = INSTRUMENTS[instrument_id]
    sources = " ".join(inst.sources)
    for needle in needles:
        assert needle in sources
    assert "самооценка" in inst.result_note.lower()
    # the gap between 60 and 61 % of Р-201 is explained to developers, not to teachers
    assert "61" not in inst.result_note and "61" not in inst.intro
    raw = (INSTRUMENTS_DIR / f"{instrument_id}.yaml").read_text(encoding="utf-8")
    comments = "\n".join(line for line in raw.splitlines() if line.lstrip().startswith("#"))
    assert "60" in comments and "61" in comments


def test_deficits_items_ask_one_thing() -> None:
    """Version 2 splits the double-barrelled items and covers A/02, A/03 and digital skills."""
    inst = INSTRUMENTS["deficits"]
    text = {q.id: q.text for q in inst.questions}
    assert "олимпиад" in text["subj8"] and "олимпиад" not in text["subj1"]
    assert "на уроках" not in text["subj2"] and "уроки" in text["subj9"]
    assert "трудной жизненной" in text["psy5"] and "поведени" in text["psy8"]
    assert "русским" in text["psy9"]
    assert "родител" in text["comm3"] and "ученик" in text["comm8"] and "коллег" in text["comm9"]
    assert "деловом" in text["comm7"] and "границы" in text["comm10"]
    everything = " ".join(text.values())
    for needle in (
        "классный руководитель",
        "Разговоры о важном",
        "здорового",
        "Движения первых",
        "одарённ",
        "индивидуальную программу развития",
        "электронный журнал",
        "цифровые",
    ):
        assert needle in everything, needle
    assert "Пропустить" in (inst.question("psy10").hint or "")


def test_preschool_deficits_speak_of_kindergarten() -> None:
    inst = INSTRUMENTS["deficits_preschool"]
    everything = " ".join(
        [q.text for q in inst.questions]
        + [s.intro or "" for s in inst.sections]
        + [b.interpretation + b.recommendation for sc in inst.scales for b in sc.bands]
    )
    for needle in (
        "игр",
        "предметно-пространственн",
        "режимные моменты",
        "педагогическую диагностику",
        "адаптаци",
        "родител",
        "ОВЗ",
        "к школе",
    ):
        assert needle in everything, needle
    for school_word in SCHOOL_WORDS:
        assert school_word not in everything.replace("начальных классов", "").replace(
            "мастер-класс", ""
        ), school_word


# ---------------------------------------------------------------- burnout

DEGREE_ITEMS = {"w1", "w2", "w3", "s1", "s2", "s3", "s4"}


@pytest.mark.parametrize("instrument_id", ["burnout", "burnout_preschool"])
def test_burnout_structure(instrument_id: str) -> None:
    inst = INSTRUMENTS[instrument_id]
    assert inst.kind == "burnout"
    assert inst.private
    assert inst.min_interval_days == 90
    assert [q.id for q in inst.questions] == [
        *(f"p{i}" for i in range(1, 7)),
        *(f"w{i}" for i in range(1, 8)),
        *(f"s{i}" for i in range(1, 7)),
    ]
    for question in inst.questions:
        expected = "degree" if question.id in DEGREE_ITEMS else "frequency"
        assert question.option_set == expected, question.id
    points = {
        name: [(o.label, o.score) for o in options] for name, options in inst.option_sets.items()
    }
    assert points["frequency"] == [
        ("Всегда", 100),
        ("Часто", 75),
        ("Иногда", 50),
        ("Редко", 25),
        ("Никогда или почти никогда", 0),
    ]
    assert points["degree"] == [
        ("В очень большой степени", 100),
        ("В большой степени", 75),
        ("В некоторой степени", 50),
        ("В малой степени", 25),
        ("В очень малой степени", 0),
    ]


@pytest.mark.parametrize("instrument_id", ["burnout", "burnout_preschool"])
def test_burnout_scales(instrument_id: str) -> None:
    inst = INSTRUMENTS[instrument_id]
    scales = {s.id: s for s in inst.scales}
    assert list(scales) == ["personal", "work", "student"]  # no total score
    assert scales["work"].reverse == ["w7"]
    assert scales["personal"].reverse == scales["student"].reverse == []
    assert [scales[k].min_answered for k in scales] == [3, 4, 4]
    for scale in scales.values():
        assert scale.aggregation == "mean"
        assert [(b.code, b.upper, b.upper_inclusive, b.signal) for b in scale.bands] == [
            ("normal", 50, False, False),
            ("elevated", 100, True, True),
        ]
        assert scale.bands[1].label == "Повышенный уровень"


@pytest.mark.parametrize("instrument_id", ["burnout", "burnout_preschool"])
def test_burnout_texts(instrument_id: str) -> None:
    inst = INSTRUMENTS[instrument_id]
    # who sees what, as the consent says: not «только вы» (the database's administrators)
    assert "не видят ни методисты, ни администрация" in inst.intro
    assert "обслуживают бота" in inst.intro and "в тайне" in inst.intro
    assert "не видят ни методисты, ни администрация" in inst.result_note
    assert "только вы" not in inst.intro + inst.result_note
    assert "не диагноз" in inst.result_note
    assert "педагогу-психологу" in inst.result_note
    assert any("Kristensen" in s for s in inst.sources)
    for scale in inst.scales:
        assert "не диагноз" in scale.bands[1].interpretation


def _scoring(inst: Instrument) -> Any:
    """Everything that decides a score: items, options and their points, scales, bands."""
    return (
        [(q.id, q.type, [(o.value, o.score) for o in inst.options(q)]) for q in inst.questions],
        [
            (
                s.id,
                s.items,
                s.reverse,
                s.aggregation,
                s.min_answered,
                [(b.code, b.upper, b.upper_inclusive, b.signal) for b in s.bands],
            )
            for s in inst.scales
        ],
    )


@pytest.mark.parametrize("kind", ["burnout", "deficits", "young"])
def test_preschool_twin_fits_its_audience(kind: str) -> None:
    school, preschool = INSTRUMENTS[kind], INSTRUMENTS[PRESCHOOL[kind]]
    assert (school.audience.setting, preschool.audience.setting) == ("school", "preschool")
    assert school.kind == preschool.kind == kind
    assert [s.block for s in school.scales] == [s.block for s in preschool.scales]
    assert school.button == preschool.button  # one entry in the menu, whichever fits


def test_preschool_cbi_scores_as_the_school_one() -> None:
    """Same item ids and scoring: the results of schools and kindergartens stay comparable."""
    assert _scoring(INSTRUMENTS["burnout"]) == _scoring(INSTRUMENTS["burnout_preschool"])


def test_cbi_wording_follows_the_original() -> None:
    for instrument_id, pupils in (
        ("burnout", "обучающимися"),
        ("burnout_preschool", "воспитанниками"),
    ):
        inst = INSTRUMENTS[instrument_id]
        text = {q.id: q.text for q in inst.questions}
        for item in ("w3", "s2"):  # «frustrate»: not irritation
            assert "неудовлетворённости, разочарования" in text[item]
            assert "раздраж" not in text[item]
        assert "надоело" in text["s5"] and "усталость" not in text["s5"]  # fed up with
        assert "заболеть" in text["p6"]  # susceptible to illness, not being ill
        assert "истощение" in text["w5"]  # exhausted
        for item in ("s1", "s2", "s3", "s4", "s5", "s6"):
            assert pupils in text[item], item
        third = inst.sections[2]
        assert pupils in third.title and pupils in inst.scales[2].title
    preschool = INSTRUMENTS["burnout_preschool"]
    words = " ".join(
        [preschool.intro, preschool.result_note]
        + [q.text for q in preschool.questions]
        + [b.interpretation + b.recommendation for sc in preschool.scales for b in sc.bands]
    )
    for school_word in ("учени", "обучающ", "школ", "класс", "урок", "тетрад"):
        assert school_word not in words, school_word


# ---------------------------------------------------------------- young


@pytest.mark.parametrize("instrument_id", ["young", "young_preschool"])
def test_young_structure(instrument_id: str) -> None:
    inst = INSTRUMENTS[instrument_id]
    assert inst.kind == "young"
    assert inst.audience.kind == "young"
    assert inst.min_interval_days == 180
    need = inst.question("need_mentor")
    assert need.type == QuestionType.YESNO
    areas = inst.question("mentor_areas")
    assert areas.type == QuestionType.MULTI
    assert [(c.question, c.equals) for c in areas.show_if] == [("need_mentor", "yes")]
    assert (areas.min_choices, areas.max_choices) == (1, 3)
    assert inst.index_of("mentor_areas") == inst.index_of("need_mentor") + 1
    text = inst.question("help_request")
    assert text.type == QuestionType.TEXT
    assert not text.required
    assert text.max_length == 1000
    assert any(q.type == QuestionType.SCALE for q in inst.questions)


def test_young_counts_lessons() -> None:
    number = INSTRUMENTS["young"].question("lessons_per_week")
    assert number.type == QuestionType.NUMBER
    assert (number.min, number.max) == (0, 40)


@pytest.mark.parametrize("instrument_id", ["young", "young_preschool"])
def test_young_asks_about_support_education_and_plans(instrument_id: str) -> None:
    inst = INSTRUMENTS[instrument_id]
    assert "subject" in inst.scales[0].items
    forms = {o.value: o.label for o in inst.options(inst.question("support_forms"))}
    assert forms == {
        "mentor": "Наставник",
        "young_school": "Школа молодого педагога",
        "mo": "Методическое объединение",
        "community": "Сообщество молодых педагогов",
    }
    assert inst.question("support_forms").min_choices == 0  # nothing yet is an answer
    assert inst.question("social_support").type == QuestionType.MULTI
    education = [o.value for o in inst.options(inst.question("education"))]
    assert {"higher_ped", "college_ped"} <= set(education) and "other" in education
    assert inst.question("stay").type == QuestionType.SINGLE


# ---------------------------------------------------------------- broken files

VALID: dict[str, Any] = {
    "id": "broken",
    "version": 1,
    "title": "Анкета для проверки",
    "button": "Проверка",
    "intro": "Вступление.",
    "sources": ["тест"],
    "option_sets": {
        "agree": [
            {"value": 0, "label": "Нет"},
            {"value": 1, "label": "Отчасти"},
            {"value": 2, "label": "Да"},
        ]
    },
    "sections": [
        {
            "id": "main",
            "title": "Раздел",
            "questions": [
                {"id": "q1", "type": "yesno", "text": "Первый вопрос"},
                {"id": "q2", "type": "single", "text": "Второй вопрос", "option_set": "agree"},
                {
                    "id": "q3",
                    "type": "single",
                    "text": "Третий вопрос",
                    "option_set": "agree",
                    "show_if": {"question": "q1", "equals": "yes"},
                },
            ],
        }
    ],
    "scales": [
        {
            "id": "total",
            "title": "Итог",
            "items": ["q2", "q3"],
            "aggregation": "sum",
            "bands": [
                {"code": "low", "upper": 2, "label": "Мало", "interpretation": "."},
                {"code": "high", "upper": 4, "label": "Много", "interpretation": "."},
            ],
        }
    ],
}


def write(tmp_path: Path, data: dict[str, Any], name: str = "broken.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def problems_of(tmp_path: Path) -> str:
    with pytest.raises(InstrumentError) as exc:
        load_instruments(tmp_path)
    return str(exc.value)


def mutated() -> dict[str, Any]:
    return copy.deepcopy(VALID)


def test_the_fixture_is_valid(tmp_path: Path) -> None:
    write(tmp_path, VALID)
    assert set(load_instruments(tmp_path)) == {"broken"}


def test_show_if_to_unknown_question(tmp_path: Path) -> None:
    data = mutated()
    data["sections"][0]["questions"][2]["show_if"] = {"question": "nope", "equals": "yes"}
    write(tmp_path, data)
    message = problems_of(tmp_path)
    assert "broken.yaml" in message
    assert "q3" in message
    assert "nope" in message


def test_show_if_to_a_later_question(tmp_path: Path) -> None:
    data = mutated()
    data["sections"][0]["questions"][0]["show_if"] = {"question": "q2", "answered": True}
    write(tmp_path, data)
    message = problems_of(tmp_path)
    assert "q1" in message and "q2" in message


def test_show_if_to_unknown_option(tmp_path: Path) -> None:
    data = mutated()
    data["sections"][0]["questions"][2]["show_if"] = {"question": "q1", "equals": "maybe"}
    write(tmp_path, data)
    message = problems_of(tmp_path)
    assert "q3" in message and "maybe" in message


def test_duplicate_question_ids(tmp_path: Path) -> None:
    data = mutated()
    data["sections"][0]["questions"][2]["id"] = "q2"
    data["scales"][0]["items"] = ["q2"]
    write(tmp_path, data)
    message = problems_of(tmp_path)
    assert "broken.yaml" in message
    assert "вопрос q2" in message
    assert "повторяется" in message


def test_missing_option_set(tmp_path: Path) -> None:
    data = mutated()
    data["sections"][0]["questions"][1]["option_set"] = "absent"
    write(tmp_path, data)
    message = problems_of(tmp_path)
    assert "broken.yaml" in message
    assert "вопрос q2" in message
    assert "absent" in message


def test_bands_not_covering_the_maximum(tmp_path: Path) -> None:
    data = mutated()
    data["scales"][0]["bands"][-1]["upper"] = 3
    write(tmp_path, data)
    message = problems_of(tmp_path)
    assert "broken.yaml" in message
    assert "шкала total" in message
    assert "4" in message


def test_last_band_exclusive_at_the_maximum(tmp_path: Path) -> None:
    data = mutated()
    data["scales"][0]["bands"][-1]["upper_inclusive"] = False
    write(tmp_path, data)
    assert "шкала total" in problems_of(tmp_path)


def test_question_level_error_names_the_question(tmp_path: Path) -> None:
    data = mutated()
    del data["sections"][0]["questions"][1]["option_set"]  # a single choice without options
    write(tmp_path, data)
    message = problems_of(tmp_path)
    assert "broken.yaml" in message
    assert "вопрос q2" in message


def test_scale_level_error_names_the_scale(tmp_path: Path) -> None:
    data = mutated()
    data["scales"][0]["reverse"] = ["q1"]
    write(tmp_path, data)
    message = problems_of(tmp_path)
    assert "шкала total" in message


def test_scale_item_that_does_not_exist(tmp_path: Path) -> None:
    data = mutated()
    data["scales"][0]["items"] = ["q2", "q9"]
    write(tmp_path, data)
    message = problems_of(tmp_path)
    assert "шкала total" in message and "q9" in message


def test_bad_question_id(tmp_path: Path) -> None:
    data = mutated()
    data["sections"][0]["questions"][0]["id"] = "Q 1"
    write(tmp_path, data)
    message = problems_of(tmp_path)
    assert "вопрос Q 1" in message


def test_unknown_field_is_reported(tmp_path: Path) -> None:
    data = mutated()
    data["sections"][0]["questions"][1]["colour"] = "red"
    write(tmp_path, data)
    message = problems_of(tmp_path)
    assert "вопрос q2" in message and "colour" in message


def test_not_yaml(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    message = problems_of(tmp_path)
    assert message.startswith("broken.yaml")
    assert "YAML" in message


def test_not_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    assert "broken.yaml" in problems_of(tmp_path)


def test_every_broken_file_is_reported(tmp_path: Path) -> None:
    first = mutated()
    first["sections"][0]["questions"][1]["option_set"] = "absent"
    write(tmp_path, first, "a.yaml")
    second = mutated()
    second["id"] = "other"
    second["sections"][0]["questions"][2]["show_if"] = {"question": "ghost", "equals": "yes"}
    write(tmp_path, second, "b.yaml")
    with pytest.raises(InstrumentError) as exc:
        load_instruments(tmp_path)
    files = [p.file for p in exc.value.problems]
    assert files == ["a.yaml", "b.yaml"]


def test_same_id_in_two_files(tmp_path: Path) -> None:
    write(tmp_path, VALID, "a.yaml")
    write(tmp_path, VALID, "b.yaml")
    message = problems_of(tmp_path)
    assert "b.yaml" in message and "broken" in message


def test_unquoted_yes_in_show_if_is_caught(tmp_path: Path) -> None:
    """YAML reads a bare ``yes`` as true; the file must quote it, and is told so early."""
    data = mutated()
    text = yaml.safe_dump(data, allow_unicode=True).replace("equals: 'yes'", "equals: yes")
    assert "equals: yes" in text
    (tmp_path / "broken.yaml").write_text(text, encoding="utf-8")
    assert "q3" in problems_of(tmp_path)


# ---------------------------------------------------------------- young, pre-school


def test_preschool_young_feeds_mentoring_as_the_school_one() -> None:
    """Same ids where the meaning carries over; the mentor question and the mentor-area codes
    are the ones the mentoring prefill reads (``services.mentoring.TOPICS``)."""
    school, preschool = INSTRUMENTS["young"], INSTRUMENTS["young_preschool"]
    for question_id in ("need_mentor", "mentor_areas", "help_request", "support_satisfaction"):
        a, b = school.question(question_id), preschool.question(question_id)
        assert (a.type, a.show_if, a.min_choices, a.max_choices, a.required) == (
            b.type,
            b.show_if,
            b.min_choices,
            b.max_choices,
            b.required,
        ), question_id
    codes = [o.value for o in preschool.options(preschool.question("mentor_areas"))]
    assert codes == [o.value for o in school.options(school.question("mentor_areas"))]
    assert codes == list(TOPICS)
    for question_id in ("education", "support_forms", "social_support", "stay"):
        assert school.options(school.question(question_id)) == preschool.options(
            preschool.question(question_id)
        )
    # the difficulties: the school topics that carry over, and the kindergarten's own
    assert set(school.scales[0].items) <= set(preschool.scales[0].items)
    assert {"play", "environment", "adaptation"} <= set(preschool.scales[0].items)
    assert "class_teacher" not in {q.id for q in preschool.questions}
    assert [(s.id, s.aggregation) for s in school.scales] == [
        (s.id, s.aggregation) for s in preschool.scales
    ]
    for a, b in zip(school.scales, preschool.scales, strict=True):
        assert [(x.code, x.upper, x.upper_inclusive, x.signal) for x in a.bands] == [
            (x.code, x.upper, x.upper_inclusive, x.signal) for x in b.bands
        ]
    assert preschool.scales[0].min_answered == len(preschool.scales[0].items) // 2 + 1
    assert preschool.min_interval_days == school.min_interval_days


def test_preschool_young_speaks_of_kindergarten() -> None:
    inst = INSTRUMENTS["young_preschool"]
    everything = " ".join(
        [inst.title, inst.intro, inst.result_note]
        + [s.title + " " + (s.intro or "") for s in inst.sections]
        + [q.text + " " + (q.hint or "") for q in inst.questions]
        + [o.label for q in inst.questions for o in inst.options(q)]
        + [sc.title for sc in inst.scales]
        + [b.label + b.interpretation + b.recommendation for sc in inst.scales for b in sc.bands]
    )
    for needle in ("детском саду", "воспитанник", "ФОП ДО", "игр", "предметно-пространственн"):
        assert needle in everything, needle
    for school_word in SCHOOL_WORDS:
        assert school_word not in everything, school_word
    sources = " ".join(inst.sources)
    for needle in ("1155", "1028", "544н", "АЗ-1128/08"):
        assert needle in sources, needle
