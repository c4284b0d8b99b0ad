"""attestation for conformity with the position held has its own date; conference steps

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

«Соответствие занимаемой должности» is an attestation, not a qualification category (приказ
Минпросвещения № 196 of 24.03.2023): it leaves ``users.category`` and gets its own date,
``users.conformity_date``. A row with ``category = 'conformity'`` becomes ``category =
'none'`` with the date it had (1 January of the year when only the year was known, the
earliest day it can have been given, so the warning before it expires never comes late).

A route step made from a catalog conference was stored as a seminar step; it becomes a
conference step (``route_steps.kind = 'conference'``), so it is shown as a conference.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _year_start(bind: sa.engine.Connection) -> str:
    if bind.dialect.name == "postgresql":
        return "make_date(category_year, 1, 1)"
    return "date(printf('%04d-01-01', category_year))"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conformity_date", sa.Date(), nullable=True))
    bind = op.get_bind()
    op.execute(
        "UPDATE users SET conformity_date = CASE"
        " WHEN category_date IS NOT NULL THEN category_date"
        f" WHEN category_year IS NOT NULL THEN {_year_start(bind)}"
        " ELSE NULL END"
        " WHERE category = 'conformity'"
    )
    op.execute(
        "UPDATE users SET category = 'none', category_year = NULL, category_date = NULL"
        " WHERE category = 'conformity'"
    )
    op.execute(
        "UPDATE route_steps SET kind = 'conference' WHERE kind = 'seminar' AND catalog_item_id"
        " IN (SELECT id FROM catalog_items WHERE kind = 'conference')"
    )


def downgrade() -> None:
    op.execute("UPDATE route_steps SET kind = 'seminar' WHERE kind = 'conference'")
    bind = op.get_bind()
    year = (
        "CAST(extract(year FROM conformity_date) AS INTEGER)"
        if bind.dialect.name == "postgresql"
        else "CAST(strftime('%Y', conformity_date) AS INTEGER)"
    )
    op.execute(
        "UPDATE users SET category = 'conformity', category_date = conformity_date,"
        f" category_year = {year}"
        " WHERE conformity_date IS NOT NULL AND (category IS NULL OR category = 'none')"
    )
    if bind.dialect.name == "sqlite":
        # not a batch copy: rebuilding «users» would cascade-delete every row that points
        # at it (foreign keys are on); a plain column drops in place (SQLite 3.35+)
        op.execute("ALTER TABLE users DROP COLUMN conformity_date")
    else:
        op.drop_column("users", "conformity_date")
