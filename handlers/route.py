"""route (being written)"""

from aiogram import Router

router = Router(name="route")
