"""mentoring

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "mentor_profiles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("max_mentees", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_mentor_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_mentor_profiles")),
    )
    op.create_table(
        "mentor_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("details", sa.String(length=1000), nullable=True),
        sa.Column("same_school", sa.Boolean(), nullable=False),
        sa.Column("young", sa.Boolean(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mentee_id"],
            ["users.id"],
            name=op.f("fk_mentor_requests_mentee_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentor_requests")),
    )
    with op.batch_alter_table("mentor_requests", schema=None) as batch_op:
        batch_op.create_index("ix_mentor_requests_status", ["status", "shared_at"], unique=False)
        batch_op.create_index(
            "uq_mentor_requests_one_live",
            ["mentee_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('draft', 'open', 'offered')"),
            postgresql_where=sa.text("status IN ('draft', 'open', 'offered')"),
        )

    op.create_table(
        "mentor_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("offered_by", sa.BigInteger(), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["mentor_id"],
            ["users.id"],
            name=op.f("fk_mentor_offers_mentor_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["mentor_requests.id"],
            name=op.f("fk_mentor_offers_request_id_mentor_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentor_offers")),
    )
    with op.batch_alter_table("mentor_offers", schema=None) as batch_op:
        batch_op.create_index("ix_mentor_offers_mentor", ["mentor_id"], unique=False)
        batch_op.create_index("ix_mentor_offers_request", ["request_id"], unique=False)

    op.create_table(
        "mentor_pairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("goals", sa.String(length=2000), nullable=True),
        sa.Column("mentor_username", sa.String(length=64), nullable=True),
        sa.Column("mentee_username", sa.String(length=64), nullable=True),
        sa.Column("mentor_intro_sent", sa.Boolean(), nullable=False),
        sa.Column("mentee_intro_sent", sa.Boolean(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.String(length=500), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.String(length=1000), nullable=True),
        sa.Column("comment_anonymous", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mentee_id"],
            ["users.id"],
            name=op.f("fk_mentor_pairs_mentee_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"],
            ["users.id"],
            name=op.f("fk_mentor_pairs_mentor_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["mentor_requests.id"],
            name=op.f("fk_mentor_pairs_request_id_mentor_requests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentor_pairs")),
    )
    with op.batch_alter_table("mentor_pairs", schema=None) as batch_op:
        batch_op.create_index("ix_mentor_pairs_mentor", ["mentor_id", "status"], unique=False)
        batch_op.create_index(
            "uq_mentor_pairs_one_active",
            ["mentee_id"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "mentor_checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pair_id"],
            ["mentor_pairs.id"],
            name=op.f("fk_mentor_checkins_pair_id_mentor_pairs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentor_checkins")),
    )
    with op.batch_alter_table("mentor_checkins", schema=None) as batch_op:
        batch_op.create_index("ix_mentor_checkins_pair", ["pair_id", "created_at"], unique=False)

    op.create_table(
        "mentor_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("logged_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["logged_by"],
            ["users.id"],
            name=op.f("fk_mentor_meetings_logged_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["pair_id"],
            ["mentor_pairs.id"],
            name=op.f("fk_mentor_meetings_pair_id_mentor_pairs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentor_meetings")),
    )
    with op.batch_alter_table("mentor_meetings", schema=None) as batch_op:
        batch_op.create_index("ix_mentor_meetings_pair", ["pair_id", "held_on"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("mentor_meetings", schema=None) as batch_op:
        batch_op.drop_index("ix_mentor_meetings_pair")

    op.drop_table("mentor_meetings")
    with op.batch_alter_table("mentor_checkins", schema=None) as batch_op:
        batch_op.drop_index("ix_mentor_checkins_pair")

    op.drop_table("mentor_checkins")
    with op.batch_alter_table("mentor_pairs", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_mentor_pairs_one_active",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index("ix_mentor_pairs_mentor")

    op.drop_table("mentor_pairs")
    with op.batch_alter_table("mentor_offers", schema=None) as batch_op:
        batch_op.drop_index("ix_mentor_offers_request")
        batch_op.drop_index("ix_mentor_offers_mentor")

    op.drop_table("mentor_offers")
    with op.batch_alter_table("mentor_requests", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_mentor_requests_one_live",
            sqlite_where=sa.text("status IN ('draft', 'open', 'offered')"),
            postgresql_where=sa.text("status IN ('draft', 'open', 'offered')"),
        )
        batch_op.drop_index("ix_mentor_requests_status")

    op.drop_table("mentor_requests")
    op.drop_table("mentor_profiles")
