"""Needs attention (last activity, the reminder's reason) and the daily attendance of
active cases.

Revision ID: 0006
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("last_activity_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE cases SET last_activity_at = GREATEST(opened_at, COALESCE((SELECT max(t.at)"
        " FROM case_timeline t WHERE t.case_id = cases.id AND t.actor_id <> 'system'),"
        " opened_at))"
    )
    op.alter_column("cases", "last_activity_at", nullable=False)
    op.add_column("cases", sa.Column("attention_reason", sa.String(40)))
    op.add_column("cases", sa.Column("attention_since", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_cases_active_last_activity",
        "cases",
        ["last_activity_at"],
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "case_attendance",
        sa.Column("case_id", sa.Uuid, nullable=False),
        sa.Column("on", sa.Date, nullable=False),
        sa.Column("session", sa.String(3), nullable=False),
        sa.Column("school_id", sa.Uuid, nullable=False),
        sa.Column("code", sa.String(2), nullable=False),
        sa.Column("category", sa.String(12), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "on", "session", name="pk_case_attendance"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_attendance_case_id_cases"),
    )


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
