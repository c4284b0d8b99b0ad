"""Filters every handler uses: registered teacher, privileged role."""

from __future__ import annotations

from aiogram.filters import BaseFilter
from aiogram.types import TelegramObject

from models import RoleName
from services.people import Person
from services.roles import Access


class Registered(BaseFilter):
    """The person has agreed to data processing and finished registration."""

    async def __call__(self, event: TelegramObject, person: Person | None = None) -> bool:
        return person is not None and person.registered


class HasRole(BaseFilter):
    """The one role check for privileged handlers (admins pass every check)."""

    def __init__(self, role: RoleName) -> None:
        self.role = role

    async def __call__(self, event: TelegramObject, access: Access | None = None) -> bool:
        return access is not None and access.has(self.role)
