"""Alembic migrations (the script location used by ``bot.migrate``)."""
