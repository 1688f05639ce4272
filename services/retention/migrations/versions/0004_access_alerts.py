"""Inappropriate-access alerts.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_alerts",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("organisation_id", sa.String(64)),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("evidence", postgresql.ARRAY(sa.Uuid), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
        sa.Column("acknowledged_by", sa.String(200)),
        sa.Column("note", sa.String(2000)),
        sa.PrimaryKeyConstraint("id", name="pk_access_alerts"),
    )
    op.create_index(
        "ix_access_alerts_account", "access_alerts", ["account_id", "rule", "last_seen_at"]
    )
    op.create_index("ix_access_alerts_raised_at", "access_alerts", ["raised_at"])


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
