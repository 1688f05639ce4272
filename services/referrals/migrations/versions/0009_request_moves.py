"""Request moves (ACCESS-MODEL 6): the case opened from a request, whether a request
followed its student to another school with its provider, and each school's catchment
ASP (from identity's CatchmentAssigned).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("referrals", sa.Column("case_id", sa.Uuid))
    op.add_column(
        "referrals",
        sa.Column("followed_student", sa.Boolean, nullable=False, server_default="false"),
    )
    op.create_table(
        "catchments",
        sa.Column("school_id", sa.Uuid, nullable=False),
        sa.Column("asp_id", sa.Uuid, nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.PrimaryKeyConstraint("school_id", name="pk_catchments"),
    )


def downgrade() -> None:
    raise NotImplementedError("ACMS migrations are forward-only")
