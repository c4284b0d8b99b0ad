"""Buttons: the fast packing of callback data gives aiogram's own string for every class, and
the quick unpacking of :class:`handlers.common.Button` aiogram's own instance or refusal."""

from __future__ import annotations

import enum
import importlib
import pkgutil
import typing
from typing import Any

import annotated_types
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import handlers
from handlers.common import Button, button, markup, pack


def callback_classes() -> list[type[CallbackData]]:
    for info in pkgutil.iter_modules(handlers.__path__):
        if info.ispkg:
            try:
                importlib.import_module(f"handlers.{info.name}.callbacks")
            except ModuleNotFoundError:
                continue
    found: list[type[CallbackData]] = []
    todo = list(CallbackData.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("handlers.") and cls is not Button:
            found.append(cls)
    return sorted(found, key=lambda c: c.__prefix__)


CLASSES = callback_classes()


def field_strategy(annotation: Any, metadata: list[Any]) -> st.SearchStrategy[Any]:
    if typing.get_origin(annotation) is typing.Literal:
        return st.sampled_from(typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return st.sampled_from(list(annotation))
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        low = next((m.ge for m in metadata if isinstance(m, annotated_types.Ge)), -(2**31))
        high = next((m.le for m in metadata if isinstance(m, annotated_types.Le)), 2**31)
        return st.integers(low, high)
    pattern = next((getattr(m, "pattern", None) for m in metadata if hasattr(m, "pattern")), None)
    if pattern:
        return st.from_regex(pattern, fullmatch=True)
    return st.text(max_size=70)  # a free string: separators and length are checked too


@st.composite
def instances(draw: st.DrawFn) -> CallbackData:
    cls = draw(st.sampled_from(CLASSES))
    values = {
        name: draw(field_strategy(field.annotation, list(field.metadata)))
        for name, field in cls.model_fields.items()
    }
    return cls.model_validate(values)


def test_every_feature_has_callback_classes() -> None:
    assert len(CLASSES) > 50
    assert {c.__prefix__ for c in CLASSES} >= {"qa", "qt", "qd", "qs", "qk", "qp"}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=instances())
def test_pack_is_aiograms_pack(data: CallbackData) -> None:
    try:
        expected = data.pack()
    except ValueError:
        # aiogram refuses it (a separator in a value, over 64 bytes): so does the fast path
        try:
            pack(data)
        except ValueError:
            return
        raise AssertionError(f"{data!r} packed although aiogram refuses it") from None
    assert pack(data) == expected
    assert type(data).unpack(expected) == data
    made = button("вариант", data)
    validated = InlineKeyboardButton(text="вариант", callback_data=expected)
    assert made == validated
    assert made.model_dump(exclude_none=True) == validated.model_dump(exclude_none=True)
    assert made.model_fields_set == validated.model_fields_set
    assert made.__pydantic_extra__ == validated.__pydantic_extra__
    assert made.__pydantic_private__ == validated.__pydantic_private__
    # each button has its own: setting one's bot (aiogram does) leaves the others alone
    assert made.__pydantic_private__ is not button("x", data).__pydantic_private__


def test_a_keyboard_is_what_validation_would_make() -> None:
    from handlers.home.callbacks import MenuCB

    rows = [
        [button("а", MenuCB(to="main")), button("б", MenuCB(to="help"))],
        [],
        [button("в", MenuCB(to="x"))],
    ]
    made = markup(rows)
    validated = InlineKeyboardMarkup.model_validate(
        {"inline_keyboard": [[b.model_dump() for b in r] for r in rows if r]}
    )
    assert made == validated
    assert made.model_dump_json(exclude_none=True) == validated.model_dump_json(exclude_none=True)
    assert made.model_fields_set == validated.model_fields_set
    # a copy changes nothing in the template or in another button
    again = button("г", MenuCB(to="main"))
    assert again.text == "г" and rows[0][0].text == "а"


def test_a_forged_value_is_refused_as_aiogram_does() -> None:
    from handlers.home.callbacks import MenuCB

    try:
        MenuCB(to="a:b").pack()
    except (ValueError, ValidationError):
        pass
    else:  # pragma: no cover - aiogram always refuses a separator inside a value
        raise AssertionError("aiogram packed a separator")
    for bad in (MenuCB.model_construct(to="a:b"), MenuCB.model_construct(to="я" * 40)):
        try:
            pack(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} packed")


def test_every_button_derives_from_the_common_base() -> None:
    assert [c.__name__ for c in CLASSES if not issubclass(c, Button)] == []


def aiograms_unpack(cls: type[CallbackData], value: str) -> CallbackData:
    unpack = CallbackData.__dict__["unpack"].__func__
    made: CallbackData = unpack(cls, value)
    return made


NUMBERISH = st.one_of(
    st.integers(-(2**33), 2**33).map(str),
    st.from_regex(r"[-+ 0-9_\u0663\u00b2.]{0,13}", fullmatch=True),
    st.text(max_size=6),
)


@st.composite
def button_strings(draw: st.DrawFn) -> tuple[type[CallbackData], str]:
    cls = draw(st.sampled_from(CLASSES))
    prefix = draw(
        st.one_of(st.just(cls.__prefix__), st.sampled_from(CLASSES).map(lambda c: c.__prefix__))
    )
    count = len(cls.model_fields) + draw(st.sampled_from([0, 0, 0, -1, 1]))
    parts = draw(st.lists(NUMBERISH, min_size=max(count, 0), max_size=max(count, 0)))
    return cls, ":".join([prefix, *parts])


def outcome(unpack: Any, cls: type[CallbackData], value: str) -> Any:
    try:
        made = unpack(cls, value)
    except (TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        return type(exc) if not isinstance(exc, ValidationError) else ValueError
    return (type(made), made.__dict__, made.model_fields_set, made.__pydantic_extra__)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=button_strings())
def test_unpack_is_aiograms_unpack(case: tuple[type[CallbackData], str]) -> None:
    cls, value = case
    ours = outcome(lambda c, v: c.unpack(v), cls, value)
    assert ours == outcome(aiograms_unpack, cls, value)
    # the same string again (remembered) and an equal string (not the same object)
    assert outcome(lambda c, v: c.unpack(v), cls, value) == ours
    assert outcome(lambda c, v: c.unpack(v), cls, "".join(value)) == ours


def test_unpack_takes_plain_numbers_quickly_and_leaves_the_rest_to_aiogram() -> None:
    from handlers.common import _number_bounds, _unpack_numbers
    from handlers.home.callbacks import MenuCB
    from handlers.surveys.callbacks import AnswerCB, PauseCB

    bounds = _number_bounds(AnswerCB)
    assert bounds == (("attempt", 0, 2**31 - 1), ("question", -1, 9999), ("option", -1, 9999))
    assert _number_bounds(MenuCB) == ()  # a string field: aiogram's unpack
    quick = _unpack_numbers(AnswerCB, "qa:12:3:0", bounds)
    assert quick == AnswerCB(attempt=12, question=3, option=0)
    assert quick.model_fields_set == {"attempt", "question", "option"}
    assert PauseCB.unpack("qp:1:-1") == PauseCB(attempt=1, question=-1)
    for forged in ("qa:99999999999999999999:0:0", "qa:1:2", "qa:1:2:3:4", "qa:1:-2:0", "qa:+1:2:3"):
        assert _unpack_numbers(AnswerCB, forged, bounds) is None
        assert outcome(lambda c, v: c.unpack(v), AnswerCB, forged) == outcome(
            aiograms_unpack, AnswerCB, forged
        )
