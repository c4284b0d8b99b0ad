"""latest scale results

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LATEST = sa.column("latest").is_(sa.true())
ACTIVE_TEACHER = sa.and_(
    sa.column("registered_at").is_not(None), sa.column("blocked_bot").is_(sa.false())
)

# the rows of each teacher's latest attempt of each instrument (the highest attempt id)
FILL = """
UPDATE scale_results SET latest = TRUE
WHERE attempt_id = (
    SELECT max(r.attempt_id) FROM scale_results AS r
    WHERE r.user_id = scale_results.user_id AND r.instrument_id = scale_results.instrument_id
)
"""


def upgrade() -> None:
    with op.batch_alter_table("scale_results", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("latest", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute(FILL)
    with op.batch_alter_table("scale_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scale_results_latest",
            ["user_id", "instrument_id", "completed_at", "scale_id", "band", "score"],
            unique=False,
            sqlite_where=LATEST,
            postgresql_where=LATEST,
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(
            "ix_users_active",
            ["school_id", "id", "registered_at", "blocked_bot"],
            unique=False,
            sqlite_where=ACTIVE_TEACHER,
            postgresql_where=ACTIVE_TEACHER,
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_active")
    with op.batch_alter_table("scale_results", schema=None) as batch_op:
        batch_op.drop_index("ix_scale_results_latest")
        batch_op.drop_column("latest")
