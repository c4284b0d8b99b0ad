"""A synthetic municipality for demonstrations, screenshots, benchmarks and manual testing.

``fill_demo`` fills an *empty* database: the twelve schools of the sample list
(``services/samples/schools.csv``, «Энский муниципальный округ»), a few hundred teachers
with plausible profiles, and questionnaires completed over the eight weeks before ``today``.

* Deterministic: everything is drawn from ``random.Random`` seeded by ``seed`` (each teacher
  from their own generator seeded by ``"<seed>/<number>"``, so one teacher's data does not
  depend on another's); nothing depends on dict or set iteration order or on the clock.
* Answers come from the instruments as loaded (no question ids are hard-coded): each item
  of a scale gets the option nearest to a per-teacher latent level of that scale plus noise,
  skip conditions are followed through :func:`surveys.engine.next_question`, and scores are
  written by :func:`services.surveys.complete`, i.e. by the real scoring.
* Profiles: «Фамилия Имя Отчество» in matching male/female forms (about four in five are
  women, nearly all in kindergartens); ages 23–66 (born 1960–2003 when ``today`` is in
  2026), first teaching job at 20 or later; about 13 % young teachers (under 35, at most 3
  years); school staff are mostly subject teachers (with fitting subject sets), kindergarten
  staff mostly «воспитатели», the house of creativity «педагоги доп. образования», plus a
  deputy, a psychologist and others; categories by experience, awarded within the last 5
  years and at least 2 years after the first job.
* Questionnaires: deficits by about 70 % (some twice, a month or more apart), burnout by
  about 40 %, the young teachers' questionnaire by most young teachers, completed over the
  8 weeks before ``today``; about 3 % of teachers have an attempt left half-way.
* Development (courses, routes) and mentoring (mentors, requests, pairs, meetings) follow,
  see :mod:`services.demo_development` and :mod:`services.demo_mentoring`.
* Latent levels: a teacher has a general difficulty level; each deficits block (``scale.block``)
  varies around it, young teachers have more methodical and psychological difficulties;
  burnout is a separate latent level (loosely tied to difficulty), so some teachers score
  above 50; the young teachers' questionnaire follows the same difficulty level.
* Telegram ids start at :data:`DEMO_TELEGRAM_ID_BASE` = 7 000 000 000 000. Real user ids are
  today below about 10¹⁰ (ten digits) and grow slowly, so these belong to no existing
  account and will not for many years, yet they fit BIGINT and Telegram's 52-bit id range;
  a message "sent" to one fails with «chat not found» instead of reaching somebody. :func:`is_demo_telegram_id` lets the
  outbox sender skip them altogether.

Nothing is committed here: the caller commits (or rolls back).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Answer, Attempt, AttemptStatus, School, SchoolKind, User, UserSubject
from services.demo_development import fill_development
from services.demo_mentoring import fill_mentoring
from services.instruments import InstrumentRegistry, Registered
from services.people import is_young
from services.reference import PRESCHOOL
from services.schools import SAMPLE_SCHOOLS_CSV, import_schools
from services.surveys import complete, in_audience
from surveys import engine
from surveys.schema import (
    Aggregation,
    AnswerValue,
    Instrument,
    OptionValue,
    Question,
    QuestionType,
    Scale,
)

DEMO_TELEGRAM_ID_BASE = 7_000_000_000_000
BATCH = 200


def is_demo_telegram_id(telegram_id: int) -> bool:
    return telegram_id >= DEMO_TELEGRAM_ID_BASE


class DemoError(Exception):
    pass


@dataclass
class DemoReport:
    schools: int = 0
    teachers: int = 0
    young: int = 0
    attempts_completed: int = 0
    attempts_in_progress: int = 0
    answers: int = 0
    scale_results: int = 0
    completed_by_instrument: dict[str, int] = field(default_factory=dict)
    catalog_items: int = 0
    courses: int = 0
    routes_active: int = 0
    routes_draft: int = 0
    steps_done: int = 0
    mentors: int = 0
    mentor_requests_draft: int = 0
    mentor_requests_waiting: int = 0
    pairs_active: int = 0
    pairs_finished: int = 0
    meetings: int = 0

    def mentoring_line(self) -> str:
        """One line for the summary the command line prints."""
        return (
            f"Наставничество: наставников {self.mentors}, активных пар {self.pairs_active}, "
            f"закрытых пар {self.pairs_finished}, встреч {self.meetings}, заявок у методиста "
            f"{self.mentor_requests_waiting}, черновиков заявок {self.mentor_requests_draft}."
        )


# ------------------------------------------------------------------ names


def _word_list(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_SURNAMES = _word_list(
    "Иванов Смирнов Кузнецов Попов Соколов Лебедев Козлов Новиков Морозов Петров Волков "
    "Соловьёв Васильев Зайцев Павлов Семёнов Голубев Виноградов Богданов Воробьёв Фёдоров "
    "Михайлов Беляев Тарасов Белов Комаров Орлов Киселёв Макаров Андреев Ковалёв Ильин Гусев "
    "Титов Кузьмин Кудрявцев Баранов Куликов Алексеев Степанов Яковлев Сорокин Сергеев "
    "Романов Захаров Борисов Королёв Герасимов Пономарёв Григорьев Лазарев Медведев Ершов "
    "Никитин Соболев Рябов Поляков Цветков Данилов Жуков Фролов Журавлёв Николаев Крылов "
    "Максимов Осипов Белоусов Федотов Егоров Матвеев Бобров Дмитриев Калинин Анисимов Петухов "
    "Антонов Тимофеев Никифоров Веселов Филиппов Марков Большаков Суханов Миронов Ширяев "
    "Александров Коновалов Шестаков Казаков Ефимов Денисов Громов Фомин Давыдов Мельников "
    "Щербаков Блинов Колесников Карпов Афанасьев Власов Маслов Исаков Тихонов Аксёнов "
    "Гаврилов Родионов Котов Горбунов Кудряшов Быков Зуев Третьяков Савельев Панов Рыбаков "
    "Суворов Абрамов Воронов Мухин Архипов Трофимов Мартынов Емельянов Горшков Чернов "
    "Овчинников Селезнёв Панфилов Копылов Михеев Галкин Назаров Лобанов Лукин Беляков Потапов "
    "Некрасов Хохлов Жданов Наумов Шилов Воронцов Ермаков Дроздов Игнатьев Савин Логинов "
    "Сафонов Капустин Кириллов Моисеев Елисеев Костин Орехов Ефремов Исаев Евдокимов "
    "Калашников Кабанов Носков Юдин Кулагин Лапин Прохоров Нестеров Харитонов Агафонов "
    "Муравьёв Ларионов Федосеев Зимин Пахомов Шубин Филатов Крюков Рогов Кулаков Терентьев "
    "Молчанов Гришин Кононов Ситников Симонов Мишин Фадеев Носов Гуляев Шаров Устинов "
    "Вишняков Евсеев Брагин Корнилов Авдеев Зыков Бирюков Никонов Щукин Одинцов Сазонов "
    "Гордеев Самойлов Князев Уваров Доронин Рожков Самсонов Лихачёв Буров Сысоев Русаков "
    "Стрелков Гущин Субботин Фокин Блохин Кондратьев Вишневский Добровольский Покровский "
    "Островский Полянский Яблонский Раевский Заречный Шевченко Коваленко Бондаренко Ткаченко "
    "Кравченко Марченко Савченко Черных Седых Белых"
)

_MALE_NAMES = _word_list(
    "Александр Алексей Андрей Антон Артём Борис Вадим Валерий Василий Виктор Виталий Владимир "
    "Вячеслав Геннадий Георгий Денис Дмитрий Евгений Иван Игорь Илья Кирилл Константин Максим "
    "Михаил Никита Николай Олег Павел Роман Сергей Станислав Юрий"
)

# female first names by the decade of birth: what was popular in those years
_FEMALE_NAMES_OLD = _word_list(
    "Ольга Елена Татьяна Наталья Ирина Светлана Галина Людмила Надежда Любовь Марина "
    "Валентина Нина Лариса Вера Тамара"
)
_FEMALE_NAMES_MID = _word_list(
    "Елена Наталья Ольга Юлия Анна Екатерина Мария Татьяна Светлана Ирина Оксана Евгения "
    "Марина Александра"
)
_FEMALE_NAMES_YOUNG = _word_list(
    "Анастасия Дарья Екатерина Анна Мария Алина Кристина Виктория Ксения Полина Юлия "
    "Елизавета Валерия Александра Софья"
)

# father's name -> (patronymic of a son, patronymic of a daughter)
_PATRONYMICS: tuple[tuple[str, str], ...] = (
    ("Александрович", "Александровна"),
    ("Алексеевич", "Алексеевна"),
    ("Анатольевич", "Анатольевна"),
    ("Андреевич", "Андреевна"),
    ("Борисович", "Борисовна"),
    ("Валентинович", "Валентиновна"),
    ("Валерьевич", "Валерьевна"),
    ("Васильевич", "Васильевна"),
    ("Викторович", "Викторовна"),
    ("Владимирович", "Владимировна"),
    ("Вячеславович", "Вячеславовна"),
    ("Геннадьевич", "Геннадьевна"),
    ("Григорьевич", "Григорьевна"),
    ("Дмитриевич", "Дмитриевна"),
    ("Евгеньевич", "Евгеньевна"),
    ("Иванович", "Ивановна"),
    ("Игоревич", "Игоревна"),
    ("Константинович", "Константиновна"),
    ("Михайлович", "Михайловна"),
    ("Николаевич", "Николаевна"),
    ("Олегович", "Олеговна"),
    ("Павлович", "Павловна"),
    ("Петрович", "Петровна"),
    ("Сергеевич", "Сергеевна"),
    ("Юрьевич", "Юрьевна"),
    ("Фёдорович", "Фёдоровна"),
)


def female_surname(male: str) -> str:
    """«Иванов» → «Иванова», «Вишневский» → «Вишневская»; «Шевченко», «Черных» do not change."""
    if male.endswith(("ский", "цкий")):
        return male[:-2] + "ая"
    if male.endswith("ный"):
        return male[:-2] + "ая"
    if male.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return male + "а"
    return male


def _full_name(rng: random.Random, male: bool, birth_year: int) -> str:
    surname = rng.choice(_SURNAMES)
    patronymic = rng.choice(_PATRONYMICS)
    if male:
        return f"{surname} {rng.choice(_MALE_NAMES)} {patronymic[0]}"
    if birth_year < 1976:
        names = _FEMALE_NAMES_OLD
    elif birth_year < 1991:
        names = _FEMALE_NAMES_MID
    else:
        names = _FEMALE_NAMES_YOUNG
    return f"{female_surname(surname)} {rng.choice(names)} {patronymic[1]}"


# ------------------------------------------------------------------ profiles

# subject sets of school teachers: (subjects, weight, share of men)
_SUBJECT_PROFILES: tuple[tuple[tuple[str, ...], float, float], ...] = (
    (("primary",), 22, 0.02),
    (("russian", "literature"), 12, 0.03),
    (("literature", "native", "russian"), 1, 0.03),
    (("math",), 9, 0.12),
    (("informatics", "math"), 2, 0.3),
    (("informatics",), 2, 0.5),
    (("physics",), 3, 0.35),
    (("math", "physics"), 1, 0.3),
    (("chemistry",), 2, 0.1),
    (("biology", "chemistry"), 2, 0.1),
    (("biology",), 2, 0.08),
    (("biology", "geography"), 1, 0.1),
    (("geography",), 2, 0.15),
    (("history", "social"), 6, 0.25),
    (("english",), 9, 0.05),
    (("foreign",), 1, 0.05),
    (("music",), 2, 0.15),
    (("art",), 1, 0.1),
    (("art", "technology"), 1, 0.2),
    (("technology",), 3, 0.45),
    (("pe",), 6, 0.5),
    (("obzr",), 1, 0.7),
    (("obzr", "pe"), 1, 0.7),
    (("defect",), 2, 0.02),
)
_MALE_SHARE = {
    "preschool": 0.01,
    "extra": 0.3,
    "psychologist": 0.08,
    "social": 0.08,
    "deputy": 0.2,
    "other": 0.2,
}


def _staff_positions(kind: str, n: int) -> list[str]:
    """Positions of a staff of ``n``: a deputy or two, specialists, the rest teach."""
    if kind == SchoolKind.KINDERGARTEN.value:
        extra = ["deputy", "psychologist", "other", "other"]
        main = "preschool"
    elif kind == SchoolKind.EXTRA.value:
        extra = ["deputy", "other"]
        main = "extra"
    else:
        extra = ["deputy", "psychologist"]
        if n >= 25:
            extra.append("social")
        if n >= 30:
            extra.append("deputy")
        if n >= 35:
            extra.append("other")
    extra = extra[: max(0, n - max(1, n * 2 // 3))]
    return extra + [main if kind != SchoolKind.SCHOOL.value else "teacher"] * (n - len(extra))


@dataclass
class _Teacher:
    number: int
    rng: random.Random
    school: School
    position: str
    subjects: tuple[str, ...]
    male: bool
    full_name: str
    birth_year: int
    teaching_since: int
    category: str
    category_year: int | None
    conformity_year: int | None  # attested for conformity with the position (no category)
    young: bool
    difficulty: float
    burnout: float
    blocks: dict[str, float] = field(default_factory=dict)
    user: User | None = None


def _clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return min(hi, max(lo, x))


def _ages(rng: random.Random, young: bool, year: int) -> tuple[int, int]:
    """(birth year, first year of teaching). Ages 23–66, first job at 20 or later."""
    if young:
        lo, hi = rng.choices([(23, 26), (27, 30), (31, 34)], weights=[0.6, 0.25, 0.15])[0]
        age = rng.randint(lo, hi)
        years = rng.choices([0, 1, 2, 3], weights=[0.3, 0.3, 0.2, 0.2])[0]
        return year - age, year - years
    lo, hi = rng.choices(
        [(25, 34), (35, 44), (45, 54), (55, 59), (60, 66)], weights=[0.12, 0.27, 0.30, 0.17, 0.14]
    )[0]
    age = rng.randint(lo, hi)
    start = rng.randint(21, 24) if rng.random() < 0.85 else rng.randint(25, 40)
    start = max(20, min(start, age - (4 if age < 35 else 0)))
    return year - age, year - (age - start)


def _category(rng: random.Random, since: int, year: int) -> tuple[str, int | None]:
    """Attestation category and the year it was awarded (valid 5 years, after two years of
    work; «высшая» not earlier than two years after «первая»)."""
    years = year - since
    if years < 2:
        return "none", None
    if years < 5:
        dist = [("none", 0.5), ("conformity", 0.25), ("first", 0.25)]
    elif years < 15:
        dist = [("none", 0.12), ("conformity", 0.15), ("first", 0.45), ("highest", 0.28)]
    else:
        dist = [("none", 0.07), ("conformity", 0.12), ("first", 0.34), ("highest", 0.47)]
    cat = rng.choices([c for c, _ in dist], weights=[w for _, w in dist])[0]
    earliest = since + (4 if cat == "highest" else 2)
    if cat == "highest" and earliest > year:
        cat, earliest = "first", since + 2
    if cat == "none":
        return cat, None
    return cat, rng.randint(max(earliest, year - 4), year)


def _make_teacher(number: int, seed: int, school: School, position: str, year: int) -> _Teacher:
    rng = random.Random(f"{seed}/{number}")
    young = rng.random() < 0.135
    birth, since = _ages(rng, young, year)
    subjects: tuple[str, ...] = ()
    if position == "teacher":
        subjects, _, male_share = rng.choices(
            _SUBJECT_PROFILES, weights=[w for _, w, _ in _SUBJECT_PROFILES]
        )[0]
    else:
        male_share = _MALE_SHARE.get(position, 0.15)
    male = rng.random() < male_share
    category, category_year = _category(rng, since, year)
    conformity_year = None
    if category == "conformity":  # an attestation, not a category (приказ № 196)
        category, category_year, conformity_year = "none", None, category_year
    elif category == "highest" and year - since >= 20 and number % 9 in (0, 4):
        # the categories above высшая: «педагог-наставник», «педагог-методист»
        category = "mentor" if number % 9 == 0 else "methodist"
    difficulty = rng.betavariate(2.2, 5.5)
    is_new = (year - birth) < 35 and (year - since) <= 3
    if is_new:
        difficulty += 0.1
    burnout = _clamp(rng.betavariate(2.4, 3.2) + 0.2 * (difficulty - 0.3))
    teacher = _Teacher(
        number=number,
        rng=rng,
        school=school,
        position=position,
        subjects=subjects,
        male=male,
        full_name=_full_name(rng, male, birth),
        birth_year=birth,
        teaching_since=since,
        category=category,
        category_year=category_year,
        conformity_year=conformity_year,
        young=is_new,
        difficulty=_clamp(difficulty),
        burnout=burnout,
    )
    return teacher


# ------------------------------------------------------------------ answers

_YOUNG_BLOCK_SHIFT = {
    "methodical": 0.12,
    "psychological": 0.14,
    "communicative": 0.05,
    "subject": 0.03,
}
_TEXTS = (
    "Хотелось бы чаще бывать на открытых уроках опытных коллег.",
    "Нужна помощь с рабочей программой и документацией.",
    "Интересен семинар о работе с родителями.",
    "Хочу научиться спокойнее удерживать дисциплину на уроке.",
    "Было бы полезно разбирать мои уроки вместе с наставником.",
    "Нужны консультации по работе с детьми с ОВЗ.",
    "Не хватает времени на подготовку к урокам.",
    "Спасибо, пока всё устраивает.",
)
_PRESCHOOL_TEXTS = (  # the same, in the words of a kindergarten
    "Хотелось бы чаще бывать на открытых занятиях опытных воспитателей.",
    "Нужна помощь с рабочей программой группы и документацией.",
    "Интересен семинар о работе с родителями воспитанников.",
    "Хочу научиться спокойнее справляться с капризами и ссорами детей.",
    "Нужны идеи для развивающей среды группы.",
    "Нужны консультации по работе с детьми с ОВЗ.",
    "Трудно с адаптацией малышей, которые только пришли в группу.",
    "Спасибо, пока всё устраивает.",
)


def _scale_target(t: _Teacher, inst: Instrument, scale: Scale, shift: float) -> float:
    """The teacher's latent level of a scale, in the direction of the scale's raw points."""
    key = f"{inst.id}:{scale.id}"
    if key in t.blocks:
        return _clamp(t.blocks[key] - shift)
    rng = t.rng
    if inst.kind == "deficits":
        block = scale.block or scale.id
        level = t.difficulty + rng.gauss(0, 0.08)
        if t.young:
            level += _YOUNG_BLOCK_SHIFT.get(block, 0.05)
    elif inst.kind == "burnout":
        level = t.burnout + rng.gauss(0, 0.07)
    elif inst.kind == "young":
        if scale.aggregation == Aggregation.PERCENT:  # a share of difficulties
            level = t.difficulty + 0.05 + rng.gauss(0, 0.06)
        else:  # a rating of the support received
            level = 0.8 - 0.7 * (t.difficulty - 0.25) + rng.gauss(0, 0.15)
    else:
        level = rng.betavariate(2, 2)
    t.blocks[key] = _clamp(level)
    return _clamp(level - shift)


def _choice_answer(
    t: _Teacher, inst: Instrument, q: Question, scales: dict[str, Scale], shift: float
) -> AnswerValue:
    rng = t.rng
    options = inst.options(q)
    scale = scales.get(q.id)
    if scale is not None:
        lo, hi = inst.item_points_range(q.id)
        target = _scale_target(t, inst, scale, shift) + rng.gauss(0, 0.2)
        best: tuple[float, float, int] | None = None
        for i, o in enumerate(options):
            points = o.score if o.score is not None else lo
            if q.id in scale.reverse:
                points = lo + hi - points
            norm = (points - lo) / (hi - lo) if hi > lo else 0.5
            cand = (abs(norm - target), norm, i)
            if best is None or cand < best:
                best = cand
        assert best is not None
        return options[best[2]].value
    if q.type == QuestionType.YESNO:
        return "yes" if rng.random() < _clamp(0.2 + t.difficulty, 0.1, 0.9) else "no"
    return options[rng.randrange(len(options))].value


def _multi_answer(
    t: _Teacher, inst: Instrument, q: Question, answers: dict[str, AnswerValue]
) -> list[OptionValue]:
    """Options named like an earlier question (e.g. areas of help) are chosen more often when
    that question was answered with more points."""
    rng = t.rng
    options = inst.options(q)
    weights: list[float] = []
    for o in options:
        w = 0.5
        earlier = answers.get(str(o.value))
        if earlier is not None and not isinstance(earlier, list):
            try:
                lo, hi = inst.item_points_range(str(o.value))
                other = inst.question(str(o.value))
                pts = next((x.score for x in inst.options(other) if x.value == earlier), None)
                if pts is not None and hi > lo:
                    w = 0.1 + 2 * (pts - lo) / (hi - lo)
            except (KeyError, ValueError):
                pass
        weights.append(w)
    most = min(q.max_choices or len(options), len(options), 4)
    least = min(max(1, q.min_choices), most)
    k = rng.randint(least, most)
    chosen: list[int] = []
    pool = list(range(len(options)))
    for _ in range(k):
        i = rng.choices(pool, weights=[weights[j] for j in pool], k=1)[0]
        chosen.append(i)
        pool.remove(i)
    return [options[i].value for i in sorted(chosen)]


def _answer(
    t: _Teacher,
    inst: Instrument,
    q: Question,
    answers: dict[str, AnswerValue],
    scales: dict[str, Scale],
    shift: float,
) -> AnswerValue:
    rng = t.rng
    if not q.required:
        skip = 0.03
        scale = scales.get(q.id)
        if q.type == QuestionType.TEXT:
            skip = 0.75
        elif q.type == QuestionType.NUMBER:
            skip = 0.1
        elif (
            scale is not None
            and inst.kind == "deficits"
            and (scale.block or scale.id) == "subject"
            and t.position not in ("teacher", "extra")
        ):
            skip = 0.25  # «не относится к моей работе» for non-subject staff
        if rng.random() < skip:
            return None
    if q.type == QuestionType.MULTI:
        return _multi_answer(t, inst, q, answers)
    if q.type == QuestionType.NUMBER:
        lo = q.min if q.min is not None else 0.0
        hi = q.max if q.max is not None else max(lo + 100.0, 100.0)
        value = rng.triangular(lo, hi, lo + 0.45 * (hi - lo))
        return round(value) if q.integer else round(value, 1)
    if q.type == QuestionType.TEXT:
        texts = _PRESCHOOL_TEXTS if inst.audience.setting == PRESCHOOL else _TEXTS
        return rng.choice(texts)[: q.max_length]
    return _choice_answer(t, inst, q, scales, shift)


def _fill(
    t: _Teacher, inst: Instrument, *, shift: float = 0.0, stop_after: int | None = None
) -> tuple[dict[str, AnswerValue], str | None]:
    """Answers in the order they are asked; with ``stop_after``, the next question too."""
    scales: dict[str, Scale] = {}
    for scale in inst.scales:
        for item in scale.items:
            scales.setdefault(item, scale)
    answers: dict[str, AnswerValue] = {}
    while True:
        q = engine.next_question(inst, answers)
        if q is None:
            return answers, None
        if stop_after is not None and len(answers) >= stop_after:
            return answers, q.id
        answers[q.id] = _answer(t, inst, q, answers, scales, shift)


# ------------------------------------------------------------------ schedule

_RATE = {"deficits": 0.70, "burnout": 0.40, "young": 0.85, "other": 0.30}


def _moment(rng: random.Random, today: date, days_ago: int) -> datetime:
    """A moment on a day before ``today`` between 07:00 and 21:59 Moscow time (UTC+3)."""
    day = today - timedelta(days=days_ago)
    return datetime.combine(
        day, time(rng.randint(4, 18), rng.randint(0, 59), rng.randint(0, 59)), UTC
    )


@dataclass
class _Planned:
    teacher: _Teacher
    registered: Registered
    answers: dict[str, AnswerValue]
    started_at: datetime
    finished_at: datetime
    completed: bool
    current: str | None
    attempt: Attempt | None = None


def _plan(
    t: _Teacher, registry: InstrumentRegistry, today: date, engagement: float
) -> list[_Planned]:
    rng = t.rng
    assert t.user is not None
    out: list[_Planned] = []
    missed: list[Registered] = []
    for reg in registry.ordered():
        inst = reg.instrument
        if not in_audience(inst, t.user, today, t.school.kind):
            continue
        rate = _RATE.get(inst.kind, _RATE["other"]) * (engagement if inst.kind != "young" else 1.0)
        if rng.random() >= min(rate, 0.97):
            missed.append(reg)
            continue
        if inst.kind == "deficits" and rng.random() < 0.5:
            days = [rng.randint(36, 45)]  # the autumn campaign
        else:
            days = [rng.randint(1, 56)]
        gap = max(inst.min_interval_days, 1)
        if inst.kind == "deficits" and rng.random() < 0.12 and 56 - gap >= 2:
            first = rng.randint(gap + 2, 56)
            days = [first, rng.randint(1, first - gap - 1)]  # diagnosed again
        for n, days_ago in enumerate(days):
            answers, _ = _fill(t, inst, shift=0.06 * n)
            done = _moment(rng, today, days_ago)
            minutes = rng.randint(3, 9) + len(answers) // 4
            out.append(
                _Planned(t, reg, answers, done - timedelta(minutes=minutes), done, True, None)
            )
    if missed and rng.random() < 0.04:
        reg = missed[0]
        total = len(reg.instrument.questions)
        stop = rng.randint(1, max(1, total - 2))
        answers, current = _fill(t, reg.instrument, stop_after=stop)
        if current is not None:
            started = _moment(rng, today, rng.randint(1, 6))
            finished = started + timedelta(minutes=rng.randint(1, 5) + len(answers) // 4)
            out.append(_Planned(t, reg, answers, started, finished, False, current))
    return out


# relative staff sizes of the sample schools: the basic school and the village school are
# small, kindergartens and the house of creativity smaller still
_SAMPLE_SIZES = {
    "sosh1": 1.1,
    "sosh2": 1.2,
    "sosh3": 1.0,
    "licey4": 1.15,
    "gimn5": 1.1,
    "sosh7": 1.3,
    "oosh9": 0.5,
    "sosh11": 1.0,
    "sosnovka": 0.55,
    "ds5": 0.5,
    "ds12": 0.45,
    "ddt": 0.45,
}
_KIND_SIZES = {
    SchoolKind.SCHOOL.value: 1.0,
    SchoolKind.KINDERGARTEN.value: 0.5,
    SchoolKind.EXTRA.value: 0.45,
}


def _allocate(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` by weights (largest remainder; ties go to the earlier school)."""
    s = sum(weights)
    exact = [total * w / s for w in weights]
    sizes = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - sizes[i]), i))
    for i in order[: total - sum(sizes)]:
        sizes[i] += 1
    return sizes


# ------------------------------------------------------------------ main


async def fill_demo(
    session: AsyncSession,
    registry: InstrumentRegistry,
    *,
    seed: int = 2026,
    teachers: int = 400,
    today: date | None = None,
) -> DemoReport:
    """Fill an empty database with a synthetic municipality (see the module docstring).

    Raises :class:`DemoError` when there is already a user or a school.
    """
    users = int(await session.scalar(select(func.count()).select_from(User)) or 0)
    schools_n = int(await session.scalar(select(func.count()).select_from(School)) or 0)
    if users or schools_n:
        raise DemoError(
            f"База не пуста: пользователей — {users}, школ — {schools_n}. "
            "Демонстрационные данные заполняют только пустую базу."
        )
    today = today or datetime.now(UTC).date()
    year = today.year
    rng = random.Random(seed)
    report = DemoReport()

    imported = await import_schools(session, SAMPLE_SCHOOLS_CSV)
    if imported.errors:
        raise DemoError("образец списка школ не читается: " + "; ".join(map(str, imported.errors)))
    schools = list((await session.execute(select(School).order_by(School.id))).scalars())
    report.schools = len(schools)

    weights = [
        _SAMPLE_SIZES.get(s.code, _KIND_SIZES.get(s.kind, 0.8)) * rng.uniform(0.9, 1.1)
        for s in schools
    ]
    engagement = [rng.uniform(0.75, 1.2) for _ in schools]
    sizes = _allocate(teachers, weights)

    people: list[tuple[_Teacher, float]] = []
    names: set[str] = set()
    number = 0
    for school, size, eng in zip(schools, sizes, engagement, strict=True):
        for position in _staff_positions(school.kind, size):
            number += 1
            t = _make_teacher(number, seed, school, position, year)
            while t.full_name in names:  # one name per person keeps demos unambiguous
                t.full_name = _full_name(t.rng, t.male, t.birth_year)
            names.add(t.full_name)
            people.append((t, eng))

    # profiles and questionnaires are drawn first, then written in batches
    plans: list[_Planned] = []
    for t, eng in people:
        t.user = User(
            telegram_id=DEMO_TELEGRAM_ID_BASE + t.number,
            language="ru",
            full_name=t.full_name,
            school_id=t.school.id,
            position=t.position,
            birth_year=t.birth_year,
            teaching_since=t.teaching_since,
            category=t.category,
            category_year=t.category_year,
            conformity_date=min(date(t.conformity_year, 1 + t.number % 12, 15), today)
            if t.conformity_year
            else None,
            subjects=[UserSubject(subject=s) for s in sorted(t.subjects)],
        )
        mine = _plan(t, registry, today, eng)
        first = min((p.started_at for p in mine), default=None)
        if first is None:
            first = _moment(t.rng, today, t.rng.randint(1, 60))
        t.user.registered_at = first - timedelta(minutes=t.rng.randint(5, 60 * 24 * 14))
        t.user.consent_at = t.user.registered_at - timedelta(minutes=t.rng.randint(1, 5))
        plans.extend(mine)
    all_users = [t.user for t, _ in people if t.user is not None]
    for start in range(0, len(all_users), BATCH):
        session.add_all(all_users[start : start + BATCH])
        await session.flush()
    report.teachers = len(all_users)
    report.young = sum(1 for u in all_users if is_young(u, today))

    for start in range(0, len(plans), BATCH):
        batch = plans[start : start + BATCH]
        for p in batch:
            assert p.teacher.user is not None
            p.attempt = Attempt(
                user_id=p.teacher.user.id,
                instrument_version_id=p.registered.version_id,
                instrument_id=p.registered.instrument.id,
                status=AttemptStatus.IN_PROGRESS.value,
                current_question=p.current,
                started_at=p.started_at,
                updated_at=p.finished_at,
            )
        session.add_all([p.attempt for p in batch if p.attempt is not None])
        await session.flush()
        rows: list[dict[str, object]] = []
        for p in batch:
            assert p.attempt is not None
            step = (p.finished_at - p.started_at) / max(1, len(p.answers))
            for i, (qid, value) in enumerate(p.answers.items()):
                rows.append(
                    {
                        "attempt_id": p.attempt.id,
                        "question_id": qid,
                        "value": value,
                        "final": True,
                        "answered_at": p.started_at + step * (i + 1),
                    }
                )
        if rows:
            await session.execute(insert(Answer), rows)
        report.answers += len(rows)
        for p in batch:
            assert p.attempt is not None
            if p.completed:
                results = await complete(
                    session, p.attempt, p.registered.instrument, p.answers, p.finished_at
                )
                report.attempts_completed += 1
                report.scale_results += len(results)
                iid = p.registered.instrument.id
                report.completed_by_instrument[iid] = report.completed_by_instrument.get(iid, 0) + 1
            else:
                report.attempts_in_progress += 1
    await session.flush()

    dev = await fill_development(session, registry, all_users, seed=seed, today=today)
    report.catalog_items = dev.catalog_items
    report.courses = dev.courses
    report.routes_active = dev.routes_active
    report.routes_draft = dev.routes_draft
    report.steps_done = dev.steps_done

    # the methodist who offered mentors: a demo Telegram id that no teacher has
    mentoring = await fill_mentoring(
        session, all_users, seed=seed, today=today, methodist_telegram_id=DEMO_TELEGRAM_ID_BASE
    )
    report.mentors = mentoring.mentors
    report.mentor_requests_draft = mentoring.requests_draft
    report.mentor_requests_waiting = mentoring.requests_waiting
    report.pairs_active = mentoring.pairs_active
    report.pairs_finished = mentoring.pairs_finished
    report.meetings = mentoring.meetings
    return report
