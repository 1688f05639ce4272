"""Platform tables and probe effects.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from acms_platform.migrations import create_platform_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables()
    op.create_table(
        "probe_effects",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("stream", sa.String(100), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("latency_ns", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_probe_effects"),
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only")
