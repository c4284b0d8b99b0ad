"""Pydantic models of a questionnaire file (``surveys/instruments/*.yaml``).

An instrument is data: questions, options, skip conditions, scales, reverse items, bands and
their texts. Everything a file can get wrong is caught here, at start-up and by
``pedbot check``, with the question or scale id in the message.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from functools import cached_property
from itertools import pairwise
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

OptionValue = int | str
AnswerValue = int | float | str | list[OptionValue] | None

ID_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


class QuestionType(StrEnum):
    SINGLE = "single"
    MULTI = "multi"
    SCALE = "scale"
    NUMBER = "number"
    TEXT = "text"
    YESNO = "yesno"


CHOICE_TYPES = {QuestionType.SINGLE, QuestionType.MULTI, QuestionType.SCALE, QuestionType.YESNO}


class Aggregation(StrEnum):
    MEAN = "mean"
    SUM = "sum"
    PERCENT = "percent"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(Strict):
    value: OptionValue
    label: Annotated[str, Field(min_length=1, max_length=120)]
    points: float | None = None

    @property
    def score(self) -> float | None:
        """Points this option gives on a scale: explicit ``points`` or a numeric ``value``."""
        if self.points is not None:
            return self.points
        if isinstance(self.value, int):
            return float(self.value)
        return None


YESNO_OPTIONS: tuple[Option, ...] = (
    Option(value="yes", label="Да", points=1),
    Option(value="no", label="Нет", points=0),
)


class Condition(Strict):
    """Show a question only when an earlier answer matches.

    ``equals`` / ``in`` / ``not_in`` compare the answer (for a multiple choice: any chosen
    option); ``answered`` asks only that the earlier question has a non-empty answer.
    """

    question: str
    equals: OptionValue | None = None
    in_: Annotated[list[OptionValue] | None, Field(alias="in")] = None
    not_in: list[OptionValue] | None = None
    answered: bool | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_test(self) -> Self:
        tests = [self.equals, self.in_, self.not_in, self.answered]
        if sum(t is not None for t in tests) != 1:
            raise ValueError(
                "условие show_if должно содержать ровно одно из: equals, in, not_in, answered"
            )
        return self

    def holds(self, answer: AnswerValue, present: bool) -> bool:
        if self.answered is not None:
            has = present and answer not in (None, [], "")
            return has == self.answered
        if not present or answer is None:
            return False
        chosen = set(answer) if isinstance(answer, list) else {answer}
        if self.equals is not None:
            return self.equals in chosen
        if self.in_ is not None:
            return bool(chosen & set(self.in_))
        assert self.not_in is not None
        return not (chosen & set(self.not_in))


class Question(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    type: QuestionType
    text: Annotated[str, Field(min_length=1, max_length=1000)]
    hint: Annotated[str | None, Field(max_length=500)] = None
    required: bool = True
    options: list[Option] | None = None
    option_set: str | None = None
    min_choices: Annotated[int, Field(ge=0)] = 1
    max_choices: Annotated[int | None, Field(ge=1)] = None
    min: float | None = None
    max: float | None = None
    integer: bool = True
    max_length: Annotated[int, Field(ge=1, le=3000)] = 1000
    show_if: list[Condition] = Field(default_factory=list)

    @field_validator("show_if", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return [value]
        return value

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.type in CHOICE_TYPES - {QuestionType.YESNO}:
            if (self.options is None) == (self.option_set is None):
                raise ValueError("укажите либо options, либо option_set")
        elif self.options is not None or self.option_set is not None:
            raise ValueError(f"у вопроса типа {self.type} не бывает вариантов ответа")
        if self.type == QuestionType.NUMBER and (
            self.min is not None and self.max is not None and self.min > self.max
        ):
            raise ValueError("min больше max")
        if (
            self.type == QuestionType.MULTI
            and self.max_choices is not None
            and self.max_choices < self.min_choices
        ):
            raise ValueError("max_choices меньше min_choices")
        return self


class Band(Strict):
    """A score range. Bands are listed from low to high; each ends at ``upper``."""

    code: Annotated[str, Field(pattern=ID_PATTERN)]
    upper: float
    upper_inclusive: bool = True
    label: Annotated[str, Field(min_length=1, max_length=100)]
    interpretation: Annotated[str, Field(min_length=1, max_length=1500)]
    recommendation: Annotated[str, Field(max_length=1500)] = ""
    signal: bool = False

    def contains_below(self, score: float) -> bool:
        return score <= self.upper if self.upper_inclusive else score < self.upper


class Scale(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    title: Annotated[str, Field(min_length=1, max_length=150)]
    items: Annotated[list[str], Field(min_length=1)]
    reverse: list[str] = Field(default_factory=list)
    aggregation: Aggregation = Aggregation.MEAN
    invert: bool = False
    min_answered: Annotated[int, Field(ge=1)] = 1
    block: str | None = None
    bands: Annotated[list[Band], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if len(set(self.items)) != len(self.items):
            raise ValueError("пункт шкалы повторяется")
        if not set(self.reverse) <= set(self.items):
            raise ValueError("reverse содержит пункт, которого нет в items")
        if self.min_answered > len(self.items):
            raise ValueError("min_answered больше числа пунктов шкалы")
        if self.invert and self.aggregation != Aggregation.PERCENT:
            raise ValueError("invert применяется только к aggregation: percent")
        for a, b in pairwise(self.bands):
            if b.upper < a.upper or (
                b.upper == a.upper and (a.upper_inclusive or not b.upper_inclusive)
            ):
                raise ValueError("границы диапазонов (bands) должны возрастать")
        if len({b.code for b in self.bands}) != len(self.bands):
            raise ValueError("коды диапазонов (bands) повторяются")
        return self


class Audience(Strict):
    """Who may take the questionnaire.

    ``kind``: everyone, young teachers, or the listed positions. ``setting`` narrows it to
    the staff of schools (and other organisations) or of pre-school education: a person is
    pre-school staff when their position is «воспитатель» or their organisation is a
    kindergarten (:func:`services.reference.setting_of`). ``None``: both.
    """

    kind: Literal["all", "young", "positions"] = "all"
    positions: list[str] = Field(default_factory=list)
    setting: Literal["school", "preschool"] | None = None

    @model_validator(mode="after")
    def _positions(self) -> Self:
        if (self.kind == "positions") != bool(self.positions):
            raise ValueError("список positions задаётся только (и обязательно) для kind: positions")
        return self


class Section(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    title: Annotated[str, Field(min_length=1, max_length=150)]
    intro: Annotated[str | None, Field(max_length=1000)] = None
    questions: Annotated[list[Question], Field(min_length=1)]


class Instrument(Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    version: Annotated[int, Field(ge=1)]
    kind: Literal["deficits", "burnout", "young", "activity", "satisfaction", "other"] = "other"
    title: Annotated[str, Field(min_length=1, max_length=120)]
    button: Annotated[str, Field(min_length=1, max_length=40)]
    intro: Annotated[str, Field(min_length=1, max_length=3000)]
    sources: Annotated[list[str], Field(min_length=1)]
    result_note: Annotated[str, Field(max_length=1500)] = ""
    private: bool = False
    audience: Audience = Audience()
    min_interval_days: Annotated[int, Field(ge=0, le=3650)] = 0
    option_sets: dict[str, list[Option]] = Field(default_factory=dict)
    sections: Annotated[list[Section], Field(min_length=1)]
    scales: list[Scale] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> Self:
        seen: dict[str, Question] = {}
        for section in self.sections:
            for q in section.questions:
                if q.id in seen:
                    raise ValueError(f"вопрос {q.id}: id повторяется")
                if q.option_set is not None and q.option_set not in self.option_sets:
                    raise ValueError(
                        f"вопрос {q.id}: нет набора вариантов option_set «{q.option_set}»"
                    )
                opts = self._options(q)
                values = [o.value for o in opts]
                if len(set(values)) != len(values):
                    raise ValueError(f"вопрос {q.id}: значения вариантов повторяются")
                if q.type == QuestionType.MULTI and q.min_choices > len(opts):
                    raise ValueError(f"вопрос {q.id}: min_choices больше числа вариантов")
                for cond in q.show_if:
                    if cond.question not in seen:
                        raise ValueError(
                            f"вопрос {q.id}: show_if ссылается на «{cond.question}», "
                            "а это не один из предыдущих вопросов"
                        )
                    prev = seen[cond.question]
                    prev_values = {o.value for o in self._options(prev)}
                    for v in [cond.equals, *(cond.in_ or []), *(cond.not_in or [])]:
                        if v is not None and prev_values and v not in prev_values:
                            raise ValueError(
                                f"вопрос {q.id}: show_if сравнивает с «{v}», "
                                f"а у вопроса {prev.id} нет такого варианта"
                            )
                seen[q.id] = q
        scale_ids: set[str] = set()
        for scale in self.scales:
            if scale.id in scale_ids:
                raise ValueError(f"шкала {scale.id}: id повторяется")
            scale_ids.add(scale.id)
            for item in scale.items:
                q = seen.get(item)
                if q is None:
                    raise ValueError(f"шкала {scale.id}: нет вопроса «{item}»")
                if q.type not in CHOICE_TYPES - {QuestionType.MULTI}:
                    raise ValueError(f"шкала {scale.id}: вопрос {item} не оценивается баллами")
                if any(o.score is None for o in self._options(q)):
                    raise ValueError(f"шкала {scale.id}: у вариантов вопроса {item} нет баллов")
            _, hi = self.scale_range(scale)
            last = scale.bands[-1]
            if last.upper < hi or (last.upper == hi and not last.upper_inclusive):
                raise ValueError(
                    f"шкала {scale.id}: диапазоны не покрывают максимальный балл {hi:g}"
                )
        return self

    # ---- derived helpers (pure) ----
    def _options(self, q: Question) -> list[Option]:
        if q.type == QuestionType.YESNO:
            return list(YESNO_OPTIONS)
        if q.options is not None:
            return list(q.options)
        if q.option_set is not None:
            return list(self.option_sets.get(q.option_set, []))
        return []

    def options(self, q: Question) -> list[Option]:
        """The answer options of a choice question (empty for number and text)."""
        return self._options(q)

    # An instrument is immutable: its order and lookups are worked out once, on first use
    # (cached properties: a plain attribute read afterwards, unlike pydantic's private
    # attributes, which cost a lookup through __getattr__ on every read).
    @cached_property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for s in self.sections for q in s.questions)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {q.id: i for i, q in enumerate(self.questions)}

    @cached_property
    def _section(self) -> dict[str, Section]:
        return {q.id: s for s in self.sections for q in s.questions}

    @cached_property
    def conditional(self) -> bool:
        """Some question is shown only for certain earlier answers (``show_if``)."""
        return any(q.show_if for q in self.questions)

    def question(self, question_id: str) -> Question:
        return self.questions[self._index[question_id]]

    def index_of(self, question_id: str) -> int:
        return self._index[question_id]

    def section_of(self, question_id: str) -> Section:
        return self._section[question_id]

    def item_points_range(self, question_id: str) -> tuple[float, float]:
        scores = [o.score for o in self._options(self.question(question_id))]
        nums = [s for s in scores if s is not None]
        return min(nums), max(nums)

    def scale_range(self, scale: Scale) -> tuple[float, float]:
        """Lowest and highest score a scale can give (all items answered)."""
        if scale.aggregation == Aggregation.PERCENT:
            return 0.0, 100.0
        ranges = [self.item_points_range(i) for i in scale.items]
        if scale.aggregation == Aggregation.SUM:
            return sum(r[0] for r in ranges), sum(r[1] for r in ranges)
        return min(r[0] for r in ranges), max(r[1] for r in ranges)

    def digest(self) -> str:
        """A stable hash of the content: a changed file with the same version is caught."""
        data = self.model_dump(mode="json", by_alias=True)
        if data["audience"].get("setting") is None:
            # a field added later: a file without it keeps the digest it was stored with
            del data["audience"]["setting"]
        payload = json.dumps(data, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()
