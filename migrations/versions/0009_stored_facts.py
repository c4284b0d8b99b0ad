"""stored facts for the indicators: fact columns of users and result counters

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LATEST = sa.column("latest").is_(sa.true())

ACTIVE_TEACHER = sa.and_(
    sa.column("registered_at").is_not(None), sa.column("blocked_bot").is_(sa.false())
)
ACTIVE_COLUMNS = ["school_id", "id", "registered_at", "blocked_bot"]
FACT_COLUMNS = [
    "fact_route_active",
    "fact_route_done_at",
    "fact_qualification_last",
    "fact_retraining_last",
    "fact_mentor",
    "fact_mentee",
]
# the same as models.facts.rebuild_all, written out for this revision
FILL_FACTS = """
UPDATE users SET
    fact_route_active = EXISTS (
        SELECT 1 FROM routes r WHERE r.user_id = users.id AND r.status = 'active'),
    fact_route_done_at = (SELECT max(r.completed_at) FROM routes r
        WHERE r.user_id = users.id AND r.status = 'completed'),
    fact_qualification_last = (SELECT max(c.ends_on) FROM courses c
        WHERE c.user_id = users.id AND c.kind = 'qualification'),
    fact_retraining_last = (SELECT max(c.ends_on) FROM courses c
        WHERE c.user_id = users.id AND c.kind = 'retraining'),
    fact_mentor = EXISTS (SELECT 1 FROM mentor_pairs p
        WHERE p.mentor_id = users.id AND p.status = 'active'),
    fact_mentee = EXISTS (SELECT 1 FROM mentor_pairs p
        WHERE p.mentee_id = users.id AND p.status = 'active')
"""
MONTH = {
    "postgresql": "CAST(date_trunc('month', timezone('UTC', s.completed_at)) AS DATE)",
    "sqlite": "substr(s.completed_at, 1, 7) || '-01'",
}
FILL_COUNTS = """
INSERT INTO result_counts (school_id, instrument_id, scale_id, band, month, n)
SELECT u.school_id, s.instrument_id, s.scale_id, coalesce(s.band, ''), {month}, count(*)
FROM users u JOIN scale_results s ON s.user_id = u.id AND s.latest
WHERE u.registered_at IS NOT NULL AND NOT u.blocked_bot AND u.school_id IS NOT NULL
GROUP BY u.school_id, s.instrument_id, s.scale_id, coalesce(s.band, ''), {month}
"""


def upgrade() -> None:
    # in place, not a batch copy: on SQLite rebuilding «users» would delete every row that
    # points at it through its ON DELETE action
    op.add_column(
        "users",
        sa.Column("fact_route_active", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("users", sa.Column("fact_route_done_at", sa.DateTime(timezone=True)))
    op.add_column("users", sa.Column("fact_qualification_last", sa.Date(), nullable=True))
    op.add_column("users", sa.Column("fact_retraining_last", sa.Date(), nullable=True))
    op.add_column(
        "users", sa.Column("fact_mentor", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column(
        "users", sa.Column("fact_mentee", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.drop_index("ix_users_active", table_name="users")
    op.create_index(
        "ix_users_active",
        "users",
        [
            *ACTIVE_COLUMNS,
            "birth_year",
            "teaching_since",
            "category",
            "category_year",
            "category_date",
            *FACT_COLUMNS,
        ],
        unique=False,
        sqlite_where=ACTIVE_TEACHER,
        postgresql_where=ACTIVE_TEACHER,
    )
    op.create_table(
        "result_counts",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.String(length=32), nullable=False),
        sa.Column("scale_id", sa.String(length=32), nullable=False),
        sa.Column("band", sa.String(length=32), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"],
            ["schools.id"],
            name=op.f("fk_result_counts_school_id_schools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "school_id", "instrument_id", "scale_id", "band", "month", name=op.f("pk_result_counts")
        ),
    )
    with op.batch_alter_table("scale_results", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scale_results_latest_at",
            ["instrument_id", "completed_at"],
            unique=False,
            sqlite_where=LATEST,
            postgresql_where=LATEST,
        )
    dialect = op.get_bind().dialect.name
    op.execute(FILL_FACTS)
    op.execute(FILL_COUNTS.format(month=MONTH.get(dialect, MONTH["sqlite"])))


def downgrade() -> None:
    with op.batch_alter_table("scale_results", schema=None) as batch_op:
        batch_op.drop_index("ix_scale_results_latest_at")
    op.drop_table("result_counts")
    op.drop_index("ix_users_active", table_name="users")
    for name in reversed(FACT_COLUMNS):
        if op.get_bind().dialect.name == "sqlite":  # in place (SQLite 3.35+), not a rebuild
            op.execute(f"ALTER TABLE users DROP COLUMN {name}")
        else:
            op.drop_column("users", name)
    op.create_index(
        "ix_users_active",
        "users",
        ACTIVE_COLUMNS,
        unique=False,
        sqlite_where=ACTIVE_TEACHER,
        postgresql_where=ACTIVE_TEACHER,
    )
