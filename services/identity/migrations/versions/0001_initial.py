"""Platform tables (outbox, inbox) and organisations.

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
        "organisations",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("org_type", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("region", sa.String(100)),
        sa.Column("parent_school_id", sa.Uuid),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
        sa.ForeignKeyConstraint(
            ["parent_school_id"],
            ["organisations.id"],
            name="fk_organisations_parent_school_id_organisations",
        ),
    )


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
