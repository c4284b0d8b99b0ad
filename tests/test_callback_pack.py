"""Buttons: the fast packing of callback data gives aiogram's own string for every class."""

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
from handlers.common import button, markup, pack


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
        if cls.__module__.startswith("handlers."):
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
