"""consent versions, the burnout consent, providers typed by one teacher

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A provider no catalog programme names and no two teachers share is one teacher's typing:
# it becomes theirs alone. Everything else stays visible to everyone.
PRIVATE = """
UPDATE providers SET status = 'private', created_by = (
    SELECT min(c.user_id) FROM courses AS c WHERE c.provider_id = providers.id
)
WHERE NOT EXISTS (SELECT 1 FROM catalog_items AS i WHERE i.provider_id = providers.id)
  AND (SELECT count(DISTINCT c.user_id) FROM courses AS c WHERE c.provider_id = providers.id) = 1
"""
# one that several teachers typed and no catalog programme names: shared, not approved
SHARED = """
UPDATE providers SET status = 'shared'
WHERE NOT EXISTS (SELECT 1 FROM catalog_items AS i WHERE i.provider_id = providers.id)
  AND (SELECT count(DISTINCT c.user_id) FROM courses AS c WHERE c.provider_id = providers.id) > 1
"""


def _drop_columns(table: str, columns: list[str]) -> None:
    """Drop columns in place. On SQLite a batch operation would rebuild the table, and
    rebuilding a table other tables point at (users, providers) deletes through their
    ``ON DELETE`` actions; SQLite (3.35+) drops a plain column itself."""
    if op.get_bind().dialect.name == "sqlite":
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        for column in columns:
            op.drop_column(table, column)


def upgrade() -> None:
    # plain ADD COLUMN on both databases (no table is rebuilt)
    op.add_column(
        "users", sa.Column("consent_version", sa.Integer(), server_default="1", nullable=False)
    )
    op.add_column("users", sa.Column("health_consent_version", sa.Integer(), nullable=True))
    op.add_column(
        "users", sa.Column("health_consent_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "providers",
        sa.Column("status", sa.String(length=20), server_default="approved", nullable=False),
    )
    op.add_column("providers", sa.Column("created_by", sa.Integer(), nullable=True))
    op.create_index("ix_providers_created_by", "providers", ["created_by"], unique=False)
    op.execute(PRIVATE)
    op.execute(SHARED)


def downgrade() -> None:
    op.drop_index("ix_providers_created_by", table_name="providers")
    _drop_columns("providers", ["created_by", "status"])
    _drop_columns("users", ["health_consent_at", "health_consent_version", "consent_version"])
