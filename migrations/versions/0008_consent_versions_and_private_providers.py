"""consent versions, the burnout consent, providers typed by one teacher

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0005"
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


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("consent_version", sa.Integer(), server_default="1", nullable=False)
        )
        batch_op.add_column(sa.Column("health_consent_version", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("health_consent_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=20), server_default="approved", nullable=False)
        )
        batch_op.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_providers_created_by_users", "users", ["created_by"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index("ix_providers_created_by", ["created_by"], unique=False)
    op.execute(PRIVATE)


def downgrade() -> None:
    with op.batch_alter_table("providers", schema=None) as batch_op:
        batch_op.drop_index("ix_providers_created_by")
        batch_op.drop_constraint("fk_providers_created_by_users", type_="foreignkey")
        batch_op.drop_column("created_by")
        batch_op.drop_column("status")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("health_consent_at")
        batch_op.drop_column("health_consent_version")
        batch_op.drop_column("consent_version")
