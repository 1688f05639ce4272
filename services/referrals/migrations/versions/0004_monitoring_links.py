"""Projection of identity's monitoring links (regional contract manager → ASP).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitoring_links",
        sa.Column("account_id", sa.Uuid, nullable=False),
        sa.Column("asp_id", sa.Uuid, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "asp_id", name="pk_monitoring_links"),
    )


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
